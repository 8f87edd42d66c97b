#!/usr/bin/env bash
# A host cut off mid-run (its veth set down): its worker is declared lost
# after scheduler.heartbeat-timeout, the block it made is recomputed on
# another host and the result is right; its ssh session fails, so the
# backend backs off from the host and starts the replacement elsewhere;
# once the link is back, the host is used again.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/adaptive.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"
source "$TIDE_SRC/tests/lib/hosts.sh"

export TIDE_SCHEDULER__HEARTBEAT_TIMEOUT=2s
hosts_up 3
start_ssh_cluster --hosts h1:2,h2:2,h3:2 --workers 3
wait_workers 3 30
[ "$(worker_hosts | wc -l)" = 3 ] || fail "3 workers not on 3 hosts: $(worker_hosts)"

# block i is made where sleep i ran, then held by a long sleep there
LEN=$((1024 * 1024))
{
  echo '{"tasks": {'
  for i in 1 2 3; do
    echo "\"s$i\": {\"fn\": \"tide.sleep\", \"args\": [1, $i]},"
    echo "\"b$i\": {\"fn\": \"tide.bytes\", \"args\": [$LEN, {\"ref\": \"s$i\"}]},"
    echo "\"g$i\": {\"fn\": \"tide.sleep\", \"args\": [6, {\"ref\": \"b$i\"}]},"
  done
  echo '"all": {"fn": "tide.concat", "args": [{"ref": "g1"}, {"ref": "g2"}, {"ref": "g3"}]},'
  echo '"sum": {"fn": "tide.checksum", "args": [{"ref": "all"}]}},'
  echo '"outputs": ["sum"]}'
} >"$T_DIR/g.json"
: >"$T_DIR/want.bin"
for i in 1 2 3; do bytes_gen $LEN "$i" "$T_DIR/b.bin"; cat "$T_DIR/b.bin" >>"$T_DIR/want.bin"; done
want=$(sha256sum "$T_DIR/want.bin" | cut -d' ' -f1)

since=$(date +%s)
run_graph "$T_DIR/g.json" --timeout 120 >"$T_DIR/out.json" 2>"$T_DIR/run.err" &
RUN_PID=$!
T_PIDS+=("$RUN_PID")
stream() { api "/api/v1/task_stream?since=$since"; }
blocks_done() { [ "$(stream | jq '[.tasks[] | select(.prefix == "tide.bytes")] | length')" = 3 ]; }
wait_for 30 blocks_done
# cut the host that made b1
b1_at=$(stream | jq -r '.tasks[] | select(.key | endswith("/b1")) | .worker' | sed -E 's|tcp://([^:]*):.*|\1|')
cut=$(awk -v a="$b1_at" '$2 == a {print $1}' "$HOSTS_DIR/hosts")
[ -n "$cut" ] || fail "b1 ran at $b1_at, not on a rig host"
ip link set "tide$RIG_ID-${cut#h}" down
t0=$(date +%s.%N)
wait_workers 2 10
lost_after=$(echo "$(date +%s.%N) - $t0" | bc)
api /api/v1/logs | jq -e '.scheduler | map(select(test("lost"))) | length >= 1' >/dev/null ||
  fail "no worker declared lost in the scheduler's log"

wait "$RUN_PID" || fail "graph failed: $(cat "$T_DIR/run.err")"
[ "$(jq -r .sum "$T_DIR/out.json")" = "$want" ] || fail "checksum $(jq -r .sum "$T_DIR/out.json"), want $want"
# b1 was made again, on another host
again=$(stream | jq -r '.tasks[] | select(.key | endswith("/b1")) | .worker' | sed -E 's|tcp://([^:]*):.*|\1|' | grep -vcx "$b1_at" || true)
[ "$again" -ge 1 ] || fail "b1 was not recomputed on another host"

# the session to the cut host fails: a resource-manager failure, and the
# replacement goes to the other hosts
host_failed() { api /api/v1/logs | jq -e --arg h "$cut" '.cluster | map(select(test("ssh to " + $h + " failed"))) | length >= 1'; }
wait_for 30 host_failed
wait_workers 3 30
worker_hosts | grep -q "^$(host_addr "$cut") " && fail "a worker started on the cut host $cut: $(worker_hosts)"

# the link is back: the host answers again and takes the jobs the others
# have no room for (2 each)
ip link set "tide$RIG_ID-${cut#h}" up
api_post /api/v1/scale '{"n": 6}' >/dev/null
wait_workers 6 60
[ "$(worker_hosts | awk -v a="$(host_addr "$cut")" '$1 == a {print $2}')" = 2 ] ||
  fail "the host $cut is not used again: $(worker_hosts)"
stop_cluster
wait_for 15 hosts_idle
pass "$cut cut off: worker lost after ${lost_after}s (heartbeat timeout 2 s), b1 recomputed elsewhere, checksum right; $cut avoided while down, used again once up"
