#!/usr/bin/env bash
# docs/design.md §7: results kept by a client survive any scale-down, with no
# recomputation; memory above 60% of the workers' limits doubles the target.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/adaptive.sh"

start_cluster --adapt --minimum 0 --maximum 4 --interval 200ms --wait-count 2 --target-duration 1s
# 8 results spread over the workers of a burst, kept under a name
# each kept result is held by whichever worker ran its sleep: spread out
jq -n '{tasks: (([range(8)] | map({key: "b\(.)", value: {fn: "tide.bytes", args: [200000, .]}}))
               + ([range(8)] | map({key: "s\(.)", value: {fn: "tide.sleep", args: [0.4, {ref: "b\(.)"}]}}))
               | from_entries),
        outputs: [range(8) | "s\(.)"]}' > "$T_DIR/g.json"
first=$(run_graph "$T_DIR/g.json" --publish kept)
[ "$(echo "$first" | jq length)" = 8 ] || fail "outputs: $first"
peak=$(adaptive | jq '[.log[] | select(.status == "up") | .n] | max')
[ "$peak" -ge 2 ] || fail "the burst did not spread over workers (peak $peak)"
# the cluster shrinks, moving the data, but cannot reach 0 while data is kept
wait_for 20 sh -c "[ \$(curl -sf $DASH_URL/api/v1/identity | jq '.workers|length') -le 1 ]"
sleep 1
[ "$(nworkers)" = 1 ] || fail "kept data was dropped with its last worker"
again=$("$TIDE_BIN" get kept --scheduler-file "$SCHED_FILE")
[ "$(echo "$first" | jq -S .)" = "$(echo "$again" | jq -S .)" ] || fail "kept results changed: $again"
rec=$(curl -sf "$DASH_URL/metrics" | awk '/^tide_recomputed_tasks_total/ {print $2}')
[ "${rec:-x}" = 0 ] || fail "recomputed tasks: $rec"
"$TIDE_BIN" unpublish kept --scheduler-file "$SCHED_FILE"
wait_workers 0 15
stop_cluster

# memory: one worker holding 7 MB of a 10 MB limit (> 60%) doubles the target
start_cluster --adapt --minimum 0 --maximum 4 --interval 200ms --wait-count 2 --memory-limit 10MB
echo '{"tasks": {"m": {"fn": "tide.bytes", "args": [7000000, 1]}}, "outputs": ["m"]}' > "$T_DIR/m.json"
run_graph "$T_DIR/m.json" --publish big > /dev/null
wait_workers 2 10
e=$(adaptive | jq -c '[.log[] | select(.status == "up" and .memory_part >= 2)] | .[0]')
[ "$e" != null ] || fail "no up decision driven by memory: $(adaptive | jq -c .log)"
[ "$(echo "$e" | jq .memory)" -ge 7000000 ] || fail "memory input missing: $e"
sleep 1.5
t_workers_eq 2 || fail "memory target did not hold at 2"
stop_cluster
pass "kept results survive scale-down without recomputation; memory doubles the target"
