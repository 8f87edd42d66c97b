#!/usr/bin/env bash
# Frames per task between the scheduler and one one-thread worker, read from
# /metrics (tide_worker_frames_{sent,received}_total; docs/protocol.md
# "Batching"): what one loop turn queues goes out as one frame, so
# - 2,000 independent tide.inc (run inline on the worker's loop) and 2,000
#   tide.spin 0 (run on its execution thread) take far fewer frames than
#   tasks each way (< 1 per 8 tasks);
# - a chain of 200 takes about one frame per 8 tasks each way: once the
#   prefix is known to take less than a round trip, the scheduler sends up
#   to 8 links ahead to the worker computing their input, which starts each
#   the moment the one before stores its result (docs/design.md §4
#   "Chains"); without that it took one frame per task each way;
# - a client releasing 2,000 results one release-keys frame at a time costs
#   the worker at most one free-keys frame per 2 ms of it (held back 2 ms at
#   most), not one per release.
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"

start_scheduler
start_worker a --nthreads 1
wait_workers 1

metric() { api /metrics | awk -v m="$1" '$1 == m {printf "%d", $2}'; }
frames() { echo "$(metric tide_worker_frames_sent_total) $(metric tide_worker_frames_received_total)"; }

N=2000
# graph N FN: N independent FN [i]; outputs all
graph() {
  jq -n --argjson n "$1" --arg fn "$2" '{tasks: ([range($n)] | map({key: "t\(.)",
    value: {fn: $fn, args: (if $fn == "tide.spin" then [0] else [.] end)}}) | from_entries),
    outputs: [range($n) | "t\(.)"]}'
}

for fn in tide.inc tide.spin; do
  graph $N $fn >"$T_DIR/$fn.json"
  read -r s0 r0 <<<"$(frames)"
  run_graph "$T_DIR/$fn.json" --timeout 60 >"$T_DIR/$fn.out" || fail "$fn: tide run failed"
  read -r s1 r1 <<<"$(frames)"
  if [ $fn = tide.inc ]; then
    want=$((N * (N + 1) / 2)) # t_i = i + 1
    got=$(jq '[.[]] | add' "$T_DIR/$fn.out")
    [ "$got" = "$want" ] || fail "$fn: outputs sum to $got, not $want"
  else
    [ "$(jq length "$T_DIR/$fn.out")" = $N ] || fail "$fn: $(jq length "$T_DIR/$fn.out") outputs, not $N"
  fi
  to=$((s1 - s0)) from=$((r1 - r0))
  echo "$N independent $fn: $to frames to the worker, $from from it"
  [ "$from" -lt $((N / 8)) ] || fail "$fn: $from frames from the worker for $N tasks (want < $((N / 8)))"
  [ "$to" -lt $((N / 8)) ] || fail "$fn: $to frames to the worker for $N tasks (want < $((N / 8)))"
done

C=200
jq -n --argjson n $C '{tasks: ([range($n)] | map({key: "c\(.)", value: {fn: "tide.inc",
    args: [if . == 0 then 0 else {ref: "c\(. - 1)"} end]}}) | from_entries),
  outputs: ["c\($n - 1)"]}' >"$T_DIR/chain.json"
read -r s0 r0 <<<"$(frames)"
[ "$(run_graph "$T_DIR/chain.json" --timeout 60 | jq .c199)" = $C ] || fail "chain: c199 is not $C"
read -r s1 r1 <<<"$(frames)"
to=$((s1 - s0)) from=$((r1 - r0))
echo "chain of $C: $to frames to the worker, $from from it"
# at most 9 links per frame to the worker (8 ahead and the running one), so
# at least C/9; at most C/4 plus a few frames for the first link, the
# submission, the gather and a heartbeat, where one per link was C
lo=$((C / 9)) hi=$((C / 4 + 10))
[ "$from" -ge $lo ] && [ "$from" -le $hi ] || fail "chain: $from frames from the worker (want $lo-$hi)"
[ "$to" -ge $lo ] && [ "$to" -le $hi ] || fail "chain: $to frames to the worker (want $lo-$hi)"

/usr/bin/python3 -c 'import msgpack' 2>/dev/null \
  || skip "python3-msgpack is missing (scripts/install-deps.sh --test installs it)"
mkfifo "$T_DIR/go"
exec 3<>"$T_DIR/go" # read-write: opening it blocks neither side
bg raw /usr/bin/python3 "$TIDE_SRC/tests/lib/raw_client.py" "$SCHED_FILE" release $N <"$T_DIR/go"
wait_for 60 grep -q computed "$T_DIR/raw.log"
read -r s0 r0 <<<"$(frames)"
echo go >&3
exec 3>&-
wait_for 60 grep -q released "$T_DIR/raw.log"
# a task after the releases: its compute-task goes out behind every
# free-keys still held, so all of them are counted
echo '{"tasks": {"z": {"fn": "tide.inc", "args": [1]}}}' >"$T_DIR/z.json"
[ "$(run_graph "$T_DIR/z.json" --timeout 30 | jq .z)" = 2 ] || fail "the task after the releases failed"
read -r s1 r1 <<<"$(frames)"
to=$((s1 - s0))
ms=$(awk '/^released/ {print $2}' "$T_DIR/raw.log")
echo "$N results released one frame at a time over $ms ms: $to frames to the worker"
# one free-keys frame per 2 ms at most (1 ms on uv_now's clock), plus the
# last task's frames; without the hold it was about one per release read
[ "$to" -ge 1 ] && [ "$to" -le $((ms + 10)) ] && [ "$to" -lt $((N / 4)) ] \
  || fail "release: $to frames to the worker in $ms ms (want 1-$((ms + 10)) and < $((N / 4)))"
[ "$(api /api/v1/tasks | jq '.states.memory // 0')" -le 1 ] || fail "results still in memory after the releases: $(api /api/v1/tasks | jq -c .states)"
pass "frames per task: independent < 1/8, chain < 1/4 each way, $N releases in $to frames over $ms ms"
