#!/usr/bin/env bash
# `tide scheduler` itself: the scheduler file appears once it listens and
# goes on SIGTERM; a port in use and bad flags give one "tide: " line; a
# second worker with a taken name is refused with the scheduler's reason.
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"

start_scheduler
jq -e '.type == "Scheduler" and (.address | startswith("tcp://127.0.0.1:")) and
       (.dashboard | startswith("http://127.0.0.1:")) and (.id | length > 0) and .pid > 0' \
  "$SCHED_FILE" >/dev/null || fail "bad scheduler file: $(cat "$SCHED_FILE")"
PORT=${SCHED_ADDR##*:}

rc=0
"$TIDE_BIN" scheduler --port "$PORT" --dashboard-port -1 >"$T_DIR/busy.out" 2>"$T_DIR/busy.err" || rc=$?
[ $rc = 1 ] || fail "port in use: exit $rc, want 1"
grep -qx "tide: port $PORT is in use" "$T_DIR/busy.err" || fail "port in use: $(cat "$T_DIR/busy.err")"
rc=0
"$TIDE_BIN" scheduler --bogus 2>"$T_DIR/flag.err" || rc=$?
[ $rc = 2 ] || fail "unknown flag: exit $rc, want 2"
[ "$(grep -c '^tide: ' "$T_DIR/flag.err")" = 1 ] || fail "unknown flag: $(cat "$T_DIR/flag.err")"
rc=0
"$TIDE_BIN" scheduler --port 99999 2>"$T_DIR/port.err" || rc=$?
[ $rc = 2 ] || fail "bad port: exit $rc, want 2"

start_worker a
wait_workers 1
rc=0
"$TIDE_BIN" worker --scheduler-file "$SCHED_FILE" --name a >"$T_DIR/dup.out" 2>"$T_DIR/dup.err" || rc=$?
[ $rc != 0 ] || fail "a second worker named a was accepted"
grep -q '^tide: .*already connected' "$T_DIR/dup.err" || fail "duplicate: $(cat "$T_DIR/dup.err")"
t_workers_eq 1 || fail "the first worker a was disturbed"

kill -TERM "$SCHED_PID"
wait_for 10 test ! -e "$SCHED_FILE"
wait "$SCHED_PID" || fail "scheduler exit status $? after SIGTERM, want 0"
pass "scheduler file lifecycle, port in use, bad flags, duplicate worker name"
