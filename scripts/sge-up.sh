#!/usr/bin/env bash
# Starts a one-host Grid Engine (sge_qmaster and sge_execd from Debian's
# gridengine-master / gridengine-exec) with its cell, spool and logs under
# DIR, a queue tide.q with a few slots and a parallel environment tide-pe,
# waits until it runs a job, and prints the settings file to source
# (SGE_ROOT, SGE_CELL, ports). Idempotent: a running instance is reused.
#
# The qmaster refuses a host name that resolves only to a loopback address,
# so both daemons run inside a network namespace of our own: a veth pair
# with a private /30 that exists only between the root namespace and that
# namespace, and two /etc/hosts lines (marked with DIR, removed by
# scripts/sge-down.sh) naming the two ends. Daemons see the namespace-side
# name as their host name (a UTS namespace of their own); qsub/qstat/qdel
# run in the root namespace and reach the qmaster over the veth.
# Usage: scripts/sge-up.sh DIR     (stop with scripts/sge-down.sh DIR)
set -euo pipefail

DIR=${1:-${TIDE_SGE_DIR:-}}
[ -n "$DIR" ] || { echo "usage: sge-up.sh DIR" >&2; exit 2; }
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/sge-names.sh
source "$HERE/sge-names.sh"
SLOTS=${TIDE_SGE_SLOTS:-16}

say() { echo "sge-up: $*" >&2; }
[ "$(id -u)" -eq 0 ] || { say "needs root (network namespace, daemons)"; exit 1; }
for b in /usr/sbin/sge_qmaster /usr/sbin/sge_execd /usr/lib/gridengine/spoolinit; do
  [ -x "$b" ] || { say "$b missing: scripts/install-deps.sh --test installs Grid Engine"; exit 1; }
done
command -v qsub >/dev/null || { say "qsub missing (gridengine-client)"; exit 1; }

export SGE_ROOT="$DIR/root" SGE_CELL=default SGE_QMASTER_PORT=6444 SGE_EXECD_PORT=6445
COMMON="$SGE_ROOT/$SGE_CELL/common"

in_ns() { ip netns exec "$SGE_NS" unshare --uts sh -c 'hostname "$0"; exec "$@"' "$SGE_MASTER" "$@"; }
pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# --- the namespace, its veth pair and the two host names ---------------------
net_up() {
  if ! ip netns list | grep -qw "$SGE_NS"; then
    say "creating network namespace $SGE_NS ($SGE_ADDR_NS/30, root side $SGE_ADDR_ROOT)"
    ip netns add "$SGE_NS"
    ip link add "$SGE_VETH_ROOT" type veth peer name "$SGE_VETH_NS"
    ip link set "$SGE_VETH_NS" netns "$SGE_NS"
    ip addr add "$SGE_ADDR_ROOT/30" dev "$SGE_VETH_ROOT"
    ip link set "$SGE_VETH_ROOT" up
    ip netns exec "$SGE_NS" ip addr add "$SGE_ADDR_NS/30" dev "$SGE_VETH_NS"
    ip netns exec "$SGE_NS" ip link set "$SGE_VETH_NS" up
    ip netns exec "$SGE_NS" ip link set lo up
  fi
  if ! grep -qF "$SGE_HOSTS_MARK" /etc/hosts; then
    # append in place: /etc/hosts may be a bind mount that cannot be renamed over
    printf '%s %s %s\n%s %s %s\n' "$SGE_ADDR_NS" "$SGE_MASTER" "$SGE_HOSTS_MARK" \
      "$SGE_ADDR_ROOT" "$SGE_CLIENT" "$SGE_HOSTS_MARK" >>/etc/hosts
  fi
}

# --- the cell: bootstrap, configuration, spool -------------------------------
cell_init() {
  [ -e "$DIR/spool/db/sge" ] && return 0
  say "initialising the cell in $DIR"
  mkdir -p "$COMMON" "$DIR/spool/db" "$DIR/spool/qmaster" "$DIR/spool/execd" "$DIR/tmp"
  for d in bin lib utilbin util; do ln -sfn "/var/lib/gridengine/$d" "$SGE_ROOT/$d"; done
  cat >"$COMMON/bootstrap" <<BOOT
# Version: 6.2
admin_user              root
default_domain          none
ignore_fqdn             true
spooling_method         berkeleydb
spooling_lib            libspoolb
spooling_params         $DIR/spool/db
binary_path             /usr/sbin
qmaster_spool_dir       $DIR/spool/qmaster
security_mode           none
listener_threads        2
worker_threads          2
scheduler_threads       1
BOOT
  # Debian's defaults, with root allowed to run jobs (tests run as root),
  # execd spooling under DIR and loads reported every few seconds
  sed -e 's/^min_uid .*/min_uid                0/' -e 's/^min_gid .*/min_gid                0/' \
    -e "s|^execd_spool_dir .*|execd_spool_dir        $DIR/spool/execd|" \
    -e 's/^load_report_time .*/load_report_time       00:00:05/' \
    -e 's/^reporting_params .*/reporting_params       accounting=false reporting=false flush_time=00:00:15 joblog=false sharelog=00:00:00/' \
    -e 's/^finished_jobs .*/finished_jobs          0/' \
    /usr/share/gridengine/default-configuration >"$DIR/configuration"
  echo "$SGE_MASTER" >"$COMMON/act_qmaster"
  echo tide >"$COMMON/cluster_name"
  # clients tell their own host name, the qmaster sees the root-side address:
  # one name for both
  echo "$SGE_CLIENT $(hostname) localhost" >"$COMMON/host_aliases"
  printf 'SGE_ROOT=%s; export SGE_ROOT\nSGE_CELL=%s; export SGE_CELL\nSGE_QMASTER_PORT=%s; export SGE_QMASTER_PORT\nSGE_EXECD_PORT=%s; export SGE_EXECD_PORT\n' \
    "$SGE_ROOT" "$SGE_CELL" "$SGE_QMASTER_PORT" "$SGE_EXECD_PORT" >"$COMMON/settings.sh"
  /usr/lib/gridengine/spoolinit berkeleydb libspoolb "$DIR/spool/db" init >"$DIR/init.log" 2>&1
  /usr/lib/gridengine/spooldefaults configuration "$DIR/configuration" >>"$DIR/init.log" 2>&1
  /usr/lib/gridengine/spooldefaults complexes /usr/share/gridengine/util/resources/centry >>"$DIR/init.log" 2>&1
  /usr/lib/gridengine/spooldefaults usersets /usr/share/gridengine/util/resources/usersets >>"$DIR/init.log" 2>&1
  /usr/lib/gridengine/spooldefaults managers root >>"$DIR/init.log" 2>&1
  : >"$DIR/configured-pending"
}

qmaster_pid="$DIR/spool/qmaster/qmaster.pid"
execd_pid="$DIR/spool/execd/$SGE_MASTER/execd.pid"

queue_ready() {
  # the queue instance on our host has slots and no a(larm)/u(nknown)/d/E state
  local line
  line=$(qstat -f -q tide.q 2>/dev/null | awk -v h="tide.q@$SGE_MASTER" '$1 == h') || return 1
  [ -n "$line" ] && ! awk '{print $6}' <<<"$line" | grep -q '[audEs]'
}

configure() {
  local t="$DIR/tmp"
  qconf -as "$SGE_CLIENT" >/dev/null 2>&1 || true
  qconf -as "$SGE_MASTER" >/dev/null 2>&1 || true
  # schedule at once: a job submitted is started within a second, not 15
  qconf -ssconf >"$t/sconf"
  sed -i -e 's/^schedule_interval .*/schedule_interval                 0:0:1/' \
    -e 's/^flush_submit_sec .*/flush_submit_sec                  1/' \
    -e 's/^flush_finish_sec .*/flush_finish_sec                  1/' "$t/sconf"
  qconf -Msconf "$t/sconf" >/dev/null
  cat >"$t/pe" <<PE
pe_name            tide-pe
slots              $SLOTS
user_lists         NONE
xuser_lists        NONE
start_proc_args    NONE
stop_proc_args     NONE
allocation_rule    \$pe_slots
control_slaves     FALSE
job_is_first_task  TRUE
urgency_slots      min
accounting_summary FALSE
qsort_args         NONE
PE
  qconf -Ap "$t/pe" >/dev/null 2>&1 || qconf -Mp "$t/pe" >/dev/null
  cat >"$t/host" <<HOST
hostname              $SGE_MASTER
load_scaling          NONE
complex_values        NONE
user_lists            NONE
xuser_lists           NONE
projects              NONE
xprojects             NONE
usage_scaling         NONE
report_variables      NONE
HOST
  qconf -se "$SGE_MASTER" >/dev/null 2>&1 || qconf -Ae "$t/host" >/dev/null
  # a queue template from qconf's defaults, with our host, slots and PE
  EDITOR=cat qconf -aq 2>/dev/null | sed -e 's/^qname .*/qname                 tide.q/' \
    -e "s/^hostlist .*/hostlist              $SGE_MASTER/" \
    -e "s/^slots .*/slots                 $SLOTS/" \
    -e 's/^pe_list .*/pe_list               tide-pe/' \
    -e 's/^load_thresholds .*/load_thresholds       NONE/' \
    -e 's/^shell .*/shell                 \/bin\/bash/' >"$t/queue" || true
  grep -q '^qname' "$t/queue" || { say "qconf -aq gave no queue template"; return 1; }
  qconf -Aq "$t/queue" >/dev/null 2>&1 || qconf -Mq "$t/queue" >/dev/null
  rm -f "$DIR/configured-pending"
}

net_up
cell_init
if ! pid_alive "$qmaster_pid"; then
  say "starting sge_qmaster as $SGE_MASTER"
  in_ns /usr/sbin/sge_qmaster
fi
deadline=$((SECONDS + ${TIDE_SGE_TIMEOUT:-30}))
# the master host is an admin host from the start: it lets the root side in
until in_ns qconf -ah "$SGE_CLIENT" >/dev/null 2>"$DIR/qstat.err" ||
  grep -q "already exists" "$DIR/qstat.err"; do
  if [ $SECONDS -ge $deadline ]; then
    say "qmaster does not answer; qstat says: $(cat "$DIR/qstat.err")"
    tail -n 20 "$DIR/spool/qmaster/messages" >&2 2>/dev/null || true
    exit 1
  fi
  sleep 0.2
done
if [ -e "$DIR/configured-pending" ] || ! qconf -sq tide.q >/dev/null 2>&1; then
  say "configuring host, queue tide.q ($SLOTS slots) and parallel environment tide-pe"
  configure
fi
if ! pid_alive "$execd_pid"; then
  say "starting sge_execd"
  in_ns /usr/sbin/sge_execd
fi
until queue_ready; do
  if [ $SECONDS -ge $deadline ]; then
    say "queue tide.q not ready; qstat -f says:"
    qstat -f 2>&1 | sed 's/^/  /' >&2 || true
    tail -n 20 "$DIR/spool/qmaster/messages" "$DIR/spool/execd/$SGE_MASTER/messages" >&2 2>/dev/null || true
    exit 1
  fi
  sleep 0.2
done
echo "$COMMON/settings.sh"
