#!/usr/bin/env bash
# A task error (tide.fail) makes `tide run` exit 1 with one line naming the
# task that erred; a timeout exits 1 too; the cluster keeps working.
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"

start_scheduler
start_worker a
wait_workers 1

cat >"$T_DIR/fail.json" <<'G'
{"tasks": {"a": {"fn": "tide.inc", "args": [1]},
           "b": {"fn": "tide.fail", "args": ["boom: the answer is not 42"]},
           "c": {"fn": "tide.add", "args": [{"ref": "a"}, {"ref": "b"}]}},
 "outputs": ["c"]}
G
expect_fail_only 1 '^tide: task "b" failed: .*boom: the answer is not 42' run_graph "$T_DIR/fail.json"
[ ! -s "$T_DIR/fail.out" ] || fail "stdout not empty after a failure: $(cat "$T_DIR/fail.out")"

# A graph that outlives --timeout.
cat >"$T_DIR/slow.json" <<'G'
{"tasks": {"s": {"fn": "tide.sleep", "args": [30]}}}
G
t0=$SECONDS
expect_fail_only 1 '^tide: .*timed out' run_graph "$T_DIR/slow.json" --timeout 1s
[ $((SECONDS - t0)) -lt 10 ] || fail "--timeout 1s took $((SECONDS - t0))s"

# Still serving.
echo '{"tasks": {"x": {"fn": "tide.inc", "args": [41]}}}' >"$T_DIR/ok.json"
[ "$(run_graph "$T_DIR/ok.json" | jq .x)" = 42 ] || fail "graph after failures"
pass "task error and timeout exit 1 with one line"
