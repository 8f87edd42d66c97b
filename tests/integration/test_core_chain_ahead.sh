#!/usr/bin/env bash
# Chains sent ahead (docs/design.md §4 "Chains"): links of tide.inc, known
# to take less than a round trip, go up to 8 ahead to the worker computing
# their input. Values stay right; a link that errs on that worker errs the
# rest of the chain with its error and leaves nothing processing; a worker
# killed while links wait there behind a running task is recomputed from on
# the other worker and the chain completes with the right value.
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"

start_scheduler
start_worker a --nthreads 1
A_PID=$WORKER_PID
wait_workers 1

# chain PREFIX FROM TO: tasks PREFIX<FROM+1>..PREFIX<TO> as jq entries, each
# tide.inc of the one before.
links() {
  jq -n --arg p "$1" --argjson a "$2" --argjson b "$3" \
    '[range($a + 1; $b + 1)] | map({key: "\($p)\(.)", value: {fn: "tide.inc", args: [{ref: "\($p)\(. - 1)"}]}})'
}
graph() { # graph OUTPUT ENTRIES...: a graph of the jq entry arrays given
  local out=$1; shift
  jq -s --arg o "$out" '{tasks: (add | from_entries), outputs: [$o]}' "$@"
}
processing() { api /api/v1/tasks | jq '.states.processing // 0'; }

# 1. values: c0 = inc(0) = 1, c_i = i + 1
echo '[{"key": "c0", "value": {"fn": "tide.inc", "args": [0]}}]' >"$T_DIR/c0.json"
links c 0 1999 >"$T_DIR/c.json"
graph c1999 "$T_DIR/c0.json" "$T_DIR/c.json" >"$T_DIR/g1.json"
[ "$(run_graph "$T_DIR/g1.json" --timeout 60 | jq .c1999)" = 2000 ] || fail "c1999 is not 2000"

# 2. e501 gets bytes, not an integer, and errs on the worker while e502...
# wait there behind it
echo '[{"key": "e0", "value": {"fn": "tide.inc", "args": [0]}},
       {"key": "e500", "value": {"fn": "tide.bytes", "args": [{"ref": "e499"}]}}]' >"$T_DIR/e0.json"
links e 0 499 >"$T_DIR/e1.json"
links e 500 599 >"$T_DIR/e2.json"
graph e599 "$T_DIR/e0.json" "$T_DIR/e1.json" "$T_DIR/e2.json" >"$T_DIR/g2.json"
expect_fail_only 1 '^tide: task "e501" failed' run_graph "$T_DIR/g2.json" --timeout 60
wait_for 10 test "$(processing)" = 0

# 3. g sleeps 2 s on a; d0..d7 wait there behind it; a is killed
echo '[{"key": "d0", "value": {"fn": "tide.inc", "args": [{"ref": "g"}]}},
       {"key": "g", "value": {"fn": "tide.sleep", "args": [2, {"ref": "c499"}]}}]' >"$T_DIR/d0.json"
links d 0 499 >"$T_DIR/d.json"
links c 0 499 >"$T_DIR/c.json"
graph d499 "$T_DIR/c0.json" "$T_DIR/c.json" "$T_DIR/d0.json" "$T_DIR/d.json" >"$T_DIR/g3.json"
run_graph "$T_DIR/g3.json" --timeout 60 >"$T_DIR/out.json" 2>"$T_DIR/run.err" &
RUN_PID=$!
T_PIDS+=("$RUN_PID")
sleeping() { api /api/v1/tasks | jq -e '.states.memory >= 1 and .states.processing >= 2' >/dev/null; }
wait_for 20 sleeping
p=$(processing)
[ "$p" = 9 ] || fail "processing while g sleeps: $p, want 9 (g and 8 links ahead)"
start_worker b --nthreads 1
wait_workers 2
kill -KILL "$A_PID"
wait_workers 1
rc=0
wait "$RUN_PID" || rc=$?
[ $rc = 0 ] || fail "tide run exit $rc: $(cat "$T_DIR/run.err")"
# c499 = 500 = g, d0 = 501, d499 = 1000
[ "$(json_get "$T_DIR/out.json" .d499)" = 1000 ] || fail "d499: $(cat "$T_DIR/out.json")"
rec=$(api /metrics | awk '/^tide_recomputed_tasks_total/ {print $2}')
awk -v r="${rec:-0}" 'BEGIN{exit !(r >= 500)}' || fail "tide_recomputed_tasks_total = '${rec}', want >= 500 (c0..c499)"
pass "chain of 2,000 = 2000; an erring link errs the rest; after SIGKILL mid-chain d499 = 1000, $rec recomputed"
