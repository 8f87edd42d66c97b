#!/usr/bin/env bash
# Bad input to `tide cluster` and the adaptive routes: one `tide: ` line and
# exit 2, or HTTP 400 with the running controller untouched.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/adaptive.sh"

bad_flags() {
  local want=$1; shift
  set +e
  err=$("$TIDE_BIN" cluster --port 0 --dashboard-port 0 "$@" 2>&1 >/dev/null); rc=$?
  set -e
  [ "$rc" = 2 ] || fail "tide cluster $*: exit $rc (want 2): $err"
  [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "tide cluster $*: not one line: $err"
  [[ "$err" == "tide: "*"$want"* ]] || fail "tide cluster $*: message \"$err\" lacks \"$want\""
}
bad_flags minimum --minimum -1
bad_flags maximum --maximum -3
bad_flags interval --interval 0
bad_flags interval --interval -1s
bad_flags wait-count --wait-count 0
bad_flags worker-key --worker-key colour
bad_flags processes --processes 0
bad_flags nthreads --nthreads 0
bad_flags "1 to 1024" --nthreads 5000
bad_flags backend --backend nope
bad_flags --bogus --bogus 1
bad_flags start-cmd --backend command
bad_flags --start-cmd --start-cmd "true"     # a command-backend flag on the local backend
bad_flags memory-limit --memory-limit lots
bad_flags value --workers
bad_flags "minimum 2 is above maximum 1" --adapt --minimum 2 --maximum 1
start_cluster --adapt --minimum 2 --maximum 3 --interval 100ms
wait_workers 2 10

post() { curl -s -o "$T_DIR/body" -w '%{http_code}' -H 'Content-Type: application/json' -d "$2" "$DASH_URL$1"; }
for body in '{"interval": 0}' '{"interval": -1}' '{"wait_count": 0}' '{"minimum": -1}' \
            '{"worker_key": "colour"}' '{"maximum": "many"}' '{"bogus": 1}' 'not json' \
            '{"maximum": 1}' '{"minimum": 4}' '{"minimum": 5, "maximum": 4}'; do
  code=$(post /api/v1/adapt "$body")
  [ "$code" = 400 ] || fail "adapt $body: HTTP $code $(cat "$T_DIR/body")"
  jq -e '.error | type == "string"' "$T_DIR/body" >/dev/null || fail "adapt $body: no error text"
done
code=$(post /api/v1/scale '{"n": -1}')
[ "$code" = 400 ] || fail "scale -1: HTTP $code"
a=$(adaptive)
[ "$(echo "$a" | jq -r .state)" = running ] || fail "bad input stopped the controller: $a"
[ "$(echo "$a" | jq .interval)" = 0.1 ] || fail "bad input changed the interval: $a"
[ "$(echo "$a" | jq .minimum)" = 2 ] || fail "bad input changed the minimum: $a"
[ "$(echo "$a" | jq .maximum)" = 3 ] || fail "bad input changed the maximum: $a"
t_workers_eq 2 || fail "workers changed"
stop_cluster
pass "bad flags and bodies refused; controller untouched"
