#!/usr/bin/env bash
# The worker swarm of the load tests (bench/swarm.c) stays a correct worker:
# 500 swarm workers in one process register with a real scheduler, which
# counts 500 workers; 2,000 tide.inc tasks come back as i + 1, a chain
# across swarm workers adds up, tide.sleep returns its value; the swarm
# exits 0 when the scheduler closes, having run every task once. Then the
# same through TLS with a token (the scheduler file of --security
# temporary): 20 swarm workers, 200 tide.inc right.
source "$TIDE_SRC/tests/lib/harness.sh"

N=500
SWARM="$TIDE_BUILD/tide_swarm"
[ -x "$SWARM" ] || fail "$SWARM is not built"
# the scheduler holds a socket per swarm worker
[ "$(ulimit -Hn)" -ge $((N * 2 + 200)) ] || skip "open-file hard limit $(ulimit -Hn) is below $((N * 2 + 200))"

# bad input: one tide: line, exit 2
set +e
"$SWARM" --scheduler-file "$T_DIR/none.json" -n 0 2>"$T_DIR/bad.err"
rc=$?
set -e
[ $rc = 2 ] || fail "-n 0: exit $rc, want 2"
grep -q '^tide: -n: ' "$T_DIR/bad.err" || fail "-n 0: no tide: line: $(cat "$T_DIR/bad.err")"

start_scheduler
bg swarm "$SWARM" --scheduler-file "$SCHED_FILE" -n $N
SWARM_PID=$BG_PID
wait_workers $N 30
got=$(api "/api/v1/get_workers?limit=1&fields=name" | jq .num_workers)
[ "$got" = $N ] || fail "get_workers counts $got workers, want $N"

# 2,000 independent tide.inc: each output is its argument plus one
jq -n '{tasks: ([range(2000)] | map({key: "i\(.)", value: {fn: "tide.inc", args: [.]}}) | from_entries),
        outputs: [range(2000) | "i\(.)"]}' >"$T_DIR/inc.json"
run_graph "$T_DIR/inc.json" >"$T_DIR/inc.out" || fail "tide run of 2,000 tide.inc failed"
right=$(jq '[to_entries[] | select(.value == ((.key | ltrimstr("i") | tonumber) + 1))] | length' "$T_DIR/inc.out")
[ "$right" = 2000 ] || fail "$right of 2,000 tide.inc outputs are right"

# a chain of 50 (each link's input comes from whichever swarm worker ran
# the one before), a sleep that returns its value, and a sum of both
jq -n '{tasks: ({c0: {fn: "tide.inc", args: [0]}} + ([range(1; 50)] |
          map({key: "c\(.)", value: {fn: "tide.inc", args: [{ref: "c\(. - 1)"}]}}) | from_entries) +
        {s: {fn: "tide.sleep", args: [0.2, 7]}, t: {fn: "tide.add", args: [{ref: "c49"}, {ref: "s"}]}}),
        outputs: ["c49", "s", "t"]}' >"$T_DIR/chain.json"
out=$(run_graph "$T_DIR/chain.json") || fail "tide run of the chain failed"
[ "$(jq -c . <<<"$out")" = '{"c49":50,"s":7,"t":57}' ] || fail "chain outputs: $out"

# the scheduler closes every swarm worker on shutdown: the swarm exits 0
kill -TERM "$SCHED_PID"
swarm_ended() { [ "$(awk '{print $3}' "/proc/$SWARM_PID/stat" 2>/dev/null || echo Z)" = Z ]; }
wait_for 20 swarm_ended
set +e
wait "$SWARM_PID"
rc=$?
set -e
[ $rc = 0 ] || fail "the swarm exited $rc after the scheduler closed"
line=$(grep 'tasks run' "$T_DIR/swarm.log") || fail "no summary from the swarm"
# 2,000 + 52 tasks, each run once
ran=$(sed -E 's/.* ([0-9]+) tasks run.*/\1/' <<<"$line")
[ "$ran" = 2052 ] || fail "the swarm ran $ran tasks, want 2052: $line"
grep -q "$N workers, $N registered" <<<"$line" || fail "summary: $line"

# TLS and the token come from the scheduler file, as for a worker
TF="$T_DIR/tls.json"
bg tls-cluster "$TIDE_BIN" cluster --security temporary --port 0 --dashboard-port 0 --scheduler-file "$TF"
wait_for 20 test -s "$TF"
[[ $(jq -r .address "$TF") == tls://* ]] || fail "not a TLS cluster: $(cat "$TF")"
bg tls-swarm "$SWARM" --scheduler-file "$TF" -n 20
wait_for 20 grep -q "20 workers registered" "$T_DIR/tls-swarm.log"
jq -n '{tasks: ([range(200)] | map({key: "i\(.)", value: {fn: "tide.inc", args: [.]}}) | from_entries),
        outputs: [range(200) | "i\(.)"]}' >"$T_DIR/tls-inc.json"
"$TIDE_BIN" run --scheduler-file "$TF" "$T_DIR/tls-inc.json" >"$T_DIR/tls-inc.out" || fail "tide run over TLS failed"
right=$(jq '[to_entries[] | select(.value == ((.key | ltrimstr("i") | tonumber) + 1))] | length' "$T_DIR/tls-inc.out")
[ "$right" = 200 ] || fail "$right of 200 tide.inc outputs over TLS are right"
pass "$N swarm workers registered, 2,000 tide.inc right, chain of 50 = 50, every task run once; 20 over TLS, 200 right"
