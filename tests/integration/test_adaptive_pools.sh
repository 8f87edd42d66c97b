#!/usr/bin/env bash
# docs/adaptive.md "Pools": a small pool (max 8) and a big pool advertising
# BIG=1 (min 0, max 2), local backend for both. 200 small tasks and 4 that
# need BIG=1: the big pool grows only for the 4 (peak 1..2 workers) and
# shrinks back to 0; a small task never starts on a big worker while a small
# worker is idle; every value is right; the pools show in the API and in
# `tide status`; no worker is left. Then the bad input: a task needing a
# resource no pool provides, an unknown pool option, contradictory limits.
# Without pools, the workers' worker.resources are what the cluster provides.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/adaptive.sh"

# bad input first: one `tide: ` line and exit 2, nothing started
bad() {
  local want=$1; shift
  local rc=0
  "$TIDE_BIN" cluster --port 0 --dashboard-port 0 --no-auth "$@" >"$T_DIR/out" 2>"$T_DIR/err" || rc=$?
  [ "$rc" = 2 ] || fail "$* exited $rc, not 2: $(cat "$T_DIR/err")"
  [ "$(wc -l < "$T_DIR/err")" = 1 ] || fail "$*: not one line: $(cat "$T_DIR/err")"
  grep -qF "tide: $want" "$T_DIR/err" || fail "$*: $(cat "$T_DIR/err") lacks: $want"
}
bad "--pool big: min 3 is above max 2" --pool small:max=8 --pool big:min=3,max=2
bad "--pool big: max 5000 is above the ceiling of 1000 workers" --pool big:max=5000
bad "--pool big: unknown option \"partition\" for the local backend" --pool big:partition=gpu,max=2
bad "--pool big: unknown backend \"nope\"" --pool big:backend=nope
bad "--pool small: declared twice" --pool small:max=1 --pool small:max=2
bad "--pool big: resources: resource BIG must be a finite number > 0" --pool big:resources=BIG=0
bad "--pool: \"big max=2\" is not NAME:OPTION=VALUE" --pool "big max=2"
# the configuration's pools: list is checked the same way
printf 'pools:\n  - small:max=8\n  - big:resources=BIG=1,min=3,max=2\n' > "$T_DIR/pools.yaml"
bad "--pool big: min 3 is above max 2" --config "$T_DIR/pools.yaml"

start_cluster --adapt --interval 0.2s --wait-count 3 --nthreads 1 \
  --pool small:backend=local,max=8 --pool big:backend=local,resources=BIG=1,min=0,max=2
[ "$(api /api/v1/cluster | jq -c '[.pools[] | [.name, .resources, .minimum, .maximum]]')" = \
  '[["small","",0,8],["big","BIG=1",0,2]]' ] || fail "pools: $(api /api/v1/cluster | jq -c .pools)"

# the graph: s0..s199 sleep 0.05 s and return their index; b0..b3 need BIG=1
jq -n '{tasks: (([range(200)] | map({key: "s\(.)", value: {fn: "tide.sleep", args: [0.05, .]}}))
               + ([range(4)] | map({key: "b\(.)", value: {fn: "tide.sleep", args: [1, (1000 + .)],
                                                          resources: {BIG: 1}}}))
               | from_entries),
        outputs: ([range(200) | "s\(.)"] + [range(4) | "b\(.)"])}' > "$T_DIR/g.json"

# who is who: worker address -> pool, sampled while the graph runs
( while :; do api /api/v1/get_workers 2>/dev/null | jq -c '.workers[] | {address, pool}' >> "$T_DIR/who" || true
    sleep 0.05; done ) &
T_PIDS+=("$!")
WHO_PID=$!
run_graph "$T_DIR/g.json" > "$T_DIR/out.json" || fail "run failed: $(cat "$T_DIR/out.json")"
kill "$WHO_PID"
got=$(jq '[to_entries[] | select(.key | startswith("s")) | select(.value == (.key | ltrimstr("s") | tonumber))] | length' "$T_DIR/out.json")
[ "$got" = 200 ] || fail "$got of 200 small values right"
got=$(jq '[to_entries[] | select(.key | startswith("b")) | select(.value == 1000 + (.key | ltrimstr("b") | tonumber))] | length' "$T_DIR/out.json")
[ "$got" = 4 ] || fail "$got of 4 big values right"

# the big pool grew for the BIG tasks only: 1..2 workers, and only big
# workers ran them
log=$(adaptive | jq -c '.log')
peak_big=$(echo "$log" | jq '[.[] | select(.pool == "big" and .status == "up") | .n] | max // 0')
[ "$peak_big" -ge 1 ] && [ "$peak_big" -le 2 ] || fail "big pool peak $peak_big: $log"
echo "$log" | jq -e '[.[] | select(.pool == "big" and .status == "up")][0].reason | test("needing BIG=1")' >/dev/null \
  || fail "big pool's up decision does not explain itself: $log"
[ "$(echo "$log" | jq '[.[] | select(.pool == "big" and .status == "up") | .queued_share] | max')" = 0 ] \
  || fail "the big pool grew for small tasks: $log"
jq -s 'unique' "$T_DIR/who" > "$T_DIR/who.json"
api '/api/v1/task_stream?since=0' | jq .tasks > "$T_DIR/stream.json"
on_wrong=$(jq --slurpfile who "$T_DIR/who.json" '
  ($who[0] | map({(.address): .pool}) | add) as $pool
  | [.[] | select((.key | test("/b[0-9]+$")) and $pool[.worker] != "big")] | length' "$T_DIR/stream.json")
[ "$on_wrong" = 0 ] || fail "$on_wrong BIG task(s) ran outside the big pool"
# a small task that started on a big worker: every small worker that had
# started running by then was busy at that moment (20 ms of slack)
idle_cases=$(jq --slurpfile who "$T_DIR/who.json" '
  ($who[0] | map({(.address): .pool}) | add) as $pool
  | . as $all
  | [$all[] | select($pool[.worker] == "small")] as $small
  | ($small | group_by(.worker) | map({w: .[0].worker, first: (map(.start) | min), last: (map(.stop) | max)})) as $life
  | [$all[] | select((.key | test("/s[0-9]+$")) and $pool[.worker] == "big") | .start as $s
     | [$life[] | select(.first < $s - 0.02 and .last > $s + 0.02) | .w as $w
        | select([$small[] | select(.worker == $w and .start <= $s + 0.02 and .stop >= $s - 0.02)] | length == 0)]
     | length] | add // 0' "$T_DIR/stream.json")
# how many (small task on a big worker, small worker running by then)
# pairs the check looked at: it must have had something to check
checked=$(jq --slurpfile who "$T_DIR/who.json" '
  ($who[0] | map({(.address): .pool}) | add) as $pool
  | . as $all
  | ([$all[] | select($pool[.worker] == "small")] | group_by(.worker)
     | map({first: (map(.start) | min), last: (map(.stop) | max)})) as $life
  | [$all[] | select((.key | test("/s[0-9]+$")) and $pool[.worker] == "big") | .start as $s
     | [$life[] | select(.first < $s - 0.02 and .last > $s + 0.02)] | length] | add // 0' "$T_DIR/stream.json")
small_on_big=$(jq --slurpfile who "$T_DIR/who.json" '
  ($who[0] | map({(.address): .pool}) | add) as $pool
  | [.[] | select((.key | test("/s[0-9]+$")) and $pool[.worker] == "big")] | length' "$T_DIR/stream.json")
[ "$idle_cases" = 0 ] || fail "$small_on_big small task(s) on big workers, $idle_cases while a small worker was idle"
[ "$small_on_big" = 0 ] || [ "$checked" -gt 0 ] || fail "small tasks on big workers before any small worker ran"

# tide status shows the pools
"$TIDE_BIN" status --scheduler-file "$SCHED_FILE" > "$T_DIR/status" || fail "tide status failed"
grep -qE '^ *big +BIG=1 ' "$T_DIR/status" || fail "tide status lacks the big pool: $(cat "$T_DIR/status")"
"$TIDE_BIN" status --scheduler-file "$SCHED_FILE" --json | jq -e '.cluster.pools | length == 2' >/dev/null \
  || fail "tide status --json lacks the pools"
# a pool by name, and an unknown one
[ "$(req GET '/api/v1/pools?name=big')" = 200 ] || fail "GET /api/v1/pools?name=big: $(body)"
[ "$(body | jq -r .name)" = big ] || fail "pools?name=big: $(body)"
[ "$(req GET '/api/v1/pools?name=nope')" = 404 ] || fail "GET /api/v1/pools?name=nope: $(body)"
body | jq -e '.error | test("no pool named \"nope\"")' >/dev/null || fail "pools/nope: $(body)"

# a task needing what no pool provides: refused at submission
echo '{"tasks": {"x": {"fn": "tide.inc", "args": [1], "resources": {"GPU": 1}}}, "outputs": ["x"]}' > "$T_DIR/gpu.json"
rc=0; run_graph "$T_DIR/gpu.json" > /dev/null 2> "$T_DIR/err" || rc=$?
[ "$rc" = 2 ] || fail "GPU task: exit $rc: $(cat "$T_DIR/err")"
grep -qF 'needs resources GPU=1, which no pool of the cluster provides' "$T_DIR/err" \
  || fail "GPU task: $(cat "$T_DIR/err")"

# both pools back to 0
wait_workers 0 20
[ "$(api /api/v1/cluster | jq -c '[.pools[] | .workers]')" = '[0,0]' ] || fail "pools not empty"
stop_cluster

# without pools: the implicit pool's workers advertise worker.resources, so
# a BIG task is accepted at 0 workers and runs on a worker that has BIG=1
TIDE_WORKER__RESOURCES=BIG=1 start_cluster --adapt --interval 0.2s --maximum 2
echo '{"tasks": {"x": {"fn": "tide.inc", "args": [1], "resources": {"BIG": 1}}}, "outputs": ["x"]}' > "$T_DIR/one.json"
[ "$(run_graph "$T_DIR/one.json" | jq .x)" = 2 ] || fail "a BIG task on a cluster whose workers have BIG=1"
api /api/v1/get_workers | jq -e '[.workers[] | select(.resources == "BIG=1")] | length >= 1' >/dev/null \
  || fail "no worker advertises BIG=1: $(api /api/v1/get_workers)"
stop_cluster
pass "big pool peak $peak_big for 4 BIG tasks, back to 0; $small_on_big small task(s) on big workers, none while one of the small workers ($checked checks) was idle; 204 values right"
