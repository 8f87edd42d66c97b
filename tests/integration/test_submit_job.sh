#!/usr/bin/env bash
# tide job JOB: per task state, exit code, worker, duration and output
# files of a job submitted without --wait, as a table and as JSON; while
# it runs, then once it is done; an element that used up its retries
# shows its last run's rc and 0 retries left. Bad input: an unknown job and a malformed id exit 2.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"

start_scheduler
start_worker a --nthreads 2 --allow-exec
start_worker b --nthreads 2 --allow-exec
wait_workers 2
cd "$T_DIR" || fail "no test directory"
submit() { "$TIDE_BIN" submit --scheduler-file "$SCHED_FILE" "$@"; }
job() { "$TIDE_BIN" job --scheduler-file "$SCHED_FILE" "$@"; }

# 6 elements: 3 exits 3, 5 is killed by SIGKILL, the others print and succeed
job=$(submit --array 1-6 -- sh -c 'case $TIDE_ARRAY_INDEX in 3) echo three >&2; exit 3;; 5) kill -9 $$;; esac; echo "out $TIDE_ARRAY_INDEX"') \
  || fail "submit"
settled() { job "$job" --json >j.json && [ "$(jq '[.tasks[] | select(.state == "done" or .state == "failed")] | length' j.json)" = 6 ]; }
wait_for 20 settled
[ "$(jq -c '[.tasks[].index]' j.json)" = "[1,2,3,4,5,6]" ] || fail "indexes: $(jq -c '[.tasks[].index]' j.json)"
[ "$(jq -c '[.tasks[].state]' j.json)" = '["done","done","failed","done","failed","done"]' ] || fail "states: $(cat j.json)"
[ "$(jq -c '[.tasks[].rc]' j.json)" = "[0,0,3,0,137,0]" ] || fail "exit codes: $(jq -c '[.tasks[].rc]' j.json)"
[ "$(jq -r '.tasks[2].error' j.json)" = 'tide.exec: "sh" exited with rc 3; stderr: three' ] || fail "error of 3: $(jq -r '.tasks[2].error' j.json)"
[ "$(jq '[.tasks[] | select(.worker == "a" or .worker == "b")] | length' j.json)" = 6 ] || fail "workers: $(jq -c '[.tasks[].worker]' j.json)"
[ "$(jq '[.tasks[] | select(.duration >= 0 and .duration < 10)] | length' j.json)" = 6 ] || fail "durations: $(jq -c '[.tasks[].duration]' j.json)"
for i in 1 2 4 6; do
  out=$(jq -r ".tasks[] | select(.index == $i) | .stdout" j.json)
  [ "$out" = "$T_DIR/tide-submit-$job/$i.out" ] || fail "stdout path of $i: $out"
  [ "$(cat "$out")" = "out $i" ] || fail "stdout of $i: $(cat "$out")"
done
[ "$(jq -r '.tasks[2].stderr' j.json)" = "$T_DIR/tide-submit-$job/3.err" ] || fail "stderr path: $(jq -r '.tasks[2].stderr' j.json)"
# the table: a summary line, a header and one row per task (+ an error line per failure)
job "$job" >table.txt || fail "tide job table"
[ "$(head -1 table.txt)" = "job $job: 6 tasks, 4 done, 2 failed, 0 running, 0 waiting" ] || fail "table summary: $(head -1 table.txt)"
awk '$1 == 3 {exit !($2 == "failed" && $3 == 3 && ($4 == "a" || $4 == "b"))}' table.txt || fail "row 3: $(cat table.txt)"
awk '$1 == 4 {exit !($2 == "done" && $3 == 0)}' table.txt || fail "row 4: $(cat table.txt)"
grep -qF "$T_DIR/tide-submit-$job/4.out $T_DIR/tide-submit-$job/4.err" table.txt || fail "row 4 paths: $(cat table.txt)"
[ "$(grep -c '^ *error: ' table.txt)" = 2 ] || fail "error lines: $(cat table.txt)"

# retries used up: the last run's rc, none left
job3=$(submit --max-retries 2 -- sh -c 'exit 4') || fail "submit a failing element"
failed() { job "$job3" --json >f.json && [ "$(jq -r '.tasks[0].state' f.json)" = failed ]; }
wait_for 20 failed
[ "$(jq -c '.tasks[0] | [.rc, .retries_left]' f.json)" = "[4,0]" ] || fail "after retries: $(cat f.json)"

# a running job: its tasks show running / waiting, with patterns expanded
job2=$(submit --array 1-20 --stdout 'o-%{JOB}-%{INDEX}.txt' -- sleep 30) || fail "submit a long job"
running() { job "$job2" --json >r.json && [ "$(jq '[.tasks[] | select(.state == "running")] | length' r.json)" -ge 2 ]; }
wait_for 10 running
[ "$(jq '[.tasks[] | select(.state == "running" or .state == "waiting")] | length' r.json)" = 20 ] || fail "running job: $(jq -c '[.tasks[].state]' r.json)"
[ "$(jq -r '.tasks[6].stdout' r.json)" = "$T_DIR/o-$job2-7.txt" ] || fail "pattern: $(jq -r '.tasks[6].stdout' r.json)"
[ "$(jq '[.tasks[] | select(.state == "running") | .duration] | unique' r.json)" = "[
  null
]" ] || fail "a running task has no duration yet: $(cat r.json)"
"$TIDE_BIN" cancel --scheduler-file "$SCHED_FILE" "$job2" || fail "cancel"

expect_fail_only 2 "^tide: job: no job 00000000 in the scheduler" job 00000000
expect_fail_only 2 '^tide: job: "x/y" is not a job id' job x/y
pass "6 tasks: rc [0,0,3,0,137,0], workers, durations, 6 output paths; table; running job of 20; bad ids exit 2"
