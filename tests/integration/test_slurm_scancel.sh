#!/usr/bin/env bash
# SLURM backend: a job cancelled from outside (scancel, as an admin or a
# preemption would) loses its worker; the cluster replaces it and the work
# finishes with every result right (docs/design.md §7 "Behaviour the tests hold").
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/slurm.sh"
slurm_require

start_slurm_cluster --nthreads 1 --adapt --minimum 2 --maximum 2 \
  --interval 200ms --target-duration 1s --wait-count 3 --walltime 10m
wait_for 60 t_workers_eq 2
sleep_graph "$T_DIR/g.json" 30 1
run_graph "$T_DIR/g.json" --timeout 180 >"$T_DIR/out.json" &
RUN=$!
T_PIDS+=("$RUN")
wait_for 30 eval '[ "$(api /api/v1/identity | jq "[.workers[] | .processing] | add // 0")" -gt 0 ]'
victim=$(slurm_our_jobs | awk '$3 == "RUNNING" {print $1; exit}')
[ -n "$victim" ] || fail "no running job to cancel"
scancel "$victim"
# the worker goes, a new job comes, and we are back to 2 workers
wait_for 30 eval '! squeue -h -j '"$victim"' -o %i 2>/dev/null | grep -q .'
wait_for 60 eval '[ "$(slurm_njobs)" -eq 2 ] && t_workers_eq 2'
wait $RUN || fail "tide run failed after a job was cancelled"
check_sleep_outputs "$T_DIR/out.json" 30
subs=$(grep -c "submitted as SLURM job" "$T_DIR/cluster.log" || true)
[ "$subs" -ge 3 ] || fail "expected a replacement submission (>= 3 sbatch), saw $subs"
pass "scancel'd job $victim was replaced ($subs submissions) and all 30 results are right"
