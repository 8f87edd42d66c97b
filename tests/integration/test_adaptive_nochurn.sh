#!/usr/bin/env bash
# docs/design.md §7: short tasks separated by pauses shorter than
# interval * wait_count cause no scale-down (no churn); a single long task
# of unknown duration never brings more than one worker.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/adaptive.sh"

start_cluster --adapt --minimum 0 --maximum 4 --interval 200ms --wait-count 10 --target-duration 1s
sleep_graph "$T_DIR/burst.json" 8 0.3
for i in 1 2 3 4; do
  out=$(run_graph "$T_DIR/burst.json")
  [ "$(echo "$out" | jq length)" = 8 ] || fail "burst $i lost outputs"
  sleep 0.8   # < interval * wait_count = 2 s
done
downs=$(adaptive | jq '[.log[] | select(.status == "down")] | length')
[ "$downs" = 0 ] || fail "$downs scale-down(s) between short pauses: $(adaptive | jq -c .log)"
ups=$(adaptive | jq '[.log[] | select(.status == "up")] | length')
[ "$ups" -ge 1 ] || fail "never scaled up"
n=$(nworkers)
[ "$n" -ge 1 ] || fail "workers went away between bursts"
# once the pauses are longer, it does scale down
wait_workers 0 15
stop_cluster

# one long task of unknown duration: never more than one worker
start_cluster --adapt --minimum 0 --maximum 4 --interval 100ms --wait-count 3 --target-duration 100ms
echo '{"tasks": {"long": {"fn": "tide.sleep", "args": [3, 1], "prefix": "never-seen"}}, "outputs": ["long"]}' > "$T_DIR/long.json"
sample_workers "$T_DIR/samples"
out=$(run_graph "$T_DIR/long.json")
[ "$(echo "$out" | jq .long)" = 1 ] || fail "long task result: $out"
kill "$SAMPLER_PID"
max=$(max_of "$T_DIR/samples")
[ "$max" = 1 ] || fail "a single long task brought $max workers"
[ "$(adaptive | jq '[.log[] | select(.status == "up") | .n] | max')" = 1 ] || fail "asked for more than 1"
stop_cluster
pass "no churn across short pauses; one long task -> one worker"
