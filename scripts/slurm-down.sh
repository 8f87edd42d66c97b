#!/usr/bin/env bash
# Stops the SLURM daemons that scripts/slurm-up.sh DIR started (munged is
# left running: it is a system service others may use).
# Usage: scripts/slurm-down.sh DIR
set -uo pipefail

DIR=${1:-${TIDE_SLURM_DIR:-}}
[ -n "$DIR" ] || { echo "usage: slurm-down.sh DIR" >&2; exit 2; }
[ -d "$DIR" ] || exit 0
export SLURM_CONF="$DIR/slurm.conf"
if [ -f "$SLURM_CONF" ]; then
  scancel --user="$(id -un)" >/dev/null 2>&1 || true
fi
for d in slurmd slurmctld; do
  pf="$DIR/$d.pid"
  [ -s "$pf" ] || continue
  pid=$(cat "$pf")
  kill -TERM "$pid" 2>/dev/null || continue
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pf"
done
exit 0
