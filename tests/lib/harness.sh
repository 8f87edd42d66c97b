# Shared helpers for integration tests: start real processes on 127.0.0.1
# with port 0 and scheduler files, wait for conditions (never fixed sleeps),
# and kill everything the test started on exit, even on failure.
# Usage: source "$TIDE_SRC/tests/lib/harness.sh"
set -euo pipefail

: "${TIDE_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${TIDE_BUILD:=$TIDE_SRC/build}"
: "${TIDE_BIN:=$TIDE_BUILD/tide}"
export TIDE_SRC TIDE_BUILD TIDE_BIN

T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tide-test.XXXXXX")
T_PIDS=()
T_SKIPPED_PART=   # set by skip_part
T_NAME=$(basename "$0" .sh)
export TIDE_CONFIG="$T_DIR/empty.yaml"   # isolate from ~/.config and /etc
: > "$TIDE_CONFIG"
# Sanitizer builds (make test-sanitize): every process of this test writes
# AddressSanitizer/LeakSanitizer reports under $TIDE_SANITIZER_LOG/<test>/,
# and cleanup fails the test when one appears (UBSan ignores log_path in
# GCC's combined runtime: its "runtime error:" lines are found in the logs).
T_SAN_DIR=
if [ -n "${TIDE_SANITIZER_LOG:-}" ]; then
  T_SAN_DIR="$TIDE_SANITIZER_LOG/$T_NAME"
  rm -rf "$T_SAN_DIR" && mkdir -p "$T_SAN_DIR"
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$T_SAN_DIR/asan"
fi

# t_sanitizer_reports: print every sanitizer report of this test's processes
# to stderr; fails when there is none.
t_sanitizer_reports() {
  local found=1 f
  if [ -n "$T_SAN_DIR" ]; then
    for f in "$T_SAN_DIR"/*; do
      [ -s "$f" ] || continue
      echo "== sanitizer report $f:" >&2; cat "$f" >&2; found=0
    done
  fi
  while IFS= read -r f; do
    echo "== sanitizer report in $f:" >&2
    grep -A30 -E "runtime error:|ERROR: (AddressSanitizer|LeakSanitizer)" "$f" | head -n 80 >&2
    found=0
  done < <(grep -rlE --include='*.log' "runtime error:|ERROR: (AddressSanitizer|LeakSanitizer)" "$T_DIR" 2>/dev/null)
  return $found
}

# t_cleanup [RC]: RC is the test's exit status when a library's own EXIT
# trap ran first (under set -e, `(exit RC)` would end the shell right there).
t_cleanup() {
  local rc=$?
  [ $# -gt 0 ] && rc=$1
  # a part that could not run turns a pass into a skip, never into a pass
  if [ $rc -eq 0 ] && [ -n "$T_SKIPPED_PART" ]; then
    echo "SKIP: $T_NAME: the rest passed, but $T_SKIPPED_PART"
    rc=77
  fi
  for p in "${T_PIDS[@]:-}"; do
    [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true
  done
  # give them a moment to exit cleanly, then force
  local deadline=$((SECONDS + 5))
  for p in "${T_PIDS[@]:-}"; do
    while [ -n "$p" ] && kill -0 "$p" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
    [ -n "$p" ] && kill -KILL "$p" 2>/dev/null || true
  done
  # workers started by a cluster are its children: kill any left in our dir
  pkill -KILL -f "$T_DIR" 2>/dev/null || true
  if t_sanitizer_reports; then
    echo "FAIL: $T_NAME: a process reported a sanitizer error (above)" >&2
    { [ $rc -eq 0 ] || [ $rc -eq 77 ]; } && rc=1
  fi
  if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
    echo "--- $T_NAME failed (rc=$rc); logs in $T_DIR:" >&2
    for f in "$T_DIR"/*.log; do [ -f "$f" ] && { echo "== $f" >&2; tail -n 40 "$f" >&2; }; done
  else
    rm -rf "$T_DIR"
  fi
  exit $rc
}
trap t_cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "FAIL: $T_NAME: $*" >&2; exit 1; }
pass() { echo "ok: $T_NAME: $*"; }
# skip REASON: this machine cannot run the test (a tool or service is
# missing). Exit 77, which ctest reports as skipped (SKIP_RETURN_CODE).
skip() { echo "SKIP: $T_NAME: $*"; exit 77; }
# skip_part REASON: one check cannot run here; the test goes on, and if the
# rest passes it still ends as skipped, so a green run never hides it.
skip_part() { echo "SKIP (part): $T_NAME: $*"; T_SKIPPED_PART="${T_SKIPPED_PART:+$T_SKIPPED_PART; }$*"; }

# wait_for TIMEOUT_S CMD...: poll CMD until it succeeds, or fail.
wait_for() {
  local timeout=$1; shift
  local deadline; deadline=$(date +%s.%N | awk -v t="$timeout" '{printf "%.3f", $1 + t}')
  while ! "$@" >/dev/null 2>&1; do
    if awk -v d="$deadline" -v n="$(date +%s.%N)" 'BEGIN{exit !(n > d)}'; then
      fail "timed out after ${timeout}s waiting for: $*"
    fi
    sleep 0.05
  done
}

# bg NAME CMD...: start CMD in the background, logging to $T_DIR/NAME.log;
# sets BG_PID.
bg() {
  local name=$1; shift
  "$@" >"$T_DIR/$name.log" 2>&1 &
  BG_PID=$!
  T_PIDS+=("$BG_PID")
}

# start_scheduler [ARGS...]: scheduler on port 0; sets SCHED_FILE, SCHED_ADDR,
# DASH_URL, SCHED_PID.
start_scheduler() {
  SCHED_FILE="$T_DIR/scheduler.json"
  bg scheduler "$TIDE_BIN" scheduler --host 127.0.0.1 --port 0 --dashboard-port 0 \
    --scheduler-file "$SCHED_FILE" "$@"
  SCHED_PID=$BG_PID
  wait_for 10 test -s "$SCHED_FILE"
  SCHED_ADDR=$(jq -r .address "$SCHED_FILE")
  DASH_URL=$(jq -r .dashboard "$SCHED_FILE")
}

# start_worker NAME [ARGS...]: a worker connected through the scheduler file;
# sets WORKER_PID.
start_worker() {
  local name=$1; shift
  bg "worker-$name" "$TIDE_BIN" worker --scheduler-file "$SCHED_FILE" --name "$name" "$@"
  WORKER_PID=$BG_PID
}

# The cluster token of the scheduler file in use ($SCHED_FILE, else $CF),
# empty when authentication is off (docs/security.md).
t_token() {
  local f=${SCHED_FILE:-${CF:-}}
  [ -n "$f" ] && [ -s "$f" ] && jq -r '.token // empty' "$f" 2>/dev/null
  return 0
}
# Every curl of a test talks to the dashboard as the user's own tools do:
# with the token as a bearer token when the cluster has one. A test that
# means to go without it calls `command curl`.
curl() {
  local tok; tok=$(t_token)
  if [ -n "$tok" ]; then
    command curl -H "Authorization: Bearer $tok" "$@"
  else
    command curl "$@"
  fi
}

# api PATH: GET a route of the dashboard API.
api() { curl -sf --max-time 5 "$DASH_URL$1"; }
# api_post PATH JSON
api_post() { curl -s --max-time 30 -H 'Content-Type: application/json' -d "$2" "$DASH_URL$1"; }

# nworkers: workers the scheduler knows, from /api/v1/identity.
nworkers() { api /api/v1/identity | jq '.workers | length'; }
# wait_workers N [TIMEOUT]
wait_workers() { wait_for "${2:-20}" t_workers_eq "$1"; }
t_workers_eq() { [ "$(nworkers 2>/dev/null || echo -1)" = "$1" ]; }

# sleep_graph FILE N SECONDS [PREFIX]: N independent tide.sleep tasks, task
# PREFIX<i> returning i (default prefix "t").
sleep_graph() {
  local f=$1 n=$2 s=$3 p=${4:-t}
  jq -n --argjson n "$n" --argjson s "$s" --arg p "$p" \
    '{tasks: ([range($n)] | map({key: "\($p)\(.)", value: {fn: "tide.sleep", args: [$s, .]}}) | from_entries),
      outputs: [range($n) | "\($p)\(.)"]}' > "$f"
}

# check_sleep_outputs FILE N [TAG]: the outputs of sleep_graph are 0..N-1.
check_sleep_outputs() {
  local got
  got=$(jq --arg t "${3:-t}" '[to_entries[] | select(.value == (.key | ltrimstr($t) | tonumber))] | length' "$1")
  [ "$got" = "$2" ] || fail "expected $2 right outputs in $1, got $got"
}

# req METHOD PATH [BODY]: an HTTP request to the dashboard port; prints the
# status code, the body lands in $T_DIR/body (read it with `body`).
req() {
  local args=(-s -o "$T_DIR/body" -w '%{http_code}' --max-time 30 -X "$1")
  [ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
  curl "${args[@]}" "$DASH_URL$2"
}
body() { cat "$T_DIR/body"; }
# expect CODE METHOD PATH [BODY]: the status must be CODE.
expect() {
  local want=$1; shift
  local got; got=$(req "$@")
  [ "$got" = "$want" ] || fail "$1 $2 ${3:-}: HTTP $got, want $want: $(body)"
}

# run_graph FILE [ARGS...]: tide run against the scheduler file; stdout is
# the JSON outputs.
run_graph() { "$TIDE_BIN" run --scheduler-file "$SCHED_FILE" "$@"; }
