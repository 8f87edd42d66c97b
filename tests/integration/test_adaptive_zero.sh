#!/usr/bin/env bash
# docs/design.md §7: from 0 workers, one task brings a worker up (reactively,
# well before the next tick) and its result back; when the client lets go
# the cluster returns to 0. SIGTERM then leaves no worker and no file.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/adaptive.sh"

start_cluster --adapt --minimum 0 --maximum 4 --interval 2s --wait-count 2
[ "$(nworkers)" = 0 ] || fail "expected 0 workers at rest"
[ "$(adaptive | jq -r .state)" = running ] || fail "adaptive not running"

echo '{"tasks": {"a": {"fn": "tide.inc", "args": [41]}}, "outputs": ["a"]}' > "$T_DIR/g.json"
t0=$(date +%s.%N)
out=$(run_graph "$T_DIR/g.json")
t1=$(date +%s.%N)
[ "$(echo "$out" | jq .a)" = 42 ] || fail "bad result: $out"
# the interval is 2 s: a result within 1.5 s means the reactive path worked
awk -v a="$t0" -v b="$t1" 'BEGIN{exit !(b - a < 1.5)}' || fail "first result took $(echo "$t1 - $t0" | bc) s"
log=$(adaptive | jq -c '.log')
[ "$(echo "$log" | jq '[.[] | select(.status == "up")] | length')" -ge 1 ] || fail "no up decision: $log"
[ "$(echo "$log" | jq '.[0].reactive')" = true ] || fail "first up was not reactive: $log"
[ "$(echo "$log" | jq '.[0].n')" = 1 ] || fail "first up asked for more than 1: $log"
for k in occupancy queued memory plan observed cpu_part memory_part; do
  [ "$(echo "$log" | jq ".[0] | has(\"$k\")")" = true ] || fail "log entry lacks $k"
done

# the decisions are in the cluster's log lines too
api /api/v1/logs | jq -e '.cluster | map(select(test("adaptive: up: 0 -> 1"))) | length == 1' >/dev/null \
  || fail "cluster log lacks the up decision"
api /api/v1/cluster | jq -e '.repr | startswith("LocalCluster(tide, '"'"'tcp://127.0.0.1:")' >/dev/null \
  || fail "repr: $(api /api/v1/cluster | jq -r .repr)"

# client gone: back to 0 after wait_count rounds
wait_workers 0 15
down=$(adaptive | jq '[.log[] | select(.status == "down")] | length')
[ "$down" -ge 1 ] || fail "no down decision"
[ "$(adaptive | jq '.plan | length')" = 0 ] || fail "plan not empty"
wait_for 5 procs_eq 0

# a second burst from 0 works again
out=$(run_graph "$T_DIR/g.json")
[ "$(echo "$out" | jq .a)" = 42 ] || fail "bad second result: $out"
[ "$(nworkers)" -ge 1 ] || fail "no worker during second run"
stop_cluster
pass "0 -> 1 -> 0 reactively, clean SIGTERM"
