#!/usr/bin/env bash
# SLURM backend: a published dataset spread over 4 workers survives a
# scale-down to 1 (retirement moves the data first, docs/design.md §6): same
# checksums afterwards and tide_recomputed_tasks_total stays 0.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/slurm.sh"
slurm_require

start_slurm_cluster --nthreads 1 --walltime 10m
"$TIDE_BIN" scale --scheduler-file "$SCHED_FILE" 4 || fail "tide scale 4 failed"
wait_for 60 t_workers_eq 4
[ "$(slurm_njobs)" -eq 4 ] || fail "expected 4 SLURM jobs, squeue has $(slurm_njobs)"

# 16 blocks of 1 MiB, spread over the 4 workers, published
awk 'BEGIN { printf "{\"tasks\": {"
  for (i = 0; i < 16; i++) printf "%s\"d%d\": {\"fn\": \"tide.bytes\", \"args\": [1048576, %d]}", (i ? ", " : ""), i, i
  printf "}, \"outputs\": ["; for (i = 0; i < 16; i++) printf "%s\"d%d\"", (i ? ", " : ""), i; printf "]}\n" }' >"$T_DIR/g.json"
run_graph "$T_DIR/g.json" --publish blocks --timeout 60 >"$T_DIR/before.json" || fail "tide run --publish failed"
n=$(jq '[.[] | select(.bytes == 1048576)] | length' "$T_DIR/before.json")
[ "$n" = 16 ] || fail "expected 16 blocks of 1 MiB, got $n"
holders=$(api /api/v1/identity | jq '[.workers[] | select(.nbytes > 0)] | length')
[ "$holders" -ge 2 ] || fail "data should be spread over several workers, held by $holders"

"$TIDE_BIN" scale --scheduler-file "$SCHED_FILE" 1 || fail "tide scale 1 failed"
wait_for 90 t_workers_eq 1
wait_for 30 eval '[ "$(slurm_njobs)" -eq 1 ]'
"$TIDE_BIN" get --scheduler-file "$SCHED_FILE" blocks >"$T_DIR/after.json" || fail "tide get failed"
diff <(jq -S . "$T_DIR/before.json") <(jq -S . "$T_DIR/after.json") >/dev/null ||
  fail "published checksums changed after scale-down"
rec=$(metric tide_recomputed_tasks_total)
[ "$rec" = 0 ] || fail "tide_recomputed_tasks_total is $rec after scale-down, expected 0"
pass "16 MiB published on 4 SLURM workers survived 4 -> 1 with the same checksums, 0 recomputed"
