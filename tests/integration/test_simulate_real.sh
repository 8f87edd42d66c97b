#!/usr/bin/env bash
# `tide simulate` against a real run of the same trace: a local adaptive
# cluster records its own trace (--record-trace) of two bursts of
# tide.sleep tasks; the simulator replays it with the startup latency
# learned from the cluster's log (--startup-from). The mean burst latency
# and the worker-seconds must agree within 25 %: real runs on this shared
# 2-core box jitter by a few tenths of a second per burst (process start,
# scheduling), a quarter of the ~1.5 s bursts here; bench/run.sh checks the
# 10 % goal on the larger burst workload.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/adaptive.sh"

POLICY=(--maximum 4 --interval 100ms --target-duration 1s --wait-count 3)
start_cluster --backend local --nthreads 1 --adapt --minimum 0 "${POLICY[@]}" \
  --record-trace "$T_DIR/trace.jsonl"
now() { date +%s.%N; }
( while :; do echo "$(now) $(nworkers 2>/dev/null || echo 0)"; sleep 0.05; done ) >"$T_DIR/samples" &
T_PIDS+=("$!")
SAMPLER=$!

NB=12 GAP=6
t0=$(now)
lat=()
for b in 0 1; do
  # the second burst starts GAP s after the first, once the cluster is back to 0
  [ "$b" = 0 ] || { wait_workers 0 20; sleep "$(awk -v a="$t0" -v g="$GAP" -v n="$(now)" 'BEGIN{d = a + g - n; printf "%.3f", (d > 0 ? d : 0)}')"; }
  sleep_graph "$T_DIR/b$b.json" "$NB" 0.5 "b$b-"
  ts=$(now)
  run_graph "$T_DIR/b$b.json" >"$T_DIR/out$b.json"
  lat+=("$(awk -v a="$ts" -v b="$(now)" 'BEGIN{printf "%.3f", b - a}')")
  check_sleep_outputs "$T_DIR/out$b.json" "$NB" "b$b-"
done
wait_workers 0 20
tend=$(now)
kill "$SAMPLER" 2>/dev/null || true
stop_cluster

ws_real=$(awk -v t0="$t0" -v tend="$tend" '
  { t[NR] = $1; w[NR] = $2 }
  END { for (i = 1; i < NR; i++) if (t[i] >= t0 && t[i] <= tend) s += w[i] * (t[i+1] - t[i]); printf "%.2f", s }' "$T_DIR/samples")
lat_real=$(printf '%s\n' "${lat[@]}" | awk '{s += $1} END {printf "%.3f", s / NR}')

[ "$(grep -c '^{"t"' "$T_DIR/trace.jsonl")" = 2 ] || fail "recorded submissions: $(head -c 600 "$T_DIR/trace.jsonl")"
[ "$(grep -c '^{"done"' "$T_DIR/trace.jsonl")" = $((2 * NB)) ] || fail "recorded done lines"
grep -q "registered .*s after its request" "$T_DIR/cluster.log" || fail "no startup line in the cluster log"

"$TIDE_BIN" simulate "$T_DIR/trace.jsonl" --startup-from "$T_DIR/cluster.log" "${POLICY[@]}" \
  --json >"$T_DIR/sim.json"
lat_sim=$(jq '.mean_latency_s' "$T_DIR/sim.json")
ws_sim=$(jq '.worker_seconds' "$T_DIR/sim.json")
echo "real: latency ${lat[*]} (mean $lat_real s), worker-seconds $ws_real"
echo "sim:  latency $(jq -c .latency_s "$T_DIR/sim.json") (mean $lat_sim s), worker-seconds $ws_sim"
within() { awk -v a="$1" -v b="$2" 'BEGIN{ e = (a - b) / b; if (e < 0) e = -e; exit !(e <= 0.25) }'; }
within "$lat_sim" "$lat_real" || fail "mean latency: simulated $lat_sim s, real $lat_real s (more than 25 % apart)"
within "$ws_sim" "$ws_real" || fail "worker-seconds: simulated $ws_sim, real $ws_real (more than 25 % apart)"
pass "simulated latency $lat_sim s vs real $lat_real s, worker-seconds $ws_sim vs $ws_real (within 25 %)"
