#!/usr/bin/env bash
# tide submit refuses bad input with exit 2 and one `tide: ` line, before
# anything is sent or made on disk: an empty or malformed range, a zero
# step, a missing program (named; checked on this machine), a missing or
# empty --each-line file, a bad --each-json file, an output pattern whose
# directory cannot be written, and bad flag values.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"

start_scheduler
cd "$T_DIR" || fail "no test directory"
sub() { "$TIDE_BIN" submit --scheduler-file "$SCHED_FILE" "$@"; }

expect_fail_only 2 '^tide: --array 5-1: the range is empty \(1 is below 5\)$' sub --array 5-1 -- true
expect_fail_only 2 '^tide: --array: "x" is not a range \(want A-B or A-B:STEP, e\.g\. 1-1000\)$' sub --array x -- true
expect_fail_only 2 '^tide: --array: "1-" is not a range' sub --array 1- -- true
expect_fail_only 2 '^tide: --array 1-10:0: the step must be at least 1$' sub --array 1-10:0 -- true
expect_fail_only 2 '^tide: --array 1-20000000: 20000000 elements, at most 10000000$' sub --array 1-20000000 -- true
expect_fail_only 2 '^tide: no such program "tide-no-such-program-q" on this machine' sub --array 1-3 -- tide-no-such-program-q
expect_fail_only 2 '^tide: no such program "\./missing\.sh" on this machine' sub -- ./missing.sh
expect_fail_only 2 '^tide: submit: no program given' sub --array 1-3
expect_fail_only 2 '^tide: --each-line nofile\.txt: cannot read it: No such file or directory$' sub --each-line nofile.txt -- true
: >empty.txt
expect_fail_only 2 '^tide: --each-line empty\.txt: the file has no lines$' sub --each-line empty.txt -- true
echo '{"a": 1}' >obj.json
expect_fail_only 2 '^tide: --each-json obj\.json: want a JSON array$' sub --each-json obj.json -- true
echo '[1, 2' >broken.json
expect_fail_only 2 '^tide: --each-json broken\.json:[0-9]+: ' sub --each-json broken.json -- true
expect_fail_only 2 '^tide: --stdout /nonexistent-dir/%\{INDEX\}\.out: cannot write to directory /nonexistent-dir: No such file or directory$' \
  sub --array 1-3 --stdout '/nonexistent-dir/%{INDEX}.out' -- true
# a directory this user cannot write: a read-only one, or for root (who
# writes anywhere the mode says no) a /proc process directory
mkdir ro
chmod 555 ro
rodir=ro
[ "$(id -u)" != 0 ] || rodir=/proc/1
expect_fail_only 2 "^tide: --stderr $rodir/%\\{INDEX\\}\\.err: cannot write to directory (.*/)?$rodir: (Permission denied|Operation not permitted)\$" \
  sub --array 1-3 --stderr "$rodir/%{INDEX}.err" -- true
echo x >afile
expect_fail_only 2 '^tide: --stdout afile/%\{INDEX\}: .*/afile is not a directory$' sub --stdout 'afile/%{INDEX}' -- true
expect_fail_only 2 '^tide: --cwd nodir: No such file or directory$' sub --cwd nodir -- true
expect_fail_only 2 '^tide: give one of --array, --each-line and --each-json$' sub --array 1-2 --each-line afile -- true
expect_fail_only 2 '^tide: --max-retries: want an integer from 0 to 100, got "x"$' sub --max-retries x -- true
expect_fail_only 2 '^tide: --time-limit: ' sub --time-limit soon -- true
expect_fail_only 2 '^tide: --env: want NAME=VALUE, got "NOVALUE"$' sub --env NOVALUE -- true
[ -z "$(ls -d tide-submit-* 2>/dev/null)" ] || fail "a refused submission left $(ls -d tide-submit-*)"
pass "bad ranges, missing program, files, patterns and flags: exit 2, one line, nothing made"
