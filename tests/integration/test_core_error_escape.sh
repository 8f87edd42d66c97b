#!/usr/bin/env bash
# Task error text reaches the terminal with its control characters escaped:
# a newline or an escape sequence in a tide.fail message cannot forge lines
# or drive the terminal; `tide run` still prints exactly one `tide: ` line.
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"

start_scheduler
start_worker a
wait_workers 1

cat >"$T_DIR/fail.json" <<'G'
{"tasks": {"b": {"fn": "tide.fail", "args": ["one\ntwo\u001b[31mred\u0007\ttab\r\u007f end"]}}}
G
expect_fail_only 1 '^tide: task "b" failed: ' run_graph "$T_DIR/fail.json"
want='one\ntwo\x1b[31mred\x07\ttab\r\x7f end'
grep -qF "$want" "$T_DIR/fail.err" || fail "escaped text \"$want\" not in: $(cat -v "$T_DIR/fail.err")"
ctl=$(tr -d '\n' <"$T_DIR/fail.err" | LC_ALL=C tr -d '\040-\176' | wc -c)
[ "$ctl" = 0 ] || fail "$ctl raw control bytes on stderr: $(cat -v "$T_DIR/fail.err")"
pass "task error text escaped: one line, no control bytes"
