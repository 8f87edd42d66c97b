#!/usr/bin/env bash
# docs/tasks.md "Resources" through the real commands: `tide worker
# --resources`, a graph's "resources" and `tide submit --resources`. Three
# GPU=1 tasks of 0.3 s on a 2-thread worker with GPU=1 run one at a time
# and only there; tasks without resources keep off it while the plain worker
# has room; what no connected worker provides is refused at submission;
# bad flags are one `tide: ` line and exit 2.
source "$TIDE_SRC/tests/lib/harness.sh"

start_scheduler
start_worker plain --nthreads 2
start_worker gpu --nthreads 2 --resources GPU=1 --allow-exec
wait_workers 2
api /api/v1/get_workers | jq -e '[.workers[] | select(.name == "gpu" and .resources == "GPU=1")] | length == 1' >/dev/null \
  || fail "the gpu worker does not advertise GPU=1: $(api /api/v1/get_workers)"

jq -n '{tasks: (([range(3)] | map({key: "g\(.)", value: {fn: "tide.sleep", args: [0.3, .], resources: {GPU: 1}}}))
               + ([range(2)] | map({key: "p\(.)", value: {fn: "tide.sleep", args: [0.3, (10 + .)]}}))
               | from_entries),
        outputs: ["g0", "g1", "g2", "p0", "p1"]}' > "$T_DIR/g.json"
run_graph "$T_DIR/g.json" > "$T_DIR/out.json" || fail "run failed"
[ "$(jq -c '[.g0, .g1, .g2, .p0, .p1]' "$T_DIR/out.json")" = '[0,1,2,10,11]' ] || fail "values: $(cat "$T_DIR/out.json")"
gpu_addr=$(api /api/v1/get_workers | jq -r '.workers[] | select(.name == "gpu") | .address')
api '/api/v1/task_stream?since=0' | jq .tasks > "$T_DIR/stream.json"
[ "$(jq --arg a "$gpu_addr" '[.[] | select((.key | test("/g[0-9]$")) and .worker == $a)] | length' "$T_DIR/stream.json")" = 3 ] \
  || fail "GPU tasks ran elsewhere: $(cat "$T_DIR/stream.json")"
[ "$(jq --arg a "$gpu_addr" '[.[] | select((.key | test("/p[0-9]$")) and .worker == $a)] | length' "$T_DIR/stream.json")" = 0 ] \
  || fail "plain tasks on the gpu worker while the plain one had room"
# one GPU, so the three never overlap: sorted by start, each starts after
# the one before stopped
overlaps=$(jq '[.[] | select(.key | test("/g[0-9]$"))] | sort_by(.start)
  | [range(1; length) as $i | select(.[$i].start < .[$i - 1].stop - 0.001)] | length' "$T_DIR/stream.json")
[ "$overlaps" = 0 ] || fail "$overlaps GPU tasks overlapped on one GPU"

# tide submit --resources: runs on the gpu worker
job=$("$TIDE_BIN" submit --scheduler-file "$SCHED_FILE" --cwd "$T_DIR" --resources GPU=1 --array 1-2 --wait -- true | head -1) \
  || fail "submit --resources failed"
api '/api/v1/task_stream?since=0' | jq .tasks > "$T_DIR/stream.json"
[ "$(jq --arg a "$gpu_addr" --arg j "$job" '[.[] | select((.key | contains($j)) and .worker == $a)] | length' "$T_DIR/stream.json")" = 2 ] \
  || fail "job $job did not run on the gpu worker"

expect_bad() {
  local want=$1; shift
  local rc=0
  "$@" >/dev/null 2>"$T_DIR/err" || rc=$?
  [ "$rc" = 2 ] || fail "$*: exit $rc, not 2: $(cat "$T_DIR/err")"
  [ "$(wc -l < "$T_DIR/err")" = 1 ] || fail "$*: not one line: $(cat "$T_DIR/err")"
  grep -q "^tide: .*$want" "$T_DIR/err" || fail "$*: $(cat "$T_DIR/err") lacks: $want"
}
expect_bad "needs resources TPU=1, which no connected worker provides" \
  "$TIDE_BIN" submit --scheduler-file "$SCHED_FILE" --cwd "$T_DIR" --resources TPU=1 -- true
expect_bad "--resources: \"x\" is not a number or a size" \
  "$TIDE_BIN" submit --scheduler-file "$SCHED_FILE" --resources GPU=x -- true
expect_bad "--resources: resource GPU must be a finite number > 0" \
  "$TIDE_BIN" worker --scheduler-file "$SCHED_FILE" --resources GPU=0
echo '{"tasks": {"x": {"fn": "tide.inc", "args": [1], "resources": {"GPU": "one"}}}, "outputs": ["x"]}' > "$T_DIR/bad.json"
expect_bad 'task "x": resource GPU must be a finite number > 0' "$TIDE_BIN" run "$T_DIR/bad.json" --scheduler-file "$SCHED_FILE"
pass "3 GPU tasks on the one GPU, one at a time; plain tasks off it; submit --resources; refusals"
