#!/usr/bin/env bash
# docs/design.md §7: config and environment values are honoured; flags win.
# Bad values in any layer are one `tide:` line and exit 2.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/adaptive.sh"

cat > "$TIDE_CONFIG" <<'YAML'
adaptive:
  interval: 300ms
  minimum: 1
  wait-count: 5
  target-duration: 7s
YAML
TIDE_ADAPTIVE__MAXIMUM=3 TIDE_ADAPTIVE__TARGET_DURATION=2s start_cluster --adapt --wait-count 2
a=$(adaptive)
[ "$(echo "$a" | jq .interval)" = 0.3 ] || fail "file interval not honoured: $a"
[ "$(echo "$a" | jq .minimum)" = 1 ] || fail "file minimum not honoured: $a"
[ "$(echo "$a" | jq .maximum)" = 3 ] || fail "env maximum not honoured: $a"
[ "$(echo "$a" | jq .target_duration)" = 2 ] || fail "env should beat the file: $a"
[ "$(echo "$a" | jq .wait_count)" = 2 ] || fail "flag should win: $a"
wait_workers 1 10
stop_cluster

# --config names the file explicitly; a bad key is an error naming it
printf 'adaptive:\n  wait-count: 4\n' > "$T_DIR/c.yaml"
start_cluster --adapt --config "$T_DIR/c.yaml"
[ "$(adaptive | jq .wait_count)" = 4 ] || fail "--config not read"
stop_cluster
printf 'adaptive:\n  wiat-count: 4\n' > "$T_DIR/bad.yaml"
set +e
err=$("$TIDE_BIN" cluster --port 0 --dashboard-port 0 --config "$T_DIR/bad.yaml" 2>&1 >/dev/null); rc=$?
set -e
[ "$rc" = 2 ] || fail "bad config key: exit $rc"
[[ "$err" == "tide: "*wiat-count* ]] || fail "bad config key message: $err"
[ "$(echo "$err" | wc -l)" = 1 ] || fail "more than one line: $err"
set +e
err=$(TIDE_ADAPTIVE__WAIT_COUNT=zero "$TIDE_BIN" cluster --port 0 --dashboard-port 0 2>&1 >/dev/null); rc=$?
set -e
[ "$rc" = 2 ] || fail "bad env value: exit $rc"
[[ "$err" == "tide: "* ]] || fail "bad env message: $err"
pass "file < env < flags"
