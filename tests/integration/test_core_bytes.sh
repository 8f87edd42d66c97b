#!/usr/bin/env bash
# 16 MiB of tide.bytes passed between workers: "ta.copy" exists only on
# worker A and "tb.copy" only on worker B (two tiny plugins built here), so
# the chain bytes -> ta.copy -> tb.copy moves the 16 MiB from A to B. Every
# checksum must equal the sha256 of an independent C re-implementation of
# the tide.bytes generator (tests/lib/bytes_oracle.c).
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"

cat >"$T_DIR/copy.c" <<'C'
#include <tide/task.h>
static int copy(tide_task_ctx *ctx, const msgpack_object *args, size_t nargs, msgpack_packer *out)
{
  if (nargs != 1 || args[0].type != MSGPACK_OBJECT_BIN)
    return tide_task_fail(ctx, "copy: want one bytes argument");
  msgpack_pack_bin(out, args[0].via.bin.size);
  msgpack_pack_bin_body(out, args[0].via.bin.ptr, args[0].via.bin.size);
  return 0;
}
int tide_plugin_init(tide_registry *reg) { return tide_register(reg, NAME, copy); }
C
for p in ta tb; do
  cc -shared -fPIC -I"$TIDE_SRC/include" -DNAME="\"$p.copy\"" -o "$T_DIR/lib$p.so" "$T_DIR/copy.c" \
    || fail "cannot build the $p plugin"
done

# the oracle itself: splitmix64's published first words for seed 0
# (e220a8397b1dcdaf 6e789e6aa1b965f4 06c45d188009454f), little-endian
bytes_gen 24 0 "$T_DIR/ref.bin"
[ "$(od -An -v -tx1 "$T_DIR/ref.bin" | tr -d ' \n')" = \
  "afcd1d7b39a820e2f465b9a16a9e786e4f450980185dc406" ] || fail "bytes_oracle does not give splitmix64's reference words"

start_scheduler
start_worker a --preload "$T_DIR/libta.so"
start_worker b --preload "$T_DIR/libtb.so"
wait_workers 2

LEN=$((16 * 1024 * 1024))
cat >"$T_DIR/bytes.json" <<G
{"tasks": {
  "data": {"fn": "tide.bytes", "args": [$LEN, 7]},
  "ona": {"fn": "ta.copy", "args": [{"ref": "data"}]},
  "onb": {"fn": "tb.copy", "args": [{"ref": "ona"}]},
  "sum_data": {"fn": "tide.checksum", "args": [{"ref": "data"}]},
  "sum_a": {"fn": "tide.checksum", "args": [{"ref": "ona"}]},
  "sum_b": {"fn": "tide.checksum", "args": [{"ref": "onb"}]}},
 "outputs": ["sum_data", "sum_a", "sum_b", "onb"]}
G
want=$(bytes_sha256 $LEN 7)
run_graph "$T_DIR/bytes.json" --timeout 120 >"$T_DIR/out.json"
for k in sum_data sum_a sum_b; do
  [ "$(json_get "$T_DIR/out.json" ".$k")" = "$want" ] || fail "$k: $(jq -c ".$k" "$T_DIR/out.json"), want $want"
done
# The bytes value itself prints as {"bytes": LENGTH, "sha256": HEX}.
[ "$(jq -c .onb "$T_DIR/out.json")" = "{\"bytes\":$LEN,\"sha256\":\"$want\"}" ] \
  || fail "onb printed as $(jq -c .onb "$T_DIR/out.json")"
# Both workers ran their own copy.
api /api/v1/get_workers | jq -e '[.workers[] | select(.executed > 0)] | length == 2' >/dev/null \
  || fail "not both workers executed tasks: $(api /api/v1/get_workers | jq -c '[.workers[] | {name, executed}]')"

# tide.bytes of 1 GiB, once its documented maximum: a frame could not carry
# it with its message, so it now fails its task at the source, before any
# byte is made, and the worker stays (test_core_result_limit delivers the
# largest result that fits, under a lowered frame limit)
echo '{"tasks": {"g": {"fn": "tide.bytes", "args": [1073741824, 1]}}}' >"$T_DIR/gib.json"
expect_fail_only 1 '^tide: task "g" failed: tide\.bytes: length must be between 0 and 1073737723 \(limits\.result-size less the msgpack header\), got 1073741824$' \
  run_graph "$T_DIR/gib.json" --timeout 60
t_workers_eq 2 || fail "workers: $(nworkers), want 2 after the 1 GiB request"
echo '{"tasks": {"x": {"fn": "tide.inc", "args": [41]}}}' >"$T_DIR/after.json"
[ "$(run_graph "$T_DIR/after.json" --timeout 30 | jq .x)" = 42 ] || fail "graph after the 1 GiB request"
pass "16 MiB moved A -> B, sha256 $want; 1 GiB refused at the source, both workers stay"
