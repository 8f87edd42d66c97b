#!/usr/bin/env bash
# Every bad input a user can give: one "tide: " line on stderr and the
# exit code of docs/design.md §1 (2 bad usage/input, 1 the work failed /
# unreachable), and
# garbage on a socket closes only that connection.
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"
T="$TIDE_BIN"
cd "$T_DIR"

# --- bad graphs: refused before any scheduler is contacted (none runs) ---
NOSCHED=(--scheduler tcp://127.0.0.1:1)
printf '{"tasks": {\n  "a": {"fn": "tide.inc", "args": [1]},\n  "b": {"fn": "tide.inc" "args": [2]}\n}}\n' >malformed.json
expect_fail_only 2 '^tide: malformed\.json:3: malformed JSON: ' "$T" run malformed.json "${NOSCHED[@]}"
echo '{"tasks": {"c": {"fn": "tide.nope", "args": []}}}' >unknown_fn.json
expect_fail_only 2 '^tide: unknown_fn\.json:1: task "c": unknown function "tide\.nope"$' "$T" run unknown_fn.json "${NOSCHED[@]}"
echo '{"tasks": {"a": {"fn": "tide.identity", "args": [{"ref": "b"}]}, "b": {"fn": "tide.identity", "args": [{"ref": "a"}]}}}' >cycle.json
expect_fail_only 2 '^tide: cycle\.json:1: dependency cycle: a -> b -> a$' "$T" run cycle.json "${NOSCHED[@]}"
printf '{"tasks": {\n  "a": {"fn": "tide.noop"},\n  "b": {"fn": "tide.identity", "args": [{"ref": "x"}]}}}\n' >missing.json
expect_fail_only 2 '^tide: missing\.json:3: task "b" refers to unknown key "x"$' "$T" run missing.json "${NOSCHED[@]}"
echo '{"tasks": {"a": {"fn": "tide.inc", "args": ["one"]}}}' >types.json
expect_fail_only 2 '^tide: types\.json:1: task "a": tide\.inc: argument 1 must be an integer, got string$' "$T" run types.json "${NOSCHED[@]}"
expect_fail_only 2 '^tide: cannot read nothere\.json' "$T" run nothere.json "${NOSCHED[@]}"

# --- bad flags and values ---
echo '{"tasks": {"a": {"fn": "tide.inc", "args": [1]}}}' >ok.json
expect_fail_only 2 '^tide: --timeout: bad duration "abc"' "$T" run ok.json --timeout abc "${NOSCHED[@]}"
expect_fail_only 2 '^tide: unknown flag "--bogus"' "$T" run ok.json --bogus "${NOSCHED[@]}"
expect_fail_only 2 '^tide: unknown command "nope"' "$T" nope
expect_fail 2 '^tide: .*12XB' "$T" worker tcp://127.0.0.1:1 --memory-limit 12XB
expect_fail_only 2 '^tide: scale: ' "$T" scale -3 "${NOSCHED[@]}"

# --- unreachable scheduler ---
expect_fail_only 1 '^tide: cannot reach the scheduler at tcp://127\.0\.0\.1:1: connection refused$' "$T" run ok.json "${NOSCHED[@]}"
expect_fail_only 1 '^tide: cannot reach the scheduler at tcp://127\.0\.0\.1:1: connection refused$' "$T" datasets "${NOSCHED[@]}"

expect_fail_only 2 '^tide: bad address "nonsense"' "$T" datasets --scheduler nonsense
expect_fail_only 1 '^tide: cannot read scheduler file nothere\.json: ' "$T" datasets --scheduler-file nothere.json
expect_fail_only 2 '^tide: give --scheduler or --scheduler-file, not both$' "$T" datasets --scheduler-file x --scheduler tcp://127.0.0.1:1

# --- unknown config key ---
printf 'scheduler:\n  bogus-key: 3\n' >bogus.yaml
TIDE_CONFIG="$T_DIR/bogus.yaml" expect_fail 2 'bogus-key' "$T" scheduler --port 0 --dashboard-port 0

# --- a real scheduler and two workers from here on ---
start_scheduler
start_worker a
start_worker b
wait_workers 2
PORT=${SCHED_ADDR##*:}

# port in use: a second scheduler on the same port fails with one line
expect_fail 1 "$PORT" "$T" scheduler --host 127.0.0.1 --port "$PORT" --dashboard-port 0
# dashboard port in use: nothing else on stderr (no "listening" line first)
DPORT=$(jq -r .dashboard "$SCHED_FILE"); DPORT=${DPORT##*:}
expect_fail_only 1 "dashboard port $DPORT .*in use" "$T" scheduler --host 127.0.0.1 --port 0 --dashboard-port "$DPORT"
expect_fail_only 1 "dashboard port $DPORT .*in use" "$T" cluster --host 127.0.0.1 --port 0 --dashboard-port "$DPORT"

# plugins: missing file, and a library without tide_plugin_init
expect_fail 2 '^tide: .*/nonexistent/libx\.so' "$T" worker --scheduler-file "$SCHED_FILE" --name p1 --preload /nonexistent/libx.so
echo 'int not_the_init(void) { return 0; }' >noinit.c
cc -shared -fPIC -o libnoinit.so noinit.c || fail "cannot build libnoinit.so"
expect_fail 2 '^tide: .*tide_plugin_init' "$T" worker --scheduler-file "$SCHED_FILE" --name p2 --preload "$T_DIR/libnoinit.so"
# a duplicate worker name is refused
expect_fail 2 '^tide: .*worker named "a"' "$T" worker --scheduler-file "$SCHED_FILE" --name a --death-timeout 2s

# --- garbage on the scheduler's port and on a worker's data port ---
WADDR=$(api /api/v1/identity | jq -r '.workers | keys[0]')
WPORT=${WADDR##*:}
garbage() {
  local port=$1
  # text, an oversized frame, a well-formed frame that is not a hello
  (printf 'GET / HTTP/1.0\r\n\r\n' >/dev/tcp/127.0.0.1/"$port") 2>/dev/null || true
  (printf '\xff\xff\xff\xff garbage' >/dev/tcp/127.0.0.1/"$port") 2>/dev/null || true
  (printf '\x00\x00\x00\x03\x91\x80\xc1' >/dev/tcp/127.0.0.1/"$port") 2>/dev/null || true
  (head -c 4096 /dev/urandom >/dev/tcp/127.0.0.1/"$port") 2>/dev/null || true
}
garbage "$PORT"
garbage "$WPORT"
kill -0 "$SCHED_PID" || fail "the scheduler died after garbage"
t_workers_eq 2 || fail "workers: $(nworkers), want 2 after garbage"
# still serving: a graph whose results must move between workers
cat >after.json <<'G'
{"tasks": {"a": {"fn": "tide.bytes", "args": [100000, 1]},
  "b": {"fn": "tide.checksum", "args": [{"ref": "a"}]},
  "c": {"fn": "tide.inc", "args": [41]}}, "outputs": ["b", "c"]}
G
run_graph after.json --timeout 30 >after.out || fail "graph after garbage failed"
[ "$(jq -r .b after.out)" = "$(bytes_sha256 100000 1)" ] || fail "after garbage: $(cat after.out)"
[ "$(jq .c after.out)" = 42 ] || fail "after garbage: $(cat after.out)"
t_workers_eq 2 || fail "workers: $(nworkers), want 2 at the end"
pass "every bad input: one tide: line and the right exit code"
