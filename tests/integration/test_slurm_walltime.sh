#!/usr/bin/env bash
# SLURM backend with a 1-minute walltime: workers get a shorter --lifetime,
# retire gracefully before SLURM's time limit, and are replaced while work
# remains. No job reaches its time limit and no task is lost or recomputed.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/slurm.sh"
slurm_require

start_slurm_cluster --walltime 1m --nthreads 1 --adapt --minimum 0 --maximum 2 \
  --interval 200ms --target-duration 1s --wait-count 3
# about 100 s of work for 2 workers: outlives the first jobs' walltime
sleep_graph "$T_DIR/g.json" 200 1
run_graph "$T_DIR/g.json" --timeout 280 >"$T_DIR/out.json" || fail "tide run failed"
check_sleep_outputs "$T_DIR/out.json" 200
subs=$(grep -c "submitted as SLURM job" "$T_DIR/cluster.log" || true)
[ "$subs" -ge 3 ] || fail "expected the first jobs to be replaced (>= 3 submissions), saw $subs"
retired=$(metric tide_retired_workers_total)
[ "${retired%.*}" -ge 2 ] || fail "expected >= 2 workers retired by lifetime, saw $retired"
rec=$(metric tide_recomputed_tasks_total)
[ "$rec" = 0 ] || fail "tide_recomputed_tasks_total is $rec, expected 0"
if grep -l "TIME LIMIT" "$T_DIR"/slurm-logs/* 2>/dev/null; then
  fail "a job was killed by SLURM's time limit instead of retiring first"
fi
pass "walltime 1m: $subs jobs, $retired workers retired before the limit, 200 results right, 0 recomputed"
