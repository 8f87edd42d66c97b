# Helpers for the adaptive / cluster integration tests (test_adaptive_*.sh).
# Source after tests/lib/harness.sh.

# start_cluster [ARGS...]: `tide cluster` on port 0 with a scheduler file;
# sets SCHED_FILE, SCHED_ADDR, DASH_URL, CLUSTER_PID.
start_cluster() {
  SCHED_FILE="$T_DIR/scheduler.json"
  bg cluster "$TIDE_BIN" cluster --host 127.0.0.1 --port 0 --dashboard-port 0 \
    --scheduler-file "$SCHED_FILE" "$@"
  CLUSTER_PID=$BG_PID
  wait_for 10 test -s "$SCHED_FILE"
  SCHED_ADDR=$(jq -r .address "$SCHED_FILE")
  DASH_URL=$(jq -r .dashboard "$SCHED_FILE")
}

# adaptive: the /api/v1/adaptive document.
adaptive() { api /api/v1/adaptive; }

# worker_procs: worker processes connected to this test's scheduler.
worker_procs() { { pgrep -f "worker $SCHED_ADDR" || true; } | wc -l; }

# sample_workers FILE: append the worker count every 50 ms until killed;
# sets SAMPLER_PID.
sample_workers() {
  local f=$1
  ( while :; do nworkers 2>/dev/null >> "$f" || true; sleep 0.05; done ) &
  SAMPLER_PID=$!
  T_PIDS+=("$SAMPLER_PID")
}
max_of() { sort -n "$1" | tail -1; }

# stop_cluster: SIGTERM, wait for exit; checks exit 0, no worker left,
# scheduler file removed.
stop_cluster() {
  kill -TERM "$CLUSTER_PID"
  local rc=0
  wait "$CLUSTER_PID" || rc=$?
  [ "$rc" = 0 ] || fail "tide cluster exited $rc after SIGTERM"
  [ ! -e "$SCHED_FILE" ] || fail "scheduler file left behind"
  local n; n=$(worker_procs)
  [ "$n" = 0 ] || fail "$n worker process(es) left after SIGTERM"
}

# wait_workers N TIMEOUT: wait until the scheduler has exactly N workers.
procs_eq() { [ "$(worker_procs)" = "$1" ]; }

# A command-backend resource manager whose workers take 2 s to start:
# $T_DIR/start.sh SCHEDULER NAME [worker flags...] (prints the job id, a
# pid) and $T_DIR/stop.sh JOB_ID, for --start-cmd/--stop-cmd.
slow_backend_scripts() {
  cat >"$T_DIR/start.sh" <<EOF2
#!/bin/sh
# usage: start.sh SCHEDULER NAME [worker flags...]: takes 2 s
s=\$1 n=\$2
shift 2
sh -c 'sleep 2; exec "\$@"' sh "$TIDE_BIN" worker "\$s" --name "\$n" --job "\$n" --nthreads 2 "\$@" \\
  > "$T_DIR/job-\$n.log" 2>&1 &
echo "\$!"
EOF2
  cat >"$T_DIR/stop.sh" <<EOF2
#!/bin/sh
kill "\$1" 2>/dev/null
exit 0
EOF2
  chmod +x "$T_DIR/start.sh" "$T_DIR/stop.sh"
}
