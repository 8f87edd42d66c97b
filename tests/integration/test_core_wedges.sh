#!/usr/bin/env bash
# Inputs the scheduler once accepted but could not run, sent raw over the
# wire to a real adaptive cluster (tide cluster, local backend, minimum 0)
# with tests/lib/raw_client.py: a key holding a NUL byte, a {"ref": K} whose
# K is not in deps, wrong types, a missing field, arguments nested past
# limits.arg-depth, and a frame nested past what msgpack decodes. Each gets
# an error naming the problem; nothing enters the state machine, so the
# cluster then retires to 0 workers and the scheduler's CPU goes idle.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/adaptive.sh"
/usr/bin/python3 -c 'import msgpack' 2>/dev/null \
  || skip "python3-msgpack is missing (scripts/install-deps.sh --test installs it)"

start_cluster --adapt --minimum 0 --maximum 2 --interval 500ms --wait-count 2
# a real burst first, so a worker is up while the wedges arrive
echo '{"tasks": {"a": {"fn": "tide.sleep", "args": [0.2, 41]}}}' >"$T_DIR/g.json"
[ "$(run_graph "$T_DIR/g.json" --timeout 30 | jq .a)" = 41 ] || fail "the burst before the wedges failed"
[ "$(nworkers)" -ge 1 ] || fail "no worker up during the wedges"

before=$(api /api/v1/tasks | jq -c .states)
/usr/bin/python3 "$TIDE_SRC/tests/lib/raw_client.py" "$SCHED_FILE" >"$T_DIR/replies.jsonl" \
  2>"$T_DIR/raw_client.err" || fail "raw client failed: $(tail -3 "$T_DIR/raw_client.err")"
expect_reply() {
  local name=$1 want=$2 got
  got=$(jq -r --arg n "$name" 'select(.name == $n) | "\(.ok) \(.error)"' "$T_DIR/replies.jsonl")
  [ "$got" = "false $want" ] || fail "$name: got \"$got\", want \"false $want\""
}
expect_reply nul-key 'task "a": the key holds a NUL byte'
expect_reply ref-not-in-deps 'task "b": refers to "w/x", which is not one of its deps'
expect_reply wrong-type-args 'task "c": "args" must be an array'
expect_reply wrong-type-key 'task 0 has no key'
expect_reply missing-fn 'task "d": "fn" must be a function name'
expect_reply too-deep 'task "e": arguments nest deeper than 24 levels'
expect_reply undecodable 'malformed msgpack payload (129 bytes)'
[ "$(wc -l <"$T_DIR/replies.jsonl")" = 7 ] || fail "replies: $(cat "$T_DIR/replies.jsonl")"

# nothing of them entered the state machine: the task counts are those of
# before the wedges, nothing waiting or processing
after=$(api /api/v1/tasks | jq -c .states)
[ "$after" = "$before" ] || fail "task states changed: $before -> $after"
echo "$after" | jq -e '.waiting + .queued + .["no-worker"] + .processing == 0' >/dev/null \
  || fail "tasks left to run: $after"
# the cluster retires to 0 and stays serving
wait_workers 0 30
wait_for 10 procs_eq 0
# the scheduler is idle: less than 0.05 s of CPU over 2 s
ticks() { awk '{print $14 + $15}' "/proc/$CLUSTER_PID/stat"; }
hz=$(getconf CLK_TCK)
c0=$(ticks); sleep 2; c1=$(ticks)
cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" 'BEGIN{printf "%.2f", (b - a) / hz}')
awk -v c="$cpu" 'BEGIN{exit !(c < 0.05)}' || fail "the idle cluster used $cpu s of CPU in 2 s"
[ "$(run_graph "$T_DIR/g.json" --timeout 30 | jq .a)" = 41 ] || fail "the burst after the wedges failed"
stop_cluster
pass "7 wedges refused with their reasons; 0 workers after; ${cpu} s CPU in 2 s idle"
