#!/usr/bin/env bash
# A diamond of tide.inc / tide.add on two workers: the right values, the
# output object holds exactly the outputs, --progress stays quiet off a tty,
# and the "prefix" field is what the scheduler learns durations under.
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"

start_scheduler
start_worker a
start_worker b
wait_workers 2

cat >"$T_DIR/diamond.json" <<'G'
{"tasks": {
  "a": {"fn": "tide.inc", "args": [1]},
  "b": {"fn": "tide.inc", "args": [{"ref": "a"}]},
  "c": {"fn": "tide.add", "args": [{"ref": "a"}, 10, 0.5], "prefix": "adder"},
  "d": {"fn": "tide.add", "args": [{"ref": "b"}, {"ref": "c"}]},
  "s": {"fn": "tide.sum", "args": [[{"ref": "a"}, {"ref": "b"}, 4]]},
  "n": {"fn": "tide.noop"},
  "i": {"fn": "tide.identity", "args": [{"x": [1, "two", null, true]}]},
  "m": {"fn": "tide.identity", "args": [{"x": {"ref": "a"}, "y": [{"z": {"ref": "b"}}]}]}},
 "outputs": ["d", "b", "s", "n", "i", "m"]}
G
run_graph "$T_DIR/diamond.json" --progress >"$T_DIR/out.json" 2>"$T_DIR/err"
[ ! -s "$T_DIR/err" ] || fail "stderr not empty off a terminal: $(cat "$T_DIR/err")"
[ "$(jq -c 'keys' "$T_DIR/out.json")" = '["b","d","i","m","n","s"]' ] || fail "keys: $(cat "$T_DIR/out.json")"
[ "$(json_get "$T_DIR/out.json" .b)" = 3 ] || fail "b != 3: $(cat "$T_DIR/out.json")"
# d = b + c = 3 + (2 + 10 + 0.5)
[ "$(jq '.d == 15.5' "$T_DIR/out.json")" = true ] || fail "d != 15.5: $(cat "$T_DIR/out.json")"
[ "$(json_get "$T_DIR/out.json" .s)" = 9 ] || fail "s != 9: $(cat "$T_DIR/out.json")"
[ "$(jq -c .n "$T_DIR/out.json")" = null ] || fail "n not null"
[ "$(jq -c .i "$T_DIR/out.json")" = '{"x":[1,"two",null,true]}' ] || fail "i: $(jq -c .i "$T_DIR/out.json")"
# references nested inside maps and arrays are resolved
[ "$(jq -c .m "$T_DIR/out.json")" = '{"x":2,"y":[{"z":3}]}' ] || fail "m: $(jq -c .m "$T_DIR/out.json")"
# one line of JSON on stdout
[ "$(wc -l <"$T_DIR/out.json")" = 1 ] || fail "stdout is not one line"

# Two runs of the same graph never collide (per-submission keys).
run_graph "$T_DIR/diamond.json" >"$T_DIR/out2.json"
cmp -s <(jq -S . "$T_DIR/out.json") <(jq -S . "$T_DIR/out2.json") || fail "second run differs"

# The prefix field names the duration group.
wait_for 10 bash -c "curl -sf '$DASH_URL/api/v1/tasks' | jq -e '.prefixes.adder.count >= 1'"
pass "diamond values right, quiet progress, prefixes learned"
