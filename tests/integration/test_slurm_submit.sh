#!/usr/bin/env bash
# tide submit through an adaptive SLURM cluster: an array of 100 commands
# runs on workers in SLURM jobs; every output file holds its index and the
# element that exits 3 is the one failure, with rc 3 in the summary.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/slurm.sh"
slurm_require

start_slurm_cluster --allow-exec --nthreads 2 --adapt --minimum 0 --maximum 2 \
  --interval 200ms --wait-count 3 --walltime 10m
cd "$T_DIR" || fail "no test directory"
rc=0
"$TIDE_BIN" submit --scheduler-file "$SCHED_FILE" --array 1-100 --wait --timeout 120 -- \
  sh -c 'echo "$TIDE_ARRAY_INDEX"; [ "$TIDE_ARRAY_INDEX" != 42 ] || exit 3' >sub.out 2>sub.err || rc=$?
[ "$rc" = 1 ] || fail "exit $rc, want 1 (one element exits 3): $(cat sub.out sub.err)"
job=$(head -1 sub.out)
[ "$(sed -n 2p sub.out)" = "job $job: 100 tasks, 99 succeeded, 1 failed" ] || fail "summary: $(cat sub.out)"
grep -qF "  rc 3: 1 task, e.g. $job-42: tide.exec: \"sh\" exited with rc 3" sub.out || fail "rc 3: $(cat sub.out)"
bad=0
for i in $(seq 1 100); do [ "$(cat "tide-submit-$job/$i.out")" = "$i" ] || bad=$((bad + 1)); done
[ "$bad" = 0 ] || fail "$bad of 100 output files are wrong"
pass "100 elements through SLURM, every output checked, rc 3 of element 42"
