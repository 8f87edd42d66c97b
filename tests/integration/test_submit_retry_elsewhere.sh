#!/usr/bin/env bash
# --max-retries reruns a failed command on another worker (docs/design.md
# §2): with two workers, each of 10 elements fails on the first worker it
# runs on (a marker file names that worker) and succeeds on the other, with
# one retry each. A rerun on the same worker would fail for good, so all 10
# succeeding means all 10 reruns went elsewhere. With one worker the rerun
# goes back to it.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"

start_scheduler
export WHO=a
start_worker a --nthreads 2 --allow-exec
export WHO=b
start_worker b --nthreads 2 --allow-exec
unset WHO
wait_workers 2
cd "$T_DIR" || fail "no test directory"
submit() { "$TIDE_BIN" submit --scheduler-file "$SCHED_FILE" "$@"; }
# first run: note the worker and fail; later runs: succeed only elsewhere
cmd='m=first-$TIDE_ARRAY_INDEX; if [ -e "$m" ]; then [ "$(cat "$m")" != "$WHO" ] && echo "$(cat "$m") then $WHO"; else echo "$WHO" >"$m"; exit 1; fi'

submit --array 1-10 --max-retries 1 --wait -- sh -c "$cmd" >retry.out 2>&1 || fail "retry elsewhere: $(cat retry.out)"
job=$(head -1 retry.out)
[ "$(sed -n 2p retry.out)" = "job $job: 10 tasks, 10 succeeded, 0 failed" ] || fail "summary: $(cat retry.out)"
bad=0
for i in $(seq 1 10); do
  first=$(cat "first-$i")
  other=$([ "$first" = a ] && echo b || echo a)
  [ "$(cat "tide-submit-$job/$i.out")" = "$first then $other" ] || bad=$((bad + 1))
done
[ "$bad" = 0 ] || fail "$bad of 10 reruns did not go to the other worker, e.g. $(cat "tide-submit-$job/1.out")"

# without retries the same command fails on its first worker: the check can fail
rm -f first-*
rc=0
submit --array 1-4 --wait -- sh -c "$cmd" >none.out 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "4 failed" none.out || fail "without retries: exit $rc: $(cat none.out)"

# one worker left: the rerun goes back to it (and fails there, by design)
kill "$WORKER_PID"
wait_workers 1
rm -f first-*
rc=0
submit --array 1-2 --max-retries 1 --wait -- sh -c "$cmd" >one.out 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "2 failed" one.out || fail "one worker: exit $rc: $(cat one.out)"
[ "$(cat first-1)" = a ] || fail "ran on $(cat first-1), want a"
pass "10 of 10 reruns on the other worker; 4 of 4 fail without retries; 2 of 2 reruns with one worker go back to it"
