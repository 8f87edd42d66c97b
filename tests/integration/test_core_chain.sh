#!/usr/bin/env bash
# A chain of 1,000 tide.inc: t0 = inc(0), t_i = inc(t_{i-1}), so t999 = 1000.
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"

start_scheduler
start_worker a
start_worker b
wait_workers 2

N=1000
jq -n --argjson n $N '{tasks: ([range($n)] | map({key: "t\(.)", value: {fn: "tide.inc",
    args: [if . == 0 then 0 else {ref: "t\(. - 1)"} end]}}) | from_entries),
  outputs: ["t\($n - 1)", "t499"]}' >"$T_DIR/chain.json"
run_graph "$T_DIR/chain.json" --timeout 120 >"$T_DIR/out.json"
[ "$(json_get "$T_DIR/out.json" .t999)" = 1000 ] || fail "t999: $(cat "$T_DIR/out.json")"
[ "$(json_get "$T_DIR/out.json" .t499)" = 500 ] || fail "t499: $(cat "$T_DIR/out.json")"
[ "$(jq length "$T_DIR/out.json")" = 2 ] || fail "outputs: $(cat "$T_DIR/out.json")"
pass "chain of $N: t999 = 1000"
