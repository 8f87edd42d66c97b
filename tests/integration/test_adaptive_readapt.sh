#!/usr/bin/env bash
# docs/design.md §7: adapt(maximum=5) under load, then adapt(maximum=2):
# exactly 2; the second adapt keeps the options it did not set; scale(n)
# stops adapting.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/adaptive.sh"

start_cluster --adapt --minimum 0 --maximum 5 --interval 200ms --wait-count 2 --target-duration 1s
sleep_graph "$T_DIR/g.json" 30 1.5
run_graph "$T_DIR/g.json" > "$T_DIR/out.json" &
RUN=$!
wait_workers 5 15
r=$(curl -sf -H 'Content-Type: application/json' -d '{"maximum": 2}' "$DASH_URL/api/v1/adapt") || fail "adapt refused"
[ "$(echo "$r" | jq .maximum)" = 2 ] || fail "maximum not applied: $r"
[ "$(echo "$r" | jq .wait_count)" = 2 ] || fail "wait_count not kept: $r"
[ "$(echo "$r" | jq .interval)" = 0.2 ] || fail "interval not kept: $r"
wait_workers 2 20
sample_workers "$T_DIR/samples"
sleep 1.5
kill "$SAMPLER_PID"
[ "$(max_of "$T_DIR/samples")" = 2 ] || fail "more than 2 after adapt(maximum=2)"
[ "$(sort -n "$T_DIR/samples" | head -1)" = 2 ] || fail "fewer than 2 under load"
wait "$RUN" || fail "run failed"
[ "$(jq length "$T_DIR/out.json")" = 30 ] || fail "lost outputs"

# scale(n) stops adapting and holds n
r=$(curl -sf -H 'Content-Type: application/json' -d '{"n": 3}' "$DASH_URL/api/v1/scale") || fail "scale refused"
wait_workers 3 10
[ "$(adaptive | jq -r .state)" = stopped ] || fail "scale did not stop adapting"
sleep 1
t_workers_eq 3 || fail "scale(3) did not hold"
stop_cluster
pass "adapt(max=5) then adapt(max=2): exactly 2; scale stops adapting"
