#!/usr/bin/env bash
# tide.exec on a real cluster: commands chain through refs (stdout is the
# result, bytes; the next one's stdin), and a failing command fails its
# task and `tide run` (exit 1, rc and stderr in the one error line).
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"

start_scheduler
start_worker a --allow-exec
start_worker b --allow-exec
wait_workers 2

# --- seq -> sort -rn -> sha256sum, each one's stdin a ref to the last ---
cat >"$T_DIR/chain.json" <<'G'
{"tasks": {"seq": {"fn": "tide.exec", "args": [["seq", "1", "1000"]]},
           "sort": {"fn": "tide.exec", "args": [["sort", "-rn"], {"ref": "seq"}]},
           "sum": {"fn": "tide.exec", "args": [["sha256sum"], {"ref": "sort"}]}},
 "outputs": ["sum"]}
G
run_graph "$T_DIR/chain.json" >"$T_DIR/chain.out" || fail "chain: $(cat "$T_DIR/chain.out")"
seq 1 1000 | sort -rn | sha256sum >"$T_DIR/want.txt"
# the result is sha256sum's output line as bytes: compare its size and hash
want_len=$(wc -c <"$T_DIR/want.txt")
want_sha=$(sha256sum <"$T_DIR/want.txt" | cut -d' ' -f1)
[ "$(jq -c .sum "$T_DIR/chain.out")" = "{\"bytes\":$want_len,\"sha256\":\"$want_sha\"}" ] \
  || fail "chain digest: $(cat "$T_DIR/chain.out"), want the bytes of: $(cat "$T_DIR/want.txt")"

# --- a command exiting 3 fails its task and the run ---
cat >"$T_DIR/fail.json" <<'G'
{"tasks": {"ok": {"fn": "tide.exec", "args": [["true"]]},
           "bad": {"fn": "tide.exec", "args": [["sh", "-c", "echo first >&2; echo boom >&2; exit 3"]]}},
 "outputs": ["ok", "bad"]}
G
expect_fail_only 1 'task "bad" failed: tide\.exec: "sh" exited with rc 3; stderr: first \| boom$' \
  run_graph "$T_DIR/fail.json"

# --- {"check": false} gives the rc instead ---
cat >"$T_DIR/nocheck.json" <<'G'
{"tasks": {"bad": {"fn": "tide.exec", "args": [["sh", "-c", "exit 3"], null, {"check": false}]}},
 "outputs": ["bad"]}
G
run_graph "$T_DIR/nocheck.json" >"$T_DIR/nocheck.out" || fail "check false: $(cat "$T_DIR/nocheck.out")"
[ "$(jq .bad.rc "$T_DIR/nocheck.out")" = 3 ] || fail "check false rc: $(cat "$T_DIR/nocheck.out")"

# --- a program missing on the worker is named ---
cat >"$T_DIR/missing.json" <<'G'
{"tasks": {"m": {"fn": "tide.exec", "args": [["tide-no-such-program-x"]]}}, "outputs": ["m"]}
G
expect_fail_only 1 'task "m" failed: tide\.exec: no such program "tide-no-such-program-x"$' \
  run_graph "$T_DIR/missing.json"

# --- a bad option is refused before anything runs ---
cat >"$T_DIR/badopt.json" <<'G'
{"tasks": {"m": {"fn": "tide.exec", "args": [["true"], null, 5]}}, "outputs": ["m"]}
G
expect_fail_only 2 'tide\.exec: argument 3 must be a map, got integer' run_graph "$T_DIR/badopt.json"
pass "seq | sort -rn | sha256sum through refs; rc 3 fails the run; check false; missing program"
