#!/usr/bin/env bash
# tide's benchmarks, side by side with Dask on the same machine in the same
# invocation: bench/peers/dask_*.py run the same workloads with Dask's own
# `distributed` (see docs/benchmarks.md).
# Usage: bash bench/run.sh [build/tide]
#   BENCH_ONLY=throughput,throughput_polled,throughput_tls,startup,auth,sched_mem,burst,burst_tls,burst_slurm,burst_arrival,burst_sge,burst_ssh,policy,cmd_array,scale,simulate,pools,policy_table  (default: all)
#   BENCH_QUICK=1     smaller sizes, for a smoke run
#   BENCH_NO_DASK=1   tide only
# Writes bench/results/latest.jsonl (one JSON object per system and workload)
# and prints a table with the ratio tide : Dask (> 1 means tide is better).
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
TIDE=$(readlink -f "${1:-$SRC/build/tide}")
BUILD=$(dirname "$TIDE")
[ -x "$TIDE" ] || { echo "bench: $TIDE is not built (make build)" >&2; exit 2; }
PY=/usr/bin/python3
ONLY=${BENCH_ONLY:-throughput,throughput_polled,throughput_tls,startup,auth,sched_mem,burst,burst_tls,burst_slurm,burst_arrival,burst_sge,burst_ssh,policy,cmd_array,scale,simulate,pools,policy_table}
QUICK=${BENCH_QUICK:-0}
PEERS="$SRC/bench/peers"
HAVE_DASK=0
if [ "${BENCH_NO_DASK:-0}" != 1 ] && "$PY" -c 'import distributed, psutil' 2>/dev/null; then
  HAVE_DASK=1
fi

OUTDIR="$SRC/bench/results"
mkdir -p "$OUTDIR"
OUT="$OUTDIR/latest.jsonl"
: >"$OUT"
W=$(mktemp -d "${TMPDIR:-/tmp}/tide-bench.XXXXXX")
export TIDE_CONFIG="$W/empty.yaml"
: >"$TIDE_CONFIG"
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -KILL "$p" 2>/dev/null || true; done
  [ -f "$W/rig/rig.env" ] && bash "$SRC/scripts/hosts-down.sh" "$W/rig" >/dev/null 2>&1
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
MACHINE="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
log() { echo "bench: $*" >&2; }
want() { [[ ",$ONLY," == *",$1,"* ]]; }

# record WORKLOAD SYSTEM JSON: append one line with date and machine.
record() {
  jq -c --arg w "$1" --arg s "$2" --arg d "$DATE" --arg m "$MACHINE" \
    '{workload: $w, system: $s, date: $d, machine: $m} + .' <<<"$3" >>"$OUT"
}

# wait_file FILE TIMEOUT
wait_file() {
  local i
  for ((i = 0; i < $2 * 20; i++)); do [ -s "$1" ] && return 0; sleep 0.05; done
  return 1
}

# start_sched NAME [ARGS...]: a scheduler on port 0; sets SF (scheduler
# file), SPID.
start_sched() {
  local name=$1; shift
  SF="$W/$name.json"
  rm -f "$SF"
  "$TIDE" scheduler --host 127.0.0.1 --port 0 --dashboard-port 0 --scheduler-file "$SF" "$@" \
    >"$W/$name.log" 2>&1 &
  SPID=$!
  PIDS+=("$SPID")
  wait_file "$SF" 10 || { log "scheduler did not start"; tail "$W/$name.log" >&2; return 1; }
}
stop_pid() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
dash() { jq -r .dashboard "$SF"; }
nworkers() { curl -sf --max-time 2 "$(dash)/api/v1/get_workers" | jq .num_workers; }

# The C helper against libtide (timings without `tide run`'s process start).
BENCHBIN="$W/tide_bench"
build_helper() {
  local lib="$BUILD/libtide.a"
  [ -f "$lib" ] || { log "no $lib; throughput falls back to timing 'tide run'"; return 1; }
  cc -O2 -I"$SRC/include" -o "$BENCHBIN" "$SRC/bench/tide_bench.c" "$lib" \
    $(pkg-config --libs libuv jansson yaml-0.1 libmicrohttpd libssl libcrypto) -lmsgpackc -lpthread -lm -ldl \
    2>"$W/cc.log" || { log "cannot build bench/tide_bench.c:"; cat "$W/cc.log" >&2; return 1; }
}
HELPER=0
build_helper && HELPER=1

# gen_graph N MODE(indep|chain|sleep) TAG [SECONDS]: graph JSON on stdout.
gen_graph() {
  awk -v n="$1" -v mode="$2" -v tag="$3" -v s="${4:-0.5}" 'BEGIN {
    printf "{\"tasks\": {"
    for (i = 0; i < n; i++) {
      if (i) printf ", "
      if (mode == "chain" && i > 0) printf "\"%s%d\": {\"fn\": \"tide.inc\", \"args\": [{\"ref\": \"%s%d\"}]}", tag, i, tag, i-1
      else if (mode == "sleep") printf "\"%s%d\": {\"fn\": \"tide.sleep\", \"args\": [%s, %d]}", tag, i, s, i
      else printf "\"%s%d\": {\"fn\": \"tide.inc\", \"args\": [%d]}", tag, i, i
    }
    printf "}, \"outputs\": ["
    if (mode == "chain") printf "\"%s%d\"", tag, n-1
    else for (i = 0; i < n; i++) printf "%s\"%s%d\"", (i ? ", " : ""), tag, i
    printf "]}\n"
  }'
}

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.4f", b - a}'; }

# ---- throughput ------------------------------------------------------------
bench_throughput() {
  local n=20000 r=${BENCH_THROUGHPUT_RUNS:-3} res
  [ "$QUICK" = 1 ] && { n=2000; r=1; }
  log "throughput: $n independent tasks then a chain of $((n / 10)) on 2 one-thread workers, $r runs (median)"
  start_sched tp || return 0
  local w1 w2
  "$TIDE" worker --scheduler-file "$SF" --name tp-1 --nthreads 1 >"$W/tp-w1.log" 2>&1 & w1=$!
  "$TIDE" worker --scheduler-file "$SF" --name tp-2 --nthreads 1 >"$W/tp-w2.log" 2>&1 & w2=$!
  PIDS+=("$w1" "$w2")
  local i
  for ((i = 0; i < 200; i++)); do [ "$(nworkers 2>/dev/null)" = 2 ] && break; sleep 0.05; done
  if [ "$HELPER" = 1 ]; then
    : >"$W/tp-runs"
    for ((i = 0; i < r; i++)); do
      "$BENCHBIN" throughput "$SF" "$n" >>"$W/tp-runs" || log "throughput: a run failed"
    done
    res=$(jq -sc 'def med: sort | .[(length - 1) / 2 | floor];
      if length == 0 then empty else
      .[0] + {independent_tasks_per_s: ([.[].independent_tasks_per_s] | med),
              chain_tasks_per_s: ([.[].chain_tasks_per_s] | med), repeats: length,
              runs: [.[] | [.independent_tasks_per_s, .chain_tasks_per_s]]} end' "$W/tp-runs") || res=""
    # the command line a user types, its process start, JSON reading and
    # output included: each run its own keys, so none is still in memory
    : >"$W/tp-cli"
    for ((i = 0; i < r; i++)); do
      gen_graph "$n" indep "r$i-" >"$W/cli-indep.json"
      local t0 t
      t0=$(now)
      "$TIDE" run --scheduler-file "$SF" "$W/cli-indep.json" >/dev/null && t=$(since "$t0") &&
        echo "$t" >>"$W/tp-cli" || log "throughput: a tide run failed"
    done
    [ -n "$res" ] && [ -s "$W/tp-cli" ] && res=$(jq -sc --argjson res "$res" --argjson n "$n" \
      'def med: sort | .[(length - 1) / 2 | floor];
      $res + {cli_independent_tasks_per_s: ([.[] | $n / . | round] | med),
              cli_runs: [.[] | $n / . | round]}' "$W/tp-cli")
  else
    gen_graph "$n" indep i- >"$W/indep.json"
    gen_graph $((n / 10)) chain c- >"$W/chain.json"
    local t0 ti tc
    t0=$(now); "$TIDE" run --scheduler-file "$SF" "$W/indep.json" >/dev/null && ti=$(since "$t0")
    t0=$(now); "$TIDE" run --scheduler-file "$SF" "$W/chain.json" >/dev/null && tc=$(since "$t0")
    [ -n "${ti:-}" ] && [ -n "${tc:-}" ] && res=$(jq -nc --argjson n "$n" --argjson ti "$ti" --argjson tc "$tc" \
      '{system: "tide", independent_tasks: $n, independent_tasks_per_s: ($n / $ti | round),
        chain_tasks: ($n / 10), chain_tasks_per_s: ($n / 10 / $tc | round), workers: 2,
        note: "timed around tide run (process start included)"}')
  fi
  stop_pid "$w1"; stop_pid "$w2"; stop_pid "$SPID"
  [ -n "${res:-}" ] && record throughput tide "$res" || log "throughput: tide run failed"
  if [ "$HAVE_DASK" = 1 ]; then
    log "throughput: dask"
    res=$(timeout 900 "$PY" "$PEERS/dask_throughput.py" "$n" 2 2>/dev/null | tail -n1) &&
      record throughput dask "$res" || log "throughput: dask failed"
  fi
}

# cpu_ticks PID...: user + system CPU of the processes so far, in clock ticks.
cpu_ticks() {
  local p t=0
  for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
  echo "$t"
}

# ---- throughput with TLS against without --------------------------------------
# Two schedulers with two one-thread workers each, one plain and one with
# TLS and mutual authentication (a CA and certificate made with openssl),
# the same tide_bench throughput runs alternating between them; then the
# same 256 MiB of tide.bytes results gathered by `tide run` from each.
# cost_pct = 1 - TLS / plain (medians); cpu_cost_pct = the scheduler's and
# workers' CPU with TLS / without - 1.
bench_throughput_tls() {
  local n=20000 r=${BENCH_THROUGHPUT_RUNS:-3} res i
  [ "$QUICK" = 1 ] && { n=2000; r=1; }
  if [ "$HELPER" != 1 ] || ! command -v openssl >/dev/null; then
    log "throughput_tls: skipped (needs bench/tide_bench.c built and the openssl tool)"
    return 0
  fi
  local C="$W/tls"
  mkdir -p "$C"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=bench-ca \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
    -keyout "$C/ca.key" -out "$C/ca.pem" 2>/dev/null &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=bench \
      -keyout "$C/key.pem" -out "$C/req.csr" 2>/dev/null &&
    openssl x509 -req -in "$C/req.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" -CAcreateserial -days 1 \
      -out "$C/cert.pem" 2>/dev/null || { log "throughput_tls: openssl failed"; return 0; }
  log "throughput_tls: $n independent tasks then a chain of $((n / 10)), $r runs each without and with TLS, alternating"
  local sf_plain sf_tls pids=()
  start_sched tpt-plain || return 0
  sf_plain=$SF; pids+=("$SPID")
  TIDE_TLS__CA_FILE="$C/ca.pem" TIDE_TLS__CERT="$C/cert.pem" TIDE_TLS__KEY="$C/key.pem" \
    start_sched tpt-tls || return 0
  sf_tls=$SF; pids+=("$SPID")
  for s in plain tls; do
    local sf=$sf_plain
    [ $s = tls ] && sf=$sf_tls
    for k in 1 2; do
      if [ $s = tls ]; then
        TIDE_TLS__CA_FILE="$C/ca.pem" TIDE_TLS__CERT="$C/cert.pem" TIDE_TLS__KEY="$C/key.pem" \
          "$TIDE" worker --scheduler-file "$sf" --name "tpt-$s-$k" --nthreads 1 >"$W/tpt-$s-$k.log" 2>&1 &
      else
        "$TIDE" worker --scheduler-file "$sf" --name "tpt-$s-$k" --nthreads 1 >"$W/tpt-$s-$k.log" 2>&1 &
      fi
      pids+=($!); PIDS+=($!)
    done
  done
  for sf in "$sf_plain" "$sf_tls"; do
    SF=$sf
    for ((i = 0; i < 200; i++)); do [ "$(nworkers 2>/dev/null)" = 2 ] && break; sleep 0.05; done
  done
  : >"$W/tpt-plain"; : >"$W/tpt-tls"
  # CPU of each side's scheduler and workers over the timed runs (the other
  # side idles meanwhile): steadier than wall time on shared cores
  local cpu_plain0 cpu_tls0 cpu_plain cpu_tls
  cpu_plain0=$(cpu_ticks "${pids[0]}" "${pids[2]}" "${pids[3]}")
  cpu_tls0=$(cpu_ticks "${pids[1]}" "${pids[4]}" "${pids[5]}")
  for ((i = 0; i < r; i++)); do
    "$BENCHBIN" throughput "$sf_plain" "$n" >>"$W/tpt-plain" || log "throughput_tls: a plain run failed"
    TIDE_BENCH_TLS_DIR="$C" "$BENCHBIN" throughput "$sf_tls" "$n" >>"$W/tpt-tls" ||
      log "throughput_tls: a TLS run failed"
  done
  cpu_plain=$(($(cpu_ticks "${pids[0]}" "${pids[2]}" "${pids[3]}") - cpu_plain0))
  cpu_tls=$(($(cpu_ticks "${pids[1]}" "${pids[4]}" "${pids[5]}") - cpu_tls0))
  # 16 results of 16 MiB, gathered by the client: the bytes cross TLS twice
  # (worker to client through the scheduler's gather)
  awk 'BEGIN { printf "{\"tasks\": {"; for (i = 0; i < 16; i++) printf "%s\"b%d\": {\"fn\": \"tide.bytes\", \"args\": [16777216, %d]}", (i ? ", " : ""), i, i;
    printf "}, \"outputs\": ["; for (i = 0; i < 16; i++) printf "%s\"b%d\"", (i ? ", " : ""), i; print "]}" }' >"$W/bytes.json"
  local tb_plain=() tb_tls=() t0
  for ((i = 0; i < r; i++)); do
    t0=$(now); "$TIDE" run --scheduler-file "$sf_plain" "$W/bytes.json" >/dev/null && tb_plain+=("$(since "$t0")")
    t0=$(now)
    TIDE_TLS__CA_FILE="$C/ca.pem" TIDE_TLS__CERT="$C/cert.pem" TIDE_TLS__KEY="$C/key.pem" \
      "$TIDE" run --scheduler-file "$sf_tls" "$W/bytes.json" >/dev/null && tb_tls+=("$(since "$t0")")
  done
  for p in "${pids[@]}"; do stop_pid "$p"; done
  res=$(jq -nc --slurpfile p "$W/tpt-plain" --slurpfile t "$W/tpt-tls" \
    --argjson cp "$cpu_plain" --argjson ct "$cpu_tls" --argjson hz "$(getconf CLK_TCK)" --argjson r "$r" --argjson bp "$(printf '%s\n' "${tb_plain[@]:-}" | jq -sc 'map(select(. != null))')" \
    --argjson bt "$(printf '%s\n' "${tb_tls[@]:-}" | jq -sc 'map(select(. != null))')" '
    def med: sort | if length == 0 then null else .[(length - 1) / 2 | floor] end;
    ($p | map(.independent_tasks_per_s) | med) as $pi | ($t | map(.independent_tasks_per_s) | med) as $ti |
    ($p | map(.chain_tasks_per_s) | med) as $pc | ($t | map(.chain_tasks_per_s) | med) as $tc |
    ($bp | med) as $pb | ($bt | med) as $tb |
    {system: "tide", independent_tasks_per_s: $ti, plain_independent_tasks_per_s: $pi,
     chain_tasks_per_s: $tc, plain_chain_tasks_per_s: $pc,
     cost_pct: (if $pi then ((1 - $ti / $pi) * 1000 | round / 10) else null end),
     chain_cost_pct: (if $pc then ((1 - $tc / $pc) * 1000 | round / 10) else null end),
     gather_256mib_s: $tb, plain_gather_256mib_s: $pb,
     gather_cost_pct: (if $pb then ((1 - $pb / $tb) * 1000 | round / 10) else null end),
     cpu_ms_per_run: ($ct * 1000 / $hz / $r | round), plain_cpu_ms_per_run: ($cp * 1000 / $hz / $r | round),
     cpu_cost_pct: (if $cp > 0 then (($ct / $cp - 1) * 1000 | round / 10) else null end),
     repeats: ($p | length)}' 2>/dev/null) || res=""
  [ -n "$res" ] && record throughput_tls tide "$res" || log "throughput_tls: no result"
}

# ---- throughput while the dashboard page polls ------------------------------
# The same measurement as throughput, with a larger graph so that each timed
# run spans several of the page's 1 s polls; runs without and with
# bench/poll_dashboard.py (every route src/http/dashboard/app.js polls, as
# often) alternate on the same scheduler and workers; medians are compared.
bench_throughput_polled() {
  local n=100000 r=${BENCH_POLLED_RUNS:-5} i pp res w1 w2
  [ "$QUICK" = 1 ] && { n=10000; r=1; }
  if [ "$HELPER" != 1 ]; then
    log "throughput_polled: skipped (needs bench/tide_bench.c built against libtide.a)"
    return 0
  fi
  log "throughput_polled: $n independent tasks then a chain of $((n / 10)), $r runs without and $r with the dashboard polling, alternating"
  start_sched tpp || return 0
  "$TIDE" worker --scheduler-file "$SF" --name tpp-1 --nthreads 1 >"$W/tpp-w1.log" 2>&1 & w1=$!
  "$TIDE" worker --scheduler-file "$SF" --name tpp-2 --nthreads 1 >"$W/tpp-w2.log" 2>&1 & w2=$!
  PIDS+=("$w1" "$w2")
  for ((i = 0; i < 200; i++)); do [ "$(nworkers 2>/dev/null)" = 2 ] && break; sleep 0.05; done
  : >"$W/tpp-plain"; : >"$W/tpp-polled"; : >"$W/tpp-polls"
  for ((i = 0; i < r; i++)); do
    "$BENCHBIN" throughput "$SF" "$n" >>"$W/tpp-plain" || log "throughput_polled: a run failed"
    "$PY" "$SRC/bench/poll_dashboard.py" "$(dash)" 1 >>"$W/tpp-polls" & pp=$!
    PIDS+=("$pp")
    "$BENCHBIN" throughput "$SF" "$n" >>"$W/tpp-polled" || log "throughput_polled: a polled run failed"
    kill -TERM "$pp" 2>/dev/null; wait "$pp" 2>/dev/null || true
  done
  # what one poll costs the scheduler (CPU of all its threads) at its worst:
  # the whole task-stream ring, as during a busy run
  local k=50 urls=() c0 c1 route
  for ((i = 0; i < k; i++)); do
    for route in get_workers tasks adaptive adaptive_target "task_stream?since=0" cluster; do
      urls+=("$(dash)/api/v1/$route")
    done
  done
  c0=$(awk '{print $14 + $15}' "/proc/$SPID/stat")
  curl -s --max-time 60 "${urls[@]}" >/dev/null || true
  c1=$(awk '{print $14 + $15}' "/proc/$SPID/stat")
  echo "{\"polls\": $k, \"ticks\": $((c1 - c0)), \"hz\": $(getconf CLK_TCK)}" >"$W/tpp-cost"
  stop_pid "$w1"; stop_pid "$w2"; stop_pid "$SPID"
  res=$(jq -nc --argjson n "$n" --argjson r "$r" --slurpfile a "$W/tpp-plain" --slurpfile b "$W/tpp-polled" \
    --slurpfile p "$W/tpp-polls" --slurpfile cost "$W/tpp-cost" '
    def med: sort | .[(length - 1) / 2 | floor];
    def loss(x; y): if x > 0 then ((1 - y / x) * 1000 | round) / 10 else null end;
    ([$a[].independent_tasks_per_s] | med) as $ia | ([$b[].independent_tasks_per_s] | med) as $ib |
    ([$a[].chain_tasks_per_s] | med) as $ca | ([$b[].chain_tasks_per_s] | med) as $cb |
    {system: "tide", independent_tasks: $n, chain_tasks: ($n / 10), repeats: $r, workers: 2,
     independent_tasks_per_s: $ib, chain_tasks_per_s: $cb,
     unpolled_independent_tasks_per_s: $ia, unpolled_chain_tasks_per_s: $ca,
     loss_pct: loss($ia; $ib), chain_loss_pct: loss($ca; $cb),
     runs_unpolled: [$a[] | [.independent_tasks_per_s, .chain_tasks_per_s]],
     runs_polled: [$b[] | [.independent_tasks_per_s, .chain_tasks_per_s]],
     poll_interval_s: 1, polls: ([$p[].polls] | add), poll_requests: ([$p[].requests] | add),
     poll_errors: ([$p[].errors] | add), slowest_poll_s: ([$p[].slowest_poll_s] | max),
     sched_cpu_ms_per_poll: ($cost[0] | (.ticks * 1000 / .hz / .polls * 100 | round) / 100)}' 2>/dev/null) || res=""
  if [ -n "$res" ] && [ "$(jq '.runs_polled | length' <<<"$res")" -gt 0 ]; then
    record throughput_polled tide "$res"
  else
    log "throughput_polled: no result"
  fi
}

# ---- worker startup --------------------------------------------------------
bench_startup() {
  local r=10 res
  [ "$QUICK" = 1 ] && r=3
  log "startup: spawn a worker until registered, $r times (median)"
  start_sched st || return 0
  if [ "$HELPER" = 1 ]; then
    res=$("$BENCHBIN" startup "$SF" "$TIDE" "$r") || res=""
  else
    local times=() i t0 p
    for ((i = 0; i < r; i++)); do
      t0=$(now)
      "$TIDE" worker --scheduler-file "$SF" --name st-$i --nthreads 1 >/dev/null 2>&1 & p=$!
      until [ "$(nworkers 2>/dev/null)" = 1 ]; do :; done
      times+=("$(since "$t0")")
      stop_pid "$p"
      until [ "$(nworkers 2>/dev/null)" = 0 ]; do sleep 0.01; done
    done
    res=$(printf '%s\n' "${times[@]}" | sort -g | jq -sc '{system: "tide", worker_start_s_median: .[length/2|floor],
      min: .[0], max: .[-1], repeats: length, note: "polled with curl (upper bound)"}')
  fi
  stop_pid "$SPID"
  [ -n "${res:-}" ] && record startup tide "$res" || log "startup: tide failed"
  if [ "$HAVE_DASK" = 1 ]; then
    log "startup: dask"
    res=$(timeout 600 "$PY" "$PEERS/dask_startup.py" "$r" 2>/dev/null | tail -n1) &&
      record startup dask "$res" || log "startup: dask failed"
  fi
}

# ---- the adaptive round at 100 / 1,000 / 10,000 synthetic workers -------------
# bench/policy_bench.c runs the scheduler's own adaptive_target,
# workers_to_close and a whole round (with recommend) in one process, no
# sockets: the policy's cost per worker, apart from I/O. bench/peers/
# dask_policy.py times the same three in Dask's own Scheduler and Adaptive at
# the same N, its tasks placed on as many workers as tide's placement keeps
# busy (policy_bench's busy_workers), so both give the same answers.
build_policy() { # once: $W/policy_bench (also used by bench_scale)
  [ -x "$W/policy_bench" ] && return 0
  cc -O2 -I"$SRC/src" -I"$SRC/include" -o "$W/policy_bench" "$SRC/bench/policy_bench.c" "$BUILD/libtide.a" \
    $(pkg-config --libs libuv jansson yaml-0.1 libmicrohttpd libssl libcrypto) -lmsgpackc -lpthread -lm -ldl \
    2>"$W/cc-policy.log" || { log "policy: cannot build bench/policy_bench.c:"; cat "$W/cc-policy.log" >&2; return 1; }
}
bench_policy() {
  local bin="$W/policy_bench" n res
  build_policy || return 0
  for n in 100 1000 10000; do
    log "policy: $n workers"
    res=$("$bin" "$n") && record "policy_$n" tide "$res" || { log "policy: $n workers failed"; continue; }
    [ "$HAVE_DASK" = 1 ] || continue
    log "policy: $n workers, dask"
    res=$(timeout 600 "$PY" "$PEERS/dask_policy.py" "$n:$(jq .busy_workers <<<"$res")" 2>/dev/null | tail -n1) &&
      record "policy_$n" dask "$res" || log "policy: $n workers, dask failed"
  done
}

# ---- scale: one scheduler at 100 / 1,000 / 10,000 connected workers ------------
# The workers are the swarm (bench/swarm.c, build/tide_swarm): real worker
# connections from one process, so 10,000 need no 10,000 processes. At each
# size: the scheduler's idle CPU over 10 s (/proc/PID/stat), its memory per
# worker ((RSS with N - RSS with none) / N), how long the swarm took to
# register, a /metrics scrape (it computes adaptive_target on the live
# scheduler), policy_bench's adaptive_target and whole round at N synthetic
# workers, and the throughput of independent tide.inc tasks (checked by
# tide_bench) against two real one-thread workers. Then, with real worker
# processes of the local backend, the time from the first submission to N
# registered for N = 100 and 1,000.
scale_cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
scale_rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
scale_swarm() { # N TASKS: one size; prints one JSON line
  local n=$1 tasks=$2 hz rss0 rss1 c0 c1 reg swpid ms tp pol
  hz=$(getconf CLK_TCK)
  TIDE_LIMITS__CONNECTIONS_PER_SOURCE=$((n + 1000)) start_sched "scale-$n" || return 1
  sleep 1
  rss0=$(scale_rss_kb "$SPID")
  "$BUILD/tide_swarm" --scheduler-file "$SF" -n "$n" >"$W/swarm-$n.out" 2>"$W/swarm-$n.err" &
  swpid=$!
  PIDS+=("$swpid")
  wait_file "$W/swarm-$n.out" 120 || { log "scale: the swarm of $n did not register: $(tail -n 2 "$W/swarm-$n.err")"; stop_pid "$swpid"; stop_pid "$SPID"; return 1; }
  reg=$(awk '{print $(NF - 1)}' "$W/swarm-$n.out")
  [ "$(nworkers)" = "$n" ] || { log "scale: the scheduler counts $(nworkers) workers, want $n"; stop_pid "$swpid"; stop_pid "$SPID"; return 1; }
  # memory once every worker has beaten at least once: the interval at n
  # workers is n/200 + 1 s (docs/design.md §4 "Liveness"), the first beats
  # are spread over it
  sleep $((n / 200 + 3))
  rss1=$(scale_rss_kb "$SPID")
  c0=$(scale_cpu_ticks "$SPID")
  sleep 10
  c1=$(scale_cpu_ticks "$SPID")
  ms=$(for _ in 1 2 3 4 5; do curl -s -o /dev/null -w '%{time_total}\n' --max-time 10 "$(dash)/metrics"; done |
    sort -g | awk '{v[NR] = $1} END {printf "%.2f", v[3] * 1000}')
  tp=null
  if [ "$HELPER" = 1 ] && [ "$tasks" -gt 0 ]; then
    tp=$("$BENCHBIN" throughput "$SF" "$tasks" | jq .independent_tasks_per_s) || tp=null
  fi
  pol='{}'
  [ -x "$W/policy_bench" ] && pol=$("$W/policy_bench" "$n" 2>/dev/null) || pol='{}'
  stop_pid "$SPID"
  wait "$swpid" 2>/dev/null || true
  jq -nc --argjson n "$n" --argjson reg "$reg" --argjson rss0 "$rss0" --argjson rss1 "$rss1" \
    --argjson c0 "$c0" --argjson c1 "$c1" --argjson hz "$hz" --argjson ms "$ms" --argjson tp "${tp:-null}" \
    --argjson tasks "$tasks" --argjson pol "$pol" '
    {system: "tide", workers: $n, register_s: $reg,
     idle_cpu_pct: ((($c1 - $c0) / $hz / 10 * 100) * 100 | round / 100),
     bytes_per_worker: ((($rss1 - $rss0) * 1024 / $n) | round),
     sched_rss_mb: ($rss1 / 1024 | round), metrics_ms: $ms,
     adaptive_target_ms: $pol.adaptive_target_ms, round_ms: $pol.round_ms,
     independent_tasks: $tasks, independent_tasks_per_s: $tp}'
}
scale_local() { # N: seconds from submitting N sleeping tasks to N local workers registered
  local n=$1 cpid rpid t0 i got=0 t=null
  SF="$W/scale-local-$n.json"
  rm -f "$SF"
  TIDE_SCHEDULER__WORKER_SATURATION=1 TIDE_ADAPTIVE__TARGET_DURATION=100ms \
    TIDE_LIMITS__CONNECTIONS_PER_SOURCE=$((n + 1000)) \
    "$TIDE" cluster --name "sl$n" --port 0 --dashboard-port 0 --scheduler-file "$SF" --nthreads 1 \
    --memory-limit 64MB --adapt --minimum 0 --maximum "$n" --interval 1s --wait-count 2 \
    >"$W/scale-local-$n.log" 2>&1 &
  cpid=$!
  PIDS+=("$cpid")
  wait_file "$SF" 20 || { log "scale: tide cluster did not start"; return 1; }
  gen_graph "$n" sleep "sl-" 30 >"$W/scale-local-$n-g.json"
  t0=$(now)
  "$TIDE" run --scheduler-file "$SF" "$W/scale-local-$n-g.json" >/dev/null 2>&1 &
  rpid=$!
  PIDS+=("$rpid")
  for ((i = 0; i < 1200; i++)); do
    got=$(nworkers 2>/dev/null || echo 0)
    [ "$got" = "$n" ] && { t=$(since "$t0"); break; }
    sleep 0.05
  done
  stop_pid "$rpid"
  stop_pid "$cpid"
  [ "$t" != null ] || log "scale: local backend reached $got of $n workers in 60 s"
  jq -nc --argjson n "$n" --argjson t "$t" '{system: "tide", workers: $n, first_submission_to_registered_s: $t}'
}
bench_scale() {
  [ -x "$BUILD/tide_swarm" ] || { log "scale: $BUILD/tide_swarm is not built (make build)"; return 0; }
  local sizes=${BENCH_SCALE_SIZES:-100 1000 10000} tasks=${BENCH_SCALE_TASKS:-100000} n res p1 p2 i
  [ "$QUICK" = 1 ] && { sizes="100 1000"; tasks=10000; }
  build_policy || true
  for n in $sizes; do
    if [ "$(ulimit -Hn)" -lt $((n + 500)) ]; then log "scale: $n workers need an open-file hard limit above $((n + 500))"; continue; fi
    log "scale: $n swarm workers"
    res=$(scale_swarm "$n" "$tasks") && record "scale_$n" tide "$res" || log "scale: $n workers failed"
  done
  # Dask's scheduler with N real Dask workers held in one process: 100 only,
  # as one Python loop cannot keep 1,000 workers beating (dask_scale.py)
  if [ "$HAVE_DASK" = 1 ]; then
    for n in ${BENCH_SCALE_DASK_SIZES:-100}; do
      log "scale: $n dask workers"
      res=$(timeout 900 "$PY" "$PEERS/dask_scale.py" "$n" 2>/dev/null | tail -n1) &&
        record "scale_$n" dask "$res" || log "scale: $n dask workers failed"
    done
  fi
  # the reference: the same tasks on two real one-thread workers
  if [ "$HELPER" = 1 ]; then
    log "scale: $tasks tide.inc on 2 workers"
    start_sched scale-2 || return 0
    "$TIDE" worker --scheduler-file "$SF" --name s-1 --nthreads 1 >/dev/null 2>&1 & p1=$!
    "$TIDE" worker --scheduler-file "$SF" --name s-2 --nthreads 1 >/dev/null 2>&1 & p2=$!
    PIDS+=("$p1" "$p2")
    for ((i = 0; i < 200; i++)); do [ "$(nworkers 2>/dev/null)" = 2 ] && break; sleep 0.05; done
    res=$("$BENCHBIN" throughput "$SF" "$tasks") &&
      record scale_2 tide "$(jq -c '{system, workers: 2, independent_tasks, independent_tasks_per_s}' <<<"$res")" ||
      log "scale: 2 workers failed"
    stop_pid "$p1"; stop_pid "$p2"; stop_pid "$SPID"
  fi
  for n in ${BENCH_SCALE_LOCAL:-100 1000}; do
    if [ "$(ulimit -Hn)" -lt $((n * 2 + 200)) ]; then log "scale: $n local workers need an open-file hard limit above $((n * 2 + 200))"; continue; fi
    log "scale: $n local worker processes"
    res=$(scale_local "$n") && record "scale_local_$n" tide "$res" || log "scale: $n local workers failed"
  done
}

# ---- the cost of authentication ------------------------------------------------
# The throughput measurement and worker startup on a scheduler with a token
# (every connection runs the challenge-response of docs/security.md) and on
# one without. Each run gets a fresh scheduler and workers, and the order
# alternates (off/on, then on/off, ...), so that drift in the machine's load
# and whatever favours one of two schedulers started together cancel out.
# tide only: Dask has no shared-token mode to compare with.
auth_run() { # MODE N: one throughput run on a fresh scheduler, appended to $W/auth-MODE
  local extra=() i p1 p2
  [ "$1" = on ] && extra=(--auth-token-file "$W/auth.token")
  start_sched "auth-$1" "${extra[@]}" || return 0
  "$TIDE" worker --scheduler-file "$SF" --name "a-1" --nthreads 1 >/dev/null 2>&1 & p1=$!
  "$TIDE" worker --scheduler-file "$SF" --name "a-2" --nthreads 1 >/dev/null 2>&1 & p2=$!
  PIDS+=("$p1" "$p2")
  for ((i = 0; i < 200; i++)); do [ "$(nworkers 2>/dev/null)" = 2 ] && break; sleep 0.05; done
  "$BENCHBIN" throughput "$SF" "$2" >>"$W/auth-$1" || log "auth: a $1 run failed"
  stop_pid "$p1"; stop_pid "$p2"; stop_pid "$SPID"
}
bench_auth() {
  [ "$HELPER" = 1 ] || { log "auth: skipped (needs bench/tide_bench.c built against libtide.a)"; return 0; }
  local n=20000 r=${BENCH_AUTH_RUNS:-6} i res
  [ "$QUICK" = 1 ] && { n=2000; r=2; }
  log "auth: $n independent tasks then a chain of $((n / 10)) on 2 one-thread workers, and worker startup; $r runs with a token and $r without, alternating"
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$W/auth.token"
  : >"$W/auth-off"; : >"$W/auth-on"
  for ((i = 0; i < r; i++)); do
    if ((i % 2)); then auth_run on "$n"; auth_run off "$n"; else auth_run off "$n"; auth_run on "$n"; fi
  done
  # startup spawns `tide worker ADDRESS`: the token comes from the environment
  local st_off=null st_on=null
  start_sched auth-st-off && st_off=$(env -u TIDE_AUTH__TOKEN_FILE "$BENCHBIN" startup "$SF" "$TIDE" 10 |
    jq .worker_start_s_median) && stop_pid "$SPID"
  start_sched auth-st-on --auth-token-file "$W/auth.token" &&
    st_on=$(TIDE_AUTH__TOKEN_FILE="$W/auth.token" "$BENCHBIN" startup "$SF" "$TIDE" 10 |
      jq .worker_start_s_median) && stop_pid "$SPID"
  res=$(jq -nc --slurpfile off "$W/auth-off" --slurpfile on "$W/auth-on" \
    --argjson st_off "${st_off:-null}" --argjson st_on "${st_on:-null}" --argjson n "$n" '
    def med: sort | .[(length - 1) / 2 | floor];
    ([$off[].independent_tasks_per_s] | med) as $io | ([$on[].independent_tasks_per_s] | med) as $ii |
    ([$off[].chain_tasks_per_s] | med) as $co | ([$on[].chain_tasks_per_s] | med) as $ci |
    {system: "tide", independent_tasks: $n, repeats: ($off | length),
     off_independent_tasks_per_s: $io, on_independent_tasks_per_s: $ii,
     off_chain_tasks_per_s: $co, on_chain_tasks_per_s: $ci,
     independent_cost_pct: ((1 - $ii / $io) * 1000 | round / 10),
     chain_cost_pct: ((1 - $ci / $co) * 1000 | round / 10),
     off_worker_start_s: $st_off, on_worker_start_s: $st_on,
     runs_off: [$off[] | [.independent_tasks_per_s, .chain_tasks_per_s]],
     runs_on: [$on[] | [.independent_tasks_per_s, .chain_tasks_per_s]]}') || res=""
  [ -n "${res:-}" ] && record auth tide "$res" || log "auth: no result"
}

# ---- scheduler memory per pending task ---------------------------------------
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
bench_sched_mem() {
  local n=100000 res before after rp i cnt
  [ "$QUICK" = 1 ] && n=10000
  log "sched_mem: $n pending tasks, no workers"
  start_sched sm || return 0
  sleep 1
  before=$(rss_kib "$SPID")
  gen_graph "$n" indep m- >"$W/mem.json"
  "$TIDE" run --scheduler-file "$SF" "$W/mem.json" >/dev/null 2>&1 & rp=$!
  PIDS+=("$rp")
  cnt=0
  for ((i = 0; i < 1200; i++)); do
    cnt=$(curl -sf --max-time 2 "$(dash)/api/v1/tasks" | jq '[.states[]] | add // 0' 2>/dev/null || echo 0)
    [ "${cnt:-0}" -ge "$n" ] && break
    sleep 0.1
  done
  sleep 1
  after=$(rss_kib "$SPID")
  stop_pid "$rp"; stop_pid "$SPID"
  if [ "${cnt:-0}" -ge "$n" ]; then
    res=$(jq -nc --argjson n "$n" --argjson b "$before" --argjson a "$after" \
      '{system: "tide", pending_tasks: $n, bytes_per_task: ((($a - $b) * 1024 / $n) | round),
        rss_before_kib: $b, rss_after_kib: $a}')
    record sched_mem tide "$res"
  else
    log "sched_mem: the scheduler never held $n tasks (saw ${cnt:-0})"
  fi
  if [ "$HAVE_DASK" = 1 ]; then
    log "sched_mem: dask"
    res=$(timeout 900 "$PY" "$PEERS/dask_sched_mem.py" "$n" 2>/dev/null | tail -n1) &&
      record sched_mem dask "$res" || log "sched_mem: dask failed"
  fi
}

# ---- burst -----------------------------------------------------------------
# burst_tide PROFILE BACKEND [ADAPT FLAGS...]: 3 bursts of 64 x tide.sleep 0.5,
# 8 s apart, adaptive cluster 0..16 one-thread workers. One JSON line.
BURSTS=3 NB=64 TS=0.5 IDLE=8 MAXW=16 FLOOR=0 # FLOOR: the workers it shrinks back to
burst_tide() {
  local profile=$1 backend=$2; shift 2
  local cpid spid t0 tfirst tlast lat=() b ts rc extra=() i
  [ "$backend" = slurm ] && extra=(--walltime 10m --log-directory "$W/slurm-logs")
  [ "$backend" = ssh ] && extra=(--hosts h1,h2,h3 --ssh-config "$RIG_SSH_CONFIG" --host "$RIG_GW")
  [ "$backend" = sge ] && extra=(--queue tide.q --pe tide-pe --walltime 10m --log-directory "$W/sge-logs" --host "$SGE_HOST")
  SF="$W/burst-$profile-$backend.json"
  rm -f "$SF"
  "$TIDE" cluster --backend "$backend" --name "b$profile" --port 0 --dashboard-port 0 \
    --scheduler-file "$SF" --nthreads 1 --adapt --minimum 0 --maximum "$MAXW" "$@" "${extra[@]}" \
    >"$W/burst-$profile-$backend.log" 2>&1 &
  cpid=$!
  PIDS+=("$cpid")
  wait_file "$SF" 20 || { log "burst: tide cluster did not start"; tail "$W/burst-$profile-$backend.log" >&2; return 1; }
  # every burst starts from the same state: the minimum's workers present
  for ((i = 0; FLOOR > 0 && i < 1200; i++)); do
    [ "$(nworkers 2>/dev/null || echo 0)" -ge "$FLOOR" ] && break
    sleep 0.05
  done
  for b in $(seq 0 $((BURSTS - 1))); do gen_graph $NB sleep "b$b-" $TS >"$W/burst$b.json"; done
  if [ "$HELPER" = 1 ]; then
    "$BENCHBIN" sample "$SF" 0.05 >"$W/samples" & spid=$!
  else
    ( while :; do echo "$(date +%s.%N) $(nworkers 2>/dev/null || echo 0)"; sleep 0.05; done ) >"$W/samples" & spid=$!
  fi
  PIDS+=("$spid")
  t0=$(now)
  for b in $(seq 0 $((BURSTS - 1))); do
    ts=$(now)
    "$TIDE" run --scheduler-file "$SF" --timeout 600 "$W/burst$b.json" >/dev/null || { log "burst $b failed"; rc=1; }
    lat+=("$(since "$ts")")
    tlast=$(now)
    [ "$b" = 0 ] && tfirst=$ts
    sleep "$IDLE"
  done
  local tend; tend=$(now)
  # then back to FLOOR: the sampler keeps going, worker-seconds count only to tend
  for ((i = 0; i < 1200; i++)); do
    [ "$(nworkers 2>/dev/null || echo 1000000)" -le "$FLOOR" ] && break
    sleep 0.05
  done
  sleep 0.1
  kill -TERM "$spid" 2>/dev/null; wait "$spid" 2>/dev/null || true
  local m recomputed lost subs rmws capped
  m=$(curl -sf --max-time 2 "$(jq -r .dashboard "$SF")/metrics" || true)
  msum() { awk -v k="$1" '$1 == k || index($1, k "{") == 1 {s += $2} END {print s + 0}' <<<"$m"; }
  recomputed=$(msum tide_recomputed_tasks_total)
  lost=$(msum tide_workers_removed_unexpected_total)
  subs=$(msum tide_rm_submissions_total)
  rmws=$(msum tide_rm_worker_seconds_total)
  capped=$(msum tide_adaptive_capped_total)
  stop_pid "$cpid"
  awk -v t0="$t0" -v tend="$tend" -v tf="$tfirst" -v ideal="$(awk -v a=$BURSTS -v b=$NB -v c=$TS 'BEGIN{print a*b*c}')" \
    -v maxw=$MAXW -v lat="${lat[*]}" -v tlast="$tlast" -v profile="$profile" -v backend="$backend" \
    -v recomputed="${recomputed:-0}" -v lost="${lost:-0}" -v subs="${subs:-0}" -v rmws="${rmws:-0}" -v capped="${capped:-0}" '
    { t[NR] = $1; w[NR] = $2 }
    END {
      ws = 0; peak = 0; first = "null"; tpeak = "null"; tzero = "null"
      for (i = 1; i <= NR; i++) {
        if (tzero == "null" && t[i] > tlast && w[i] == 0) tzero = sprintf("%.2f", t[i] - tlast)
        if (t[i] < t0 || t[i] > tend) continue
        dt = (i < NR ? t[i+1] - t[i] : 0.05); if (dt > 0.5) dt = 0.05
        if (w[i] > 0) ws += w[i] * dt
        if (w[i] > peak) { peak = w[i]; tpeak = t[i] - t0 }
        if (first == "null" && w[i] > 0 && t[i] >= tf) first = sprintf("%.2f", t[i] - tf)
      }
      n = split(lat, L, " "); ls = ""
      for (i = 1; i <= n; i++) ls = ls (i > 1 ? ", " : "") sprintf("%.2f", L[i])
      printf "{\"system\": \"tide\", \"backend\": \"%s\", \"profile\": \"%s\", \"bursts\": %d, ", backend, profile, n
      printf "\"burst_latency_s\": [%s], \"first_worker_s\": %s, \"worker_seconds\": %.1f, ", ls, first, ws
      printf "\"busy_seconds_ideal\": %s, \"utilisation\": %.3f, \"peak_workers\": %d, ", ideal, (ws > 0 ? ideal / ws : 0), peak
      printf "\"time_to_peak_s\": %s, \"time_back_to_zero_s\": %s, ", (tpeak == "null" ? "null" : sprintf("%.2f", tpeak)), tzero
      printf "\"restarted_tasks\": %d, \"workers_lost\": %d, \"jobs_submitted\": %d, ", recomputed, lost, subs
      printf "\"rm_worker_seconds\": %.1f, \"capped_requests\": %d, ", rmws, capped
      printf "\"wall_s\": %.1f}\n", tend - t0
    }' "$W/samples"
  return ${rc:-0}
}

bench_burst() {
  local res
  [ "$QUICK" = 1 ] && { BURSTS=1; IDLE=4; }
  log "burst: $BURSTS x $NB tide.sleep $TS, idle $IDLE s, 0..$MAXW workers, Dask defaults"
  res=$(burst_tide defaults local --interval 1s --target-duration 5s --wait-count 3) &&
    record burst_defaults tide "$res" || log "burst (defaults): tide failed"
  log "burst: responsive profile (interval 100ms, target 1s, wait 3)"
  res=$(burst_tide responsive local --interval 100ms --target-duration 1s --wait-count 3) &&
    record burst_responsive tide "$res" || log "burst (responsive): tide failed"
  if [ "$HAVE_DASK" = 1 ]; then
    log "burst: dask, defaults"
    res=$(timeout 900 "$PY" "$PEERS/dask_burst.py" $BURSTS $NB $TS $IDLE $MAXW 2>/dev/null | tail -n1) &&
      record burst_defaults dask "$res" || log "burst: dask failed"
    log "burst: dask, responsive"
    res=$(timeout 900 "$PY" "$PEERS/dask_burst.py" $BURSTS $NB $TS $IDLE $MAXW 100ms 1s 3 2>/dev/null | tail -n1) &&
      record burst_responsive dask "$res" || log "burst: dask failed"
  fi
}

# The responsive burst three times in a row on the local backend: without
# a token (--no-auth), with the token tide cluster generates (its default),
# and with --security temporary (TLS with mutual authentication, and the
# token), which the workers and the `tide run` clients take from the
# scheduler file.
bench_burst_tls() {
  local res mode
  [ "$QUICK" = 1 ] && { BURSTS=1; IDLE=4; }
  log "burst_tls: the responsive burst without a token, with one, and over TLS with one"
  for mode in noauth token tls; do
    local flags=()
    [ $mode = noauth ] && flags=(--no-auth)
    [ $mode = tls ] && flags=(--security temporary)
    res=$(burst_tide "resp-$mode" local --interval 100ms --target-duration 1s --wait-count 3 "${flags[@]}") &&
      record "burst_$mode" tide "$res" || log "burst_tls ($mode): tide failed"
  done
}

# ---- simulate ----------------------------------------------------------------
# The simulator's honesty (docs/simulate.md): a real burst run (burst_tide,
# recording its own trace with --record-trace) beside `tide simulate` of
# that trace with the startup latency learned from the same run's log and
# the same end (--until the real run's wall time). Records each burst
# latency, the worker-seconds and their relative errors (goal: 10 %), per
# profile and backend; then the simulator's speed at 10,000 workers and
# 1,000,000 tasks.
sim_compare() {
  local profile=$1 backend=$2; shift 2
  local res simj
  rm -f "$W/sim-$profile-$backend.trace"
  res=$(burst_tide "$profile" "$backend" "$@" --record-trace "$W/sim-$profile-$backend.trace") ||
    { log "simulate: the real $profile run ($backend) failed"; return 1; }
  simj=$("$TIDE" simulate "$W/sim-$profile-$backend.trace" --startup-from "$W/burst-$profile-$backend.log" \
    --minimum 0 --maximum "$MAXW" "$@" --until "$(jq .wall_s <<<"$res")" --json) ||
    { log "simulate: tide simulate failed"; return 1; }
  jq -c -n --argjson r "$res" --argjson s "$simj" --arg p "$profile" --arg b "$backend" '
    def err(a; b): (if b == 0 then null else (((a - b) / b) | fabs * 1000 | round / 1000) end);
    ($r.burst_latency_s | add / length) as $rl | ($s.latency_s | add / length) as $sl |
    {system: "tide", profile: $p, backend: $b,
     real_latency_s: $r.burst_latency_s, sim_latency_s: ($s.latency_s | map(. * 100 | round / 100)),
     latency_error: err($sl; $rl),
     burst_errors: [range($r.burst_latency_s | length) | err($s.latency_s[.]; $r.burst_latency_s[.])],
     real_worker_seconds: $r.worker_seconds, sim_worker_seconds: (($s.worker_seconds * 10 | round) / 10),
     worker_seconds_error: err($s.worker_seconds; $r.worker_seconds),
     real_utilisation: $r.utilisation, sim_utilisation: (($s.utilisation * 1000 | round) / 1000),
     real_rm_worker_seconds: $r.rm_worker_seconds, sim_rm_worker_seconds: (($s.rm_worker_seconds * 10 | round) / 10),
     real_jobs: $r.jobs_submitted, sim_jobs: $s.workers_requested, real_capped: $r.capped_requests, sim_capped: $s.capped,
     startup_mean_s: (($s.startup_mean_s * 1000 | round) / 1000),
     within_10pct: ((err($sl; $rl) <= 0.1) and (err($s.worker_seconds; $r.worker_seconds) <= 0.1))}'
}

bench_simulate() {
  local res n=1000000
  [ "$QUICK" = 1 ] && n=100000
  local backends=",${BENCH_SIM_BACKENDS:-local,slurm},"
  if [[ "$backends" == *,local,* ]]; then
    log "simulate: responsive burst, real vs simulated (local)"
    res=$(sim_compare responsive local --interval 100ms --target-duration 1s --wait-count 3) &&
      record simulate tide "$res" || log "simulate (responsive): failed"
    log "simulate: Dask-default burst, real vs simulated (local)"
    res=$(sim_compare defaults local --interval 1s --target-duration 5s --wait-count 3) &&
      record simulate tide "$res" || log "simulate (defaults): failed"
  fi
  if [ -z "${SLURM_CONF:-}" ] && [ -n "${TIDE_SLURM_DIR:-}" ]; then export SLURM_CONF="$TIDE_SLURM_DIR/slurm.conf"; fi
  if [[ "$backends" != *,slurm,* ]]; then
    :
  elif [ -n "${SLURM_CONF:-}" ] && timeout 10 sinfo -h >/dev/null 2>&1; then
    log "simulate: responsive burst, real vs simulated (slurm)"
    res=$(sim_compare responsive slurm --interval 100ms --target-duration 1s --wait-count 3) &&
      record simulate tide "$res" || log "simulate (slurm): failed"
  else
    log "simulate: slurm part skipped (SLURM not up)"
  fi
  log "simulate: $n tasks of 1 s on up to 10,000 virtual workers"
  echo "{\"t\": 0, \"prefix\": \"scale\", \"n\": $n, \"duration\": 1}" >"$W/scale.trace"
  local t0; t0=$(now)
  res=$("$TIDE" simulate "$W/scale.trace" --maximum 10000 --max-workers 10000 --json) &&
    record simulate_scale tide "$(jq -c --arg real "$(since "$t0")" \
      '{tasks, peak_workers, virtual_s, events, real_s: ($real | tonumber)}' <<<"$res")" ||
    log "simulate (scale): failed"
}

# ---- policy_table ------------------------------------------------------------
# docs/benchmarks.md "Policies, simulated and real": one trace under several
# policies, each replayed for real on a tide cluster and simulated by
# `tide simulate` in the same run.
#
# replay_trace TRACE BACKEND POLICY... [-- CLUSTER FLAGS...]: a cluster with
# the policy flags (those `tide simulate` shares), its clock t0 the moment its
# scheduler file appears (the simulator's 0: a --minimum worker is asked for
# then, in both); each trace line is submitted by its own `tide run` at
# t0 + t as tide.sleep tasks of the line's durations and prefixes, in its
# order (keys sort as the trace lists them; lines with deps are not replayed), the worker count sampled every 50 ms; the
# window ends 8 s after the last line is done. One JSON line: per-line
# latency, worker-seconds (connected, sampled), rm_worker_seconds and
# jobs (tide_rm_worker_seconds_total, tide_rm_submissions_total), capped
# (tide_adaptive_capped_total), utilisation = the trace's task-seconds /
# worker-seconds, wall_s.
replay_trace() {
  local trace=$1 backend=$2; shift 2
  local policy=() extra=() i=0 line t0 tend spid cpid rc=0
  while [ $# -gt 0 ] && [ "$1" != -- ]; do policy+=("$1"); shift; done
  [ $# -gt 0 ] && { shift; extra=("$@"); }
  local times=()
  rm -f "$W"/replay-*
  while IFS= read -r line; do
    [[ -z "$line" || "$line" == \#* ]] && continue
    jq -e 'has("done")' <<<"$line" >/dev/null && continue
    jq -e '[.tasks[]?.deps // [] | length] | add // 0 | . > 0' <<<"$line" >/dev/null &&
      { log "policy_table: $trace: a line with deps cannot be replayed"; return 1; }
    times+=("$(jq .t <<<"$line")")
    jq -c --arg p "l$i-" '
      (if .tasks then [.tasks[] | {prefix: (.prefix // "task"), duration}]
       else [range(.n) as $k | {prefix: (.prefix // "task"), duration}] end) as $ts |
      def key($k): "\($p)" + ("00000" + ($k | tostring))[-6:];
      {tasks: ([range($ts | length) as $k | {key: key($k),
                 value: {fn: "tide.sleep", args: [$ts[$k].duration, $k], prefix: $ts[$k].prefix}}] | from_entries),
       outputs: [range($ts | length) | key(.)]}' <<<"$line" >"$W/replay-$i.json"
    i=$((i + 1))
  done <"$trace"
  SF="$W/replay.json"
  rm -f "$SF"
  "$TIDE" cluster --backend "$backend" --name replay --port 0 --dashboard-port 0 --scheduler-file "$SF" \
    --adapt "${policy[@]}" "${extra[@]}" >"$W/replay.log" 2>&1 &
  cpid=$!
  PIDS+=("$cpid")
  wait_file "$SF" 20 || { log "policy_table: tide cluster did not start"; tail "$W/replay.log" >&2; return 1; }
  t0=$(now)
  # a poll that fails under load ("-") keeps the last count, not 0
  ( while :; do echo "$(date +%s.%N) $(nworkers 2>/dev/null || echo -)"; sleep 0.05; done ) >"$W/samples" &
  spid=$!
  PIDS+=("$spid")
  local rpids=()
  for ((i = 0; i < ${#times[@]}; i++)); do
    sleep "$(awk -v a="$t0" -v t="${times[$i]}" -v n="$(now)" 'BEGIN {d = a + t - n; printf "%.3f", (d > 0 ? d : 0)}')"
    ( ts=$(now)
      "$TIDE" run --scheduler-file "$SF" --timeout 600 "$W/replay-$i.json" >/dev/null || touch "$W/replay-$i.failed"
      since "$ts" >"$W/replay-$i.lat"; now >"$W/replay-$i.end" ) &
    rpids+=($!)
  done
  wait "${rpids[@]}"
  ls "$W"/replay-*.failed >/dev/null 2>&1 && { log "policy_table: a replayed line failed"; rc=1; }
  tend=$(cat "$W"/replay-*.end | sort -n | tail -n1)
  sleep "$(awk -v e="$tend" -v n="$(now)" 'BEGIN {d = e + 8 - n; printf "%.3f", (d > 0 ? d : 0)}')"
  tend=$(now)
  local m; m=$(curl -sf --max-time 2 "$(dash)/metrics" || true)
  kill -TERM "$spid" 2>/dev/null; wait "$spid" 2>/dev/null || true
  stop_pid "$cpid"
  msum() { awk -v k="$1" '$1 == k || index($1, k "{") == 1 {s += $2} END {print s + 0}' <<<"$m"; }
  local lat=() busy
  for ((i = 0; i < ${#times[@]}; i++)); do lat+=("$(cat "$W/replay-$i.lat")"); done
  busy=$(jq -s '[.[] | select(has("done") | not) | if .tasks then ([.tasks[].duration] | add) else .n * .duration end] | add' "$trace")
  awk -v t0="$t0" -v tend="$tend" -v busy="$busy" -v lat="${lat[*]}" -v rmws="$(msum tide_rm_worker_seconds_total)" \
    -v jobs="$(msum tide_rm_submissions_total)" -v capped="$(msum tide_adaptive_capped_total)" '
    { t[NR] = $1; w[NR] = ($2 == "-" || $2 == "" ? last : $2); last = w[NR] }
    END {
      ws = 0; peak = 0
      for (i = 1; i <= NR; i++) {
        if (t[i] < t0 || t[i] > tend) continue
        dt = (i < NR ? t[i+1] - t[i] : 0.05); if (dt > 0.5) dt = 0.05
        ws += w[i] * dt; if (w[i] > peak) peak = w[i]
      }
      n = split(lat, L, " "); ls = ""; s = 0
      for (i = 1; i <= n; i++) { ls = ls (i > 1 ? ", " : "") sprintf("%.2f", L[i]); s += L[i] }
      printf "{\"latency_s\": [%s], \"mean_latency_s\": %.3f, \"worker_seconds\": %.1f, ", ls, s / n, ws
      printf "\"rm_worker_seconds\": %.1f, \"utilisation\": %.3f, \"peak_workers\": %d, ", rmws, (ws > 0 ? busy / ws : 0), peak
      printf "\"jobs\": %d, \"capped\": %d, \"wall_s\": %.2f}\n", jobs, capped, tend - t0
    }' "$W/samples"
  return $rc
}

# policy_row SHAPE LABEL TRACE BACKEND POLICY... [-- CLUSTER FLAGS...]: the
# real replay, then `tide simulate` of the same trace with the same policy,
# the startup learned from the replay's log and --until its window.
policy_row() {
  local shape=$1 label=$2 trace=$3 backend=$4; shift 4
  local policy=() real sim
  while [ $# -gt 0 ] && [ "$1" != -- ]; do policy+=("$1"); shift; done
  real=$(replay_trace "$trace" "$backend" "${policy[@]}" "$@") || { log "policy_table: $shape/$label real run failed"; return 1; }
  sim=$("$TIDE" simulate "$trace" --startup-from "$W/replay.log" "${policy[@]}" \
    --until "$(jq .wall_s <<<"$real")" --json) || { log "policy_table: $shape/$label: tide simulate failed"; return 1; }
  jq -c -n --argjson r "$real" --argjson s "$sim" --arg shape "$shape" --arg lab "$label" --arg b "$backend" \
    --arg policy "${policy[*]}" '
    def r2: . * 100 | round / 100; def r1: . * 10 | round / 10;
    def err(a; b): (if b == 0 then null else (((a - b) / b) | fabs * 1000 | round / 1000) end);
    {shape: $shape, policy: $lab, backend: $b, flags: $policy,
     real_latency_s: $r.latency_s, sim_latency_s: ($s.latency_s | map(r2)),
     real_mean_latency_s: $r.mean_latency_s, sim_mean_latency_s: ($s.mean_latency_s | r2),
     latency_error: err($s.mean_latency_s; $r.mean_latency_s),
     real_worker_seconds: $r.worker_seconds, sim_worker_seconds: ($s.worker_seconds | r1),
     worker_seconds_error: err($s.worker_seconds; $r.worker_seconds),
     real_rm_worker_seconds: $r.rm_worker_seconds, sim_rm_worker_seconds: ($s.rm_worker_seconds | r1),
     real_utilisation: $r.utilisation, sim_utilisation: ($s.utilisation * 1000 | round / 1000),
     real_jobs: $r.jobs, sim_jobs: $s.workers_requested, real_capped: $r.capped, sim_capped: $s.capped,
     real_peak: $r.peak_workers, sim_peak: $s.peak_workers,
     startup_mean_s: ($s.startup_mean_s * 1000 | round / 1000), wall_s: $r.wall_s}'
}

# The burst and long-tail traces under Dask's defaults (tide's knobs
# without the cap), tide's defaults (the same knobs with the cap,
# docs/design.md §9), and the responsive profile without and with it, on
# 0..16 one-thread local workers; then the warm-worker bursts of
# burst_arrival through the 2 s command backend, without and with the cap.
bench_policy_table() {
  local gap=10 count=3
  [ "$QUICK" = 1 ] && count=1
  "$TIDE" simulate --generate burst --count $count --tasks 64 --duration 0.5 --gap $gap >"$W/pt-burst.trace"
  "$TIDE" simulate --generate longtail --count $count --tasks 64 --duration 0.5 --gap 15 --seed 2 >"$W/pt-longtail.trace"
  # 40 x 0.05 s 4 s apart, after the warm worker's 2 s start
  for ((i = 0; i < count; i++)); do
    echo "{\"t\": $((3 + 4 * i)), \"prefix\": \"s\", \"n\": 40, \"duration\": 0.05}"
  done >"$W/pt-arrival.trace"
  local base=(--minimum 0 --maximum 16 --nthreads 1) shape label res
  for shape in burst longtail; do
    for label in dask_defaults tide_defaults responsive_nocap responsive; do
      local knobs=()
      case $label in
      dask_defaults) knobs=(--interval 1s --target-duration 5s --wait-count 3 --no-arrival-aware) ;;
      tide_defaults) knobs=(--interval 1s --target-duration 5s --wait-count 3 --arrival-aware) ;;
      responsive_nocap) knobs=(--interval 100ms --target-duration 1s --wait-count 3 --no-arrival-aware) ;;
      responsive) knobs=(--interval 100ms --target-duration 1s --wait-count 3 --arrival-aware) ;;
      esac
      log "policy_table: $shape, $label (${knobs[*]})"
      res=$(policy_row "$shape" "$label" "$W/pt-$shape.trace" local "${base[@]}" "${knobs[@]}") &&
        record policy_table tide "$res" || log "policy_table: $shape/$label failed"
    done
  done
  start2s
  local warm=(--minimum 1 --maximum 16 --nthreads 2 --interval 100ms --target-duration 100ms --wait-count 3)
  for label in nocap cap; do
    local flag=--arrival-aware
    [ $label = nocap ] && flag=--no-arrival-aware
    log "policy_table: warm-worker bursts through the 2 s command backend, $label"
    res=$(policy_row arrival_2s "$label" "$W/pt-arrival.trace" command "${warm[@]}" $flag -- \
      --start-cmd "$W/start2s.sh {scheduler} {name}" --stop-cmd 'kill {job_id}') &&
      record policy_table tide "$res" || log "policy_table: arrival_2s/$label failed"
  done
}

bench_burst_slurm() {
  local res
  if [ -z "${SLURM_CONF:-}" ] && [ -n "${TIDE_SLURM_DIR:-}" ]; then export SLURM_CONF="$TIDE_SLURM_DIR/slurm.conf"; fi
  if [ -z "${SLURM_CONF:-}" ] || ! timeout 10 sinfo -h >/dev/null 2>&1; then
    log "burst_slurm: skipped (SLURM not up: run scripts/slurm-up.sh DIR and export SLURM_CONF)"
    return 0
  fi
  # without the arrival-aware cap (docs/design.md §7), then with it (the
  # default), in the same run: the first run after SLURM starts pays for a
  # cold slurmd, so the default goes second as in arrival_pair
  log "burst through SLURM (responsive profile, --no-arrival-aware)"
  res=$(burst_tide responsive-nocap slurm --interval 100ms --target-duration 1s --wait-count 3 \
    --no-arrival-aware) && record burst_slurm_nocap tide "$res" || log "burst (slurm, no cap): tide failed"
  log "burst through SLURM (responsive profile)"
  res=$(burst_tide responsive slurm --interval 100ms --target-duration 1s --wait-count 3) &&
    record burst_slurm tide "$res" || log "burst (slurm): tide failed"
  # and the warm-worker short bursts of bench_burst_arrival, through SLURM
  arrival_pair burst_slurm_arrival slurm
}

# Arrival-aware requests (docs/design.md §7) where they matter: one warm
# worker of 2 threads (--minimum 1) and short bursts: 40 x tide.sleep 0.05
# is 2 s of work, 1 s on the warm worker, 4 s apart; a latency-minded
# policy (interval 100ms, target 100ms, wait 3). arrival_pair NAME BACKEND
# [FLAGS...] runs it without the cap, then with it, and records NAME_nocap
# and NAME. jobs_submitted counts the workers asked for, rm_worker_seconds
# their time from request to gone; worker_seconds only counts them once
# connected.
arrival_pair() {
  local name=$1 backend=$2 res; shift 2
  local flags=(--minimum 1 --nthreads 2 --interval 100ms --target-duration 100ms --wait-count 3 "$@")
  local saved="$NB $TS $IDLE $FLOOR"
  NB=40 TS=0.05 IDLE=4 FLOOR=1
  log "$name: $BURSTS x $NB tide.sleep $TS on a warm worker, --no-arrival-aware"
  res=$(burst_tide "$name-nocap" "$backend" "${flags[@]}" --no-arrival-aware) &&
    record "${name}_nocap" tide "$res" || log "$name (no cap): tide failed"
  log "$name: the same with the cap"
  res=$(burst_tide "$name" "$backend" "${flags[@]}") && record "$name" tide "$res" ||
    log "$name: tide failed"
  read -r NB TS IDLE FLOOR <<<"$saved"
}

# ... through a resource manager whose workers take 2 s to register: a
# command backend whose start command sleeps 2 s.
start2s() { # $W/start2s.sh: the command backend's start, 2 s before `tide worker`
  cat >"$W/start2s.sh" <<EOF2
#!/bin/sh
sh -c 'sleep 2; exec "\$0" worker "\$1" --name "\$2" --job "\$2" --nthreads 2' "$TIDE" "\$1" "\$2" >/dev/null 2>&1 &
echo "\$!"
EOF2
  chmod +x "$W/start2s.sh"
}
bench_burst_arrival() {
  start2s
  arrival_pair burst_arrival command --start-cmd "$W/start2s.sh {scheduler} {name}" --stop-cmd 'kill {job_id}'
}

# The responsive burst through --backend sge: the one-host Grid Engine of
# scripts/sge-up.sh DIR (qmaster and execd in a network namespace of their
# own), found as the SGE tests find it (TIDE_SGE_DIR, default the one of
# `make test`, or TIDE_SGE_SETTINGS); the scheduler listens on the root side
# of that namespace's veth, where the workers reach it.
bench_burst_sge() {
  local res settings DIR
  settings=${TIDE_SGE_SETTINGS:-${TIDE_SGE_DIR:-/tmp/tide-ci-sge}/root/default/common/settings.sh}
  if [ ! -f "$settings" ] || ! command -v qsub >/dev/null; then
    log "burst_sge: skipped (Grid Engine not up: run scripts/sge-up.sh DIR and export TIDE_SGE_DIR=DIR)"
    return 0
  fi
  # shellcheck source=/dev/null
  source "$settings"
  if ! timeout 10 qstat >/dev/null 2>&1; then
    log "burst_sge: skipped (Grid Engine of $settings does not answer qstat)"
    return 0
  fi
  DIR=$(cd "$(dirname "$settings")/../../.." && pwd)
  # shellcheck source=scripts/sge-names.sh
  source "$SRC/scripts/sge-names.sh"
  SGE_HOST=$SGE_ADDR_ROOT
  mkdir -p "$W/sge-logs"
  log "burst through Grid Engine (responsive profile)"
  res=$(burst_tide responsive sge --interval 100ms --target-duration 1s --wait-count 3) &&
    record burst_sge tide "$res" || log "burst (sge): tide failed"
}

# ---- command arrays: tide submit against xargs -P and GNU parallel -----------
# An array of trivial programs (/bin/true) run P at a time: through
# `tide submit --wait` on an adaptive local cluster (0..P one-thread
# workers, a fresh cluster per run, so growing from 0 is timed), with the
# default output files and with --stdout/--stderr /dev/null; then with
# `xargs -P P` and GNU `parallel -j P`, on the same cores in the same run.
# Peers take the same P. GNU parallel is slow enough that it runs a tenth of
# the elements (its rate hardly depends on the count). Also the scheduler's
# memory per pending element: an array submitted without --wait, no worker.
cmd_array_tide() { # LABEL N P [SUBMIT FLAGS...]: seconds on stdout
  local label=$1 n=$2 p=$3 cpid t0 t rc=0; shift 3
  SF="$W/ca-$label.json"
  rm -f "$SF"
  "$TIDE" cluster --name "ca$label" --port 0 --dashboard-port 0 --scheduler-file "$SF" \
    --nthreads 1 --allow-exec --adapt --minimum 0 --maximum "$p" --interval 100ms >"$W/ca-$label.log" 2>&1 &
  cpid=$!
  PIDS+=("$cpid")
  wait_file "$SF" 20 || { log "cmd_array: tide cluster did not start"; return 1; }
  mkdir -p "$W/ca-$label-cwd"
  t0=$(now)
  (cd "$W/ca-$label-cwd" && "$TIDE" submit --scheduler-file "$SF" --array "1-$n" --wait "$@" -- /bin/true) \
    >"$W/ca-$label.out" 2>&1 || rc=$?
  t=$(since "$t0")
  stop_pid "$cpid"
  rm -rf "$W/ca-$label-cwd"
  [ "$rc" = 0 ] || { log "cmd_array: tide submit ($label) failed: $(tail -n 2 "$W/ca-$label.out")"; return 1; }
  echo "$t"
}
bench_cmd_array() {
  local n=${BENCH_CMD_ARRAY_N:-100000} p=${BENCH_CMD_ARRAY_P:-2} np t0 t res rp before after cnt i
  [ "$QUICK" = 1 ] && n=10000
  np=$((n / 10))
  log "cmd_array: $n x /bin/true, $p at a time: tide submit (files, /dev/null), xargs -P $p, parallel -j $p ($np)"
  t=$(cmd_array_tide files "$n" "$p") &&
    record cmd_array_files tide "$(jq -nc --argjson n "$n" --argjson p "$p" --argjson t "$t" \
      '{programs: $n, parallel: $p, seconds: $t, programs_per_s: ($n / $t | round), outputs: "2 files per element"}')"
  t=$(cmd_array_tide devnull "$n" "$p" --stdout /dev/null --stderr /dev/null) &&
    record cmd_array_devnull tide "$(jq -nc --argjson n "$n" --argjson p "$p" --argjson t "$t" \
      '{programs: $n, parallel: $p, seconds: $t, programs_per_s: ($n / $t | round), outputs: "/dev/null"}')"
  t0=$(now)
  if seq "$n" | xargs -P "$p" -n 1 /bin/true; then
    t=$(since "$t0")
    record cmd_array_files xargs "$(jq -nc --argjson n "$n" --argjson p "$p" --argjson t "$t" \
      '{programs: $n, parallel: $p, seconds: $t, programs_per_s: ($n / $t | round)}')"
  fi
  if command -v parallel >/dev/null; then
    t0=$(now)
    if seq "$np" | parallel -j "$p" /bin/true {}; then
      t=$(since "$t0")
      record cmd_array_files parallel "$(jq -nc --argjson n "$np" --argjson p "$p" --argjson t "$t" \
        '{programs: $n, parallel: $p, seconds: $t, programs_per_s: ($n / $t | round)}')"
    fi
  else
    log "cmd_array: no GNU parallel (scripts/install-deps.sh --bench installs it)"
  fi
  log "cmd_array: scheduler memory per pending element ($n, no worker)"
  start_sched cam || return 0
  sleep 1
  before=$(rss_kib "$SPID")
  (cd "$W" && "$TIDE" submit --scheduler-file "$SF" --array "1-$n" --stdout /dev/null --stderr /dev/null -- /bin/true) \
    >"$W/cam.out" 2>&1 || { log "cmd_array: submit without --wait failed"; stop_pid "$SPID"; return 0; }
  cnt=0
  for ((i = 0; i < 600; i++)); do
    cnt=$(curl -sf --max-time 2 "$(dash)/api/v1/tasks" | jq '[.states[]] | add // 0' 2>/dev/null || echo 0)
    [ "${cnt:-0}" -ge "$n" ] && break
    sleep 0.1
  done
  sleep 1
  after=$(rss_kib "$SPID")
  stop_pid "$SPID"
  [ "${cnt:-0}" -ge "$n" ] && record cmd_array_mem tide "$(jq -nc --argjson n "$n" --argjson b "$before" --argjson a "$after" \
    '{pending_elements: $n, bytes_per_element: ((($a - $b) * 1024 / $n) | round), rss_before_kib: $b, rss_after_kib: $a}')"
}

# The responsive burst through --backend ssh over 3 hosts: network
# namespaces with sshd on this machine (scripts/hosts-up.sh, root only).
bench_burst_ssh() {
  local res
  if [ "$(id -u)" != 0 ] || [ ! -x /usr/sbin/sshd ]; then
    log "burst_ssh: skipped (needs root and openssh-server for scripts/hosts-up.sh)"
    return 0
  fi
  bash "$SRC/scripts/hosts-up.sh" 3 "$W/rig" >"$W/hosts-up.log" 2>&1 ||
    { log "burst_ssh: hosts-up failed: $(tail -1 "$W/hosts-up.log")"; return 0; }
  # shellcheck disable=SC1091
  source "$W/rig/rig.env"
  log "burst through ssh, 3 hosts (responsive profile)"
  res=$(burst_tide responsive ssh --interval 100ms --target-duration 1s --wait-count 3) &&
    record burst_ssh tide "$res" || log "burst (ssh): tide failed"
  bash "$SRC/scripts/hosts-down.sh" "$W/rig" >/dev/null 2>&1
}

# ---- pools -----------------------------------------------------------------
# Worker pools (docs/adaptive.md "Pools") against one kind of worker: 200
# tide.sleep 0.05 and 4 tide.sleep 1 needing BIG=1, from 0 workers, the
# responsive profile (interval 100ms, target 1s, wait 3). With pools: a
# small pool (max 8) and a big pool advertising BIG=1 (max 2). Without:
# every worker must advertise BIG=1 for the 4 tasks to run at all
# (worker.resources), maximum 10. And pools with a big pool of max 4, as
# many as BIG tasks. pools_run LABEL [FLAGS...] prints one JSON
# line: seconds from submission to the last result, and the seconds of big
# and small workers from submission until none is left (the retire tail is
# part of what the big workers cost).
pools_run() {
  local label=$1 cpid t0 tdone spid; shift
  SF="$W/pools-$label.json"
  rm -f "$SF"
  "$TIDE" cluster --name "p$label" --port 0 --dashboard-port 0 --scheduler-file "$SF" \
    --nthreads 1 --adapt --minimum 0 --interval 100ms --target-duration 1s --wait-count 3 "$@" \
    >"$W/pools-$label.log" 2>&1 &
  cpid=$!
  PIDS+=("$cpid")
  wait_file "$SF" 20 || { log "pools: tide cluster did not start"; tail "$W/pools-$label.log" >&2; return 1; }
  local url; url=$(dash)
  # time, big workers, small workers
  ( while :; do
      printf '%s ' "$(now)"
      curl -sf --max-time 2 "$url/api/v1/get_workers" |
        jq -r '[([.workers[] | select(.resources | test("BIG"))] | length), ([.workers[] | select(.resources | test("BIG") | not)] | length)] | @tsv' ||
        echo "0	0"
      sleep 0.05
    done ) >"$W/pools-samples" &
  spid=$!
  PIDS+=("$spid")
  t0=$(now)
  "$TIDE" run --scheduler-file "$SF" --timeout 300 "$W/pools-graph.json" >"$W/pools-out.json" ||
    { log "pools ($label): the run failed"; stop_pid "$spid"; stop_pid "$cpid"; return 1; }
  tdone=$(now)
  local ok
  ok=$(jq '[to_entries[] | select(.value == (if (.key | startswith("b")) then 1000 + (.key | ltrimstr("b") | tonumber) else (.key | ltrimstr("s") | tonumber) end))] | length' "$W/pools-out.json")
  [ "$ok" = 204 ] || { log "pools ($label): $ok of 204 values right"; stop_pid "$spid"; stop_pid "$cpid"; return 1; }
  local i
  for ((i = 0; i < 1200; i++)); do
    [ "$(nworkers 2>/dev/null || echo 1)" = 0 ] && break
    sleep 0.05
  done
  sleep 0.1
  stop_pid "$spid"
  stop_pid "$cpid"
  awk -v t0="$t0" -v td="$tdone" -v label="$label" 'NF == 3 { t[NR] = $1; b[NR] = $2; s[NR] = $3; n = NR }
    END {
      bs = 0; ss = 0; pb = 0; ps = 0
      for (i = 1; i <= n; i++) {
        if (t[i] < t0) continue
        dt = (i < n ? t[i+1] - t[i] : 0.05); if (dt > 0.5) dt = 0.05
        bs += b[i] * dt; ss += s[i] * dt
        if (b[i] > pb) pb = b[i]; if (s[i] > ps) ps = s[i]
      }
      printf "{\"config\": \"%s\", \"finished_in_s\": %.2f, \"big_worker_seconds\": %.1f, ", label, td - t0, bs
      printf "\"small_worker_seconds\": %.1f, \"worker_seconds\": %.1f, \"peak_big\": %d, \"peak_small\": %d}\n", ss, bs + ss, pb, ps
    }' "$W/pools-samples"
}

bench_pools() {
  local runs=3 r res
  [ "$QUICK" = 1 ] && runs=1
  # two prefixes, as two functions would be: the small tasks' 0.05 s must
  # not price the BIG ones (tasks without a prefix are grouped by fn)
  jq -n '{tasks: (([range(200)] | map({key: "s\(.)", value: {fn: "tide.sleep", args: [0.05, .], prefix: "small"}}))
                 + ([range(4)] | map({key: "b\(.)", value: {fn: "tide.sleep", args: [1, (1000 + .)],
                                                            prefix: "big", resources: {BIG: 1}}}))
                 | from_entries),
          outputs: ([range(200) | "s\(.)"] + [range(4) | "b\(.)"])}' >"$W/pools-graph.json"
  # alternating, so that a busier moment of the machine falls on both
  for ((r = 1; r <= runs; r++)); do
    log "pools: run $r/$runs, one kind of worker (all BIG=1, max 10)"
    res=$(TIDE_WORKER__RESOURCES=BIG=1 pools_run nopools --maximum 10) &&
      record pools_none tide "$res" || log "pools (none): failed"
    log "pools: run $r/$runs, a small pool (max 8) and a big pool (BIG=1, max 2)"
    res=$(pools_run pools --pool small:backend=local,max=8 \
      --pool big:backend=local,resources=BIG=1,min=0,max=2) &&
      record pools tide "$res" || log "pools (pools): failed"
    log "pools: run $r/$runs, the same with a big pool of max 4 (one worker per BIG task)"
    res=$(pools_run pools4 --pool small:backend=local,max=8 \
      --pool big:backend=local,resources=BIG=1,min=0,max=4) &&
      record pools_big4 tide "$res" || log "pools (big max 4): failed"
  done
  jq -r 'select(.workload | startswith("pools")) | [.workload, .finished_in_s, .big_worker_seconds, .small_worker_seconds, .peak_big, .peak_small] | @tsv' "$OUT" |
    awk -F'\t' '{printf "pools: %-10s finished in %5.2f s, big-worker s %5.1f, small-worker s %5.1f, peak big %d small %d\n", $1, $2, $3, $4, $5, $6}' >&2
}

want throughput && bench_throughput
want throughput_polled && bench_throughput_polled
want throughput_tls && bench_throughput_tls
want startup && bench_startup
want auth && bench_auth
want sched_mem && bench_sched_mem
want burst && bench_burst
want burst_tls && bench_burst_tls
want burst_slurm && bench_burst_slurm
want burst_arrival && bench_burst_arrival
want burst_sge && bench_burst_sge
want policy && bench_policy
want cmd_array && bench_cmd_array
want scale && bench_scale
want burst_ssh && bench_burst_ssh
want simulate && bench_simulate
want pools && bench_pools
want policy_table && bench_policy_table

# ---- table -------------------------------------------------------------------
echo
echo "tide benchmarks, $DATE, $MACHINE"
[ "$HAVE_DASK" = 1 ] || echo "(no Dask figures: BENCH_NO_DASK=1, or Dask is not installed: apt-get install -y python3-distributed python3-psutil)"
printf '%-18s %-34s %14s %14s %10s\n' workload metric tide dask "tide:dask"
# metric, direction (1 higher is better, -1 lower is better)
table_row() {
  local wl=$1 key=$2 dir=$3 t d ratio
  t=$(jq -r --arg w "$wl" --arg k "$key" 'select(.workload == $w and .system == "tide") | .[$k] | if type == "array" then (add / length * 100 | round / 100) else . end' "$OUT" | head -n1)
  d=$(jq -r --arg w "$wl" --arg k "$key" 'select(.workload == $w and .system != "tide") | .[$k] | if type == "array" then (add / length * 100 | round / 100) else . end' "$OUT" | head -n1)
  [ -z "$t" ] && [ -z "$d" ] && return 0
  ratio=$(awk -v t="${t:-}" -v d="${d:-}" -v dir="$dir" 'BEGIN {
    if (dir == 0 || t == "" || d == "" || t == "null" || d == "null" || t + 0 == 0 || d + 0 == 0) { print "-"; exit }
    printf "%.2fx", (dir > 0 ? t / d : d / t) }')
  printf '%-18s %-34s %14s %14s %10s\n' "$wl" "$key" "${t:--}" "${d:--}" "$ratio"
}
table_row throughput independent_tasks_per_s 1
table_row throughput chain_tasks_per_s 1
table_row throughput cli_independent_tasks_per_s 0
table_row throughput_polled unpolled_independent_tasks_per_s 1
table_row throughput_polled independent_tasks_per_s 1
table_row throughput_polled loss_pct 0
table_row throughput_polled chain_loss_pct 0
table_row throughput_polled sched_cpu_ms_per_poll 0
table_row throughput_tls plain_independent_tasks_per_s 0
table_row throughput_tls independent_tasks_per_s 0
table_row throughput_tls cost_pct 0
table_row throughput_tls chain_cost_pct 0
table_row throughput_tls gather_cost_pct 0
table_row throughput_tls cpu_cost_pct 0
table_row startup worker_start_s_median -1
table_row auth independent_cost_pct 0
table_row auth chain_cost_pct 0
table_row sched_mem bytes_per_task -1
for p in burst_defaults burst_responsive burst_noauth burst_token burst_tls burst_slurm burst_sge burst_ssh; do
  table_row $p burst_latency_s -1
  table_row $p first_worker_s -1
  table_row $p worker_seconds -1
  table_row $p utilisation 1
  table_row $p peak_workers 0
  table_row $p restarted_tasks -1
  table_row $p time_back_to_zero_s -1
done
table_row scale_2 independent_tasks_per_s 0
for p in scale_100 scale_1000 scale_10000; do
  table_row $p register_s 0
  table_row $p idle_cpu_pct -1
  table_row $p bytes_per_worker -1
  table_row $p metrics_ms 0
  table_row $p adaptive_target_ms 0
  table_row $p round_ms 0
  table_row $p independent_tasks_per_s 0
done
table_row scale_local_100 first_submission_to_registered_s 0
table_row scale_local_1000 first_submission_to_registered_s 0
for p in policy_100 policy_1000 policy_10000; do
  table_row $p adaptive_target_ms -1
  table_row $p workers_to_close_ms -1
  table_row $p round_ms -1
  table_row $p target 0
  table_row $p nclose 0
done
echo "(burst_latency_s: mean over bursts; ratio > 1 means tide is better; results in $OUT)"
if grep -q '"workload":"cmd_array' "$OUT"; then
  echo
  printf '%-18s %-10s %10s %14s %12s\n' workload system programs programs_per_s "vs xargs"
  xr=$(jq -r 'select(.workload == "cmd_array_files" and .system == "xargs") | .programs_per_s' "$OUT" | head -n1)
  jq -r 'select(.workload == "cmd_array_files" or .workload == "cmd_array_devnull") | [.workload, .system, .programs, .programs_per_s] | @tsv' "$OUT" |
    while IFS=$'\t' read -r wl sys n r; do
      printf '%-18s %-10s %10s %14s %12s\n' "$wl" "$sys" "$n" "$r" "$(awk -v r="$r" -v x="${xr:-}" 'BEGIN {if (x + 0 > 0) printf "%.2fx", r / x; else print "-"}')"
    done
  jq -r 'select(.workload == "cmd_array_mem") | "cmd_array_mem      tide       \(.pending_elements) pending: \(.bytes_per_element) B per element (target < 500)"' "$OUT"
fi
