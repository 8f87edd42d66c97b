#!/usr/bin/env bash
# Hosts on one machine, for the multi-host tests: N network namespaces
# (h1..hN), each with a veth pair to a bridge in the root namespace, one
# address of a private /24 that exists only on the bridge and in the
# namespaces, loopback up, and Debian's sshd on port 22 with a host key and
# an authorised user key generated here. Names resolve through the rig's own
# ssh config (`ssh -F DIR/ssh_config h1 true`); /etc/hosts is not touched.
# Only the rig's /24 is ever addressed.
# Usage: scripts/hosts-up.sh N DIR     (DIR: created; holds keys, configs,
#        rig.env; tear down with scripts/hosts-down.sh DIR)
# DIR/rig.env: RIG_ID, RIG_NS (namespace prefix), RIG_BRIDGE, RIG_NET
# (e.g. 10.213.7), RIG_GW (the bridge's address, reachable from every host),
# RIG_HOSTS ("h1 h2 ..."), RIG_SSH_CONFIG. DIR/hosts: "NAME ADDRESS" lines.
set -euo pipefail

n=${1:-}
dir=${2:-}
if ! [[ "$n" =~ ^[1-9][0-9]?$ ]] || [ -z "$dir" ]; then
  echo "usage: hosts-up.sh N DIR (N from 1 to 99)" >&2
  exit 2
fi
[ "$(id -u)" -eq 0 ] || { echo "hosts-up: needs root (network namespaces)" >&2; exit 1; }
for t in ip ssh ssh-keygen /usr/sbin/sshd flock; do
  command -v "$t" >/dev/null 2>&1 || { echo "hosts-up: $t is missing (scripts/install-deps.sh --test)" >&2; exit 1; }
done
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# One /24 per rig, 10.213.K.0/24 with K not in use by another rig: chosen
# under a lock so that parallel runs never share one.
exec 9>/run/lock/tide-hosts.lock
flock 9
k=
for c in $(seq 1 254); do
  if ! ip link show "tidebr$c" >/dev/null 2>&1 && ! ip -o link show | grep -q ": tide$c-" &&
    ! ip -4 -o addr show | grep -q " 10\.213\.$c\." && ! ip netns list | grep -q "^tide$c-"; then
    k=$c
    break
  fi
done
[ -n "$k" ] || { echo "hosts-up: no free 10.213.K.0/24" >&2; exit 1; }
id=$k
net=10.213.$k
ns=tide$k-
br=tidebr$k
ip link add "$br" type bridge
ip addr add "$net.1/24" dev "$br"
ip link set "$br" up
flock -u 9

hosts=""
for i in $(seq 1 "$n"); do hosts="$hosts h$i"; done
hosts=${hosts# }
cat >"$dir/rig.env" <<ENV
RIG_ID=$id
RIG_DIR=$dir
RIG_NS=$ns
RIG_BRIDGE=$br
RIG_NET=$net
RIG_GW=$net.1
RIG_HOSTS="$hosts"
RIG_SSH_CONFIG=$dir/ssh_config
ENV

rm -f "$dir/id" "$dir/id.pub" "$dir/host_key" "$dir/host_key.pub"
ssh-keygen -q -t ed25519 -N '' -C tide-rig-user -f "$dir/id"
ssh-keygen -q -t ed25519 -N '' -C tide-rig-host -f "$dir/host_key"
cp "$dir/id.pub" "$dir/authorized_keys"
chmod 600 "$dir/id" "$dir/host_key" "$dir/authorized_keys"
mkdir -p /run/sshd
: >"$dir/empty_rc"
: >"$dir/hosts"
: >"$dir/known_hosts"
{
  echo "# written by scripts/hosts-up.sh"
} >"$dir/ssh_config"

for i in $(seq 1 "$n"); do
  h=h$i
  addr=$net.$((10 + i))
  ip netns add "$ns$h"
  ip link add "tide$k-$i" type veth peer name eth0 netns "$ns$h"
  ip link set "tide$k-$i" master "$br" up
  ip -n "$ns$h" link set lo up
  ip -n "$ns$h" addr add "$addr/24" dev eth0
  ip -n "$ns$h" link set eth0 up
  echo "$h $addr" >>"$dir/hosts"
  echo "$addr $(cut -d' ' -f1,2 "$dir/host_key.pub")" >>"$dir/known_hosts"
  cat >>"$dir/ssh_config" <<CFG
Host $h
  HostName $addr
CFG
  cat >"$dir/sshd_$h.conf" <<CFG
ListenAddress $addr
Port 22
HostKey $dir/host_key
AuthorizedKeysFile $dir/authorized_keys
PidFile $dir/sshd_$h.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxStartups 100
MaxSessions 100
# a client that vanished (a host cut off) ends its session and its workers
ClientAliveInterval 2
ClientAliveCountMax 3
LogLevel ERROR
CFG
  # The sessions run the user's shell, which reads the user's start-up
  # files (bash reads ~/.bashrc under sshd). Those belong to the machine,
  # not to the rig: a slow or locking one (a version manager's rehash) would
  # stall every worker start. sshd runs in a mount namespace of its own in
  # which each of them is an empty file.
  ip netns exec "$ns$h" unshare --mount --propagation private /bin/sh -c '
    for f in "$HOME/.bashrc" "$HOME/.bash_profile" "$HOME/.bash_login" "$HOME/.profile"; do
      [ -f "$f" ] && mount --bind "$1" "$f"
    done
    exec /usr/sbin/sshd -f "$2" -E "$3"' sh "$dir/empty_rc" "$dir/sshd_$h.conf" "$dir/sshd_$h.log"
done
cat >>"$dir/ssh_config" <<CFG
Host *
  User $(id -un)
  IdentityFile $dir/id
  IdentitiesOnly yes
  UserKnownHostsFile $dir/known_hosts
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 5
  ServerAliveInterval 2
  ServerAliveCountMax 3
  LogLevel ERROR
CFG

for h in $hosts; do
  ok=
  for _ in $(seq 1 100); do
    if ssh -F "$dir/ssh_config" "$h" true 2>/dev/null; then ok=1; break; fi
    sleep 0.1
  done
  [ -n "$ok" ] || { echo "hosts-up: sshd on $h does not answer" >&2; exit 1; }
done
echo "hosts-up: $n hosts ($hosts) on $net.0/24 in $dir"
