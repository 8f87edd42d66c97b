#!/usr/bin/env bash
# 10,000 independent tide.inc tasks: every output there with the right
# value, checked by count and sum.
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"

start_scheduler
start_worker a
start_worker b
wait_workers 2

N=10000
jq -n --argjson n $N '{tasks: ([range($n)] | map({key: "t\(.)", value: {fn: "tide.inc", args: [.]}}) | from_entries)}' \
  >"$T_DIR/many.json"
start=$(date +%s.%N)
run_graph "$T_DIR/many.json" --timeout 120 >"$T_DIR/out.json"
end=$(date +%s.%N)
count=$(jq 'length' "$T_DIR/out.json")
sum=$(jq '[.[]] | add' "$T_DIR/out.json")
[ "$count" = $N ] || fail "$count outputs, want $N"
# sum of i + 1 for i in 0..N-1
[ "$sum" = $((N * (N + 1) / 2)) ] || fail "sum $sum, want $((N * (N + 1) / 2))"
[ "$(jq '.t4321' "$T_DIR/out.json")" = 4322 ] || fail "t4321 != 4322"
# The tasks were spread: both workers executed some.
api /api/v1/get_workers | jq -e '[.workers[] | select(.executed > 0)] | length == 2' >/dev/null \
  || echo "note: not every worker executed tasks: $(api /api/v1/get_workers | jq -c '[.workers[] | .executed]')"
pass "$N tasks, sum $sum in $(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.2f", b - a}')s"
