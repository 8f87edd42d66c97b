#!/usr/bin/env bash
# 10,000 root tasks of 1 MiB (tide.bytes), each read by one tide.checksum,
# on 2 one-thread workers with a 64 MiB memory limit: the roots are fast,
# but their results are large, so the deeper saturation depth of very short
# tasks (docs/design.md §4 "Saturation") must not apply to them. No worker
# may hold more results at once than worker-saturation 1.1 lets it make:
# 2 roots of 1 MiB, plus the checksums it keeps for the client (71 bytes
# each: a sha256 in hex). All the checksums make less than 1 MiB, so the
# bound holds iff no worker ever held a third root.
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"

# Under AddressSanitizer a worker's own RSS (shadow memory, quarantine) is
# above 64 MiB before it holds anything, so it would pause for good
# (worker.memory.pause): that build gets room for its overhead. The bound
# checked below is on result bytes, which the limit does not change.
LIMIT=64MiB
[ -n "${TIDE_SANITIZER_LOG:-}" ] && LIMIT=1GiB
start_scheduler
start_worker a --nthreads 1 --memory-limit $LIMIT
start_worker b --nthreads 1 --memory-limit $LIMIT
wait_workers 2

N=10000
MIB=1048576
jq -n --argjson n $N --argjson mib $MIB '{tasks: ([range($n)] | map(
    {key: "bytes-\(.)", value: {fn: "tide.bytes", args: [$mib, .]}},
    {key: "sum-\(.)", value: {fn: "tide.checksum", args: [{ref: "bytes-\(.)"}]}})
  | from_entries), outputs: [range($n) | "sum-\(.)"]}' >"$T_DIR/roots.json"
run_graph "$T_DIR/roots.json" --timeout 300 >"$T_DIR/out.json" || fail "tide run failed"
[ "$(jq 'length' "$T_DIR/out.json")" = $N ] || fail "$(jq 'length' "$T_DIR/out.json") outputs, want $N"

api /api/v1/get_workers >"$T_DIR/workers.json"
executed=$(jq '[.workers[].executed] | add' "$T_DIR/workers.json")
[ "$executed" = $((2 * N)) ] || fail "$executed tasks executed, want $((2 * N))"
bound=$((2 * MIB + 71 * N))
peaks=$(jq -c '[.workers[] | {nbytes, nbytes_peak}]' "$T_DIR/workers.json")
jq -e --argjson b $bound '[.workers[] | select(.nbytes_peak > $b or .nbytes_peak < 1048576)] | length == 0' \
  "$T_DIR/workers.json" >/dev/null || fail "result bytes per worker $peaks, want a peak of 1 MiB to $bound"
pass "$N roots of 1 MiB, $executed tasks; result bytes per worker $peaks (bound $bound)"
