#!/usr/bin/env bash
# `make demo`: an adaptive local `tide cluster` starting from 0 workers runs
# a bursty workload (bursts of sleeping tasks with idle gaps) and prints a
# timeline every 0.5 s, so you can watch the cluster grow with the work and
# shrink when it is done. Cleans up every process on exit.
# Usage: scripts/demo.sh [build/tide]
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
TIDE=$(readlink -f "${1:-$SRC/build/tide}")
[ -x "$TIDE" ] || { echo "demo: $TIDE is not built (make build)" >&2; exit 2; }
for tool in curl jq; do
  command -v $tool >/dev/null || { echo "demo: needs $tool (scripts/install-deps.sh --demo)" >&2; exit 2; }
done
MAXW=${DEMO_MAX_WORKERS:-8}

D=$(mktemp -d "${TMPDIR:-/tmp}/tide-demo.XXXXXX")
export TIDE_CONFIG="$D/empty.yaml"   # the demo's own settings, not the user's
: >"$TIDE_CONFIG"
CPID="" DPID=""
cleanup() {
  local rc=$?
  [ -n "$DPID" ] && kill -TERM "$DPID" 2>/dev/null || true
  if [ -n "$CPID" ] && kill -0 "$CPID" 2>/dev/null; then
    kill -TERM "$CPID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$CPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$CPID" 2>/dev/null || true
  fi
  if [ $rc -ne 0 ] && [ -f "$D/cluster.log" ]; then
    echo "demo: failed; the cluster's last lines:" >&2
    tail -n 20 "$D/cluster.log" >&2
  fi
  rm -rf "$D"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$TIDE" cluster --backend local --name demo --port 0 --dashboard-port 0 \
  --scheduler-file "$D/scheduler.json" --nthreads 1 \
  --adapt --minimum 0 --maximum "$MAXW" --interval 250ms --target-duration 1s --wait-count 4 \
  >"$D/cluster.log" 2>&1 &
CPID=$!
for _ in $(seq 200); do [ -s "$D/scheduler.json" ] && break; sleep 0.05; done
[ -s "$D/scheduler.json" ] || { echo "demo: tide cluster did not start" >&2; exit 1; }
DASH=$(jq -r .dashboard "$D/scheduler.json")
ADDR=$(jq -r .address "$D/scheduler.json")

cat <<EOF
tide demo: an adaptive local cluster (0..$MAXW one-thread workers) and a bursty workload.
  scheduler  $ADDR
  dashboard  $DASH   (open it in a browser while this runs)
The workload: 3 bursts of sleeping tasks with idle gaps between them.
Watch 'workers' follow 'target' up during a burst and back to 0 in the gaps.

EOF

# burst FILE N SECONDS TAG: a graph of N tide.sleep tasks.
burst() {
  awk -v n="$2" -v s="$3" -v tag="$4" 'BEGIN {
    printf "{\"tasks\": {"
    for (i = 0; i < n; i++) printf "%s\"%s-%d\": {\"fn\": \"tide.sleep\", \"args\": [%s, %d]}", (i ? ", " : ""), tag, i, s, i
    printf "}, \"outputs\": ["
    for (i = 0; i < n; i++) printf "%s\"%s-%d\"", (i ? ", " : ""), tag, i
    printf "]}\n" }' >"$1"
}
burst "$D/b1.json" 24 1 a
burst "$D/b2.json" 64 0.5 b
burst "$D/b3.json" 16 2 c
echo 0 >"$D/done"
echo idle >"$D/current"

# The driver: bursts one after another with idle gaps; counts finished tasks.
(
  done_n=0
  for spec in "b1 24 0" "b2 64 7" "b3 16 7"; do
    set -- $spec
    sleep "$3"
    echo "$1 $2" >"$D/current"
    "$TIDE" run --scheduler-file "$D/scheduler.json" --timeout 300 "$D/$1.json" >"$D/$1.out"
    done_n=$((done_n + $2))
    echo "$done_n" >"$D/done"
    echo idle >"$D/current"
  done
  echo finished >"$D/current"
) &
DPID=$!

printf '%6s  %-8s %9s %6s %7s %8s\n' time burst in-flight done target workers
t0=$(date +%s.%N)
peak=0 zero_since=""
while :; do
  now=$(date +%s.%N)
  t=$(awk -v a="$t0" -v b="$now" 'BEGIN {printf "%.1f", b - a}')
  ident=$(curl -sf --max-time 2 "$DASH/api/v1/identity" || echo '{}')
  workers=$(jq '.workers // {} | length' <<<"$ident")
  inflight=$(jq '[(.tasks // {}) | to_entries[] | select(.key | IN("waiting", "queued", "no-worker", "processing")) | .value] | add // 0' <<<"$ident")
  target=$(curl -sf --max-time 2 "$DASH/api/v1/adaptive" | jq '.plan | length' 2>/dev/null || echo "?")
  cur=$(cut -d' ' -f1 "$D/current" 2>/dev/null || echo idle)
  printf '%6s  %-8s %9s %6s %7s %8s  %s\n' "$t" "$cur" "$inflight" "$(cat "$D/done")" "$target" "$workers" \
    "$(printf '%*s' "$workers" '' | tr ' ' '#')"
  [ "$workers" -gt "$peak" ] && peak=$workers
  if [ "$cur" = finished ]; then
    if [ "$workers" = 0 ]; then break; fi
    [ -z "$zero_since" ] && zero_since=$now
    if awk -v a="$zero_since" -v b="$now" 'BEGIN {exit !(b - a > 60)}'; then
      echo "demo: workers did not return to 0 within 60 s" >&2; exit 1
    fi
  fi
  if ! kill -0 "$CPID" 2>/dev/null; then echo "demo: tide cluster exited" >&2; exit 1; fi
  if ! kill -0 "$DPID" 2>/dev/null && [ "$cur" != finished ]; then
    echo "demo: a burst failed" >&2; exit 1
  fi
  sleep 0.5
done
wait "$DPID" 2>/dev/null || true
DPID=""
decisions=$(curl -sf --max-time 2 "$DASH/api/v1/adaptive" | jq '.log | length' 2>/dev/null || echo "?")
echo
echo "done: 104 tasks in 3 bursts; the cluster grew to $peak workers and went back to 0"
echo "($decisions scaling decisions, each with its inputs, in $DASH/api/v1/adaptive)."
