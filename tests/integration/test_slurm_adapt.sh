#!/usr/bin/env bash
# SLURM backend, adaptive 0 -> N -> 0: work brings SLURM jobs (seen in
# squeue) and workers; the results are right; afterwards the workers retire,
# the jobs leave squeue and the cluster is back to 0.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/slurm.sh"
slurm_require

start_slurm_cluster --nthreads 1 --adapt --minimum 0 --maximum 4 \
  --interval 200ms --target-duration 1s --wait-count 3 --walltime 10m
t_workers_eq 0 || fail "a fresh adaptive cluster should have 0 workers"
[ "$(slurm_njobs)" -eq 0 ] || fail "jobs in squeue before any work"

sleep_graph "$T_DIR/g.json" 24 1
run_graph "$T_DIR/g.json" --timeout 120 >"$T_DIR/out.json" &
RUN=$!
T_PIDS+=("$RUN")
# sample SLURM jobs and workers while the work runs
maxjobs=0 maxw=0
while kill -0 $RUN 2>/dev/null; do
  j=$(slurm_njobs); w=$(nworkers 2>/dev/null || echo 0)
  [ "$j" -gt "$maxjobs" ] && maxjobs=$j
  [ "$w" -gt "$maxw" ] && maxw=$w
  sleep 0.2
done
wait $RUN || fail "tide run failed"
check_sleep_outputs "$T_DIR/out.json" 24
[ "$maxjobs" -ge 2 ] || fail "expected at least 2 SLURM jobs during the work, saw $maxjobs"
[ "$maxjobs" -le 4 ] || fail "maximum 4 but saw $maxjobs SLURM jobs"
[ "$maxw" -ge 2 ] && [ "$maxw" -le 4 ] || fail "expected 2..4 workers during the work, saw $maxw"
# back to 0: workers retired, jobs gone from squeue
wait_for 60 t_workers_eq 0
wait_for 30 slurm_no_jobs
req=$(api /api/v1/adaptive | jq '.requested | length')
[ "$req" = 0 ] || fail "still $req workers requested after scale-down"
pass "adapted 0 -> $maxw workers ($maxjobs SLURM jobs) -> 0, 24 results right, squeue empty"
