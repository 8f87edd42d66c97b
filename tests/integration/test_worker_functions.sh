#!/usr/bin/env bash
# Worker execution: tide.exec through a graph, two sleeps in parallel on a
# two-thread worker without CPU, a worker over its memory limit pauses and
# gets no tasks, a task erring with an unknown function on a worker, and
# get-logs (tide logs) returning worker lines.
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"

start_scheduler
start_worker duo --nthreads 2 --allow-exec
wait_workers 1

# --- tide.exec: stdout as bytes by default; {"check": false} gives the rc ---
cat >"$T_DIR/exec.json" <<'G'
{"tasks": {"e": {"fn": "tide.exec", "args": [["sh", "-c", "echo hi; echo oops >&2; exit 4"], null, {"check": false}]},
           "i": {"fn": "tide.exec", "args": [["tr", "a-z", "A-Z"], "stdin text"]}},
 "outputs": ["e", "i"]}
G
run_graph "$T_DIR/exec.json" >"$T_DIR/exec.out"
[ "$(jq -c .e.rc "$T_DIR/exec.out")" = 4 ] || fail "exec: $(cat "$T_DIR/exec.out")"
want=$(printf 'STDIN TEXT' | sha256sum | cut -d' ' -f1)
[ "$(jq -c .i "$T_DIR/exec.out")" = "{\"bytes\":10,\"sha256\":\"$want\"}" ] || fail "exec stdin: $(cat "$T_DIR/exec.out")"

# --- two 1 s sleeps on a two-thread worker run side by side ---
cat >"$T_DIR/sleep.json" <<'G'
{"tasks": {"s1": {"fn": "tide.sleep", "args": [1, "one"]},
           "s2": {"fn": "tide.sleep", "args": [1, "two"]}},
 "outputs": ["s1", "s2"]}
G
t0=$(date +%s.%N)
run_graph "$T_DIR/sleep.json" >"$T_DIR/sleep.out"
el=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{print b - a}')
[ "$(jq -c . "$T_DIR/sleep.out")" = '{"s1":"one","s2":"two"}' ] || fail "sleep: $(cat "$T_DIR/sleep.out")"
awk -v e="$el" 'BEGIN{exit !(e >= 1 && e < 1.9)}' || fail "two 1 s sleeps on 2 threads took ${el}s"

# --- a worker above memory.pause * memory_limit reports paused and gets no work ---
start_worker tight --memory-limit 1MB
wait_workers 2
wait_for 10 bash -c "curl -sf '$DASH_URL/api/v1/identity' | jq -e '[.workers[] | select(.name == \"tight\")][0].status == \"paused\"'"
jq -n '{tasks: ([range(40)] | map({key: "t\(.)", value: {fn: "tide.sleep", args: [0.01, .]}}) | from_entries)}' \
  >"$T_DIR/many.json"
run_graph "$T_DIR/many.json" >"$T_DIR/many.out"
[ "$(jq '[.[]] | add' "$T_DIR/many.out")" = 780 ] || fail "many: $(cat "$T_DIR/many.out")"
[ "$(api /api/v1/identity | jq '[.workers[] | select(.name == "tight")][0].nbytes')" = 0 ] \
  || fail "the paused worker holds results"

# --- worker logs through get-logs ---
"$TIDE_BIN" logs --scheduler-file "$SCHED_FILE" --json >"$T_DIR/logs.json"
jq -e '.workers.duo | map(select(test("registered with the scheduler"))) | length == 1' "$T_DIR/logs.json" >/dev/null \
  || fail "tide logs: no registration line for duo: $(head -c 400 "$T_DIR/logs.json")"
pass "exec, 2 threads in ${el}s, paused worker skipped, logs"
