#!/usr/bin/env bash
# docs/design.md §7: minimum=1, maximum=2: exactly one worker at rest; 100
# tasks of 0.1 s bring exactly 2 and never 3; afterwards back to 1. Also:
# minimum > maximum is refused as bad input.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/adaptive.sh"

start_cluster --adapt --minimum 1 --maximum 2 --interval 200ms --wait-count 3 --target-duration 1s
wait_workers 1 10
# at rest it stays at exactly 1 for several rounds
for i in $(seq 10); do t_workers_eq 1 || fail "not exactly 1 worker at rest"; sleep 0.1; done

sleep_graph "$T_DIR/g.json" 100 0.1
sample_workers "$T_DIR/samples"
out=$(run_graph "$T_DIR/g.json")
[ "$(echo "$out" | jq 'length')" = 100 ] || fail "missing outputs"
[ "$(echo "$out" | jq '.t57')" = 57 ] || fail "wrong value"
max=$(max_of "$T_DIR/samples")
[ "$max" = 2 ] || fail "max workers during the run was $max, expected exactly 2"
# decisions never asked for more than the maximum
[ "$(adaptive | jq '[.log[] | select(.status == "up") | .n] | max')" = 2 ] || fail "asked for more than 2"
wait_workers 1 10
for i in $(seq 10); do t_workers_eq 1 || fail "did not settle at 1"; sleep 0.1; done
kill "$SAMPLER_PID"

# minimum above maximum is refused (bad input) and changes nothing
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d '{"minimum": 3}' "$DASH_URL/api/v1/adapt")
[ "$code" = 400 ] || fail "minimum 3 over maximum 2: HTTP $code, want 400"
[ "$(adaptive | jq -c '[.minimum, .maximum, .state]')" = '[1,2,"running"]' ] || fail "refusal changed $(adaptive | jq -c .)"
curl -sf -H 'Content-Type: application/json' -d '{"minimum": 3, "maximum": 3}' "$DASH_URL/api/v1/adapt" >/dev/null || fail "adapt refused"
wait_workers 3 10
stop_cluster
pass "min 1 / max 2: 1 at rest, exactly 2 under load, back to 1; minimum over maximum refused"
