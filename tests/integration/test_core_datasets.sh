#!/usr/bin/env bash
# publish / get / datasets / unpublish round trip: published outputs outlive
# the client that computed them.
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"

start_scheduler
start_worker a
wait_workers 1
T="$TIDE_BIN"
S=(--scheduler-file "$SCHED_FILE")

cat >"$T_DIR/g.json" <<'G'
{"tasks": {"a": {"fn": "tide.inc", "args": [1]},
           "b": {"fn": "tide.bytes", "args": [1000, 3]},
           "c": {"fn": "tide.add", "args": [{"ref": "a"}, 40]}},
 "outputs": ["c", "b"]}
G
run_graph "$T_DIR/g.json" --publish ds1 >"$T_DIR/run.json"
[ "$(json_get "$T_DIR/run.json" .c)" = 42 ] || fail "c: $(cat "$T_DIR/run.json")"
[ "$(json_get "$T_DIR/run.json" .b.bytes)" = 1000 ] || fail "b: $(cat "$T_DIR/run.json")"
[ "$(json_get "$T_DIR/run.json" .b.sha256)" = "$(bytes_sha256 1000 3)" ] || fail "b sha256"
[ "$("$T" datasets "${S[@]}")" = ds1 ] || fail "datasets: $("$T" datasets "${S[@]}")"

# get prints the same object, from a new client, twice.
"$T" get ds1 "${S[@]}" >"$T_DIR/get.json"
cmp -s <(jq -S . "$T_DIR/run.json") <(jq -S . "$T_DIR/get.json") || fail "get differs: $(cat "$T_DIR/get.json")"
"$T" get ds1 --scheduler "$SCHED_ADDR" >"$T_DIR/get2.json"
cmp -s "$T_DIR/get.json" "$T_DIR/get2.json" || fail "second get differs"

# A second dataset; names one per line.
run_graph "$T_DIR/g.json" --publish ds2 >/dev/null
[ "$("$T" datasets "${S[@]}" | sort | tr '\n' ' ')" = "ds1 ds2 " ] || fail "datasets: $("$T" datasets "${S[@]}")"

"$T" unpublish ds1 "${S[@]}" || fail "unpublish ds1"
[ "$("$T" datasets "${S[@]}")" = ds2 ] || fail "after unpublish: $("$T" datasets "${S[@]}")"
expect_fail_only 1 '^tide: no dataset named "ds1"$' "$T" get ds1 "${S[@]}"
expect_fail_only 1 '^tide: no dataset named "ds1"$' "$T" unpublish ds1 "${S[@]}"
expect_fail_only 1 '^tide: no dataset named "x"$' "$T" unpublish x "${S[@]}"
expect_fail_only 2 '^tide: get: missing argument' "$T" get "${S[@]}"
"$T" unpublish ds2 "${S[@]}" || fail "unpublish ds2"
[ -z "$("$T" datasets "${S[@]}")" ] || fail "datasets not empty"
pass "publish, get, datasets, unpublish"
