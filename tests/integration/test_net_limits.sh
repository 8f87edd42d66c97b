#!/usr/bin/env bash
# Connection limits of a real scheduler (docs/security.md), from raw
# sockets: 500 connections that never finish the handshake are all closed
# by the handshake timeout while the API keeps answering and a client still
# runs work; three peers announcing 1 GiB frames before authenticating are
# closed without the scheduler's memory growing.
source "$TIDE_SRC/tests/lib/harness.sh"

printf 'limits-secret\n' > "$T_DIR/token"
export TIDE_LIMITS__HANDSHAKE_TIMEOUT=2s TIDE_LIMITS__IDLE_TIMEOUT=2s
start_scheduler --auth-token-file "$T_DIR/token"
unset TIDE_LIMITS__HANDSHAKE_TIMEOUT TIDE_LIMITS__IDLE_TIMEOUT
PORT=${SCHED_ADDR##*:}
start_worker w1 --auth-token-file "$T_DIR/token"
wait_workers 1

# closed_fd FD: true once the server closed FD (EOF, or a reset after an
# abort: cat fails then, but not with timeout's 124)
closed_fd() { timeout 2 cat <&"$1" >/dev/null 2>&1; [ $? != 124 ]; }
metric() { api /metrics | awk -v k="$1" '$1 == k {print $2}'; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$SCHED_PID/status"; }

# 500 idle connections: open, silent
fds=()
for i in $(seq 500); do
  exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" || fail "connection $i refused"
  fds+=("$fd")
done
start=$(date +%s.%N)
# meanwhile the API answers and a client with the token runs a graph
[ "$(nworkers)" = 1 ] || fail "API did not answer with 500 idle connections open"
jq -n '{tasks: {a: {fn: "tide.inc", args: [1]}}, outputs: ["a"]}' > "$T_DIR/g.json"
[ "$(run_graph --timeout 20s "$T_DIR/g.json" | jq .a)" = 2 ] || fail "no result while 500 connections idle"
t_all_closed() { [ "$(metric tide_handshake_refused_total)" = 500 ]; }
wait_for 20 t_all_closed
took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')
awk -v t="$took" 'BEGIN {exit !(t >= 1.5)}' || fail "idle connections closed after ${took}s, before the 2 s timeout"
# every one of them sees its end (EOF after the challenge and the error)
for fd in "${fds[@]}"; do
  closed_fd "$fd" || fail "connection fd $fd still open"
  exec {fd}>&-
done
pass "500 idle connections closed after ${took}s (timeout 2 s); the API and work went on"

# three unauthenticated 1 GiB frame announcements
rss0=$(rss_kb)
for i in 1 2 3; do
  exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
  { printf '\x40\x00\x00\x00'; head -c 65536 /dev/zero; } >&"$fd" 2>/dev/null || true
  closed_fd "$fd" || fail "the 1 GiB announcement $i was not closed"
  exec {fd}>&-
done
rss1=$(rss_kb)
(( rss1 < rss0 + 16384 )) || fail "scheduler memory grew from ${rss0} kB to ${rss1} kB"
kill -0 "$SCHED_PID" || fail "the scheduler died"
[ "$(nworkers)" = 1 ] || fail "the worker was lost"
pass "three 1 GiB announcements refused; RSS ${rss0} kB -> ${rss1} kB"
