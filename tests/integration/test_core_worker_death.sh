#!/usr/bin/env bash
# A worker killed with SIGKILL while it holds a result that a later task
# needs: the scheduler recomputes what was lost on the surviving worker and
# the graph completes with the right values.
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"

start_scheduler
start_worker a --nthreads 2
A_PID=$WORKER_PID
wait_workers 1

LEN=$((1024 * 1024))
# data (on A) is needed by "joined", which a 5 s gate holds back:
# gate -> empty (0 bytes) -> joined = data + empty -> sum.
cat >"$T_DIR/g.json" <<G
{"tasks": {
  "data": {"fn": "tide.bytes", "args": [$LEN, 11]},
  "gate": {"fn": "tide.sleep", "args": [5, 0]},
  "empty": {"fn": "tide.bytes", "args": [{"ref": "gate"}]},
  "joined": {"fn": "tide.concat", "args": [{"ref": "data"}, {"ref": "empty"}]},
  "sum": {"fn": "tide.checksum", "args": [{"ref": "joined"}]}},
 "outputs": ["sum"]}
G
run_graph "$T_DIR/g.json" --timeout 60 >"$T_DIR/out.json" 2>"$T_DIR/run.err" &
RUN_PID=$!
T_PIDS+=("$RUN_PID")

# data is in memory on A and the gate is running there.
in_state() { api /api/v1/tasks | jq -e ".states.memory >= 1 and .states.processing >= 1" >/dev/null; }
wait_for 20 in_state
start_worker b
wait_workers 2
kill -KILL "$A_PID"
wait_workers 1

rc=0
wait "$RUN_PID" || rc=$?
[ $rc = 0 ] || fail "tide run exit $rc: $(cat "$T_DIR/run.err")"
want=$(bytes_sha256 $LEN 11)
[ "$(json_get "$T_DIR/out.json" .sum)" = "$want" ] || fail "sum $(cat "$T_DIR/out.json"), want $want"
# The lost result was recomputed, and the metric says so.
rec=$(curl -sf "$DASH_URL/metrics" | awk '/^tide_recomputed_tasks_total/ {print $2}')
awk -v r="${rec:-0}" 'BEGIN{exit !(r >= 1)}' || fail "tide_recomputed_tasks_total = '${rec}', want >= 1"
pass "graph completed after SIGKILL of the holder; recomputed $rec"
