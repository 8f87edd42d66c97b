#!/usr/bin/env bash
# The command backend: a resource manager behind two small scripts. The
# start command prints a job id that the stop command receives; scale and
# adapt work through it; SIGTERM stops every job.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/adaptive.sh"

cat > "$T_DIR/start.sh" <<EOF2
#!/bin/sh
# usage: start.sh SCHEDULER NAME NTHREADS
"$TIDE_BIN" worker "\$1" --name "\$2" --job "\$2" --nthreads "\$3" > "$T_DIR/job-\$2.log" 2>&1 &
echo "\$!"
EOF2
cat > "$T_DIR/stop.sh" <<EOF2
#!/bin/sh
echo "\$1" >> "$T_DIR/stopped"
kill "\$1" 2>/dev/null
exit 0
EOF2
chmod +x "$T_DIR/start.sh" "$T_DIR/stop.sh"

start_cluster --backend command --start-cmd "$T_DIR/start.sh {scheduler} {name} {nthreads}" \
  --stop-cmd "$T_DIR/stop.sh {job_id}" --nthreads 2
[ "$(api /api/v1/cluster | jq -r .backend)" = CommandCluster ] || fail "backend kind"
r=$(curl -sf -H 'Content-Type: application/json' -d '{"n": 2}' "$DASH_URL/api/v1/scale") || fail "scale refused"
wait_workers 2 10
[ "$(api /api/v1/identity | jq '[.workers[] | .nthreads] | add')" = 4 ] || fail "{nthreads} not passed"
wait_for 5 sh -c "curl -sf $DASH_URL/api/v1/cluster | jq -e '[.jobs[] | .backend_id | select(. != null and . != \"\")] | length == 2'"
ids=$(api /api/v1/cluster | jq -r '[.jobs[] | .backend_id] | sort | join(" ")')
out=$(echo '{"tasks": {"a": {"fn": "tide.inc", "args": [1]}}, "outputs": ["a"]}' > "$T_DIR/g.json"; run_graph "$T_DIR/g.json")
[ "$(echo "$out" | jq .a)" = 2 ] || fail "run through command workers: $out"
curl -sf -H 'Content-Type: application/json' -d '{"n": 0}' "$DASH_URL/api/v1/scale" >/dev/null || fail "scale 0 refused"
wait_workers 0 10
wait_for 10 test -s "$T_DIR/stopped"
wait_for 10 sh -c "[ \$(wc -l < $T_DIR/stopped) -ge 2 ]"
# the stop command got the ids the start command printed (the workers' pids)
[ "$(sort "$T_DIR/stopped" | tr '\n' ' ' | sed 's/ $//')" = "$ids" ] || fail "stopped $(cat "$T_DIR/stopped"), started $ids"
procs_eq 0 || wait_for 5 procs_eq 0

# adapting through the command backend
curl -sf -H 'Content-Type: application/json' -d '{"minimum": 0, "maximum": 2, "interval": 0.2, "wait_count": 2}' "$DASH_URL/api/v1/adapt" >/dev/null
out=$(run_graph "$T_DIR/g.json")
[ "$(echo "$out" | jq .a)" = 2 ] || fail "adaptive run: $out"
[ "$(adaptive | jq '[.log[] | select(.status == "up")] | length')" -ge 1 ] || fail "no up"
stop_cluster

# max-pending: a queue that accepts jobs but never runs them; at most 2
# are outstanding, they count as requested, never as arrived
cat > "$T_DIR/queue.sh" <<EOF2
#!/bin/sh
echo "\$2" >> "$T_DIR/queued"
echo "q-\$2"
EOF2
chmod +x "$T_DIR/queue.sh"
: > "$T_DIR/queued"
start_cluster --backend command --start-cmd "$T_DIR/queue.sh {scheduler} {name}" \
  --adapt --minimum 5 --interval 100ms --max-pending 2
wait_for 10 sh -c "curl -sf $DASH_URL/api/v1/adaptive | jq -e '.pending_jobs == 2'"
sleep 1
a=$(adaptive)
[ "$(echo "$a" | jq .pending_jobs)" = 2 ] || fail "pending: $a"
[ "$(echo "$a" | jq '.requested | length')" = 2 ] || fail "requested: $a"
[ "$(echo "$a" | jq '.plan | length')" = 2 ] || fail "plan: $a"
[ "$(echo "$a" | jq '.observed | length')" = 0 ] || fail "observed: $a"
[ "$(wc -l < "$T_DIR/queued")" = 2 ] || fail "submitted $(wc -l < "$T_DIR/queued") jobs, max-pending is 2"
[ "$(echo "$a" | jq .max_pending)" = 2 ] || fail "max_pending not shown"
stop_cluster
pass "command backend: start/stop scripts with job ids, scale and adapt"
