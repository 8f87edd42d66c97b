#!/usr/bin/env bash
# The cluster routes of the HTTP API against a real `tide cluster` (local
# backend): POST scale, adapt (options, errors, stop), retire_workers
# through the cluster, GET cluster/adaptive, and the cluster's metrics.
source "$TIDE_SRC/tests/lib/harness.sh"

adaptive_state() { api /api/v1/adaptive | jq -r .state; }
t_state_is() { [ "$(adaptive_state 2>/dev/null)" = "$1" ]; }

SCHED_FILE="$T_DIR/scheduler.json"
bg cluster "$TIDE_BIN" cluster --backend local --name hc --port 0 --dashboard-port 0 \
  --scheduler-file "$SCHED_FILE"
wait_for 15 test -s "$SCHED_FILE"
DASH_URL=$(jq -r .dashboard "$SCHED_FILE")

expect 200 GET /api/v1/cluster
jq -e '(.repr | type == "string") and (.repr | length) > 0' "$T_DIR/body" >/dev/null ||
  fail "cluster info without a repr: $(body)"

# scale: validation, then 2 workers arrive
expect 400 POST /api/v1/scale '{"n": -2}'
expect 200 POST /api/v1/scale '{"n": 2}'
wait_for 30 t_workers_eq 2
expect 200 GET /metrics
grep -qx 'tide_workers 2' "$T_DIR/body" || fail "metrics: tide_workers after scale 2"
grep -qx 'tide_workers_requested 2' "$T_DIR/body" || fail "metrics: tide_workers_requested after scale 2"
pass "scale to 2"

# adapt: bad options are refused and change nothing; good ones start it
expect 400 POST /api/v1/adapt '{"interval": 0}'
expect 400 POST /api/v1/adapt '{"wait_count": 0}'
expect 400 POST /api/v1/adapt '{"worker_key": "colour"}'
[ "$(adaptive_state)" != running ] || fail "a refused adapt started adapting"
expect 200 POST /api/v1/adapt '{"minimum": 1, "maximum": 3, "interval": "200ms", "wait_count": 2, "target_duration": "2s"}'
wait_for 10 t_state_is running
api /api/v1/adaptive > "$T_DIR/ad.json"
jq -e '.minimum == 1 and .maximum == 3 and .wait_count == 2 and (.interval - 0.2 | fabs) < 1e-9
       and .target_duration == 2' "$T_DIR/ad.json" >/dev/null || fail "adaptive options: $(cat "$T_DIR/ad.json")"
[ "$(api /api/v1/adaptive_target | jq .target_duration)" = 2 ] || fail "adaptive_target does not use the cluster's target_duration"
# idle: down to the minimum of 1
wait_for 30 t_workers_eq 1
# a second adapt keeps the options it does not name
expect 200 POST /api/v1/adapt '{"maximum": "inf"}'
api /api/v1/adaptive | jq -e '.minimum == 1 and .wait_count == 2' >/dev/null || fail "second adapt lost options"
expect 200 POST /api/v1/adapt '{"stop": true}'
wait_for 10 t_state_is stopped
pass "adapt, adapt again, stop"

# retire through the cluster
name=$(api /api/v1/get_workers | jq -r '.workers[0].name')
expect 200 POST /api/v1/retire_workers "{\"workers\": [\"$name\", \"ghost\"]}"
jq -e --arg n "$name" '.retired == [$n] and (.not_retired.ghost | type == "string")' "$T_DIR/body" \
  >/dev/null || fail "retire through the cluster: $(body)"
wait_for 30 t_workers_eq 0
expect 200 GET /api/v1/logs
jq -e '.cluster | length > 0' "$T_DIR/body" >/dev/null || fail "no cluster log lines: $(body)"
expect 200 GET /metrics
grep -qx 'tide_recomputed_tasks_total 0' "$T_DIR/body" || fail "metrics: recomputed"
if command -v promtool >/dev/null 2>&1; then
  promtool check metrics < "$T_DIR/body" || fail "promtool check metrics failed"
else
  skip_part "promtool is not installed (package prometheus): metrics format not linted"
fi
pass "retire through the cluster"
