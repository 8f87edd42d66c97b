#!/usr/bin/env bash
# docs/adaptive.md "Pools": a fixed size on a cluster with pools names its
# pool. `tide scale N --pool NAME` (HTTP: {"n": N, "pool": NAME}) scales
# that pool alone and stops adapting; `tide scale N` without --pool is
# refused with the pools' names, an unknown pool is a 404 / `tide: ` exit 2,
# a size beyond the pool's max is refused; `--workers N` with pools is
# refused before anything starts; a killed worker of a scaled pool is
# replaced. Without pools, --pool is an unknown pool.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/adaptive.sh"

# one `tide: ` line naming want, exit 2
bad_cmd() {
  local want=$1; shift
  local rc=0
  "$@" >"$T_DIR/out" 2>"$T_DIR/err" || rc=$?
  [ "$rc" = 2 ] || fail "$* exited $rc, not 2: $(cat "$T_DIR/err")"
  [ "$(wc -l < "$T_DIR/err")" = 1 ] || fail "$*: not one line: $(cat "$T_DIR/err")"
  grep -qF "tide: $want" "$T_DIR/err" || fail "$*: $(cat "$T_DIR/err") lacks: $want"
}
bad_cmd '--workers: this cluster has pools (small, big): give a pool min=N, or scale one with tide scale N --pool NAME' \
  "$TIDE_BIN" cluster --port 0 --dashboard-port 0 --no-auth --workers 2 \
  --pool small:max=8 --pool big:resources=BIG=1,max=2

start_cluster --adapt --interval 0.2s --nthreads 1 \
  --pool small:backend=local,max=8 --pool big:backend=local,resources=BIG=1,min=0,max=2
pool_workers() { api /api/v1/cluster | jq -c '[.pools[] | .workers]'; }
pools_eq() { [ "$(pool_workers 2>/dev/null)" = "$1" ]; }

scale() { "$TIDE_BIN" scale --scheduler-file "$SCHED_FILE" "$@"; }
bad_cmd 'scale: this cluster has pools (small, big): name the one to scale (tide scale N --pool NAME)' scale 2
bad_cmd 'scale: no pool named "nope" (small, big)' scale 2 --pool nope
bad_cmd "scale: n 3 is above pool big's max 2" scale 3 --pool big
bad_cmd '--pool: expected a pool' scale 1 --pool ''
[ "$(adaptive | jq -r .state)" = running ] || fail "a refused scale stopped adapting"
expect 404 POST /api/v1/scale '{"n": 1, "pool": "nope"}'
body | jq -e '.error == "scale: no pool named \"nope\" (small, big)"' >/dev/null || fail "404 body: $(body)"
expect 400 POST /api/v1/scale '{"n": 1, "pool": 3}'
expect 400 POST /api/v1/scale '{"n": 1}'
body | jq -e '.error | test("name the one to scale")' >/dev/null || fail "400 body: $(body)"
[ "$(pool_workers)" = '[0,0]' ] || fail "a refused scale started workers: $(pool_workers)"

# the big pool to 2, by name: adapting stops, the small pool stays at 0
scale 2 --pool big > "$T_DIR/out" || fail "scale 2 --pool big failed"
jq -e '.pool == "big" and .n == 2' "$T_DIR/out" >/dev/null || fail "answer: $(cat "$T_DIR/out")"
wait_for 20 pools_eq '[0,2]' || fail "pools after scale 2 --pool big: $(pool_workers)"
[ "$(adaptive | jq -r .state)" = stopped ] || fail "adapting did not stop: $(adaptive | jq -r .state)"
api '/api/v1/pools?name=big' | jq -e '.wanted == 2 and .plan == 2' >/dev/null ||
  fail "big pool: $(api '/api/v1/pools?name=big')"
[ "$(api /api/v1/get_workers | jq '[.workers[] | select(.pool == "big" and .resources == "BIG=1")] | length')" = 2 ] ||
  fail "the big pool's workers: $(api /api/v1/get_workers)"
# then the small one over HTTP, the big one down to 1: each pool by itself
expect 200 POST /api/v1/scale '{"n": 3, "pool": "small"}'
scale 1 --pool big > /dev/null || fail "scale 1 --pool big failed"
wait_for 20 pools_eq '[3,1]' || fail "pools after small 3, big 1: $(pool_workers)"
# a BIG task runs on the big pool's one worker, a plain one anywhere
echo '{"tasks": {"x": {"fn": "tide.inc", "args": [1], "resources": {"BIG": 1}}, "y": {"fn": "tide.inc", "args": [41]}}, "outputs": ["x", "y"]}' > "$T_DIR/g.json"
[ "$(run_graph "$T_DIR/g.json" | jq -c '[.x, .y]')" = '[2,42]' ] || fail "values on the scaled pools"
sleep 1 # a fixed size holds: nothing shrinks while not adapting
[ "$(pool_workers)" = '[3,1]' ] || fail "the fixed sizes did not hold: $(pool_workers)"
# a big worker killed: the big pool is refilled to its 1, the small one untouched
old=$(api /api/v1/get_workers | jq -r '.workers[] | select(.pool == "big") | .name')
pid=$(pgrep -f "worker $SCHED_ADDR .*--name $old( |\$)" | head -1)
[ -n "$pid" ] || fail "no process for worker $old"
kill -KILL "$pid"
big_renewed() { api /api/v1/get_workers | jq -e --arg o "$old" '[.workers[] | select(.pool == "big") | .name] | length == 1 and .[0] != $o' >/dev/null; }
wait_for 30 big_renewed || fail "the big pool was not refilled: $(api /api/v1/get_workers | jq -c '[.workers[] | [.name, .pool]]')"
[ "$(pool_workers)" = '[3,1]' ] || fail "after the refill: $(pool_workers)"
# adapting again forgets the fixed sizes
expect 200 POST /api/v1/adapt '{"maximum": 8}'
api '/api/v1/pools?name=big' | jq -e '.wanted == null' >/dev/null || fail "wanted kept after adapt"
wait_for 30 pools_eq '[0,0]' || fail "pools did not shrink when adapting again: $(pool_workers)"
stop_cluster

# without pools: a pool name is not found, scale N works as before
start_cluster --nthreads 1
bad_cmd 'scale: no pool named "big" (this cluster has no pools)' scale 1 --pool big
scale 1 > /dev/null || fail "scale 1 without pools failed"
wait_workers 1 20 || fail "scale 1 without pools: $(nworkers) workers"
stop_cluster
pass "scale --pool: big 2 then 1, small 3, values right; refusals for no --pool, unknown pool, n above max, --workers with pools"
