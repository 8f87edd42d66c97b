#!/usr/bin/env bash
# A worker that stops answering (SIGSTOP: its socket stays open) is removed
# after scheduler.heartbeat-timeout; the task it was running is rescheduled
# on the other worker (not counted as a recompute) and the graph completes.
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"

export TIDE_SCHEDULER__HEARTBEAT_TIMEOUT=1s
start_scheduler
start_worker a
A_PID=$WORKER_PID
wait_workers 1

cat >"$T_DIR/g.json" <<'G'
{"tasks": {"slow": {"fn": "tide.sleep", "args": [1, 5]},
           "out": {"fn": "tide.inc", "args": [{"ref": "slow"}]}},
 "outputs": ["out"]}
G
run_graph "$T_DIR/g.json" --timeout 60 >"$T_DIR/out.json" 2>"$T_DIR/run.err" &
RUN_PID=$!
T_PIDS+=("$RUN_PID")
processing() { api /api/v1/tasks | jq -e '.states.processing == 1' >/dev/null; }
wait_for 10 processing
start_worker b
wait_workers 2
t0=$(date +%s.%N)
kill -STOP "$A_PID"
wait_workers 1 10
t1=$(date +%s.%N)
api /api/v1/identity | jq -e '[.workers[].name] == ["b"]' >/dev/null || fail "b should remain"
# woken up, a reconnects as a new registration (docs/design.md §6)
kill -CONT "$A_PID" 2>/dev/null || true
# removed after about 1 s (the timeout), not at once and not after 10 s; the
# timeout runs from the last heartbeat, up to one 0.5 s interval before STOP
awk -v a="$t0" -v b="$t1" 'BEGIN{d=b-a; exit !(d >= 0.45 && d < 6)}' \
  || fail "removal took $(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}') s, want about 1 s"
rc=0
wait "$RUN_PID" || rc=$?
[ $rc = 0 ] || fail "tide run exit $rc: $(cat "$T_DIR/run.err")"
[ "$(jq .out "$T_DIR/out.json")" = 6 ] || fail "out: $(cat "$T_DIR/out.json")"
rec=$(curl -sf "$DASH_URL/metrics" | awk '/^tide_recomputed_tasks_total/ {print $2}')
[ "${rec%.*}" = 0 ] || fail "tide_recomputed_tasks_total = $rec, want 0 (rescheduled, not lost)"
pass "silent worker removed after the heartbeat timeout; its task ran elsewhere"
