#!/usr/bin/env bash
# examples/prog_custom_backend.c: a C program with its own backend table
# ("subclass Cluster, implement scale_up / scale_down, adapt(minimum,
# maximum)") starts workers as processes and adapts between its bounds.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/adaptive.sh"

PROG="$TIDE_BUILD/prog_custom_backend"
[ -x "$PROG" ] || fail "example not built: $PROG"
SCHED_FILE="$T_DIR/scheduler.json"
bg cluster "$PROG" "$TIDE_BIN" 2 3 "$SCHED_FILE" 0.2
CLUSTER_PID=$BG_PID
wait_for 10 test -s "$SCHED_FILE"
SCHED_ADDR=$(jq -r .address "$SCHED_FILE")
DASH_URL=$(jq -r .dashboard "$SCHED_FILE")
wait_workers 2 10
names=$(api /api/v1/identity | jq -r '[.workers[] | .name] | sort | join(",")')
[ "$names" = "mine-0,mine-1" ] || fail "names: $names"
grep -q "MyCluster(mine, 'tcp://" "$T_DIR/cluster.log" || fail "repr not printed"
sleep_graph "$T_DIR/g.json" 40 0.3
sample_workers "$T_DIR/samples"
out=$(run_graph "$T_DIR/g.json")
[ "$(echo "$out" | jq length)" = 40 ] || fail "lost outputs"
wait_workers 2 15
kill "$SAMPLER_PID"
[ "$(max_of "$T_DIR/samples")" = 3 ] || fail "expected the maximum 3 under load, max $(max_of "$T_DIR/samples")"
stop_cluster
pass "custom backend adapts between 2 and 3, stops clean"
