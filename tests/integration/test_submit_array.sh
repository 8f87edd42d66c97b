#!/usr/bin/env bash
# tide submit on an adaptive local cluster (0..4 workers): an array of
# 1,000 commands writes every output file with its own index and entry;
# a task exiting 3 fails the job with rc 3 in the summary and exit 1; a
# flaky command succeeds with --max-retries 2; --each-line, --each-json,
# --env and patterns; without --wait the job outlives the client; tide
# jobs counts a job's tasks by state and tide cancel ends it.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/adaptive.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"

start_cluster --allow-exec --adapt --minimum 0 --maximum 4 --interval 1s
submit() { "$TIDE_BIN" submit --scheduler-file "$SCHED_FILE" "$@"; }
cd "$T_DIR" || fail "no test directory"

# --- 1,000 elements, every output checked ---
submit --array 1-1000 --wait -- sh -c 'echo "$TIDE_ARRAY_INDEX $TIDE_TASK_ID"; echo "e$TIDE_ARRAY_INDEX" >&2' \
  >big.out 2>big.err || fail "array of 1000: $(cat big.out big.err)"
job=$(head -1 big.out)
[ "$(sed -n 2p big.out)" = "job $job: 1000 tasks, 1000 succeeded, 0 failed" ] || fail "summary: $(cat big.out)"
dir="tide-submit-$job"
[ "$(find "$dir" -name '*.out' | wc -l)" = 1000 ] || fail "$(find "$dir" -name '*.out' | wc -l) .out files, want 1000"
bad=0
for i in $(seq 1 1000); do
  [ "$(cat "$dir/$i.out")" = "$i $job-$i" ] && [ "$(cat "$dir/$i.err")" = "e$i" ] || bad=$((bad + 1))
done
[ "$bad" = 0 ] || fail "$bad of 1000 output files are wrong, e.g. 17: $(cat "$dir/17.out")"

# --- a failing element: rc 3 in the summary and the one tide: line, exit 1 ---
rc=0
submit --array 0-9:3 --wait -- sh -c '[ "$TIDE_ARRAY_INDEX" != 6 ] || { echo bad six >&2; exit 3; }' \
  >fail.out 2>fail.err || rc=$?
[ "$rc" = 1 ] || fail "a failed element: exit $rc, want 1: $(cat fail.out fail.err)"
job=$(head -1 fail.out)
[ "$(sed -n 2p fail.out)" = "job $job: 4 tasks, 3 succeeded, 1 failed" ] || fail "summary: $(cat fail.out)"
grep -qxF "  rc 3: 1 task, e.g. $job-6: tide.exec: \"sh\" exited with rc 3; stderr: bad six" fail.out \
  || fail "failures by rc: $(cat fail.out)"
[ "$(cat fail.err)" = "tide: job $job: 1 of 4 tasks failed (rc 3)" ] || fail "stderr: $(cat fail.err)"

# --- a flaky command (fails while its marker is missing) with --max-retries 2 ---
submit --max-retries 2 --wait --stdout flaky.txt -- sh -c 'if [ -e marker ]; then echo second try; else touch marker; exit 1; fi' \
  >flaky.out 2>&1 || fail "flaky with --max-retries 2: $(cat flaky.out)"
[ "$(cat flaky.txt)" = "second try" ] || fail "flaky output: $(cat flaky.txt)"
rm -f marker
rc=0
submit --wait -- sh -c 'if [ -e marker ]; then echo second try; else touch marker; exit 1; fi' >flaky0.out 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "flaky without retries: exit $rc, want 1"

# --- --each-line / --each-json with --env, --cwd and patterns ---
mkdir -p work out
printf 'alpha beta\n\ngamma\n' >lines.txt
submit --each-line lines.txt --cwd work --stdout '../out/%{JOB}-%{INDEX}.txt' --stderr '../out/%{TASK}.err' \
  --env GREETING=hi --env 'SPACED=a b' --wait -- sh -c 'echo "[$TIDE_ENTRY] $GREETING $SPACED $(basename "$PWD")"' \
  >lines.out 2>&1 || fail "each-line: $(cat lines.out)"
job=$(head -1 lines.out)
[ "$(cat "out/$job-0.txt")" = "[alpha beta] hi a b work" ] || fail "line 0: $(cat "out/$job-0.txt")"
[ "$(cat "out/$job-1.txt")" = "[] hi a b work" ] || fail "line 1: $(cat "out/$job-1.txt")"
[ "$(cat "out/$job-2.txt")" = "[gamma] hi a b work" ] || fail "line 2: $(cat "out/$job-2.txt")"
[ -f "out/$job-2.err" ] || fail "no stderr file out/$job-2.err"
echo '[7, "x y", {"k": [1, 2]}]' >values.json
submit --each-json values.json --stdout 'v%{INDEX}' --wait -- sh -c 'printf "%s\n" "$TIDE_ENTRY"' \
  >json.out 2>&1 || fail "each-json: $(cat json.out)"
[ "$(cat v0)|$(cat v1)|$(cat v2)" = '7|"x y"|{"k":[1,2]}' ] || fail "each-json entries: $(cat v0 v1 v2)"

# --- a time limit kills the element ---
rc=0
submit --time-limit 300ms --wait -- sleep 30 >limit.out 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q '  time limit: 1 task, e.g. .*exceeded its time limit of 0.3s and was killed' limit.out \
  || fail "time limit: exit $rc: $(cat limit.out)"

# --- without --wait the job runs on after the client has gone ---
job=$(submit --array 1-5 -- sh -c 'echo late $TIDE_ARRAY_INDEX') || fail "submit without --wait"
all_five() { for i in 1 2 3 4 5; do [ "$(cat "tide-submit-$job/$i.out" 2>/dev/null)" = "late $i" ] || return 1; done; }
wait_for 30 all_five
"$TIDE_BIN" datasets --scheduler-file "$SCHED_FILE" | grep -qx "tide-submit-$job" || fail "job $job is not published"
# --- tide jobs counts a running job; tide cancel lets it go ---
job=$(submit --array 1-40 -- sleep 30) || fail "submit a long job"
jobs_line() { "$TIDE_BIN" jobs --scheduler-file "$SCHED_FILE" | awk -v j="$job" '$1 == j'; }
forty() { jobs_line | awk '{exit !($2 + $3 == 40 && $4 == 0 && $5 == 0)}'; }
wait_for 10 forty
"$TIDE_BIN" cancel --scheduler-file "$SCHED_FILE" "$job" || fail "tide cancel $job"
gone() { "$TIDE_BIN" jobs --scheduler-file "$SCHED_FILE" >jobs.txt && ! grep -q "^$job " jobs.txt; }
wait_for 20 gone
! "$TIDE_BIN" datasets --scheduler-file "$SCHED_FILE" | grep -qx "tide-submit-$job" || fail "cancelled $job is still published"
expect_fail_only 2 '^tide: cancel: no job nope running without --wait' "$TIDE_BIN" cancel --scheduler-file "$SCHED_FILE" nope
pass "1000 outputs checked, rc 3 summary, retries, each-line/json, env, time limit, no --wait, jobs, cancel"
