#!/usr/bin/env bash
# Stops the Grid Engine that scripts/sge-up.sh DIR started: deletes its
# jobs, stops sge_execd and sge_qmaster, removes the network namespace, the
# veth pair and the /etc/hosts lines marked with DIR. DIR itself (logs,
# spool) is kept for a look afterwards. Safe to run when nothing is up.
# Usage: scripts/sge-down.sh DIR
set -uo pipefail
DIR=${1:-${TIDE_SGE_DIR:-}}
[ -n "$DIR" ] || { echo "usage: sge-down.sh DIR" >&2; exit 2; }
[ -d "$DIR" ] || exit 0
DIR=$(cd "$DIR" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/sge-names.sh
source "$HERE/sge-names.sh"
if [ -f "$DIR/root/default/common/settings.sh" ]; then
  # shellcheck source=/dev/null
  source "$DIR/root/default/common/settings.sh"
  timeout 10 qdel -u root >/dev/null 2>&1 || true
fi
stop() {
  local f=$1 pid i
  [ -s "$f" ] || return 0
  pid=$(cat "$f")
  kill "$pid" 2>/dev/null || return 0
  for i in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}
stop "$DIR/spool/execd/$SGE_MASTER/execd.pid"
stop "$DIR/spool/qmaster/qmaster.pid"
# whatever still runs in the namespace (job shepherds, workers) goes with it
if ip netns list 2>/dev/null | grep -qw "$SGE_NS"; then
  for pid in $(ip netns pids "$SGE_NS" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  ip link del "$SGE_VETH_ROOT" 2>/dev/null || true
  ip netns del "$SGE_NS" 2>/dev/null || true
fi
if grep -qF "$SGE_HOSTS_MARK" /etc/hosts 2>/dev/null; then
  # rewrite in place: /etc/hosts may be a bind mount that cannot be replaced
  kept=$(grep -vF "$SGE_HOSTS_MARK" /etc/hosts)
  printf '%s\n' "$kept" >/etc/hosts
fi
exit 0
