#!/usr/bin/env bash
# Requests a web page could make are refused: a text/plain POST (415), a
# foreign Origin (403), a foreign Host as DNS rebinding sends (403), each
# starting nothing. The dashboard's own Origin, localhost, an IP literal
# and a configured dashboard.hosts name are accepted, and scale then
# starts the workers asked for.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/adaptive.sh"

printf 'dashboard:\n  hosts: tide.example.org, other.example\n' >"$TIDE_CONFIG"
start_cluster --backend local --name xs
PORT=${DASH_URL##*:}
SCALE="$DASH_URL/api/v1/scale"
# code ARGS...: the HTTP status of a curl request
code() { curl -s -o "$T_DIR/body" -w '%{http_code}' --max-time 10 "$@"; }
refused() {
  local want=$1 what=$2; shift 2
  local got; got=$(code "$@")
  [ "$got" = "$want" ] || fail "$what: HTTP $got, want $want: $(body)"
  jq -e '.error | type == "string"' "$T_DIR/body" >/dev/null || fail "$what: no JSON error: $(body)"
}

refused 415 "text/plain POST" -H 'Content-Type: text/plain' -d '{"n": 2}' "$SCALE"
refused 415 "form POST" -d 'n=2' "$SCALE"
refused 415 "POST without a content type" -H 'Content-Type:' -d '{"n": 2}' "$SCALE"
refused 403 "foreign Origin" -H 'Content-Type: application/json' \
  -H 'Origin: http://evil.example' -d '{"n": 2}' "$SCALE"
refused 403 "Origin on another port" -H 'Content-Type: application/json' \
  -H "Origin: http://127.0.0.1:1" -d '{"n": 2}' "$SCALE"
refused 403 "Origin null" -H 'Content-Type: application/json' -H 'Origin: null' \
  -d '{"n": 2}' "$SCALE"
refused 403 "foreign Host" -H 'Content-Type: application/json' \
  -H "Host: evil.example:$PORT" -d '{"n": 2}' "$SCALE"
refused 403 "foreign Host and Origin" -H 'Content-Type: application/json' \
  -H "Host: evil.example:$PORT" -H "Origin: http://evil.example:$PORT" -d '{"n": 2}' "$SCALE"
refused 403 "GET with a foreign Host" -H "Host: evil.example" "$DASH_URL/api/v1/identity"
refused 403 "dashboard page with a foreign Host" -H "Host: evil.example" "$DASH_URL/"
refused 403 "retire_workers with a foreign Origin" -H 'Content-Type: application/json' \
  -H 'Origin: https://evil.example' -d '{"n": 1}' "$DASH_URL/api/v1/retire_workers"
refused 415 "adapt as text/plain" -H 'Content-Type: text/plain' -d '{"stop": true}' \
  "$DASH_URL/api/v1/adapt"
sleep_ok=$(api /api/v1/identity | jq '.workers | length')
[ "$sleep_ok" = 0 ] || fail "a refused request started $sleep_ok workers"
pass "12 cross-site shapes refused with a JSON error, 0 workers started"

# accepted: the dashboard's own origin, localhost, a configured name
for h in "127.0.0.1:$PORT" "localhost:$PORT" "tide.example.org:$PORT" "OTHER.example"; do
  [ "$(code -H "Host: $h" "$DASH_URL/api/v1/identity")" = 200 ] || fail "Host $h refused: $(body)"
done
[ "$(code -H "Host: [::1]:$PORT" "$DASH_URL/")" = 200 ] || fail "Host [::1] refused: $(body)"
got=$(code -H 'Content-Type: application/json; charset=utf-8' -H "Origin: $DASH_URL" \
  -d '{"n": 2}' "$SCALE")
[ "$got" = 200 ] || fail "same-origin JSON scale: HTTP $got: $(body)"
wait_workers 2
pass "own Origin, localhost, [::1] and dashboard.hosts names accepted; scale started 2 workers"
