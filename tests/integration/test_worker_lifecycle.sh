#!/usr/bin/env bash
# Worker lifetime: waits for a scheduler file that appears late, gives up
# after --death-timeout, leaves cleanly on SIGTERM/SIGINT (exit 0), exits 1
# with one line when the scheduler dies, registers within a few ms.
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"
T=$TIDE_BIN

# --- no scheduler: --death-timeout bounds the wait, exit 1, one line ---
t0=$(date +%s.%N)
expect_fail 1 '^tide: cannot reach the scheduler at tcp://127\.0\.0\.1:1: .*gave up after 0\.5s' \
  "$T" worker tcp://127.0.0.1:1 --death-timeout 500ms
el=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{print b - a}')
awk -v e="$el" 'BEGIN{exit !(e >= 0.45 && e < 3)}' || fail "death-timeout 0.5s took ${el}s"
expect_fail 1 '^tide: cannot read scheduler file .*/nope\.json' \
  "$T" worker --scheduler-file "$T_DIR/nope.json" --death-timeout 300ms
expect_fail 2 '^tide: worker: unknown flag "--bogus"' "$T" worker tcp://127.0.0.1:1 --bogus
expect_fail 2 '^tide: --lifetime: ' "$T" worker tcp://127.0.0.1:1 --lifetime soon
expect_fail 2 '^tide: --nthreads: ' "$T" worker tcp://127.0.0.1:1 --nthreads 0
expect_fail 2 '^tide: worker: give a scheduler ADDRESS or --scheduler-file, not both' \
  "$T" worker tcp://127.0.0.1:1 --scheduler-file x.json

# --- a worker started before its scheduler waits for the scheduler file ---
SCHED_FILE="$T_DIR/scheduler.json"
bg early "$T" worker --scheduler-file "$SCHED_FILE" --name early --death-timeout 20s
EARLY=$BG_PID
sleep 0.3   # the file does not exist yet: the worker must keep trying
kill -0 $EARLY || fail "the worker gave up before the scheduler came"
start_scheduler
wait_workers 1

# flags after the address and before it both work
bg late "$T" worker --name late "$SCHED_ADDR" --nthreads 2
LATE=$BG_PID
wait_workers 2
[ "$(api /api/v1/identity | jq '[.workers[] | select(.name == "late")][0].nthreads')" = 2 ] \
  || fail "late worker should have 2 threads"

# --- SIGTERM and SIGINT: exit 0, the scheduler sees the worker leave ---
kill -TERM $EARLY
rc=0; wait $EARLY || rc=$?
[ $rc = 0 ] || fail "SIGTERM: exit $rc, want 0"
wait_workers 1
kill -INT $LATE
rc=0; wait $LATE || rc=$?
[ $rc = 0 ] || fail "SIGINT: exit $rc, want 0"
wait_workers 0

# --- spawn to registered: well under a second (the goal is 20 ms; loose
# bound here because the machine is shared) ---
t0=$(date +%s%N)
bg fast "$T" worker --scheduler-file "$SCHED_FILE" --name fast --death-timeout 1s
FAST=$BG_PID
wait_for 10 grep -q "registered with the scheduler" "$T_DIR/fast.log"
reg=$(grep -h "registered with the scheduler" "$T_DIR/fast.log" | head -1 | awk '{print $1" "$2}')
ms=$(( ( $(date -d "$reg" +%s%N) - t0 ) / 1000000 ))
[ "$ms" -lt 1000 ] || fail "spawn to registered took ${ms} ms"

# --- the scheduler dies for good: after --death-timeout, exit 1 with one line naming it ---
kill -KILL "$SCHED_PID"
rc=0; wait $FAST || rc=$?
[ $rc = 1 ] || fail "lost scheduler: exit $rc, want 1"
n=$(grep -c "^tide: lost the scheduler at $SCHED_ADDR" "$T_DIR/fast.log" || true)
[ "$n" = 1 ] || fail "want one 'tide: lost the scheduler' line: $(cat "$T_DIR/fast.log")"
pass "death-timeout, late scheduler file, SIGTERM/SIGINT exit 0, registered in ${ms} ms, lost scheduler exit 1"
