#!/usr/bin/env bash
# Runs CMD with a one-host Grid Engine for the SGE tests: one that answers
# already is used as it is; otherwise scripts/sge-up.sh starts one in DIR
# and scripts/sge-down.sh stops it once CMD ends, failed or not. Exits with
# CMD's status. When Grid Engine cannot start here (not installed, not
# root, no network namespaces), CMD still runs and the SGE tests report
# themselves skipped (tests/lib/sge.sh).
# Usage: scripts/with-sge.sh CMD...   (DIR: $TIDE_SGE_DIR, default
# /tmp/tide-ci-sge, where tests/lib/sge.sh also looks)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
[ $# -gt 0 ] || { echo "usage: with-sge.sh CMD..." >&2; exit 2; }
export TIDE_SGE_DIR="${TIDE_SGE_DIR:-/tmp/tide-ci-sge}"

say() { echo "with-sge: $*" >&2; }
settings="$TIDE_SGE_DIR/root/default/common/settings.sh"
answers() {
  [ -f "$settings" ] && command -v qstat >/dev/null 2>&1 &&
    (source "$settings" && timeout 10 qstat >/dev/null 2>&1)
}

started=0
if answers; then
  say "using the Grid Engine that answers in $TIDE_SGE_DIR"
elif [ ! -x /usr/sbin/sge_qmaster ]; then
  say "Grid Engine is not installed (scripts/install-deps.sh --test); the SGE tests will be skipped"
  settings=
else
  say "starting a one-host Grid Engine in $TIDE_SGE_DIR"
  started=1
  trap 'bash "$HERE/sge-down.sh" "$TIDE_SGE_DIR"' EXIT
  trap 'exit 130' INT TERM
  if ! settings=$(bash "$HERE/sge-up.sh" "$TIDE_SGE_DIR"); then
    say "Grid Engine did not start (above); the SGE tests will be skipped"
    bash "$HERE/sge-down.sh" "$TIDE_SGE_DIR"
    settings=
  fi
fi
if [ -n "$settings" ]; then
  export TIDE_SGE_SETTINGS="$settings" TIDE_SGE_UP=1
else
  export TIDE_SGE_UP=0
fi
"$@"
rc=$?
[ $started = 1 ] && say "stopping the Grid Engine started for this run"
exit $rc
