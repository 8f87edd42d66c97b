#!/usr/bin/env bash
# The C client library from a program of its own (examples/prog_client.c):
# compute, read msgpack values, publish; `tide get` sees the dataset.
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"

PROG="$TIDE_BUILD/prog_client"
[ -x "$PROG" ] || fail "$PROG is not built"
start_scheduler
start_worker a
wait_workers 1
"$PROG" "$SCHED_FILE" 20 >"$T_DIR/out.txt" || fail "prog_client failed"
[ "$(sort "$T_DIR/out.txt" | tr '\n' ' ')" = "inc=21 sum=41 " ] || fail "prog_client printed: $(cat "$T_DIR/out.txt")"
"$TIDE_BIN" get prog_client --scheduler-file "$SCHED_FILE" >"$T_DIR/get.json"
[ "$(jq -c -S . "$T_DIR/get.json")" = '{"inc":21,"sum":41}' ] || fail "get: $(cat "$T_DIR/get.json")"
# a bad scheduler file: the program gets the library's one-line error
rc=0
"$PROG" "$T_DIR/nothere.json" 2>"$T_DIR/err" || rc=$?
[ $rc = 1 ] || fail "exit $rc with a missing scheduler file"
grep -q "cannot read scheduler file $T_DIR/nothere.json" "$T_DIR/err" || fail "error: $(cat "$T_DIR/err")"
pass "C API: compute, values, publish"
