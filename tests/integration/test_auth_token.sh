#!/usr/bin/env bash
# Token authentication (docs/security.md) against a real `tide cluster`:
# the generated token lands in a 0600 scheduler file; clients and workers
# without it or with a wrong one are refused (and counted), workers the
# cluster starts get it, HTTP POST needs it as a bearer token, --no-auth
# turns it off, and `tide scheduler --dashboard-auth` guards GET too.
source "$TIDE_SRC/tests/lib/harness.sh"

SCHED_FILE="$T_DIR/scheduler.json"
bg cluster "$TIDE_BIN" cluster --backend local --name auth --adapt --minimum 0 --maximum 2 \
  --interval 200ms --wait-count 3 --target-duration 1s --port 0 --dashboard-port 0 \
  --scheduler-file "$SCHED_FILE"
wait_for 15 test -s "$SCHED_FILE"
DASH_URL=$(jq -r .dashboard "$SCHED_FILE")
ADDR=$(jq -r .address "$SCHED_FILE")
TOKEN=$(t_token)

[ "$(stat -c %a "$SCHED_FILE")" = 600 ] || fail "scheduler file mode $(stat -c %a "$SCHED_FILE"), want 600"
[[ $TOKEN =~ ^[0-9a-f]{64}$ ]] || fail "no 64-hex token in the scheduler file: '$TOKEN'"
[ "$(stat -c %a "$SCHED_FILE.token")" = 600 ] || fail "token file is not 0600"
pass "a 256-bit token in a 0600 scheduler file"

# a client without the token, or with a wrong one, runs nothing
jq -n '{tasks: {a: {fn: "tide.inc", args: [41]}}, outputs: ["a"]}' > "$T_DIR/g.json"
printf 'not-the-token\n' > "$T_DIR/wrong.token"
set +e
env -u TIDE_AUTH__TOKEN_FILE "$TIDE_BIN" run --scheduler "$ADDR" "$T_DIR/g.json" >"$T_DIR/out" 2>"$T_DIR/err"
rc=$?
set -e
[ $rc = 1 ] || fail "client without the token: exit $rc, want 1"
[ "$(wc -l < "$T_DIR/err")" = 1 ] && grep -q '^tide: .*authentication required' "$T_DIR/err" ||
  fail "client without the token: $(cat "$T_DIR/err")"
[ ! -s "$T_DIR/out" ] || fail "client without the token printed a result"
set +e
"$TIDE_BIN" run --scheduler "$ADDR" --auth-token-file "$T_DIR/wrong.token" "$T_DIR/g.json" >/dev/null 2>"$T_DIR/err"
rc=$?
set -e
[ $rc = 1 ] && grep -q '^tide: .*wrong token' "$T_DIR/err" || fail "wrong token: exit $rc: $(cat "$T_DIR/err")"
# ... and nothing of theirs reached the scheduler: no task known, no worker
# started for them
api /api/v1/tasks | jq -e '[.states[]] | add == 0' >/dev/null ||
  fail "a refused client's task reached the scheduler: $(api /api/v1/tasks | jq -c .states)"
[ "$(nworkers)" = 0 ] || fail "a worker started for a refused client"
api /api/v1/adaptive | jq -e '[.log[] | select(.status == "up")] | length == 0' >/dev/null ||
  fail "the cluster scaled up for a refused client"
pass "clients without the token are refused (exit 1, one line) and ran nothing (0 tasks, 0 workers)"

# a fake worker with a wrong token, or none, never registers: no task can reach it
for how in wrong none; do
  args=(--auth-token-file "$T_DIR/wrong.token")
  [ $how = none ] && args=()
  set +e
  env -u TIDE_AUTH__TOKEN_FILE timeout 20 "$TIDE_BIN" worker "$ADDR" --name "intruder-$how" \
    "${args[@]}" >/dev/null 2>"$T_DIR/werr"
  rc=$?
  set -e
  [ $rc = 2 ] || fail "worker with $how token: exit $rc, want 2: $(cat "$T_DIR/werr")"
  grep -q 'refused this worker' "$T_DIR/werr" || fail "worker with $how token: $(cat "$T_DIR/werr")"
done
[ "$(nworkers)" = 0 ] || fail "a worker without the token registered"
api /metrics > "$T_DIR/m"
refused=$(awk '$1 == "tide_auth_refused_total" {print $2}' "$T_DIR/m")
[ "$refused" = 4 ] || fail "tide_auth_refused_total $refused, want 4 (2 clients, 2 workers)"
pass "workers without the token are refused; 4 refusals counted"

# HTTP: POST needs the bearer token, GET does not (no --dashboard-auth)
code() { command curl -s -o "$T_DIR/body" -w '%{http_code}' --max-time 10 "$@"; }
[ "$(code -X POST -H 'Content-Type: application/json' -d '{"n": 1}' "$DASH_URL/api/v1/scale")" = 401 ] ||
  fail "POST scale without the token: $(body)"
[ "$(code -X POST -H 'Authorization: Bearer guess' -H 'Content-Type: application/json' \
  -d '{"n": 1}' "$DASH_URL/api/v1/scale")" = 401 ] || fail "POST scale with a wrong token: $(body)"
jq -e '.error | test("token")' "$T_DIR/body" >/dev/null || fail "401 without a JSON error: $(body)"
[ "$(code "$DASH_URL/api/v1/identity")" = 200 ] || fail "GET without the token: $(body)"
sleep 0.5
[ "$(nworkers)" = 0 ] || fail "a refused POST started workers"
[ "$(code -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"n": 1}' "$DASH_URL/api/v1/scale")" = 200 ] || fail "POST scale with the token: $(body)"
wait_workers 1 30 # the worker the cluster started proved the token
pass "HTTP POST: 401 without or with a wrong token, 200 with it"

# the worker's data port serves authenticated peers only: a process
# without the token, talking to it as to a scheduler, is refused there
WADDR=$(api /api/v1/get_workers | jq -r '.workers[0].address')
[[ $WADDR == tcp://* ]] || fail "no worker address: $WADDR"
set +e
env -u TIDE_AUTH__TOKEN_FILE timeout 20 "$TIDE_BIN" worker "$WADDR" --name peeker \
  --death-timeout 5s >/dev/null 2>"$T_DIR/perr"
rc=$?
set -e
[ $rc = 2 ] && grep -q 'authentication required' "$T_DIR/perr" ||
  fail "a tokenless peer on the data port: exit $rc: $(cat "$T_DIR/perr")"
pass "a worker's data port refuses peers without the token"

# the cluster's own workers run a burst; values right
expect 200 POST /api/v1/adapt '{"minimum": 0, "maximum": 2, "interval": "200ms", "wait_count": 3, "target_duration": "1s"}'
sleep_graph "$T_DIR/burst.json" 8 0.2
run_graph --timeout 60s "$T_DIR/burst.json" > "$T_DIR/res"
jq -e '[.t0, .t3, .t7] == [0, 3, 7]' "$T_DIR/res" >/dev/null || fail "burst values: $(cat "$T_DIR/res")"
pass "an adaptive burst through authenticated workers, values right"

# the token never reaches the log ring
api /api/v1/logs > "$T_DIR/logs" || true
! grep -q "$TOKEN" "$T_DIR/logs" || fail "the token is in the logs"
grep -q "dashboard: .*?token=$TOKEN" "$T_DIR/cluster.log" || fail "no dashboard URL with the token printed"
[ "$(grep -c "$TOKEN" "$T_DIR/cluster.log")" = 1 ] || fail "the token printed more than once"
pass "the token is printed once (the dashboard URL), never logged"

# --no-auth: no token, no refusals
F2="$T_DIR/noauth.json"
bg cluster2 "$TIDE_BIN" cluster --backend local --name open --no-auth --port 0 --dashboard-port 0 \
  --scheduler-file "$F2"
wait_for 15 test -s "$F2"
[ "$(jq -r '.token // "none"' "$F2")" = none ] || fail "--no-auth wrote a token"
[ "$(code -X POST -H 'Content-Type: application/json' -d '{"n": 0}' "$(jq -r .dashboard "$F2")/api/v1/scale")" = 200 ] ||
  fail "--no-auth: POST refused: $(body)"
env -u TIDE_AUTH__TOKEN_FILE "$TIDE_BIN" status --scheduler-file "$F2" >/dev/null ||
  fail "--no-auth: a client without a token is refused"
F3="$T_DIR/nogen.json"
TIDE_AUTH__GENERATE=false bg cluster3 "$TIDE_BIN" cluster --backend local --name nogen --port 0 \
  --dashboard-port 0 --scheduler-file "$F3"
wait_for 15 test -s "$F3"
[ "$(jq -r '.token // "none"' "$F3")" = none ] || fail "auth.generate false wrote a token"
pass "--no-auth (and auth.generate: false) turn it off"

# tide scheduler with a token file and --dashboard-auth: GET needs it too
printf 'scheduler-secret\n' > "$T_DIR/s.token"
bg sched3 "$TIDE_BIN" scheduler --host 127.0.0.1 --port 0 --dashboard-port 0 \
  --scheduler-file "$T_DIR/s3.json" --auth-token-file "$T_DIR/s.token" --dashboard-auth
wait_for 10 test -s "$T_DIR/s3.json"
D3=$(jq -r .dashboard "$T_DIR/s3.json")
[ "$(jq -r .token "$T_DIR/s3.json")" = scheduler-secret ] || fail "scheduler file without the given token"
[ "$(code "$D3/api/v1/identity")" = 401 ] || fail "--dashboard-auth: GET without the token: $(body)"
[ "$(code -H 'Authorization: Bearer scheduler-secret' "$D3/api/v1/identity")" = 200 ] ||
  fail "--dashboard-auth: GET with the token: $(body)"
[ "$(code "$D3/")" = 200 ] || fail "--dashboard-auth: the page itself needs no token"
set +e
"$TIDE_BIN" scheduler --port 0 --dashboard-port -1 --auth-token-file "$T_DIR/missing.token" 2>"$T_DIR/err"
rc=$?
set -e
[ $rc = 2 ] && grep -q '^tide: cannot read token file' "$T_DIR/err" || fail "missing token file: exit $rc: $(cat "$T_DIR/err")"
pass "tide scheduler --auth-token-file --dashboard-auth"
