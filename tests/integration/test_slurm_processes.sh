#!/usr/bin/env bash
# SLURM backend with --processes 2: each job holds 2 workers named
# NAME-JOB-0/1 that arrive and leave together; the adaptive target is
# rounded to whole jobs and the number of submissions stays bounded (no
# submit/cancel loop, which Dask and dask-jobqueue fall into when a target
# that is not a whole number of jobs keeps asking for a partial job).
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/slurm.sh"
slurm_require

start_slurm_cluster --processes 2 --nthreads 1 --adapt --minimum 0 --maximum 4 \
  --interval 200ms --target-duration 1s --wait-count 3 --walltime 10m
sleep_graph "$T_DIR/g.json" 16 1
run_graph "$T_DIR/g.json" --timeout 120 >"$T_DIR/out.json" &
RUN=$!
T_PIDS+=("$RUN")
odd=0 maxw=0
while kill -0 $RUN 2>/dev/null; do
  names=$(api /api/v1/identity | jq -r '.workers[] | .name' 2>/dev/null || true)
  w=$(printf '%s\n' "$names" | grep -c . || true)
  [ "$w" -gt "$maxw" ] && maxw=$w
  # every worker is NAME-JOB-I with I in 0..1
  if [ -n "$names" ] && printf '%s\n' "$names" | grep -vqE "^$SLURM_NAME-[0-9]+-[01]\$"; then
    fail "worker names not NAME-JOB-I: $(echo $names)"
  fi
  sleep 0.2
done
wait $RUN || fail "tide run failed"
check_sleep_outputs "$T_DIR/out.json" 16
[ "$maxw" -ge 2 ] && [ "$maxw" -le 4 ] || fail "expected 2..4 workers (1..2 jobs), saw $maxw"
wait_for 60 t_workers_eq 0
wait_for 30 slurm_no_jobs
# bounded submissions: at most 2 jobs are needed; allow one replacement
subs=$(grep -c "submitted as SLURM job" "$T_DIR/cluster.log" || true)
[ "$subs" -ge 1 ] && [ "$subs" -le 3 ] || fail "expected 1..3 sbatch submissions, saw $subs"
pass "--processes 2: up to $maxw workers in pairs, $subs submissions, back to 0"
