#!/usr/bin/env bash
# tide.exec is off unless the worker allows it: on a plain worker the task
# fails with the reason (exit 1, one tide: line) and the program never
# runs; a worker with worker.allow-exec in its config runs it.
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"

start_scheduler
start_worker plain
wait_workers 1

mark="$T_DIR/ran"
jq -n --arg m "$mark" '{tasks: {e: {fn: "tide.exec", args: [["touch", $m]]}}, outputs: ["e"]}' \
  >"$T_DIR/exec.json"
expect_fail_only 1 '^tide: task "e" failed: tide\.exec is disabled on this worker: start it with --allow-exec$' \
  run_graph "$T_DIR/exec.json"
[ ! -e "$mark" ] || fail "the program ran on a worker without --allow-exec"
# the worker is still there and runs other work
echo '{"tasks": {"x": {"fn": "tide.inc", "args": [41]}}, "outputs": ["x"]}' >"$T_DIR/inc.json"
[ "$(run_graph "$T_DIR/inc.json" | jq -c .x)" = 42 ] || fail "plain worker stopped working"

# the config key turns it on, as --allow-exec does
kill "$WORKER_PID"
wait_workers 0
printf 'worker:\n  allow-exec: true\n' >"$T_DIR/tide.yaml"
start_worker allowed --config "$T_DIR/tide.yaml"
wait_workers 1
run_graph "$T_DIR/exec.json" >/dev/null || fail "exec on a worker with worker.allow-exec: true"
[ -e "$mark" ] || fail "the program did not run"
pass "refused without --allow-exec (program not run), runs with worker.allow-exec: true"
