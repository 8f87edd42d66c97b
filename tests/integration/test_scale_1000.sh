#!/usr/bin/env bash
# 1,000 real worker processes on one scheduler: an adaptive local cluster
# grows from 0 to 1,000 on a burst of 1,000 sleeping tasks and shrinks back
# to 0. Throughout, the HTTP API and /metrics answer every request of a
# poller that asks every 100 ms; every result is right, no task runs twice,
# and no worker process is left over.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/adaptive.sh"

N=1000
# Under AddressSanitizer (make test-sanitize) a worker starts several times
# slower and maps a large shadow: 1,000 of them cannot all be up before a
# 30 s burst ends on 2 cores. The sanitizer suite runs the same path with 200.
[ -n "${TIDE_SANITIZER_LOG:-}" ] && N=200
# 1,000 processes plus their sockets in the scheduler
[ "$(ulimit -Hn)" -ge $((N * 2 + 200)) ] || skip "open-file hard limit $(ulimit -Hn) is below $((N * 2 + 200))"
[ "$(ulimit -u)" = unlimited ] || [ "$(ulimit -u)" -ge $((N + 500)) ] || skip "process limit $(ulimit -u)"
avail_kb=$(awk '/MemAvailable/ {print $2}' /proc/meminfo)
[ "$avail_kb" -ge $((N * 16 * 1024)) ] || skip "$((avail_kb / 1024)) MB available, $N workers need about $((N * 16)) MB"

# one task per worker (saturation 1), and a target that asks for a worker
# per task at once: 1,000 tasks of an unknown 0.5 s over 0.1 s is 5,000,
# capped at one worker per task
export TIDE_SCHEDULER__WORKER_SATURATION=1
export TIDE_ADAPTIVE__TARGET_DURATION=100ms
start_cluster --adapt --minimum 0 --maximum $N --interval 1s --wait-count 2 \
  --nthreads 1 --memory-limit 64MB
[ "$(nworkers)" = 0 ] || fail "expected 0 workers at rest"

# the poller: one request every 100 ms, alternating a page of workers and
# /metrics, for at most 180 s; a line per request: status, workers, route
POLL_LOG="$T_DIR/poll.txt"
POLL_STOP="$T_DIR/poll.stop"
(
  for ((i = 0; i < 1800; i++)); do
    [ -e "$POLL_STOP" ] && break
    if ((i % 2 == 0)); then
      if body=$(curl -sf --max-time 5 "$DASH_URL/api/v1/get_workers?limit=1&fields=name"); then
        echo "ok $(echo "$body" | jq .num_workers) workers $(date +%s.%N)"
      else
        echo "FAILED get_workers"
      fi
    else
      if m=$(curl -sf --max-time 5 "$DASH_URL/metrics") && [[ $m == *$'\ntide_workers '* ]]; then
        echo "ok - metrics"
      else
        echo "FAILED metrics"
      fi
    fi
    sleep 0.1
  done >"$POLL_LOG"
) &
POLL_PID=$!
T_PIDS+=("$POLL_PID")

# long enough that every task still sleeps when the last worker arrives:
# 1,000 processes start in 2-3 s on an idle 2-core machine, in 15 s when
# it is shared with a dozen busy processes
sleep_graph "$T_DIR/g.json" $N 30
t0=$(date +%s.%N)
run_graph "$T_DIR/g.json" --timeout 170 >"$T_DIR/out.json" 2>"$T_DIR/run.err" \
  || fail "tide run: $(cat "$T_DIR/run.err")"
t1=$(date +%s.%N)
jq -e --argjson n $N '[range($n) as $i | .["t\($i)"] == $i] | all' "$T_DIR/out.json" >/dev/null \
  || fail "wrong results: $(head -c 300 "$T_DIR/out.json")"

# the task stream holds each key once, and the counters agree
stream=$(api /api/v1/task_stream)
[ "$(echo "$stream" | jq '[.tasks[].key] | length')" = $N ] || fail "task stream: $(echo "$stream" | jq '.tasks | length') entries, want $N"
[ "$(echo "$stream" | jq '[.tasks[].key] | unique | length')" = $N ] || fail "a task ran twice"
metric() { curl -sf "$DASH_URL/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
[ "$(metric tide_tasks_completed_total)" = $N ] || fail "tasks completed: $(metric tide_tasks_completed_total)"
[ "$(metric tide_recomputed_tasks_total)" = 0 ] || fail "recomputed: $(metric tide_recomputed_tasks_total)"
# a worker lost while running a task would have it run again elsewhere; one
# that connects just as its not-yet-arrived job is stopped is lost idle
rerun=$(grep -c "lost: .*task(s) it was running go elsewhere" "$T_DIR/cluster.log" || true)
[ "$rerun" = 0 ] || fail "tasks ran again after their worker was lost: $(grep "go elsewhere" "$T_DIR/cluster.log" | head -3)"
# how many workers ran a task (all, unless starting them outlasted a task)
distinct=$(echo "$stream" | jq '[.tasks[].worker] | unique | length')

# back to 0: the client let go, the workers retire and their processes exit
wait_workers 0 60
wait_for 30 procs_eq 0
t2=$(date +%s.%N)
touch "$POLL_STOP"
wait "$POLL_PID" || true

peak=$(awk '$1 == "ok" && $3 == "workers" {print $2}' "$POLL_LOG" | sort -n | tail -1)
nreq=$(wc -l <"$POLL_LOG")
nfail=$(grep -c FAILED "$POLL_LOG" || true)
echo "requests: $nreq, failed: $nfail, peak workers: $peak, distinct workers that ran a task: $distinct, lost idle: $(metric tide_workers_removed_unexpected_total)"
grep -o "started [0-9]* worker process(es) in [0-9.]*s" "$T_DIR/cluster.log" | head -1 || true
full=$(awk -v n=$N '$1 == "ok" && $2 == n && $3 == "workers" {print $4; exit}' "$POLL_LOG")
awk -v a="$t0" -v b="$t1" -v c="$t2" -v f="${full:-0}" 'BEGIN{printf "%s workers registered %.1f s after submission; burst done in %.1f s, back to 0 after %.1f s more\n", "'$N'", f-a, b-a, c-b}'
[ "$nfail" = 0 ] || fail "$nfail of $nreq API requests failed: $(grep FAILED "$POLL_LOG" | sort | uniq -c)"
[ "$nreq" -ge 50 ] || fail "only $nreq requests were made"
[ "$peak" = $N ] || fail "peak $peak workers, want $N"
[ "$(adaptive | jq '.plan | length')" = 0 ] || fail "plan not empty"
stop_cluster
pass "0 -> $N -> 0 workers; $nreq API requests, none failed; $N right results, each task once"
