#!/usr/bin/env bash
# tide status / logs / scale / adapt / retire over the scheduler connection:
# against a bare scheduler (control routes answer 400: exit 2, one line)
# and against a `tide cluster` (they act, and status shows it).
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"
T="$TIDE_BIN"

start_scheduler
start_worker alpha --nthreads 2 --memory-limit 1GiB
start_worker beta
wait_workers 2
S=(--scheduler-file "$SCHED_FILE")

"$T" status "${S[@]}" >"$T_DIR/status.txt" || fail "status failed"
grep -q "^Scheduler('$SCHED_ADDR', workers=2)" "$T_DIR/status.txt" || fail "no repr line: $(cat "$T_DIR/status.txt")"
grep -qE '^alpha +.* 2 +0\.00 B / 1\.00 GiB' "$T_DIR/status.txt" || fail "alpha row: $(cat "$T_DIR/status.txt")"
grep -qE '^beta ' "$T_DIR/status.txt" || fail "beta row: $(cat "$T_DIR/status.txt")"
grep -q '^adaptive: inactive' "$T_DIR/status.txt" || fail "adaptive line: $(cat "$T_DIR/status.txt")"
"$T" status --json "${S[@]}" >"$T_DIR/status.json"
[ "$(jq '.identity.workers | length' "$T_DIR/status.json")" = 2 ] || fail "status --json: $(head -c 300 "$T_DIR/status.json")"
[ "$(jq -r '.adaptive.state' "$T_DIR/status.json")" = inactive ] || fail "adaptive state"

"$T" logs "${S[@]}" >"$T_DIR/logs.txt" || fail "logs failed"
grep -q '^== scheduler ==$' "$T_DIR/logs.txt" || fail "no scheduler group: $(head -5 "$T_DIR/logs.txt")"
grep -q 'worker alpha' "$T_DIR/logs.txt" || fail "no alpha in logs"
"$T" logs --json "${S[@]}" | jq -e '.scheduler | length > 0' >/dev/null || fail "logs --json"

# Without a cluster manager the control routes refuse: exit 2, one line.
expect_fail_only 2 '^tide: no cluster manager: .*tide cluster' "$T" scale 3 "${S[@]}"
expect_fail_only 2 '^tide: no cluster manager: .*tide cluster' "$T" adapt --minimum 1 "${S[@]}"
expect_fail_only 2 '^tide: --interval: ' "$T" adapt --interval soon "${S[@]}"
expect_fail_only 2 '^tide: adapt: --stop cannot be combined' "$T" adapt --stop --minimum 1 "${S[@]}"
expect_fail_only 2 '^tide: retire: missing argument' "$T" retire "${S[@]}"

# A real cluster: scale, adapt, stop, retire.
CF="$T_DIR/cluster.json"
bg cluster "$T" cluster --port 0 --dashboard-port 0 --scheduler-file "$CF" --workers 1
wait_for 10 test -s "$CF"
C=(--scheduler-file "$CF")
DASH_URL=$(jq -r .dashboard "$CF")
wait_workers 1
"$T" scale 2 "${C[@]}" >"$T_DIR/scale.json" || fail "scale 2"
[ "$(jq .n "$T_DIR/scale.json")" = 2 ] || fail "scale answer: $(cat "$T_DIR/scale.json")"
wait_workers 2
"$T" status "${C[@]}" | grep -q "^LocalCluster(" || fail "no cluster repr in status"
"$T" adapt --minimum 1 --maximum 3 --interval 500ms "${C[@]}" >/dev/null || fail "adapt"
wait_for 10 bash -c "'$T' status --json --scheduler-file '$CF' | jq -e '.adaptive.state == \"running\" and .adaptive.maximum == 3'"
"$T" adapt --stop "${C[@]}" >/dev/null || fail "adapt --stop"
wait_for 10 bash -c "'$T' status --json --scheduler-file '$CF' | jq -e '.adaptive.state != \"running\"'"
name=$(api /api/v1/get_workers | jq -r '.workers[0].name')
"$T" retire "$name" "${C[@]}" >"$T_DIR/retire.json" || fail "retire $name: $(cat "$T_DIR/retire.json")"
[ "$(jq -r '.retired[0]' "$T_DIR/retire.json")" = "$name" ] || fail "retire answer: $(cat "$T_DIR/retire.json")"
expect_fail 1 '^tide: could not retire "nobody"' "$T" retire nobody "${C[@]}"
pass "status, logs, scale, adapt, retire"
