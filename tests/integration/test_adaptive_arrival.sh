#!/usr/bin/env bash
# docs/design.md §7 "Arrival-aware requests": through a command backend
# whose workers take 2 s to register, a burst that one worker drains in
# about 1 s brings far fewer job requests with the cap than without, and
# finishes no later. The learned startup latency is shown in
# /api/v1/adaptive, /api/v1/cluster, /metrics and `tide status`, and every
# capped request is explained in the decision log.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/adaptive.sh"

slow_backend_scripts

# N tasks of tide.sleep S under one prefix (so the first task's duration,
# learned in the warm-up, prices the burst)
graph() {
  jq -n --argjson n "$1" --argjson s "$2" \
    '{tasks: ([range($n)] | map({key: "b\(.)", value: {fn: "tide.sleep", args: [$s, .], prefix: "burst"}}) | from_entries),
      outputs: [range($n) | "b\(.)"]}' > "$3"
}
graph 1 0.05 "$T_DIR/warm.json"
graph 40 0.05 "$T_DIR/burst.json" # 2 s of work: 1 s on the worker's 2 threads

submissions() { api /metrics | awk '$1 == "tide_rm_submissions_total" {print $2}'; }

# one run: sets JOBS (jobs asked during the burst) and SECS (its latency)
run_once() {
  start_cluster --backend command --start-cmd "$T_DIR/start.sh {scheduler} {name}" \
    --stop-cmd "$T_DIR/stop.sh {job_id}" --nthreads 2 --minimum 1 --maximum 12 \
    --interval 200ms --wait-count 3 --target-duration 100ms "$@"
  wait_workers 1 20
  out=$(run_graph "$T_DIR/warm.json")
  [ "$(echo "$out" | jq .b0)" = 0 ] || fail "warm-up: $out"
  local before; before=$(submissions)
  local t0 t1
  t0=$(date +%s.%N)
  out=$(run_graph "$T_DIR/burst.json")
  t1=$(date +%s.%N)
  [ "$(echo "$out" | jq '[to_entries[] | select(.value == (.key | ltrimstr("b") | tonumber))] | length')" = 40 ] ||
    fail "burst outputs: $out"
  # requests of the burst still arriving count too: wait for the plan to settle
  sleep 0.5
  JOBS=$(($(submissions) - before))
  SECS=$(echo "$t1 - $t0" | bc -l)
}

# with the cap (the default)
run_once
with_jobs=$JOBS with_s=$SECS
a=$(adaptive)
[ "$(echo "$a" | jq .arrival_aware)" = true ] || fail "arrival_aware not on by default: $(echo "$a" | jq -c .)"
st=$(echo "$a" | jq '.startup.CommandCluster.seconds')
# request -> registered: the 2 s sleep plus the worker's own start
echo "$st" | awk '{exit !($1 >= 2.0 && $1 < 6)}' || fail "learned startup $st s, expected 2-6 s"
[ "$(api /api/v1/cluster | jq '.startup.CommandCluster.samples')" -ge 1 ] || fail "no startup in /api/v1/cluster"
m=$(api /metrics | awk '$1 == "tide_worker_startup_seconds{backend=\"CommandCluster\"}" {print $2}')
echo "$m" | awk '{exit !($1 >= 2.0)}' || fail "tide_worker_startup_seconds: '$m'"
capped=$(echo "$a" | jq '[.log[] | select(.capped)] | length')
[ "$capped" -ge 1 ] || fail "no capped request in the log: $(echo "$a" | jq -c .log)"
why=$(echo "$a" | jq -r '[.log[] | select(.capped)][0].why')
echo "$why" | grep -Eq '^asked [0-9]+, capped to [0-9]+: queue drains in [0-9.]+ s, workers arrive in [2-9]\.[0-9]+ s' ||
  fail "capped request explained as: $why"
[ "$(echo "$a" | jq '[.log[] | select(.capped) | .capped.asked > .capped.allowed] | all')" = true ] ||
  fail "a capped entry asked no more than it got: $(echo "$a" | jq -c '[.log[] | select(.capped)]')"
[ "$(api /metrics | awk '$1 == "tide_adaptive_capped_total" {print $2}')" = "$capped" ] || fail "tide_adaptive_capped_total"
# the warm worker has been held since its request, 2 s before it registered
rmws=$(api /metrics | awk '$1 == "tide_rm_worker_seconds_total" {print $2}')
echo "$rmws" | awk '{exit !($1 >= 3)}' || fail "tide_rm_worker_seconds_total: '$rmws'"
s=$("$TIDE_BIN" status --scheduler-file "$SCHED_FILE")
echo "$s" | grep -q '^  arrival-aware on' || fail "tide status: $s"
echo "$s" | grep -Eq '^  startup   CommandCluster [2-5]\.[0-9]+s' || fail "tide status: $s"
stop_cluster

# without it
run_once --no-arrival-aware
without_jobs=$JOBS without_s=$SECS
[ "$(adaptive | jq .arrival_aware)" = false ] || fail "--no-arrival-aware not applied"
[ "$(adaptive | jq '[.log[] | select(.capped)] | length')" = 0 ] || fail "capped while off"
# over HTTP: a boolean turns it back on, anything else is a 400 that changes nothing
expect 400 POST /api/v1/adapt '{"arrival_aware": "yes"}'
body | jq -e '.error | test("arrival_aware: expected true or false")' >/dev/null || fail "400 body: $(body)"
[ "$(adaptive | jq .arrival_aware)" = false ] || fail "a refused adapt changed arrival_aware"
expect 200 POST /api/v1/adapt '{"arrival_aware": true}'
[ "$(adaptive | jq .arrival_aware)" = true ] || fail "arrival_aware over HTTP not applied"
stop_cluster

echo "jobs asked in the burst: with the cap $with_jobs, without $without_jobs;" \
  "burst ${with_s}s with, ${without_s}s without"
[ "$without_jobs" -ge 3 ] || fail "without the cap only $without_jobs job(s) were asked: the test proves nothing"
[ $((with_jobs * 3)) -le "$without_jobs" ] || fail "with the cap $with_jobs jobs, without $without_jobs (want <= 1/3)"
echo "$with_s $without_s" | awk '{exit !($1 <= 1.2 * $2 + 0.5)}' ||
  fail "burst took ${with_s}s with the cap, ${without_s}s without (allowed 1.2x + 0.5 s)"

# bad input: a value on the switch, a non-boolean over HTTP
"$TIDE_BIN" cluster --arrival-aware=yes > "$T_DIR/out" 2> "$T_DIR/err" && fail "--arrival-aware=yes accepted"
grep -q '^tide: --arrival-aware takes no value' "$T_DIR/err" || fail "error: $(cat "$T_DIR/err")"
pass "arrival-aware: $with_jobs job(s) with the cap, $without_jobs without; ${with_s}s vs ${without_s}s"
