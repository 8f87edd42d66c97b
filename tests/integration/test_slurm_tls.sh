#!/usr/bin/env bash
# SLURM backend with --security temporary: the job script hands the worker
# the throwaway certificate's paths (never its contents), the worker joins
# over tls:// and computes the right values; the jobs leave squeue and the
# credentials go with the cluster.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/slurm.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"
slurm_require

TMPDIR="$T_DIR" start_slurm_cluster --nthreads 1 --adapt --minimum 0 --maximum 1 \
  --interval 200ms --walltime 10m --security temporary
case "$SCHED_ADDR" in tls://*) ;; *) fail "scheduler address $SCHED_ADDR is not tls://" ;; esac
SEC_DIR=$(dirname "$(json_get "$SCHED_FILE" '.tls."ca-file"')")

echo '{"tasks": {"x": {"fn": "tide.inc", "args": [6]}, "y": {"fn": "tide.add", "args": [{"ref": "x"}, 35]}},
 "outputs": ["y"]}' >"$T_DIR/g.json"
run_graph "$T_DIR/g.json" --timeout 120 >"$T_DIR/out.json" || fail "run on SLURM: $(tail -5 "$T_DIR/cluster.log")"
[ "$(json_get "$T_DIR/out.json" .y)" = 42 ] || fail "y: $(cat "$T_DIR/out.json")"
api /api/v1/get_workers | jq -e '[.workers[] | .address | startswith("tls://")] | all' >/dev/null ||
  fail "a worker is not on tls://: $(api /api/v1/get_workers | jq -c '[.workers[] | .address]')"
jobid=$(api /api/v1/cluster | jq -r '[.jobs[] | .backend_id | select(. != null and . != "")][0]')
if [ -n "$jobid" ] && [ "$jobid" != null ] &&
   scontrol write batch_script "$jobid" "$T_DIR/job.sh" >/dev/null 2>&1; then
  grep -qF -- "--tls-cert '$SEC_DIR/cert.pem' --tls-key '$SEC_DIR/key.pem'" "$T_DIR/job.sh" ||
    fail "job script lacks the TLS flags: $(grep worker "$T_DIR/job.sh")"
  if grep -q "BEGIN" "$T_DIR/job.sh"; then fail "PEM text in the job script"; fi
else
  skip_part "scontrol could not show the batch script"
fi
wait_for 60 t_workers_eq 0
wait_for 30 slurm_no_jobs
kill -TERM "$CLUSTER_PID"
wait "$CLUSTER_PID" || fail "tide cluster exited $? after SIGTERM"
[ ! -e "$SEC_DIR" ] || fail "$SEC_DIR left behind"
pass "value right (42) on a SLURM worker joined over tls://; job script had paths only"
