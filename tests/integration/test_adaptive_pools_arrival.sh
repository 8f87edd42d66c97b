#!/usr/bin/env bash
# docs/design.md §7 "Arrival-aware requests" with pools (docs/adaptive.md
# "Pools"): each pool learns its own startup latency ("pool:NAME") and caps
# its own scale-up. A fast pool (local, min 1, max 4) and a slow one (a
# command backend whose start sleeps 2 s, BIG=1, min 1, max 12), 2 threads
# per worker. A burst of 20 BIG tasks of 0.05 s (1 s of work, which the
# slow pool's worker drains before a new one could register) and 200 plain
# ones (10 s of work): the slow pool's request is capped, explained in the
# log and shown per pool, while the fast pool grows to its max uncapped.
# Without the cap the slow pool asks for 3 jobs or more for the same burst.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/adaptive.sh"

slow_backend_scripts

# NB BIG tasks of S s (prefix big) and NP plain ones (prefix small)
graph() {
  jq -n --argjson nb "$1" --argjson np "$2" --argjson s "$3" \
    '{tasks: (([range($nb)] | map({key: "b\(.)", value: {fn: "tide.sleep", args: [$s, (1000 + .)],
                                                     prefix: "big", resources: {BIG: 1}}}))
              + ([range($np)] | map({key: "s\(.)", value: {fn: "tide.sleep", args: [$s, .], prefix: "small"}}))
              | from_entries),
      outputs: ([range($nb) | "b\(.)"] + [range($np) | "s\(.)"])}' > "$4"
}
graph 1 1 0.05 "$T_DIR/warm.json"
graph 20 200 0.05 "$T_DIR/burst.json"

# one run: sets SLOW_ASKED (workers the slow pool asked for in the burst),
# FAST_PEAK (the fast pool's largest plan) and LOG (the decision log)
run_once() {
  start_cluster --adapt --interval 200ms --wait-count 3 --target-duration 100ms --nthreads 2 \
    --pool fast:backend=local,min=1,max=4 \
    --pool "slow:backend=command,start-cmd=$T_DIR/start.sh {scheduler} {name} {pool},stop-cmd=$T_DIR/stop.sh {job_id},resources=BIG=1,min=1,max=12" \
    "$@"
  wait_workers 2 30
  out=$(run_graph "$T_DIR/warm.json")
  [ "$(echo "$out" | jq -c '[.b0, .s0]')" = '[1000,0]' ] || fail "warm-up: $out"
  local t0
  t0=$(date +%s.%N)
  out=$(run_graph "$T_DIR/burst.json")
  [ "$(echo "$out" | jq '[to_entries[] | select(.key | startswith("b")) | select(.value == 1000 + (.key | ltrimstr("b") | tonumber))] | length')" = 20 ] ||
    fail "BIG outputs: $out"
  [ "$(echo "$out" | jq '[to_entries[] | select(.key | startswith("s")) | select(.value == (.key | ltrimstr("s") | tonumber))] | length')" = 200 ] ||
    fail "plain outputs: $out"
  sleep 0.5 # requests of the burst still arriving count too
  LOG=$(adaptive | jq -c --argjson t0 "$t0" '[.log[] | select(.time >= $t0 - 0.05)]')
  SLOW_ASKED=$(echo "$LOG" | jq '[.[] | select(.pool == "slow" and .status == "up") | .n - .plan] | add // 0')
  FAST_PEAK=$(echo "$LOG" | jq '[.[] | select(.pool == "fast" and .status == "up") | .n] | max // 1')
}

# with the cap (the default)
run_once
with_slow=$SLOW_ASKED with_fast=$FAST_PEAK
slow=$(api '/api/v1/pools?name=slow') fast=$(api '/api/v1/pools?name=fast')
# request -> registered, learned per pool: the 2 s sleep plus the start
echo "$slow" | jq -e '.startup >= 2 and .startup < 8 and .startup_samples >= 1' >/dev/null ||
  fail "the slow pool's startup: $slow"
echo "$fast" | jq -e '.startup > 0 and .startup < 2 and .startup_samples >= 1' >/dev/null ||
  fail "the fast pool's startup: $fast"
api /api/v1/cluster | jq -e '.startup["pool:slow"].samples >= 1 and .startup["pool:fast"].samples >= 1' >/dev/null ||
  fail "startup keys: $(api /api/v1/cluster | jq -c .startup)"
# the slow pool capped and said why; the fast one never
ncap=$(echo "$LOG" | jq '[.[] | select(.pool == "slow" and .capped)] | length')
[ "$ncap" -ge 1 ] || fail "the slow pool's request was not capped: $LOG"
why=$(echo "$LOG" | jq -r '[.[] | select(.pool == "slow" and .capped)][0].why')
echo "$why" | grep -Eq '^pool slow: asked [0-9]+, capped to [0-9]+: queue drains in [0-9.]+ s, workers arrive in [2-9]\.[0-9]+ s' ||
  fail "the slow pool's cap explained as: $why"
echo "$LOG" | jq -e '[.[] | select(.pool == "slow" and .capped) | .capped.asked > .capped.allowed] | all' >/dev/null ||
  fail "a capped entry asked no more than it got: $LOG"
[ "$(echo "$LOG" | jq '[.[] | select(.pool == "fast" and .capped)] | length')" = 0 ] ||
  fail "the fast pool was capped: $LOG"
[ "$with_fast" = 4 ] || fail "the fast pool reached $with_fast, not its max 4: $LOG"
echo "$slow" | jq -e '.capped >= 1 and (.capped_why | startswith("pool slow: asked"))' >/dev/null ||
  fail "/api/v1/pools?name=slow: $slow"
echo "$fast" | jq -e '.capped == 0 and .capped_why == null' >/dev/null || fail "/api/v1/pools?name=fast: $fast"
total=$(api /metrics | awk '$1 == "tide_adaptive_capped_total" {print $2}')
[ "$total" -ge "$(echo "$slow" | jq .capped)" ] || fail "tide_adaptive_capped_total $total"
"$TIDE_BIN" status --scheduler-file "$SCHED_FILE" > "$T_DIR/status" || fail "tide status failed"
grep -Eq '^slow +BIG=1 +[0-9]+ +[0-9-]+ +1 +12 +[2-7]\.[0-9]{2}s +[1-9][0-9]* +CommandCluster$' "$T_DIR/status" ||
  fail "tide status: $(cat "$T_DIR/status")"
grep -Eq '^fast +- +[0-9]+ +[0-9-]+ +1 +4 +[01]\.[0-9]{2}s +0 +LocalCluster$' "$T_DIR/status" ||
  fail "tide status: $(cat "$T_DIR/status")"
stop_cluster

# without it
run_once --no-arrival-aware
without_slow=$SLOW_ASKED
[ "$(echo "$LOG" | jq '[.[] | select(.capped)] | length')" = 0 ] || fail "capped while off: $LOG"
stop_cluster

echo "slow pool workers asked in the burst: with the cap $with_slow, without $without_slow;" \
  "fast pool peak $with_fast"
[ "$without_slow" -ge 3 ] || fail "without the cap the slow pool asked $without_slow: the test proves nothing"
[ "$with_slow" -le 1 ] || fail "with the cap the slow pool asked $with_slow (want <= 1)"
pass "slow pool asked $with_slow worker(s) with the cap, $without_slow without; fast pool grew to $with_fast uncapped"
