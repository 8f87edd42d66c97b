#!/usr/bin/env bash
# TLS on every connection (docs/security.md "TLS"): `tide cluster --security
# temporary` runs an adaptive burst 0 -> N -> 0 over tls://, its value
# checked against an independent oracle;
# a client given only the scheduler file connects with TLS; plain tcp, a
# peer without a certificate and certificates of another CA are refused
# (no worker of theirs registers, no command of theirs runs); the
# throwaway credentials are owner-only and gone when the cluster stops.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/adaptive.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"
command -v openssl >/dev/null || skip "openssl is not installed (scripts/install-deps.sh --test)"

start_cluster --security temporary --adapt --minimum 0 --maximum 4 --interval 500ms --wait-count 2 \
  --target-duration 1s
case "$SCHED_ADDR" in tls://127.0.0.1:*) ;; *) fail "scheduler address $SCHED_ADDR is not tls://" ;; esac
CA=$(json_get "$SCHED_FILE" '.tls."ca-file"')
CERT=$(json_get "$SCHED_FILE" '.tls.cert')
KEY=$(json_get "$SCHED_FILE" '.tls.key')
SEC_DIR=$(dirname "$CA")
[ "$(stat -c %a "$SEC_DIR")" = 700 ] || fail "$SEC_DIR is $(stat -c %a "$SEC_DIR"), want 700"
[ "$(stat -c %a "$KEY")" = 600 ] || fail "key is $(stat -c %a "$KEY"), want 600"
openssl verify -CAfile "$CA" "$CERT" >/dev/null || fail "the certificate does not verify against the CA"
[ "$(nworkers)" = 0 ] || fail "expected 0 workers at rest"

# The burst: 8 x 1 MiB made, held for 1 s each (spread over the workers
# the cluster grows), then concatenated in one place.
args=""
for i in 0 1 2 3 4 5 6 7; do
  args="$args${args:+, }{\"ref\": \"s$i\"}"
done
{
  echo '{"tasks": {'
  for i in 0 1 2 3 4 5 6 7; do
    echo "\"b$i\": {\"fn\": \"tide.bytes\", \"args\": [1048576, $i]},"
    echo "\"s$i\": {\"fn\": \"tide.sleep\", \"args\": [1, {\"ref\": \"b$i\"}]},"
  done
  echo "\"all\": {\"fn\": \"tide.concat\", \"args\": [$args]},"
  echo '"sum": {"fn": "tide.checksum", "args": [{"ref": "all"}]}},'
  echo '"outputs": ["sum"]}'
} >"$T_DIR/burst.json"
: >"$T_DIR/all.bin"
for i in 0 1 2 3 4 5 6 7; do
  bytes_gen 1048576 "$i" "$T_DIR/b.bin"
  cat "$T_DIR/b.bin" >>"$T_DIR/all.bin"
done
want=$(sha256sum "$T_DIR/all.bin" | cut -d' ' -f1)

sample_workers "$T_DIR/counts"
# the client has only the scheduler file: TLS comes from it
out=$(run_graph "$T_DIR/burst.json" --timeout 60s)
[ "$(echo "$out" | jq -r .sum)" = "$want" ] || fail "checksum $(echo "$out" | jq -r .sum), want $want"
peak=$(max_of "$T_DIR/counts")
[ "$peak" -ge 2 ] || fail "the burst grew to $peak worker(s), want at least 2"
addrs=$(api /api/v1/get_workers | jq -r '[.. | strings | select(test("^t[cl][ps]://"))] | unique | .[]')
echo "$addrs" | grep -q '^tcp://' && fail "a worker serves plain tcp: $addrs"
# command lines name the files, never their contents
if pgrep -af "worker $SCHED_ADDR" | grep -q "BEGIN"; then fail "PEM text on a command line"; fi
wait_workers 0 20
wait_for 10 procs_eq 0

# Refusals. Plain tcp to the TLS port:
expect_fail_only 1 "cannot reach the scheduler at tcp://.*: it closed the connection" \
  "$TIDE_BIN" status --scheduler "${SCHED_ADDR/tls:/tcp:}"
# a client that trusts the CA but has no certificate:
expect_fail_only 1 "cannot reach the scheduler at tls://.*: TLS .* failed: .*certificate required" \
  "$TIDE_BIN" status --scheduler "$SCHED_ADDR" --tls-ca-file "$CA"
# a certificate from another CA (self-signed here):
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=evil \
  -keyout "$T_DIR/evil.key" -out "$T_DIR/evil.pem" 2>/dev/null
expect_fail_only 1 "cannot reach the scheduler at tls://.*: TLS .* failed: .*unknown ca" \
  "$TIDE_BIN" run "$T_DIR/burst.json" \
  --scheduler "$SCHED_ADDR" --tls-ca-file "$CA" --tls-cert "$T_DIR/evil.pem" --tls-key "$T_DIR/evil.key"
# (TLS 1.2: the refusal ends the handshake itself, so s_client's status
# shows it; under 1.3 the alert may come after s_client has quit)
if timeout 10 openssl s_client -tls1_2 -connect "${SCHED_ADDR#tls://}" -CAfile "$CA" \
    -cert "$T_DIR/evil.pem" -key "$T_DIR/evil.key" </dev/null >"$T_DIR/s_client.out" 2>&1; then
  fail "openssl s_client with a foreign certificate was let in: $(tail -3 "$T_DIR/s_client.out")"
fi
grep -q "alert unknown ca" "$T_DIR/s_client.out" || fail "s_client: $(tail -3 "$T_DIR/s_client.out")"
# and a client that trusts another CA refuses the scheduler
expect_fail_only 1 "TLS handshake failed: self-signed certificate in certificate chain" \
  "$TIDE_BIN" status --scheduler "$SCHED_ADDR" --tls-ca-file "$T_DIR/evil.pem"
# fake workers, plain and with the foreign certificate, never register
bg fake-tcp "$TIDE_BIN" worker "${SCHED_ADDR/tls:/tcp:}" --name fake-tcp --death-timeout 2s
P1=$BG_PID
bg fake-tls "$TIDE_BIN" worker "$SCHED_ADDR" --name fake-tls --death-timeout 2s \
  --tls-ca-file "$CA" --tls-cert "$T_DIR/evil.pem" --tls-key "$T_DIR/evil.key"
P2=$BG_PID
for p in $P1 $P2; do
  rc=0
  wait "$p" || rc=$?
  [ "$rc" != 0 ] || fail "a fake worker exited 0"
done
[ "$(nworkers)" = 0 ] || fail "a fake worker registered: $(api /api/v1/identity | jq -c .workers)"
n=$(grep -c "TLS handshake with .* failed" "$T_DIR/cluster.log" || true)
[ "$n" -ge 5 ] || fail "$n refused handshakes logged, want at least 5"

stop_cluster
[ ! -e "$SEC_DIR" ] || fail "$SEC_DIR left behind"
pass "burst 0 -> $peak -> 0 over tls://, $n foreign connections refused"
