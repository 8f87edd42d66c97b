#!/usr/bin/env bash
# Plugin functions (examples/plugin_example.c, built as libplugin_example.so)
# run only on the worker that preloaded them; their errors name the task;
# a function no worker has is refused before anything runs (exit 2).
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"

PLUGIN="$TIDE_BUILD/libplugin_example.so"
[ -f "$PLUGIN" ] || fail "$PLUGIN is not built"
start_scheduler
start_worker with --preload "$PLUGIN"
start_worker without
wait_workers 2

cat >"$T_DIR/g.json" <<'G'
{"tasks": {"x": {"fn": "tide.inc", "args": [6]},
  "sq": {"fn": "example.square", "args": [{"ref": "x"}]},
  "r": {"fn": "example.repeat", "args": ["ab", 3]},
  "total": {"fn": "tide.add", "args": [{"ref": "sq"}, 1]}},
 "outputs": ["sq", "r", "total"]}
G
run_graph "$T_DIR/g.json" --timeout 30 >"$T_DIR/out.json"
[ "$(json_get "$T_DIR/out.json" .sq)" = 49 ] || fail "sq: $(cat "$T_DIR/out.json")"
[ "$(json_get "$T_DIR/out.json" .r)" = ababab ] || fail "r: $(cat "$T_DIR/out.json")"
[ "$(json_get "$T_DIR/out.json" .total)" = 50 ] || fail "total: $(cat "$T_DIR/out.json")"
executed=$(api /api/v1/get_workers | jq '.workers[] | select(.name == "with") | .executed')
[ "${executed:-0}" -ge 2 ] || fail "worker 'with' executed ${executed:-0} tasks, want >= 2"

# A plugin function that errs: exit 1, the task named, no token in sight.
cat >"$T_DIR/neg.json" <<'G'
{"tasks": {"neg": {"fn": "example.fail_if_negative", "args": [-1]}}}
G
expect_fail_only 1 '^tide: task "neg" failed: example\.fail_if_negative: task neg got a negative number$' \
  run_graph "$T_DIR/neg.json"

# A function no connected worker has: refused whole, exit 2, nothing ran.
cat >"$T_DIR/unknown.json" <<'G'
{"tasks": {"a": {"fn": "tide.inc", "args": [1]},
  "u": {"fn": "example.nope", "args": [{"ref": "a"}]}}}
G
expect_fail_only 2 '^tide: .*unknown\.json.*example\.nope' run_graph "$T_DIR/unknown.json"
pass "plugin functions ran on the worker that has them"
