#!/usr/bin/env bash
# --backend ssh with --security temporary and the default token: the
# scheduler listens on tls://, the workers on two hosts get the TLS files
# and the token file by path, register with tls:// data addresses, and a
# published 16 MiB block moves from one host to the other on retirement (a TLS peer
# transfer, authenticated by the token). No command line carries key
# material.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"
source "$TIDE_SRC/tests/lib/hosts.sh"

hosts_up 2
start_ssh_cluster --hosts h1:1,h2:1 --security temporary --adapt --minimum 2 --maximum 2 \
  --interval 1s
case "$SCHED_ADDR" in tls://*) ;; *) fail "scheduler address $SCHED_ADDR is not tls://" ;; esac
[ "$(jq -r '.token | length' "$SCHED_FILE")" = 64 ] || fail "no token in the scheduler file"
[ -n "$(jq -r '.tls.cert // empty' "$SCHED_FILE")" ] || fail "no TLS files in the scheduler file"
wait_workers 2 60
hosts=$(worker_hosts | awk '{print $1}' | sort | tr '\n' ' ')
want=$(printf '%s\n' "$(host_addr h1)" "$(host_addr h2)" | sort | tr '\n' ' ')
[ "$hosts" = "$want" ] || fail "workers on \"$hosts\", want one on each of \"$want\""
n_tls=$(api /api/v1/identity | jq '[.workers | keys[] | select(startswith("tls://"))] | length')
[ "$n_tls" = 2 ] || fail "$n_tls workers with tls:// addresses, want 2"
if ps -eo args | grep -e '--tls-' | grep -q -e 'BEGIN' -e 'PRIVATE'; then
  fail "key material on a command line"
fi

# a published 16 MiB block leaves its retiring holder for the worker on the
# other host: a TLS peer transfer, authenticated by the token
LEN=$((16 * 1024 * 1024))
echo "{\"tasks\": {\"d\": {\"fn\": \"tide.bytes\", \"args\": [$LEN, 7]}}, \"outputs\": [\"d\"]}" >"$T_DIR/d.json"
run_graph "$T_DIR/d.json" --publish ds >/dev/null || fail "cannot publish the block"
holder=$(api /api/v1/get_workers | jq -r --argjson l $LEN '.workers[] | select(.nbytes >= $l) | .name')
[ "$(echo "$holder" | wc -w)" = 1 ] || fail "want one holder of the block, got: $holder"
"$TIDE_BIN" retire "$holder" --scheduler-file "$SCHED_FILE" >/dev/null || fail "cannot retire $holder"
t_moved() { api /metrics | awk -v l=$LEN '/^tide_transferred_bytes_total/ {exit !($2 >= l)}'; }
wait_for 60 t_moved || fail "the block did not move on retirement"
want=$(bytes_sha256 $LEN 7)
got=$("$TIDE_BIN" get ds --scheduler-file "$SCHED_FILE" | jq -r .d.sha256)
[ "$got" = "$want" ] || fail "block sha256 $got, want $want"
pass "ssh cluster over TLS with a token: 2 workers on 2 hosts with tls:// addresses; 16 MiB moved between hosts on retirement, sha256 $want"
