# Helpers for the SGE integration tests (tests/integration/test_sge_*.sh):
# find the test Grid Engine (scripts/sge-up.sh DIR; `make test` starts one
# through scripts/with-sge.sh), skip (exit 77) with a clear message when it
# is not up, start `tide cluster --backend sge` on port 0 at the address
# the namespace of the execution host reaches, and delete this test's jobs
# on exit, even on failure.
# Usage, after tests/lib/harness.sh:  source "$TIDE_SRC/tests/lib/sge.sh"

# A job-name prefix of our own, so parallel tests never see each other's jobs.
SGE_NAME="g$$"

# sge_require: source the cell's settings and find the scheduler address
# (SGE_HOST: the root side of the execution host's veth) or skip the test.
sge_require() {
  [ "${TIDE_SGE_UP:-}" != 0 ] || skip "Grid Engine could not start on this machine (see the with-sge lines at the top of the run)"
  local dir=${TIDE_SGE_DIR:-/tmp/tide-ci-sge}
  local settings=${TIDE_SGE_SETTINGS:-$dir/root/default/common/settings.sh}
  [ -f "$settings" ] && command -v qsub >/dev/null ||
    skip "Grid Engine is not up (make test starts it; by hand: scripts/sge-up.sh DIR and TIDE_SGE_DIR=DIR)"
  # shellcheck source=/dev/null
  source "$settings"
  DIR=$(cd "$(dirname "$settings")/../../.." && pwd)
  # shellcheck source=scripts/sge-names.sh
  source "$TIDE_SRC/scripts/sge-names.sh"
  SGE_HOST=$SGE_ADDR_ROOT
  timeout 10 qstat >/dev/null 2>&1 || { SGE_ROOT=; skip "Grid Engine in $DIR does not answer qstat"; }
  SGE_OK=1
}

# Our jobs (names SGE_NAME-*) still in Grid Engine: "ID NAME STATE" lines.
sge_our_jobs() {
  { qstat 2>/dev/null || true; } | awk -v p="$SGE_NAME-" 'NR > 2 && index($3, p) == 1 {print $1, $3, $5}'
}
sge_njobs() { sge_our_jobs | wc -l; }
sge_no_jobs() { [ "$(sge_njobs)" -eq 0 ]; }

sge_cleanup() {
  local ids=""
  [ "${SGE_OK:-0}" = 1 ] || return 0
  ids=$(sge_our_jobs | awk '{print $1}') || true
  [ -n "$ids" ] && qdel $ids >/dev/null 2>&1 || true
}
trap 'rc=$?; sge_cleanup; t_cleanup "$rc"' EXIT

# start_sge_cluster [FLAGS...]: `tide cluster --backend sge` on port 0 with a
# scheduler file, listening where the execution host reaches it; job output
# in $T_DIR/sge-logs. Sets SCHED_FILE, SCHED_ADDR, DASH_URL, CLUSTER_PID.
start_sge_cluster() {
  SCHED_FILE="$T_DIR/scheduler.json"
  mkdir -p "$T_DIR/sge-logs"
  bg cluster "$TIDE_BIN" cluster --backend sge --name "$SGE_NAME" --host "$SGE_HOST" \
    --port 0 --dashboard-port 0 --scheduler-file "$SCHED_FILE" \
    --log-directory "$T_DIR/sge-logs" "$@"
  CLUSTER_PID=$BG_PID
  wait_for 20 test -s "$SCHED_FILE"
  SCHED_ADDR=$(jq -r .address "$SCHED_FILE")
  DASH_URL=$(jq -r .dashboard "$SCHED_FILE")
}
