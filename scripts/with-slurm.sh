#!/usr/bin/env bash
# Runs CMD with a one-node SLURM for the SLURM tests: one that answers
# already is used as it is; otherwise scripts/slurm-up.sh starts one in DIR
# and scripts/slurm-down.sh stops it once CMD ends, failed or not. Exits
# with CMD's status. When SLURM cannot start here, CMD still runs and the
# SLURM tests report themselves skipped (tests/lib/slurm.sh).
# Usage: scripts/with-slurm.sh CMD...   (DIR: $TIDE_SLURM_DIR, default
# /tmp/tide-ci-slurm, where tests/lib/slurm.sh also looks)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
[ $# -gt 0 ] || { echo "usage: with-slurm.sh CMD..." >&2; exit 2; }
export TIDE_SLURM_DIR="${TIDE_SLURM_DIR:-/tmp/tide-ci-slurm}"

say() { echo "with-slurm: $*" >&2; }
answers() {
  [ -n "${1:-}" ] && [ -f "$1" ] && command -v sinfo >/dev/null 2>&1 &&
    SLURM_CONF="$1" timeout 10 sinfo -h >/dev/null 2>&1
}

started=0
conf=${SLURM_CONF:-}
[ -n "$conf" ] || conf="$TIDE_SLURM_DIR/slurm.conf"
if answers "$conf"; then
  say "using the SLURM that answers at $conf"
elif ! command -v slurmctld >/dev/null 2>&1 && [ ! -x /usr/sbin/slurmctld ]; then
  say "SLURM is not installed (scripts/install-deps.sh --test); the SLURM tests will be skipped"
  conf=
else
  say "starting a one-node SLURM in $TIDE_SLURM_DIR"
  # stop it even if we are interrupted while it starts or while CMD runs
  started=1
  trap 'bash "$HERE/slurm-down.sh" "$TIDE_SLURM_DIR"' EXIT
  trap 'exit 130' INT TERM
  if ! conf=$(bash "$HERE/slurm-up.sh" "$TIDE_SLURM_DIR"); then
    say "SLURM did not start (above); the SLURM tests will be skipped"
    bash "$HERE/slurm-down.sh" "$TIDE_SLURM_DIR"
    conf=
  fi
fi
if [ -n "$conf" ]; then
  export SLURM_CONF="$conf" TIDE_SLURM_UP=1
else
  # the SLURM tests skip at once instead of each waiting on a dead sinfo
  unset SLURM_CONF
  export TIDE_SLURM_UP=0
fi
"$@"
rc=$?
[ $started = 1 ] && say "stopping the SLURM started for this run"
exit $rc
