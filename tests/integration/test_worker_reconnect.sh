#!/usr/bin/env bash
# Workers come back to their scheduler. (1) The scheduler is SIGKILLed and
# a new one started at the same address: both workers (a and c) register
# again on their own within 10 s and a graph runs. (2) A worker SIGSTOPped past the
# heartbeat timeout is dropped; on SIGCONT it registers again as a new
# worker, offering the results it holds: the scheduler counts the
# published dataset's bytes on it again, and the dataset reads back right.
# (3) With no scheduler to return to, --death-timeout ends the worker
# (exit 1, one line).
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"

printf 'scheduler:\n  heartbeat-timeout: 1s\nworker:\n  heartbeat-interval: 200ms\n' >"$TIDE_CONFIG"
start_scheduler
PORT=${SCHED_ADDR##*:}
start_worker a --death-timeout 8s
A_PID=$WORKER_PID
start_worker c --death-timeout 8s
C_PID=$WORKER_PID
wait_workers 2
echo '{"tasks": {"x": {"fn": "tide.inc", "args": [1]}}, "outputs": ["x"]}' >"$T_DIR/inc.json"
[ "$(run_graph "$T_DIR/inc.json" | jq -c .x)" = 2 ] || fail "first graph"

# --- (1) the scheduler dies and comes back at the same address ---
kill -KILL "$SCHED_PID"
wait "$SCHED_PID" 2>/dev/null || true
rm -f "$SCHED_FILE"
bg scheduler2 "$TIDE_BIN" scheduler --host 127.0.0.1 --port "$PORT" --dashboard-port 0 \
  --scheduler-file "$SCHED_FILE"
SCHED_PID=$BG_PID
wait_for 10 test -s "$SCHED_FILE"
[ "$(jq -r .address "$SCHED_FILE")" = "$SCHED_ADDR" ] || fail "new scheduler at $(jq -r .address "$SCHED_FILE")"
DASH_URL=$(jq -r .dashboard "$SCHED_FILE")
wait_workers 2 10
api /api/v1/identity | jq -e '[.workers[].name] | sort == ["a", "c"]' >/dev/null ||
  fail "workers after the restart: $(api /api/v1/identity | jq -c '[.workers[].name]')"
for w in a c; do
  pid=$A_PID; [ "$w" = c ] && pid=$C_PID
  kill -0 "$pid" || fail "worker $w exited instead of reconnecting"
  grep -q "registered again with the scheduler at $SCHED_ADDR as $w" "$T_DIR/worker-$w.log" ||
    fail "no re-registration line: $(cat "$T_DIR/worker-$w.log")"
done
[ "$(run_graph "$T_DIR/inc.json" | jq -c .x)" = 2 ] || fail "graph after the restart"
kill -TERM "$C_PID"
wait_workers 1 10
pass "scheduler restarted at $SCHED_ADDR: both workers registered again, graph ran"

# --- (2) SIGSTOP past the heartbeat timeout, then SIGCONT ---
cat >"$T_DIR/g.json" <<'G'
{"tasks": {"b": {"fn": "tide.bytes", "args": [100000, 7]}}, "outputs": ["b"]}
G
run_graph "$T_DIR/g.json" --publish ds >"$T_DIR/run.json"
nb() { api /api/v1/identity | jq --arg n "$1" '[.workers[] | select(.name == $n) | .nbytes] | add // -1'; }
held=$(nb a)
[ "$held" -ge 100000 ] || fail "worker a holds $held bytes of the dataset"
start_worker b --death-timeout 8s
wait_workers 2
kill -STOP "$A_PID"
wait_for 10 t_workers_eq 1          # dropped: no heartbeat for 1 s
# the dataset is made again on b (a held the only copy)
"$TIDE_BIN" get ds --scheduler-file "$SCHED_FILE" >"$T_DIR/get1.json" || fail "get while a is stopped"
kill -CONT "$A_PID"
wait_workers 2 10
grep -q "holding 1 keys" "$T_DIR/worker-a.log" || fail "a did not offer its key: $(cat "$T_DIR/worker-a.log")"
t_a_holds() { [ "$(nb a)" -ge 100000 ]; }
wait_for 5 t_a_holds
"$TIDE_BIN" get ds --scheduler-file "$SCHED_FILE" >"$T_DIR/get2.json" || fail "get after SIGCONT"
cmp -s <(jq -S . "$T_DIR/run.json") <(jq -S . "$T_DIR/get2.json") || fail "dataset differs: $(cat "$T_DIR/get2.json")"
[ "$(run_graph "$T_DIR/inc.json" | jq -c .x)" = 2 ] || fail "graph after SIGCONT"
pass "stopped worker dropped, came back with its key ($(nb a) bytes counted on it again)"

# --- (3) the scheduler is gone for good: --death-timeout ends the workers ---
kill -KILL "$SCHED_PID"
rc=0; wait "$A_PID" || rc=$?
[ "$rc" = 0 ] && fail "worker a exited 0 after giving up"
n=$(grep -c "^tide: lost the scheduler at $SCHED_ADDR and could not register again within 8s" \
  "$T_DIR/worker-a.log" || true)
[ "$n" = 1 ] || fail "want one give-up line: $(tail -3 "$T_DIR/worker-a.log")"
pass "no scheduler: worker exited $rc after the 8 s death timeout"
