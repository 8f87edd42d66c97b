#!/usr/bin/env bash
# Tears down a rig made by scripts/hosts-up.sh: kills every process inside
# its namespaces (sshd, sessions, workers), deletes the namespaces (their
# veth pairs go with them) and the bridge. Safe to run twice.
# Usage: scripts/hosts-down.sh DIR
set -uo pipefail
dir=${1:-}
[ -n "$dir" ] && [ -f "$dir/rig.env" ] || { echo "usage: hosts-down.sh DIR (a hosts-up.sh directory)" >&2; exit 2; }
# shellcheck disable=SC1091
source "$dir/rig.env"
for h in $RIG_HOSTS; do
  nsn=$RIG_NS$h
  ip netns list | grep -q "^$nsn\b" || continue
  for _ in 1 2 3; do
    pids=$(ip netns pids "$nsn" 2>/dev/null)
    [ -z "$pids" ] && break
    kill -KILL $pids 2>/dev/null
    sleep 0.1
  done
  ip netns del "$nsn" 2>/dev/null
done
# the root side of each veth pair: it outlives a namespace that something
# (a socket being torn down) still holds
for i in $(seq 1 $(echo $RIG_HOSTS | wc -w)); do ip link del "tide$RIG_ID-$i" 2>/dev/null; done
ip link del "$RIG_BRIDGE" 2>/dev/null
exit 0
