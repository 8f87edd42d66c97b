#!/usr/bin/env bash
# SLURM backend: sbatch refuses the job (no such partition). The controller
# backs off (one sbatch per attempt, not a burst), /api/v1/adaptive carries
# sbatch's own error text, nothing is counted as arrived, adapting pauses
# after --pause-after failures in a row, and the cluster keeps serving.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/slurm.sh"
slurm_require

start_slurm_cluster --partition no-such-partition --nthreads 1 --adapt --minimum 0 \
  --maximum 4 --interval 200ms --target-duration 1s --wait-count 3 \
  --backoff 1s,2s --pause-after 3
sleep_graph "$T_DIR/g.json" 16 1
run_graph "$T_DIR/g.json" --timeout 300 >/dev/null 2>&1 &
T_PIDS+=("$!")
has_error() { api /api/v1/adaptive | grep -qi "invalid partition"; }
wait_for 30 has_error
api /api/v1/adaptive >"$T_DIR/adaptive.json"
jq -e '(.backoff // {}) | (.failures // 0) >= 1' "$T_DIR/adaptive.json" >/dev/null ||
  fail "no backoff failures counted in /api/v1/adaptive: $(cat "$T_DIR/adaptive.json")"
# backing off: a second failure comes only after a delay, not at once
f1=$(jq '.backoff.failures' "$T_DIR/adaptive.json")
sleep 0.5
f2=$(api /api/v1/adaptive | jq '.backoff.failures')
[ "$f2" -le $((f1 + 1)) ] || fail "sbatch retried without backing off ($f1 -> $f2 failures in 0.5 s)"
paused() { api /api/v1/adaptive | jq -e '.paused == true' >/dev/null; }
wait_for 30 paused
api /api/v1/adaptive >"$T_DIR/adaptive.json"
f3=$(jq '.backoff.failures' "$T_DIR/adaptive.json")
[ "$f3" = 3 ] || fail "paused after $f3 failures, expected exactly 3 (one sbatch per attempt)"
jq -e '.paused_reason | test("(?i)invalid partition")' "$T_DIR/adaptive.json" >/dev/null ||
  fail "paused_reason lacks sbatch's error: $(jq -c .paused_reason "$T_DIR/adaptive.json")"
t_workers_eq 0 || fail "workers arrived although every submission failed"
[ "$(slurm_njobs)" -eq 0 ] || fail "jobs in squeue although sbatch refused them"
# the cluster still serves
for r in identity tasks get_workers adaptive_target; do
  api /api/v1/$r >/dev/null || fail "/api/v1/$r stopped answering"
done
kill -0 "$CLUSTER_PID" || fail "tide cluster exited"
msg=$(jq -r '.. | strings | select(test("(?i)invalid partition"))' "$T_DIR/adaptive.json" | head -n1)
pass "sbatch failure shown in /api/v1/adaptive (\"$msg\"), backed off, paused after 3, cluster serving"
