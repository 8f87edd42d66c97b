#!/usr/bin/env bash
# docs/design.md §7: a worker killed by the resource manager is replaced and its
# tasks finish; a worker started with a lifetime retires itself and is
# replaced while still needed.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/adaptive.sh"

start_cluster --workers 2
wait_workers 2 10
sleep_graph "$T_DIR/g.json" 8 1
run_graph "$T_DIR/g.json" > "$T_DIR/out.json" &
RUN=$!
wait_for 10 sh -c "curl -sf $DASH_URL/api/v1/identity | jq -e '[.workers[] | .processing] | add >= 2'"
pid=$(pgrep -f "worker $SCHED_ADDR --name tide-0 ")
[ -n "$pid" ] || fail "no process for tide-0"
kill -KILL "$pid"
wait "$RUN" || fail "the run failed after a worker was killed"
[ "$(jq length "$T_DIR/out.json")" = 8 ] || fail "lost outputs: $(cat "$T_DIR/out.json")"
[ "$(jq .t5 "$T_DIR/out.json")" = 5 ] || fail "wrong value"
wait_workers 2 10
names=$(api /api/v1/identity | jq -r '[.workers[] | .name] | sort | join(",")')
[ "$names" = "tide-1,tide-2" ] || fail "expected tide-0 replaced by tide-2, have $names"
[ "$(curl -sf "$DASH_URL/metrics" | awk '/^tide_workers_requested/ {print $2}')" = 2 ] || true
stop_cluster

# lifetime: workers retire themselves after 1.5 s; the cluster keeps 2
start_cluster --workers 2 --lifetime 1500ms
wait_workers 2 10
wait_for 15 sh -c "curl -sf $DASH_URL/api/v1/identity | jq -e '[.workers[] | .name] | any(. == \"tide-2\" or . == \"tide-3\")'"
wait_workers 2 10
[ "$(worker_procs)" -le 3 ] || fail "retired workers linger"
stop_cluster
pass "killed worker replaced, tasks finished; lifetime replacement"
