#!/usr/bin/env bash
# The dashboard page in a real browser: Debian's chromium, headless, driven
# by playwright-core (tests/browser), watches an adaptive `tide cluster` grow
# from 0 for a burst of sleeps and shrink back to 0; the workers chart, the
# workers table and the decision log must show it. Leaves a screenshot in
# tests/artifacts/dashboard.png. Skipped (exit 77) without chromium or node.
source "$TIDE_SRC/tests/lib/harness.sh"

CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$CHROMIUM" ] || [ ! -x "$CHROMIUM" ] || ! command -v node >/dev/null 2>&1; then
  skip "needs chromium and node (scripts/install-deps.sh --test installs them)"
fi

# node deps, pinned by tests/browser/package-lock.json, installed once
BROWSER_DIR="$TIDE_SRC/tests/browser"
if [ ! -f "$BROWSER_DIR/node_modules/playwright-core/package.json" ]; then
  command -v npm >/dev/null 2>&1 || fail "node_modules missing and npm not found"
  npm ci --prefix "$BROWSER_DIR" --no-audit --no-fund --loglevel=error >"$T_DIR/npm.log" 2>&1 ||
    fail "npm ci --prefix tests/browser failed: $(tail -n 3 "$T_DIR/npm.log")"
fi

ART_DIR="$TIDE_SRC/tests/artifacts"
mkdir -p "$ART_DIR"
rm -f "$ART_DIR"/dashboard*.png

# the cluster: adaptive from 0 to 4, reacting within a fraction of a second
SCHED_FILE="$T_DIR/scheduler.json"
bg cluster "$TIDE_BIN" cluster --backend local --name dash --adapt --minimum 0 --maximum 4 \
  --interval 200ms --wait-count 3 --target-duration 1s \
  --host 127.0.0.1 --port 0 --dashboard-port 0 --scheduler-file "$SCHED_FILE" --dashboard-auth
wait_for 15 test -s "$SCHED_FILE"
DASH_URL=$(jq -r .dashboard "$SCHED_FILE")
wait_for 10 api /api/v1/identity
[ "$(nworkers)" = 0 ] || fail "the cluster did not start from 0 workers"

# the burst: 60 independent 0.25 s sleeps (15 s of work), every key an output
jq -n '{tasks: ([range(60)] | map({key: "nap-\(.)", value: {fn: "tide.sleep", args: [0.25, .]}})
        | from_entries), outputs: [range(60) | "nap-\(.)"]}' > "$T_DIR/burst.json"

set +e
DASH_URL="$DASH_URL" SCHED_FILE="$SCHED_FILE" TIDE_BIN="$TIDE_BIN" GRAPH="$T_DIR/burst.json" TOKEN="$(t_token)" \
  PROFILE_DIR="$T_DIR/chromium-profile" SHOT="$ART_DIR/dashboard.png" CHROMIUM="$CHROMIUM" \
  timeout 80 node "$BROWSER_DIR/dashboard.test.mjs" 2>&1 | tee "$T_DIR/browser.log"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" = 0 ] || fail "browser test failed (rc=$rc); screenshot(s) in $ART_DIR"
[ -s "$ART_DIR/dashboard.png" ] || fail "no screenshot"
pass "the dashboard showed the cluster rise and fall; screenshot $ART_DIR/dashboard.png"
