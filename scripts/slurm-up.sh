#!/usr/bin/env bash
# Starts a one-node SLURM (munged, slurmctld, slurmd) on this machine with
# its configuration, state and logs under DIR, waits until it runs jobs, and
# prints the SLURM_CONF path. Idempotent: a running instance is reused.
# Usage: scripts/slurm-up.sh DIR     (stop with scripts/slurm-down.sh DIR)
set -euo pipefail

DIR=${1:-${TIDE_SLURM_DIR:-}}
[ -n "$DIR" ] || { echo "usage: slurm-up.sh DIR" >&2; exit 2; }
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
CONF="$DIR/slurm.conf"
export SLURM_CONF="$CONF"
HOST=$(hostname -s)
CPUS=${TIDE_SLURM_CPUS:-32}
# Ports of our own per DIR (17000..18998, below the ephemeral range), so two
# instances (a developer's and CI's) never answer for each other.
PORT_BASE=$((17000 + $(printf '%s' "$DIR" | cksum | cut -d' ' -f1) % 1000 * 2))
MEM_MB=${TIDE_SLURM_MEM_MB:-16000}

say() { echo "slurm-up: $*" >&2; }
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

# --- munge -----------------------------------------------------------------
start_munge() {
  if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
    return 0
  fi
  if [ ! -s /etc/munge/munge.key ]; then
    say "creating /etc/munge/munge.key"
    $SUDO mkdir -p /etc/munge
    if command -v mungekey >/dev/null; then
      $SUDO mungekey --create --keyfile=/etc/munge/munge.key --force >/dev/null
    else
      $SUDO dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    fi
  fi
  $SUDO mkdir -p /run/munge /var/lib/munge /var/log/munge
  $SUDO chown munge:munge /etc/munge /etc/munge/munge.key /run/munge /var/lib/munge /var/log/munge
  $SUDO chmod 0700 /etc/munge /var/lib/munge /var/log/munge
  $SUDO chmod 0755 /run/munge
  $SUDO chmod 0600 /etc/munge/munge.key
  say "starting munged"
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u munge -- /usr/sbin/munged || /usr/sbin/munged --force
  else
    sudo -u munge /usr/sbin/munged
  fi
  local i
  for i in $(seq 100); do
    munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  say "munged did not come up"; return 1
}

# --- slurm.conf --------------------------------------------------------------
write_conf() {
  mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log"
  local tmp="$CONF.tmp.$$"
  cat >"$tmp" <<EOF
# One-node SLURM for tide's tests and benchmarks; written by scripts/slurm-up.sh.
ClusterName=tide
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SlurmctldPort=${TIDE_SLURMCTLD_PORT:-$PORT_BASE}
SlurmdPort=${TIDE_SLURMD_PORT:-$((PORT_BASE + 1))}
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ReturnToService=2
SlurmdParameters=config_overrides
SchedulerType=sched/builtin
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,default_queue_depth=1000
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MinJobAge=2
KillWait=5
InactiveLimit=0
Waittime=0
MessageTimeout=10
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
EOF
  mv "$tmp" "$CONF"
}

pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

node_ready() {
  local st
  st=$(sinfo -h -N -n "$HOST" -o '%T' 2>/dev/null | head -n1) || return 1
  case "$st" in idle*|mixed*|allocated*) return 0 ;; *) return 1 ;; esac
}

start_munge
if pid_alive "$DIR/slurmctld.pid" && pid_alive "$DIR/slurmd.pid" && node_ready; then
  echo "$CONF"
  exit 0
fi
[ -f "$CONF" ] || write_conf
if ! pid_alive "$DIR/slurmctld.pid"; then
  say "starting slurmctld"
  # -c: forget jobs of an earlier run, so a restart begins empty.
  $SUDO /usr/sbin/slurmctld -f "$CONF" -c
fi
if ! pid_alive "$DIR/slurmd.pid"; then
  say "starting slurmd"
  $SUDO /usr/sbin/slurmd -f "$CONF"
fi
sleep 0.2
for d in slurmctld slurmd; do
  if ! pid_alive "$DIR/$d.pid"; then
    say "$d exited at once; its log says:"
    tail -n 5 "$DIR/log/$d.log" >&2 2>/dev/null || true
    exit 1
  fi
done
deadline=$((SECONDS + ${TIDE_SLURM_TIMEOUT:-30}))
until node_ready; do
  if [ $SECONDS -ge $deadline ]; then
    say "node $HOST not ready after ${TIDE_SLURM_TIMEOUT:-30}s; sinfo says:"
    sinfo -N 2>&1 | sed 's/^/  /' >&2 || true
    tail -n 20 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 2>/dev/null || true
    exit 1
  fi
  # a node that came up DOWN (e.g. after an unclean stop) is resumed
  st=$(sinfo -h -N -n "$HOST" -o '%T' 2>/dev/null | head -n1 || true)
  case "$st" in down*|drain*) scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true ;; esac
  sleep 0.2
done
if ! out=$(timeout 30 srun -N1 -t 1 hostname 2>&1); then
  say "srun failed: $out"; exit 1
fi
say "SLURM up on $HOST ($CPUS CPUs declared); export SLURM_CONF=$CONF"
echo "$CONF"
