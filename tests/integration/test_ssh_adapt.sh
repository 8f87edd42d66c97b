#!/usr/bin/env bash
# --backend ssh over 3 hosts (network namespaces with sshd, tests/lib/hosts.sh):
# an adaptive cluster from 0 spreads its workers over the 3 hosts, runs a
# graph whose 16 MiB blocks cross hosts with the oracle's checksums, goes
# back to 0, and leaves no ssh session and no worker on any host. The
# workers run through a --remote-tide path with a space and a quote, with
# a --remote-env value they must see.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/adaptive.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"
source "$TIDE_SRC/tests/lib/hosts.sh"

hosts_up 3
# the hosts share this file system: a path to the same binary
mkdir -p "$T_DIR/bin dir"
ln -s "$TIDE_BIN" "$T_DIR/bin dir/it's tide"
start_ssh_cluster --hosts h1,h2,h3 --remote-tide "$T_DIR/bin dir/it's tide" \
  --remote-env "TIDE_TEST_MARK=a 'b' c" \
  --adapt --minimum 0 --maximum 6 --interval 1s --wait-count 3 --target-duration 1s
[ "$(nworkers)" = 0 ] || fail "expected 0 workers at rest"
api /api/v1/cluster | jq -e '.repr | startswith("SSHCluster(tide, '"'"'tcp://'"$RIG_GW"':")' >/dev/null ||
  fail "repr: $(api /api/v1/cluster | jq -r .repr)"

# six 3 s sleeps spread the work; each block's seed is its sleep's value,
# so block i is made where sleep i ran; one concat pulls all six together
N=6
LEN=$((16 * 1024 * 1024))
{
  echo '{"tasks": {'
  for i in $(seq 1 $N); do
    echo "\"s$i\": {\"fn\": \"tide.sleep\", \"args\": [3, $i]},"
    echo "\"b$i\": {\"fn\": \"tide.bytes\", \"args\": [$LEN, {\"ref\": \"s$i\"}]},"
  done
  printf '"all": {"fn": "tide.concat", "args": ['
  for i in $(seq 1 $N); do printf '{"ref": "b%d"}%s' "$i" "$([ "$i" -lt $N ] && echo ,)"; done
  echo ']},'
  echo '"sum": {"fn": "tide.checksum", "args": [{"ref": "all"}]}},'
  echo '"outputs": ["sum"]}'
} >"$T_DIR/g.json"
: >"$T_DIR/want.bin"
for i in $(seq 1 $N); do bytes_gen $LEN "$i" "$T_DIR/b.bin"; cat "$T_DIR/b.bin" >>"$T_DIR/want.bin"; done
want=$(sha256sum "$T_DIR/want.bin" | cut -d' ' -f1)

( while :; do worker_hosts 2>/dev/null | tr '\n' ';' >>"$T_DIR/hosts.samples"; echo >>"$T_DIR/hosts.samples"; sleep 0.2; done ) &
T_PIDS+=($!)
since=$(date +%s)
run_graph "$T_DIR/g.json" --timeout 120 >"$T_DIR/out.json" || fail "graph failed: $(cat "$T_DIR/out.json")"
[ "$(jq -r .sum "$T_DIR/out.json")" = "$want" ] || fail "checksum $(jq -r .sum "$T_DIR/out.json"), want $want"

# every host ran workers at once during the burst
spread=$(awk -F';' 'NF >= 4 {print; exit}' "$T_DIR/hosts.samples")
[ -n "$spread" ] || fail "workers never on all 3 hosts at once: $(sort -u "$T_DIR/hosts.samples" | tail -5)"
for h in h1 h2 h3; do
  echo "$spread" | grep -q "$(host_addr $h) " || fail "no worker on $h: $spread"
done

# blocks crossed hosts: a block made on another host than the concat
api "/api/v1/task_stream?since=$since" >"$T_DIR/stream.json"
cat_host=$(jq -r '.tasks[] | select(.key | endswith("/all")) | .worker' "$T_DIR/stream.json" | sed -E 's|tcp://([^:]*):.*|\1|')
[ -n "$cat_host" ] || fail "concat not in the task stream"
moved=$(jq -r '.tasks[] | select(.prefix == "tide.bytes") | .worker' "$T_DIR/stream.json" |
  sed -E 's|tcp://([^:]*):.*|\1|' | grep -vcx "$cat_host" || true)
[ "$moved" -ge 1 ] || fail "no 16 MiB block crossed hosts (concat on $cat_host)"
echo "blocks from other hosts than the concat's ($cat_host): $moved of $N"

# the workers see --remote-env, through the quoting
marks=$(for h in $RIG_HOSTS; do host_workers "$h"; done |
  while read -r p; do tr '\0' '\n' <"/proc/$p/environ" | grep -a '^TIDE_TEST_MARK=' || echo none; done | sort | uniq -c)
[ "$(echo "$marks" | awk '{print $1}')" -ge 1 ] && [ "$(echo "$marks" | sed -E 's/^ *[0-9]+ //')" = "TIDE_TEST_MARK=a 'b' c" ] ||
  fail "remote env of the workers: $marks"

# client gone: back to 0, and nothing left on the hosts
wait_workers 0 40
wait_for 15 hosts_idle || true
hosts_idle || fail "left on the hosts: $(for h in $RIG_HOSTS; do host_procs $h; done)"
stop_cluster
pass "0 -> $(awk -F';' '{print NF-1}' "$T_DIR/hosts.samples" | sort -n | tail -1) hosts -> 0; $N x 16 MiB crossed hosts ($moved moved), checksum $want"
