#!/usr/bin/env bash
# A graph of more than 2,048 builtin tasks goes to the scheduler in parts
# (docs/protocol.md "update-graph", streamed submission): the same values as
# one message, dependencies across parts and pointing forward in the file
# included; a bad reference or a cycle in the last part is refused before
# anything is sent, and a plugin graph the scheduler refuses runs nothing.
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"
cd "$T_DIR"

start_scheduler
start_worker a
start_worker b
wait_workers 2

executed() { api /api/v1/get_workers | jq '[.workers[].executed] | add'; }

# 7,500 x_i = inc(y_i) written before the y_i = inc(i) they depend on, then
# a chain of 5,000 (c_i = inc(c_{i-1}), c_0 = inc(0)) that crosses two part
# boundaries: 20,000 tasks, outputs the 7,500 x and c4999 (nothing depends
# on them).
awk 'BEGIN {
  printf "{\"tasks\": {"
  for (i = 0; i < 7500; i++)
    printf "\"x%d\": {\"fn\": \"tide.inc\", \"args\": [{\"ref\": \"y%d\"}]}, \"y%d\": {\"fn\": \"tide.inc\", \"args\": [%d]}, ", i, i, i, i
  printf "\"c0\": {\"fn\": \"tide.inc\", \"args\": [0]}"
  for (i = 1; i < 5000; i++)
    printf ", \"c%d\": {\"fn\": \"tide.inc\", \"args\": [{\"ref\": \"c%d\"}]}", i, i - 1
  printf "}}\n"
}' >mixed.json
run_graph mixed.json --timeout 120 >out.json || fail "tide run of 20,000 tasks failed"
[ "$(jq length out.json)" = 7501 ] || fail "$(jq length out.json) outputs, want 7501"
# sum of x_i = i + 2 for i in 0..7499
want=$((7500 * 7499 / 2 + 2 * 7500))
[ "$(jq '[to_entries[] | select(.key | startswith("x")) | .value] | add' out.json)" = $want ] \
  || fail "sum of x is not $want"
[ "$(jq .c4999 out.json)" = 5000 ] || fail "c4999 = $(jq .c4999 out.json), want 5000"
[ "$(jq -r 'keys_unsorted[0]' out.json)" = x0 ] || fail "outputs are not in the graph's order"
[ "$(executed)" = 20000 ] || fail "$(executed) tasks executed, want 20000"

# The last task fails after most outputs were gathered (outputs are
# fetched in batches of 2,048 as they finish): exit 1, nothing on stdout.
sed 's/"c4999": {"fn": "tide.inc", "args": \[{"ref": "c4998"}\]}/"c4999": {"fn": "tide.fail", "args": ["boom"]}/' \
  mixed.json >fails.json
grep -q '"c4999": {"fn": "tide.fail"' fails.json || fail "fails.json was not made"
expect_fail_only 1 '^tide: task "c4999" failed: .*boom' "$TIDE_BIN" run fails.json --scheduler-file "$SCHED_FILE"
[ ! -s "$T_DIR/fail.out" ] || fail "stdout not empty after a failure: $(head -c 200 "$T_DIR/fail.out")"
ran=$(executed)
# c0..c4998 ran before c4999 could: at least 20,000 + 4,999
[ "$ran" -ge 24999 ] || fail "$ran tasks executed after the failing graph, want at least 24999"

# The same graph with a bad reference in its very last task (part 10 of
# 10): one clear error, nothing sent, nothing runs.
sed 's/{"ref": "c4998"}/{"ref": "nope"}/' mixed.json >badref.json
expect_fail_only 2 '^tide: badref\.json:1: task "c4999" refers to unknown key "nope"$' \
  "$TIDE_BIN" run badref.json --scheduler-file "$SCHED_FILE"
# A cycle closed by the last task: c0 depends on c4999.
sed 's/"c0": {"fn": "tide.inc", "args": \[0\]}/"c0": {"fn": "tide.inc", "args": [{"ref": "c4999"}]}/' \
  mixed.json >cycle.json
expect_fail_only 2 '^tide: cycle\.json:1: dependency cycle: ' \
  "$TIDE_BIN" run cycle.json --scheduler-file "$SCHED_FILE"

# A function only the scheduler can judge (a plugin no worker loads) in the
# last task: the graph goes as one message and is refused whole.
sed 's/"c4999": {"fn": "tide.inc"/"c4999": {"fn": "noplugin.fn"/' mixed.json >plugin.json
expect_fail_only 2 'unknown function "noplugin\.fn"' \
  "$TIDE_BIN" run plugin.json --scheduler-file "$SCHED_FILE"
[ "$(executed)" = "$ran" ] || fail "$(($(executed) - ran)) tasks of refused graphs ran"
live=$(api /api/v1/identity | jq '[.tasks[]] | add')
[ "$live" = 0 ] || fail "$live tasks left on the scheduler after the refused graphs"
pass "20,000 tasks in parts: 7,501 outputs right; a failing last task: exit 1, empty stdout; bad ref, cycle and plugin refusals ran 0 tasks"
