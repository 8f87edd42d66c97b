#!/usr/bin/env bash
# `tide simulate` runs the arrival-aware cap (docs/design.md §7) as a
# cluster does: a command backend whose workers take 2 s to register, one
# warm worker of 2 threads, and a burst of 40 tide.sleep 0.05 (1 s on the
# warm worker), recorded for real with and without the cap
# (--record-trace); each trace is simulated with the same policy and the
# startup learned from its run's log. The simulator must ask for fewer
# workers with the cap than without, as the real cluster does, and its
# burst latency must be within 0.6 s + 30 % of the real one (the real one
# also counts `tide run`'s process start and gather, a few tenths of a
# second on this shared box, which the simulator does not).
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/adaptive.sh"

slow_backend_scripts

# N tasks of tide.sleep S under one prefix (the warm-up's duration prices the burst)
graph() {
  jq -n --argjson n "$1" --argjson s "$2" --arg p "$4" \
    '{tasks: ([range($n)] | map({key: "\($p)\(.)", value: {fn: "tide.sleep", args: [$s, .], prefix: "burst"}}) | from_entries),
      outputs: [range($n) | "\($p)\(.)"]}' > "$3"
}
graph 1 0.05 "$T_DIR/warm.json" w
graph 40 0.05 "$T_DIR/burst.json" b

POLICY=(--nthreads 2 --minimum 1 --maximum 12 --interval 100ms --target-duration 100ms --wait-count 3)
submissions() { api /metrics | awk '$1 == "tide_rm_submissions_total" {print $2}'; }

# one real run, recorded in $T_DIR/MODE.trace: sets REAL_JOBS (every job
# asked, the warm worker's included) and REAL_S (the burst's latency)
run_real() {
  local mode=$1; shift
  start_cluster --backend command --start-cmd "$T_DIR/start.sh {scheduler} {name}" \
    --stop-cmd "$T_DIR/stop.sh {job_id}" "${POLICY[@]}" --record-trace "$T_DIR/$mode.trace" "$@"
  wait_workers 1 20
  out=$(run_graph "$T_DIR/warm.json")
  [ "$(echo "$out" | jq .w0)" = 0 ] || fail "warm-up: $out"
  # the simulator starts its clock at the first submission and has to
  # start the warm worker then: the burst comes after its startup
  sleep 3
  local t0 t1
  t0=$(date +%s.%N)
  run_graph "$T_DIR/burst.json" > "$T_DIR/out-$mode.json"
  t1=$(date +%s.%N)
  check_sleep_outputs "$T_DIR/out-$mode.json" 40 b
  # requests of the burst still arriving count too: wait for the plan to settle
  sleep 0.5
  REAL_JOBS=$(submissions)
  REAL_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')
  stop_cluster
  cp "$T_DIR/cluster.log" "$T_DIR/$mode.log"
}

run_real cap
real_cap_jobs=$REAL_JOBS real_cap_s=$REAL_S
run_real nocap --no-arrival-aware
real_nocap_jobs=$REAL_JOBS real_nocap_s=$REAL_S

# simulate MODE FLAG: the trace of that run under the same policy
simulate() {
  "$TIDE_BIN" simulate "$T_DIR/$1.trace" --startup-from "$T_DIR/$1.log" "${POLICY[@]}" "$2" \
    --json > "$T_DIR/sim-$1.json" || fail "tide simulate $1: $(cat "$T_DIR/sim-$1.json")"
}
simulate cap --arrival-aware
simulate nocap --no-arrival-aware
sim_cap_jobs=$(jq .workers_requested "$T_DIR/sim-cap.json")
sim_nocap_jobs=$(jq .workers_requested "$T_DIR/sim-nocap.json")
sim_cap_s=$(jq '.latency_s[1] * 1000 | round / 1000' "$T_DIR/sim-cap.json")
sim_nocap_s=$(jq '.latency_s[1] * 1000 | round / 1000' "$T_DIR/sim-nocap.json")
echo "real: jobs $real_cap_jobs with the cap, $real_nocap_jobs without; burst ${real_cap_s}s, ${real_nocap_s}s"
echo "sim:  jobs $sim_cap_jobs with the cap, $sim_nocap_jobs without; burst ${sim_cap_s}s, ${sim_nocap_s}s;" \
  "rm worker-s $(jq .rm_worker_seconds "$T_DIR/sim-cap.json") vs $(jq .rm_worker_seconds "$T_DIR/sim-nocap.json");" \
  "capped $(jq .capped "$T_DIR/sim-cap.json") vs $(jq .capped "$T_DIR/sim-nocap.json")"

[ "$real_cap_jobs" -lt "$real_nocap_jobs" ] ||
  fail "the real cluster asked $real_cap_jobs jobs with the cap, $real_nocap_jobs without: nothing to compare with"
[ "$sim_cap_jobs" -lt "$sim_nocap_jobs" ] ||
  fail "simulated: $sim_cap_jobs workers requested with the cap, $sim_nocap_jobs without (real $real_cap_jobs < $real_nocap_jobs)"
[ "$(jq .capped "$T_DIR/sim-cap.json")" -ge 1 ] || fail "no capped request simulated with the cap"
[ "$(jq .capped "$T_DIR/sim-nocap.json")" = 0 ] || fail "capped requests simulated without the cap"
awk -v a="$(jq .rm_worker_seconds "$T_DIR/sim-cap.json")" -v b="$(jq .rm_worker_seconds "$T_DIR/sim-nocap.json")" \
  'BEGIN{exit !(a < b)}' || fail "simulated rm worker-seconds not lower with the cap"
close() { awk -v s="$1" -v r="$2" 'BEGIN{d = s - r; if (d < 0) d = -d; exit !(d <= 0.6 + 0.3 * r)}'; }
close "$sim_cap_s" "$real_cap_s" || fail "with the cap: simulated burst ${sim_cap_s}s, real ${real_cap_s}s"
close "$sim_nocap_s" "$real_nocap_s" || fail "without the cap: simulated burst ${sim_nocap_s}s, real ${real_nocap_s}s"
pass "workers requested with/without the cap: real $real_cap_jobs/$real_nocap_jobs, simulated" \
  "$sim_cap_jobs/$sim_nocap_jobs; burst real ${real_cap_s}/${real_nocap_s}s, simulated ${sim_cap_s}/${sim_nocap_s}s"
