# Helpers for the SLURM integration tests (tests/integration/test_slurm_*.sh):
# find the test SLURM (scripts/slurm-up.sh DIR writes DIR/slurm.conf; `make
# test` starts one), skip (exit 77) with a clear message when it is not up, start `tide cluster --backend
# slurm` on port 0, and cancel this test's jobs on exit, even on failure.
# Usage, after tests/lib/harness.sh:  source "$TIDE_SRC/tests/lib/slurm.sh"

# A job-name prefix of our own, so parallel tests never see each other's jobs.
SLURM_NAME="t$$"

# slurm_require: export SLURM_CONF or skip the test (exit 77, which ctest
# counts as skipped).
slurm_require() {
  # scripts/with-slurm.sh (make test) already knows: no need to wait on sinfo
  [ "${TIDE_SLURM_UP:-}" != 0 ] || skip "SLURM could not start on this machine (see the with-slurm lines at the top of the run)"
  if [ -z "${SLURM_CONF:-}" ]; then
    local d
    for d in "${TIDE_SLURM_DIR:-}" /tmp/tide-ci-slurm; do
      if [ -n "$d" ] && [ -f "$d/slurm.conf" ]; then
        export SLURM_CONF="$d/slurm.conf"
        break
      fi
    done
  fi
  if [ -z "${SLURM_CONF:-}" ] || ! command -v sbatch >/dev/null ||
     ! timeout 10 sinfo -h >/dev/null 2>&1; then
    unset SLURM_CONF   # nothing to cancel: the exit trap must not wait on a dead controller
    skip "SLURM is not up (make test starts it; by hand: scripts/slurm-up.sh DIR and export SLURM_CONF=DIR/slurm.conf, or set TIDE_SLURM_DIR=DIR)"
  fi
}

# Our jobs (names SLURM_NAME-*) still in SLURM's queue: "ID NAME STATE" lines.
slurm_our_jobs() {
  { squeue --me -h -o '%i %j %T' 2>/dev/null || true; } | awk -v p="$SLURM_NAME-" 'index($2, p) == 1'
}
slurm_njobs() { slurm_our_jobs | wc -l; }
slurm_no_jobs() { [ "$(slurm_njobs)" -eq 0 ]; }

slurm_cleanup() {
  local ids=""
  [ -n "${SLURM_CONF:-}" ] || return 0
  ids=$(slurm_our_jobs | awk '{print $1}') || true
  [ -n "$ids" ] && scancel $ids 2>/dev/null || true
}
trap 'rc=$?; slurm_cleanup; t_cleanup "$rc"' EXIT

# start_slurm_cluster [FLAGS...]: `tide cluster --backend slurm` on port 0
# with a scheduler file; job output in $T_DIR/slurm-logs. Sets SCHED_FILE,
# SCHED_ADDR, DASH_URL, CLUSTER_PID.
start_slurm_cluster() {
  SCHED_FILE="$T_DIR/scheduler.json"
  mkdir -p "$T_DIR/slurm-logs"
  bg cluster "$TIDE_BIN" cluster --backend slurm --name "$SLURM_NAME" --host 127.0.0.1 \
    --port 0 --dashboard-port 0 --scheduler-file "$SCHED_FILE" \
    --log-directory "$T_DIR/slurm-logs" "$@"
  CLUSTER_PID=$BG_PID
  wait_for 20 test -s "$SCHED_FILE"
  SCHED_ADDR=$(jq -r .address "$SCHED_FILE")
  DASH_URL=$(jq -r .dashboard "$SCHED_FILE")
}

# metric NAME: a sum of the Prometheus samples of NAME from /metrics.
metric() { curl -sf --max-time 5 "$DASH_URL/metrics" | awk -v m="$1" '$1 == m || index($1, m "{") == 1 {s += $2} END {print s + 0}'; }
