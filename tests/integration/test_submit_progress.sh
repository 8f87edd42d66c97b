#!/usr/bin/env bash
# tide submit --progress: stderr's last redraw is the final "N/N done"
# line, with the failures counted; without --progress stderr has no such
# line.
source "$TIDE_SRC/tests/lib/harness.sh"

start_scheduler
start_worker a --nthreads 2 --allow-exec
wait_workers 1
cd "$T_DIR" || fail "no test directory"
submit() { "$TIDE_BIN" submit --scheduler-file "$SCHED_FILE" "$@"; }

submit --array 1-50 --wait --progress -- true >ok.out 2>ok.err || fail "progress: $(cat ok.out ok.err)"
job=$(head -1 ok.out)
# redraws are separated by \r; the last one ends the line
last=$(tr '\r' '\n' <ok.err | grep -v '^$' | tail -1)
[ "$last" = "job $job: 50/50 done, 0 failed" ] || fail "last progress line: \"$last\" in $(od -c ok.err | head -5)"
[ "$(tail -c 1 ok.err | od -An -c | tr -d ' ')" = '\n' ] || fail "the final line does not end with a newline"

rc=0
submit --array 1-5 --wait --progress -- sh -c '[ "$TIDE_ARRAY_INDEX" != 2 ] || exit 7' >f.out 2>f.err || rc=$?
[ "$rc" = 1 ] || fail "a failed element: exit $rc"
job=$(head -1 f.out)
last=$(tr '\r' '\n' <f.err | grep -v '^$' | grep '^job' | tail -1)
[ "$last" = "job $job: 5/5 done, 1 failed" ] || fail "last progress line with a failure: \"$last\""
tail -1 f.err | grep -qx "tide: job $job: 1 of 5 tasks failed (rc 7)" || fail "the tide: line: $(tail -1 f.err)"

submit --array 1-5 --wait -- true >q.out 2>q.err || fail "without --progress"
! grep -q 'done' q.err || fail "progress without --progress: $(cat q.err)"
pass "50/50 done, 0 failed; 5/5 done, 1 failed; nothing without --progress"
