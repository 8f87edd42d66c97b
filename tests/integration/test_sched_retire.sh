#!/usr/bin/env bash
# retire_workers (docs/design.md §6) through the HTTP API: the holder of a
# published result is retired, its data is copied to the other worker first
# (nothing recomputed), unknown names are reported under not_retired, and a
# worker whose data has nowhere to go is not retired and keeps running.
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"

start_scheduler
start_worker a
wait_workers 1
S=(--scheduler-file "$SCHED_FILE")
cat >"$T_DIR/g.json" <<'G'
{"tasks": {"b": {"fn": "tide.bytes", "args": [100000, 5]},
           "c": {"fn": "tide.checksum", "args": [{"ref": "b"}]}},
 "outputs": ["b", "c"]}
G
run_graph "$T_DIR/g.json" --publish ds >"$T_DIR/run.json" || fail "run failed"

# the only worker holds the data: retiring it is refused, it keeps running
r=$(api_post /api/v1/retire_workers '{"workers": ["a"]}')
[ "$(echo "$r" | jq -c .retired)" = '[]' ] || fail "a retired without a place for its data: $r"
echo "$r" | jq -e '.not_retired.a | test("worker")' >/dev/null || fail "no reason: $r"
api /api/v1/identity | jq -e '.workers[] | select(.name == "a") | .status == "running"' >/dev/null \
  || fail "a is not running again"

start_worker b
wait_workers 2
r=$(api_post /api/v1/retire_workers '{"workers": ["a", "nope"]}')
[ "$(echo "$r" | jq -c .retired)" = '["a"]' ] || fail "retired: $r"
echo "$r" | jq -e '.not_retired.nope' >/dev/null || fail "unknown name not reported: $r"
wait_workers 1
api /api/v1/identity | jq -e '[.workers[] | .name] == ["b"] and ([.workers[] | .nbytes] | add) > 100000' \
  >/dev/null || fail "data not on b: $(api /api/v1/identity)"
"$TIDE_BIN" get ds "${S[@]}" >"$T_DIR/get.json" || fail "get after retirement failed"
cmp -s <(jq -S . "$T_DIR/run.json") <(jq -S . "$T_DIR/get.json") || fail "get differs"
m=$(curl -sf "$DASH_URL/metrics")
rec=$(echo "$m" | awk '/^tide_recomputed_tasks_total/ {print $2}')
ret=$(echo "$m" | awk '/^tide_retired_workers_total/ {print $2}')
[ "${rec%.*}" = 0 ] || fail "recomputed $rec, want 0"
[ "${ret%.*}" = 1 ] || fail "retired total $ret, want 1"
pass "retired the holder after copying its data; nothing recomputed"
