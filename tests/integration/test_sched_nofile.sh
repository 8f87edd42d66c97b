#!/usr/bin/env bash
# The scheduler raises its open-file soft limit to the hard limit at start,
# and says so in one log line when even that is too low for the worker
# ceiling (cluster.max-workers, 4 descriptors a worker + 256).
source "$TIDE_SRC/tests/lib/harness.sh"

soft() { awk '/^Max open files/ {print $4}' "/proc/$1/limits"; }
hard() { awk '/^Max open files/ {print $5}' "/proc/$1/limits"; }

hard_now=$(ulimit -Hn)
[ "$hard_now" = unlimited ] || [ "$hard_now" -ge 512 ] || skip "the open-file hard limit is $hard_now, below the 512 this test raises to"

# soft 256 under a hard limit of 512: raised to 512, one warning line
ulimit -Sn 256
ulimit -Hn 512
start_scheduler
wait_for 10 grep -q 'open-file limit' "$T_DIR/scheduler.log"
[ "$(soft "$SCHED_PID")" = 512 ] || fail "soft limit $(soft "$SCHED_PID"), want 512"
[ "$(grep -c 'open-file limit' "$T_DIR/scheduler.log")" = 1 ] || fail "$(cat "$T_DIR/scheduler.log")"
grep -q 'open-file limit is 512 (hard limit 512), below the 4256 that 1000 workers may need' \
  "$T_DIR/scheduler.log" || fail "warning text: $(grep 'open-file' "$T_DIR/scheduler.log")"
# the HTTP API answers
[ "$(api /api/v1/identity | jq '.workers | length')" = 0 ] || fail "identity"
pass "soft limit raised to the hard limit, one warning line"

# a ceiling the limit covers: no warning
kill "$SCHED_PID"; wait "$SCHED_PID" 2>/dev/null
rm -f "$SCHED_FILE"
echo 'cluster: {max-workers: 50}' > "$T_DIR/tide.yaml"
start_scheduler --config "$T_DIR/tide.yaml"
[ "$(soft "$SCHED_PID")" = "$(hard "$SCHED_PID")" ] || fail "soft limit not raised"
! grep -q 'open-file limit' "$T_DIR/scheduler.log" || fail "warned: $(cat "$T_DIR/scheduler.log")"
pass "no warning when the limit covers the ceiling"
