#!/usr/bin/env bash
# The ceiling on workers per cluster (cluster.max-workers, --max-workers):
# scale and adapt above it get HTTP 400 with a JSON error and start
# nothing; --workers, --minimum and --maximum above it are bad input.
source "$TIDE_SRC/tests/lib/harness.sh"

# bad input: one `tide: ` line, exit 2, nothing started
for args in "--maximum 1001" "--minimum 1001" "--max-workers 3 --maximum 4" \
            "--max-workers 3 --workers 4" "--max-workers 0"; do
  # shellcheck disable=SC2086
  "$TIDE_BIN" cluster --backend local --port 0 --dashboard-port 0 $args \
    > "$T_DIR/out" 2> "$T_DIR/err" && fail "cluster $args was accepted"
  rc=$?
  [ "$rc" = 2 ] || fail "cluster $args: exit $rc, want 2"
  [ "$(wc -l < "$T_DIR/err")" = 1 ] && grep -q '^tide: ' "$T_DIR/err" ||
    fail "cluster $args: want one tide: line, got: $(cat "$T_DIR/err")"
done
grep -qx 'tide: --max-workers: cluster.max-workers: must be an integer >= 1, got "0"' "$T_DIR/err" ||
  fail "--max-workers 0: $(cat "$T_DIR/err")"
pass "flags above the ceiling are bad input"

SCHED_FILE="$T_DIR/scheduler.json"
bg cluster "$TIDE_BIN" cluster --backend local --name ceil --port 0 --dashboard-port 0 \
  --scheduler-file "$SCHED_FILE"
CLUSTER_PID=$BG_PID
wait_for 15 test -s "$SCHED_FILE"
DASH_URL=$(jq -r .dashboard "$SCHED_FILE")

for n in 100000 1001; do
  expect 400 POST /api/v1/scale "{\"n\": $n}"
  jq -e --arg n "$n" '.error == "scale: n \($n) is above the ceiling of 1000 workers (cluster.max-workers)"' \
    "$T_DIR/body" >/dev/null || fail "scale $n: $(body)"
done
expect 400 POST /api/v1/adapt '{"maximum": 1001}'
jq -e '.error | test("above the ceiling of 1000")' "$T_DIR/body" >/dev/null || fail "adapt: $(body)"
[ "$(api /api/v1/adaptive | jq -r .state)" != running ] || fail "a refused adapt started adapting"
# the refusals are synchronous: nothing was asked of the backend
[ "$(nworkers)" = 0 ] || fail "workers after refused scale: $(nworkers)"
expect 200 GET /metrics
grep -qx 'tide_workers_requested 0' "$T_DIR/body" || fail "metrics: requested after refused scale"
[ "$(pgrep -c -P "$CLUSTER_PID")" = 0 ] || fail "the cluster started processes"
pass "scale 100000 and 1001, adapt maximum 1001: HTTP 400, no worker"

# up to the ceiling is fine
expect 200 POST /api/v1/scale '{"n": 1}'
wait_for 30 t_workers_eq 1
pass "scale 1 still works"
