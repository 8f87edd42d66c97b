# Hosts for the multi-host tests: a rig of network namespaces with sshd
# (scripts/hosts-up.sh), brought up by the test and torn down when it
# exits, even on failure. Source after harness.sh.

# hosts_up N: N hosts h1..hN; sets RIG_* from the rig's rig.env (RIG_GW is
# the address in the root namespace every host reaches; RIG_SSH_CONFIG
# names the hosts for ssh). Skips when this machine cannot make namespaces.
hosts_up() {
  [ "$(id -u)" = 0 ] || skip "the multi-host rig needs root (network namespaces)"
  [ -x /usr/sbin/sshd ] || skip "openssh-server is missing (scripts/install-deps.sh --test)"
  HOSTS_DIR="$T_DIR/rig"
  trap 'hosts_rc=$?; hosts_down; t_cleanup "$hosts_rc"' EXIT
  if ! bash "$TIDE_SRC/scripts/hosts-up.sh" "$1" "$HOSTS_DIR" >"$T_DIR/hosts-up.log" 2>&1; then
    grep -q "Operation not permitted" "$T_DIR/hosts-up.log" &&
      skip "no network namespaces here: $(tail -1 "$T_DIR/hosts-up.log")"
    fail "hosts-up failed: $(cat "$T_DIR/hosts-up.log")"
  fi
  # shellcheck disable=SC1091
  source "$HOSTS_DIR/rig.env"
}

hosts_down() {
  [ -n "${HOSTS_DIR:-}" ] && [ -f "$HOSTS_DIR/rig.env" ] || return 0
  bash "$TIDE_SRC/scripts/hosts-down.sh" "$HOSTS_DIR" >/dev/null 2>&1 || true
}

# host_addr H: H's address in the rig.
host_addr() { awk -v h="$1" '$1 == h {print $2}' "$HOSTS_DIR/hosts"; }

# host_procs H: processes in H's namespace other than its sshd listener,
# one "PID ARGS" a line (sshd sessions, workers, their shells).
host_procs() {
  local listener; listener=$(cat "$HOSTS_DIR/sshd_$1.pid")
  local p
  for p in $(ip netns pids "$RIG_NS$1"); do
    [ "$p" = "$listener" ] && continue
    echo "$p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
  done
}
# host_workers H: pids of tide workers in H's namespace (argv[1] "worker").
host_workers() {
  local p
  for p in $(ip netns pids "$RIG_NS$1"); do
    [ "$(tr '\0' '\n' <"/proc/$p/cmdline" 2>/dev/null | sed -n 2p)" = worker ] && echo "$p"
  done
  return 0
}
hosts_idle() { local h; for h in $RIG_HOSTS; do [ -z "$(host_procs "$h")" ] || return 1; done; }

# start_ssh_cluster [ARGS...]: `tide cluster --backend ssh` over the rig's
# hosts, its scheduler on RIG_GW (port 0); sets SCHED_FILE, SCHED_ADDR,
# DASH_URL, CLUSTER_PID.
start_ssh_cluster() {
  SCHED_FILE="$T_DIR/scheduler.json"
  bg cluster "$TIDE_BIN" cluster --backend ssh --ssh-config "$RIG_SSH_CONFIG" \
    --host "$RIG_GW" --port 0 --dashboard-port 0 --scheduler-file "$SCHED_FILE" "$@"
  CLUSTER_PID=$BG_PID
  wait_for 10 test -s "$SCHED_FILE"
  SCHED_ADDR=$(jq -r .address "$SCHED_FILE")
  DASH_URL=$(jq -r .dashboard "$SCHED_FILE")
}

# worker_hosts: "host count" lines of the scheduler's workers by host.
worker_hosts() { api /api/v1/identity | jq -r '.workers[].host' | sort | uniq -c | awk '{print $2, $1}'; }
