#!/usr/bin/env bash
# --lifetime: the worker asks to retire (retire-me), the scheduler moves its
# results to the other worker (acquire-replicas / add-keys), closes it, and
# it exits 0. Nothing is lost and the byte accounting moves exactly.
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"

start_scheduler
start_worker old --lifetime 3s --lifetime-stagger 500ms
OLD=$WORKER_PID
wait_workers 1

cat >"$T_DIR/g.json" <<'G'
{"tasks": {"x": {"fn": "tide.bytes", "args": [100000, 3]},
           "y": {"fn": "tide.inc", "args": [5]},
           "c": {"fn": "tide.checksum", "args": [{"ref": "x"}]}},
 "outputs": ["x", "y", "c"]}
G
run_graph "$T_DIR/g.json" --publish kept >"$T_DIR/out1.json"
[ "$(jq -r .y "$T_DIR/out1.json")" = 6 ] || fail "y: $(cat "$T_DIR/out1.json")"
# what the old worker holds: bin32 header + 100000, one fixint, str8 header + 64
want=$((5 + 100000 + 1 + 2 + 64))
wait_for 10 bash -c "curl -sf '$DASH_URL/api/v1/identity' | jq -e '[.workers[].nbytes] == [$want]'"

start_worker new
NEW=$WORKER_PID
wait_workers 2
# the old worker retires itself after 2.5-3.5 s and exits 0
rc=0; wait $OLD || rc=$?
[ $rc = 0 ] || fail "retired worker exited $rc, want 0"
grep -q "lifetime reached" "$T_DIR/worker-old.log" || fail "no lifetime line"
wait_workers 1
[ "$(api /api/v1/identity | jq -r '.workers[].name')" = new ] || fail "the new worker should remain"
# its results moved: exact bytes on the new worker, values intact
wait_for 10 bash -c "curl -sf '$DASH_URL/api/v1/identity' | jq -e '[.workers[].nbytes] == [$want]'"
"$TIDE_BIN" get --scheduler-file "$SCHED_FILE" kept >"$T_DIR/out2.json"
cmp -s <(jq -S . "$T_DIR/out1.json") <(jq -S . "$T_DIR/out2.json") || fail "dataset changed: $(cat "$T_DIR/out2.json")"
[ "$(api /metrics | awk '/^tide_recomputed_tasks_total/ {print $2}')" = 0 ] || fail "tasks were recomputed"
pass "lifetime retirement moved $want bytes, exit 0, nothing recomputed"
