#!/usr/bin/env bash
# TLS with certificates of the user's own CA (made here with the openssl
# tool), given as --tls-* flags to `tide scheduler`, two `tide worker`s and
# the client commands: a graph runs, and a published 1 MiB dataset moves
# from a retiring worker to the other over a TLS peer connection and comes
# back byte for byte. A worker without the flags never registers.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"
command -v openssl >/dev/null || skip "openssl is not installed (scripts/install-deps.sh --test)"

cd "$T_DIR"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=test-ca \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
  -keyout ca.key -out ca.pem 2>/dev/null || fail "openssl: cannot make a CA"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=node \
  -keyout "node key.pem" -out node.csr 2>/dev/null || fail "openssl: cannot make a request"
openssl x509 -req -in node.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
  -out "node cert.pem" 2>/dev/null || fail "openssl: cannot sign"
# paths with spaces travel as they are
TLS=(--tls-ca-file "$T_DIR/ca.pem" --tls-cert "$T_DIR/node cert.pem" --tls-key "$T_DIR/node key.pem")

start_scheduler "${TLS[@]}"
case "$SCHED_ADDR" in tls://*) ;; *) fail "scheduler address $SCHED_ADDR is not tls://" ;; esac
[ "$(jq 'has("tls")' "$SCHED_FILE")" = false ] || fail "tide scheduler named its files in the scheduler file"
start_worker a "${TLS[@]}"
start_worker b "${TLS[@]}"
wait_workers 2
# a worker without credentials: refused until its death timeout
bg plain "$TIDE_BIN" worker "$SCHED_ADDR" --name plain --death-timeout 2s
rc=0
wait "$BG_PID" || rc=$?
[ "$rc" != 0 ] || fail "the worker without credentials exited 0"
[ "$(nworkers)" = 2 ] || fail "$(nworkers) workers, want 2"

echo '{"tasks": {"a": {"fn": "tide.inc", "args": [1]}, "b": {"fn": "tide.add", "args": [{"ref": "a"}, 40]}},
 "outputs": ["b"]}' >g.json
out=$("$TIDE_BIN" run g.json --scheduler-file "$SCHED_FILE" "${TLS[@]}")
[ "$(echo "$out" | jq .b)" = 42 ] || fail "b: $out"
# without the flags the same client cannot run anything
expect_fail_only 1 "cannot reach the scheduler" "$TIDE_BIN" run g.json --scheduler-file "$SCHED_FILE"

echo '{"tasks": {"d": {"fn": "tide.bytes", "args": [1048576, 5]}}, "outputs": ["d"]}' >d.json
"$TIDE_BIN" run d.json --scheduler-file "$SCHED_FILE" "${TLS[@]}" --publish ds >/dev/null
want=$(bytes_sha256 1048576 5)
holder=$(api /api/v1/get_workers | jq -r '.workers[] | select(.nbytes >= 1048576) | .name')
[ "$(echo "$holder" | wc -w)" = 1 ] || fail "want one holder of the dataset, got: $holder"
"$TIDE_BIN" retire "$holder" --scheduler-file "$SCHED_FILE" "${TLS[@]}" >/dev/null
wait_workers 1
moved=$(api /metrics | awk '/^tide_transferred_bytes_total/ {print $2}')
awk -v m="$moved" 'BEGIN{exit !(m >= 1048576)}' || fail "only $moved bytes moved on retirement"
got=$("$TIDE_BIN" get ds --scheduler-file "$SCHED_FILE" "${TLS[@]}" | jq -r .d.sha256)
[ "$got" = "$want" ] || fail "dataset sha256 $got, want $want"
pass "graph over TLS, $moved bytes moved between workers over TLS, plain worker refused"
