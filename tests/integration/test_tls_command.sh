#!/usr/bin/env bash
# The command backend under --security temporary: {tls} hands the worker its
# certificate flags (paths with spaces stay one word each), the worker joins
# over tls:// and computes; a start command without {tls} is refused up
# front with one line, since its workers could never join.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/adaptive.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"

mkdir -p "$T_DIR/my dir"
cat >"$T_DIR/start.sh" <<EOF2
#!/bin/sh
# usage: start.sh SCHEDULER NAME [TLS FLAGS...]
s=\$1 n=\$2
shift 2
"$TIDE_BIN" worker "\$s" --name "\$n" --job "\$n" "\$@" >"$T_DIR/job-\$n.log" 2>&1 &
echo "\$!"
EOF2
cat >"$T_DIR/stop.sh" <<EOF2
#!/bin/sh
kill "\$1" 2>/dev/null
exit 0
EOF2
chmod +x "$T_DIR/start.sh" "$T_DIR/stop.sh"

expect_fail 2 "no \{tls\} placeholder" "$TIDE_BIN" cluster --backend command --port 0 \
  --dashboard-port 0 --security temporary --start-cmd "$T_DIR/start.sh {scheduler} {name}"

TMPDIR="$T_DIR/my dir" start_cluster --backend command --security temporary \
  --start-cmd "'$T_DIR/start.sh' {scheduler} {name} {tls}" --stop-cmd "'$T_DIR/stop.sh' {job_id}"
SEC_DIR=$(dirname "$(json_get "$SCHED_FILE" '.tls."ca-file"')")
case "$SEC_DIR" in "$T_DIR/my dir/tide-security-"*) ;; *) fail "credentials in $SEC_DIR" ;; esac
"$TIDE_BIN" scale 2 --scheduler-file "$SCHED_FILE" >/dev/null || fail "scale 2 refused"
wait_workers 2 15
echo '{"tasks": {"a": {"fn": "tide.bytes", "args": [65536, 3]}, "b": {"fn": "tide.checksum", "args": [{"ref": "a"}]}},
 "outputs": ["b"]}' >"$T_DIR/g.json"
want=$(bytes_sha256 65536 3)
[ "$(run_graph "$T_DIR/g.json" | jq -r .b)" = "$want" ] || fail "wrong checksum through command workers"
api /api/v1/get_workers | jq -e '[.workers[] | .address | startswith("tls://")] | all' >/dev/null ||
  fail "a worker is not on tls://"
"$TIDE_BIN" scale 0 --scheduler-file "$SCHED_FILE" >/dev/null || fail "scale 0 refused"
wait_workers 0 15
stop_cluster
[ ! -e "$SEC_DIR" ] || fail "$SEC_DIR left behind"
pass "command workers joined over tls:// with {tls}; missing {tls} refused"
