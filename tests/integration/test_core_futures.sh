#!/usr/bin/env bash
# The futures API from a program of its own (examples/prog_futures_mapreduce.c)
# against an adaptive local cluster from 0 workers: a map of tide.inc and a
# tree of tide.add over futures give N(N+1)/2; the cluster grew (at most to
# its maximum), and once the program is gone the scheduler holds no task and
# the cluster goes back to 0 workers.
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/adaptive.sh"

PROG="$TIDE_BUILD/prog_futures_mapreduce"
[ -x "$PROG" ] || fail "$PROG is not built"
start_cluster --adapt --minimum 0 --maximum 4 --interval 1s --wait-count 2
[ "$(nworkers)" = 0 ] || fail "expected 0 workers at rest"
sample_workers "$T_DIR/nw"

"$PROG" "$SCHED_FILE" 2000 16 >"$T_DIR/out.txt" 2>"$T_DIR/err.txt" \
  || fail "prog_futures_mapreduce failed: $(cat "$T_DIR/err.txt")"
[ "$(cat "$T_DIR/out.txt")" = "sum=2001000" ] || fail "printed: $(cat "$T_DIR/out.txt")"
# a different shape of tree, the same sum
"$PROG" "$SCHED_FILE" 97 2 >"$T_DIR/out2.txt" || fail "prog_futures_mapreduce 97 2 failed"
[ "$(cat "$T_DIR/out2.txt")" = "sum=4753" ] || fail "97 2 printed: $(cat "$T_DIR/out2.txt")"

ups=$(adaptive | jq '[.log[] | select(.status == "up")] | length')
[ "$ups" -ge 1 ] || fail "the cluster never grew"
max=$(max_of "$T_DIR/nw")
[ "$max" -ge 1 ] && [ "$max" -le 4 ] || fail "worker count peaked at $max (0 < n <= 4 expected)"

# released: the last future went with the program, so did every task
tasks_total() { api /api/v1/identity | jq '[.tasks[]] | add'; }
tasks_zero() { [ "$(tasks_total)" = 0 ]; }
wait_for 10 tasks_zero
wait_workers 0 20

# bad input: the library's one-line error, and usage
rc=0
"$PROG" "$T_DIR/nothere.json" 2>"$T_DIR/err" || rc=$?
[ $rc = 1 ] || fail "exit $rc with a missing scheduler file"
grep -q "cannot read scheduler file $T_DIR/nothere.json" "$T_DIR/err" || fail "error: $(cat "$T_DIR/err")"
rc=0
"$PROG" "$SCHED_FILE" 0 2>"$T_DIR/err" || rc=$?
[ $rc = 2 ] || fail "exit $rc for N = 0"
grep -q "usage" "$T_DIR/err" || fail "no usage line: $(cat "$T_DIR/err")"

stop_cluster
pass "futures map-reduce on an adaptive cluster: sum, growth within bounds, release"
