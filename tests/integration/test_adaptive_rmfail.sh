#!/usr/bin/env bash
# docs/design.md §7 "Resource-manager faults": a start command that fails backs
# off, pauses after N failures in a row (visible in /api/v1/adaptive with
# the reason), and recovers once the resource manager works again. A start
# command that is not executable is a failure too.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/adaptive.sh"

cat > "$T_DIR/start.sh" <<EOF2
#!/bin/sh
echo "\$(date +%s.%N)" >> "$T_DIR/attempts"
if [ ! -e "$T_DIR/queue-open" ]; then echo "qsub: queue is closed" >&2; exit 3; fi
"$TIDE_BIN" worker "\$1" --name "\$2" > "$T_DIR/job-\$2.log" 2>&1 &
echo "\$!"
EOF2
chmod +x "$T_DIR/start.sh"
# delays 0.2 s, 0.4 s, 0.8 s, then 0.8 s; pause after 5 failures in a row
start_cluster --backend command --start-cmd "$T_DIR/start.sh {scheduler} {name}" \
  --stop-cmd "kill {job_id}" --adapt --minimum 1 --interval 100ms \
  --backoff 200ms,400ms,800ms --pause-after 5
wait_for 15 sh -c "curl -sf $DASH_URL/api/v1/adaptive | jq -e '.paused == true'"
a=$(adaptive)
[ "$(echo "$a" | jq .backoff.failures)" -ge 5 ] || fail "paused before 5 failures: $a"
[[ "$(echo "$a" | jq -r .error)" == *"queue is closed"* ]] || fail "reason not shown: $a"
[[ "$(echo "$a" | jq -r .paused_reason)" == *"in a row"* ]] || fail "pause not explained: $a"
[ "$(echo "$a" | jq -r .state)" = running ] || fail "state: $a"
[ "$(nworkers)" = 0 ] || fail "a worker appeared from a failing start command"
# attempts were spaced out (backoff), not one per 100 ms tick
n=$(wc -l < "$T_DIR/attempts")
first=$(head -1 "$T_DIR/attempts"); fifth=$(sed -n 5p "$T_DIR/attempts")
awk -v a="$first" -v b="$fifth" 'BEGIN{exit !(b - a >= 1.3)}' || fail "5 attempts within $(echo "$fifth - $first" | bc) s: no backoff"
# recovery: the queue opens, the next attempt works and resets everything
touch "$T_DIR/queue-open"
wait_workers 1 15
a=$(adaptive)
[ "$(echo "$a" | jq .paused)" = false ] || fail "still paused after success: $a"
[ "$(echo "$a" | jq .backoff.failures)" = 0 ] || fail "failures not reset: $a"
stop_cluster

# a start command that cannot run is a failure with a clear reason
start_cluster --backend command --start-cmd "$T_DIR/no-such-script {name}" --adapt --minimum 1 \
  --interval 100ms --backoff 1s
wait_for 10 sh -c "curl -sf $DASH_URL/api/v1/adaptive | jq -e '.backoff.failures >= 1'"
[[ "$(adaptive | jq -r .error)" == *"status 127"* ]] || fail "reason: $(adaptive | jq -r .error)"
stop_cluster
pass "backoff, pause with reason, recovery"
