#!/usr/bin/env bash
# SLURM backend: jobs still pending in SLURM (held with --hold) count as
# requested, never as arrived, and at most --max-pending of them are
# outstanding; once SLURM runs them their workers arrive and the next jobs
# are submitted (docs/design.md §7 "Resource-manager faults").
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/slurm.sh"
slurm_require

start_slurm_cluster --nthreads 1 --walltime 10m --job-extra-directive=--hold \
  --adapt --minimum 4 --maximum 4 --max-pending 2 --interval 200ms --wait-count 3
pending_ids() { slurm_our_jobs | awk '$3 == "PENDING" {print $1}'; }
two_pending() { [ "$(pending_ids | wc -l)" -eq 2 ]; }
wait_for 30 two_pending
sleep 2 # several controller rounds: still 2, never more
[ "$(slurm_njobs)" -eq 2 ] || fail "max-pending 2, but $(slurm_njobs) jobs in squeue"
api /api/v1/adaptive >"$T_DIR/a.json"
req=$(jq '.requested | length' "$T_DIR/a.json")
obs=$(jq '.observed | length' "$T_DIR/a.json")
[ "$req" -ge 2 ] || fail "pending jobs should count as requested (requested=$req)"
[ "$obs" = 0 ] || fail "pending jobs must not count as arrived (observed=$obs)"
t_workers_eq 0 || fail "workers arrived from held jobs"
# let SLURM run them: their workers arrive, then the next two are submitted
scontrol release $(pending_ids | tr '\n' ' ')
wait_for 30 t_workers_eq 2
wait_for 30 two_pending
scontrol release $(pending_ids | tr '\n' ' ')
wait_for 30 t_workers_eq 4
obs=$(api /api/v1/adaptive | jq '.observed | length')
[ "$obs" = 4 ] || fail "expected 4 observed workers, got $obs"
subs=$(grep -c "submitted as SLURM job" "$T_DIR/cluster.log" || true)
[ "$subs" = 4 ] || fail "expected exactly 4 submissions, saw $subs"
pass "held jobs: 2 pending at most, requested not observed; released -> 4 workers from 4 submissions"
