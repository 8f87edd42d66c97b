#!/usr/bin/env bash
# Slow clients cannot hold the HTTP API down: with 200 connections open
# that each sent half a request and then nothing (slowloris), a normal GET
# is answered within 3 s every half second for as long as they stay open,
# and the server closes every slow one after its idle timeout
# (limits.http-timeout, 10 s), well before the 60 s they would wait.
source "$TIDE_SRC/tests/lib/harness.sh"

N=200
start_scheduler
PORT=${DASH_URL##*:}
: >"$T_DIR/open"
: >"$T_DIR/closed"
# slow I: a connection that sends one header line and waits for the server
# to close it (EOF or reset); "closed" gets the seconds it lasted
slow() {
  exec 3<>"/dev/tcp/127.0.0.1/$PORT" || exit 1
  printf 'GET /api/v1/identity HTTP/1.1\r\nHost: 127.0.0.1\r\n' >&3
  echo "$1" >>"$T_DIR/open"
  local t0=$SECONDS rc=0
  timeout 60 cat <&3 >/dev/null 2>&1 || rc=$?
  [ "$rc" = 124 ] || echo "$((SECONDS - t0))" >>"$T_DIR/closed"
}
for i in $(seq "$N"); do bg "slow-$i" slow "$i"; done
t_open() { [ "$(wc -l <"$T_DIR/open")" -ge "$N" ]; }
wait_for 20 t_open
t0=$(date +%s.%N)
ident=$(curl -sf --max-time 3 "$DASH_URL/api/v1/identity") ||
  fail "GET /api/v1/identity not answered within 3 s with $N slow connections open"
el=$(echo "$(date +%s.%N) - $t0" | bc)
echo "$ident" | jq -e '.id | startswith("Scheduler-")' >/dev/null || fail "identity: $ident"
nclosed=$(wc -l <"$T_DIR/closed")
[ "$nclosed" -lt "$N" ] || fail "all $N slow connections were closed before the GET"
pass "GET answered in ${el}s with $N slow connections open"

# the API keeps answering until the last slow connection is closed
t_closed() { [ "$(wc -l <"$T_DIR/closed")" -ge "$N" ]; }
polls=0
deadline=$((SECONDS + 40))
while ! t_closed; do
  [ "$SECONDS" -lt "$deadline" ] || fail "only $(wc -l <"$T_DIR/closed") of $N slow connections closed in 40 s"
  curl -sf --max-time 3 "$DASH_URL/api/v1/identity" | jq -e '.id | startswith("Scheduler-")' >/dev/null ||
    fail "GET /api/v1/identity not answered within 3 s after $polls answers, $(wc -l <"$T_DIR/closed") slow connections closed"
  polls=$((polls + 1))
  sleep 0.5
done
(( polls >= 10 )) || fail "only $polls polls while the slow connections were open"
longest=$(sort -n "$T_DIR/closed" | tail -1)
[ "$longest" -le 30 ] || fail "a slow connection lasted ${longest}s"
pass "all $N slow connections closed by the server, the longest after ${longest}s; the API answered all $polls polls meanwhile"
