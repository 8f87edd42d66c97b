#!/usr/bin/env bash
# SGE backend: qsub refuses the job (no such queue). The controller backs
# off (one qsub per attempt, not a burst), /api/v1/adaptive carries qsub's
# own error text, no worker arrives, adapting pauses after --pause-after
# failures in a row, and the cluster keeps serving.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/sge.sh"
sge_require

start_sge_cluster --queue no-such-queue --nthreads 1 --adapt --minimum 0 \
  --maximum 4 --interval 200ms --target-duration 1s --wait-count 3 \
  --backoff 1s,2s --pause-after 3
sleep_graph "$T_DIR/g.json" 16 1
run_graph "$T_DIR/g.json" --timeout 300 >/dev/null 2>&1 &
T_PIDS+=("$!")
has_error() { api /api/v1/adaptive | grep -q "unknown queue"; }
wait_for 30 has_error
f1=$(api /api/v1/adaptive | jq '.backoff.failures')
[ "$f1" -ge 1 ] || fail "no backoff failures counted in /api/v1/adaptive"
sleep 0.5
f2=$(api /api/v1/adaptive | jq '.backoff.failures')
[ "$f2" -le $((f1 + 1)) ] || fail "qsub retried without backing off ($f1 -> $f2 failures in 0.5 s)"
paused() { api /api/v1/adaptive | jq -e '.paused == true' >/dev/null; }
wait_for 30 paused
api /api/v1/adaptive >"$T_DIR/adaptive.json"
f3=$(jq '.backoff.failures' "$T_DIR/adaptive.json")
[ "$f3" = 3 ] || fail "paused after $f3 failures, expected exactly 3 (one qsub per attempt)"
jq -e '.paused_reason | test("qsub failed \\(exit 1\\): .*unknown queue \"no-such-queue\"")' \
  "$T_DIR/adaptive.json" >/dev/null ||
  fail "paused_reason lacks qsub's error: $(jq -c .paused_reason "$T_DIR/adaptive.json")"
t_workers_eq 0 || fail "workers arrived although every submission failed"
[ "$(sge_njobs)" -eq 0 ] || fail "jobs in qstat although qsub refused them"
for r in identity tasks get_workers adaptive_target; do
  api /api/v1/$r >/dev/null || fail "/api/v1/$r stopped answering"
done
kill -0 "$CLUSTER_PID" || fail "tide cluster exited"
pass "qsub failure shown in /api/v1/adaptive ($(jq -r .paused_reason "$T_DIR/adaptive.json")), backed off, paused after 3, cluster serving"
