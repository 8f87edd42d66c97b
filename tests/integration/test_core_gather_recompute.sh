#!/usr/bin/env bash
# A client never loses a result: when the only holder of a published result
# is killed, `tide get` waits for the recompute instead of failing, gets the
# right value, and the recompute is counted once.
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"

start_scheduler
start_worker a
A_PID=$WORKER_PID
wait_workers 1

echo '{"tasks": {"v": {"fn": "tide.sleep", "args": [1.5, 7]}}, "outputs": ["v"]}' >"$T_DIR/g.json"
out=$(run_graph "$T_DIR/g.json" --publish ds --timeout 30)
[ "$(echo "$out" | jq .v)" = 7 ] || fail "run printed $out"

start_worker b
wait_workers 2
kill -KILL "$A_PID"
wait_workers 1
# v is being computed again on b (1.5 s): the gather waits for it
t0=$(date +%s.%N)
out=$("$TIDE_BIN" get ds --scheduler-file "$SCHED_FILE" --timeout 30 2>"$T_DIR/get.err") ||
  fail "tide get failed: $(cat "$T_DIR/get.err")"
t1=$(date +%s.%N)
[ "$(echo "$out" | jq .v)" = 7 ] || fail "get printed $out"
rec=$(curl -sf "$DASH_URL/metrics" | awk '/^tide_recomputed_tasks_total/ {print $2}')
[ "$rec" = 1 ] || fail "tide_recomputed_tasks_total = $rec, want 1"
# and a second get is served from memory
out=$("$TIDE_BIN" get ds --scheduler-file "$SCHED_FILE") || fail "second get failed"
[ "$(echo "$out" | jq .v)" = 7 ] || fail "second get printed $out"
pass "get waited $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')s for the recompute; recomputed=$rec"
