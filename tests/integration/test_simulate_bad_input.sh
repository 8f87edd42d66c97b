#!/usr/bin/env bash
# Bad input to `tide simulate`: one `tide: ` line and exit 2, naming the
# trace's file and line when a line of it is wrong; --generate and --sweep
# give what they promise.
source "$TIDE_SRC/tests/lib/harness.sh"

bad() {
  local want=$1; shift
  set +e
  err=$("$TIDE_BIN" simulate "$@" 2>&1 >/dev/null); rc=$?
  set -e
  [ "$rc" = 2 ] || fail "tide simulate $*: exit $rc (want 2): $err"
  [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "tide simulate $*: not one line: $err"
  [[ "$err" == "tide: "*"$want"* ]] || fail "tide simulate $*: message \"$err\" lacks \"$want\""
}

T="$T_DIR/ok.jsonl"
printf '%s\n' '{"t": 0, "prefix": "a", "n": 8, "duration": 0.5}' >"$T"
printf '%s\n' '{"t": 0, "prefix": "a", "n": 8, "duration": 0.5}' '{"t": 1, "prefix": "a", "n": 8, "duration": "long"}' >"$T_DIR/bad.jsonl"
printf '%s\n' '{"t": 0, "prefix": "a", "n": 2, "duration": 1}' 'not json' >"$T_DIR/nojson.jsonl"
printf '%s\n' '{"t": 5, "prefix": "a", "n": 2, "duration": 1}' '{"t": 1, "prefix": "a", "n": 2, "duration": 1}' >"$T_DIR/order.jsonl"
printf '%s\n' '{"t": 0, "tasks": [{"key": "x", "duration": 1, "deps": ["nope"]}]}' >"$T_DIR/dep.jsonl"
printf '%s\n' '{"done": "x", "duration": 1}' >"$T_DIR/done.jsonl"
: >"$T_DIR/empty.jsonl"

bad "bad.jsonl:2: " "$T_DIR/bad.jsonl"
bad "nojson.jsonl:2: not JSON" "$T_DIR/nojson.jsonl"
bad "order.jsonl:2: " "$T_DIR/order.jsonl"
bad "done.jsonl:1: " "$T_DIR/done.jsonl"
bad "no submission" "$T_DIR/empty.jsonl"
bad "refused" "$T_DIR/dep.jsonl"
bad "cannot open trace" "$T_DIR/missing.jsonl"
bad "which trace" --maximum 3
bad "--interval" "$T" --interval 0
bad "--wait-count" "$T" --wait-count 0
bad "minimum 4 is above maximum 2" "$T" --minimum 4 --maximum 2
bad "--startup" "$T" --startup soon
bad "not for the local backend" "$T" --startup slurm=1s
bad "no startup model" "$T" --backend mainframe
bad "--startup-from" "$T" --startup-from "$T"
bad "--sweep" "$T" --sweep colour=1,2
bad "--sweep: interval" "$T" --sweep interval=0,1
bad "unknown shape" --generate spiral
bad "unknown flag --bogus" "$T" --bogus 1

# a generated burst trace: 3 lines of 64 tasks, 10 s apart, simulated whole
"$TIDE_BIN" simulate --generate burst --count 3 --tasks 64 --duration 0.5 --gap 10 >"$T_DIR/gen.jsonl"
[ "$(wc -l <"$T_DIR/gen.jsonl")" = 3 ] || fail "generate: $(cat "$T_DIR/gen.jsonl")"
"$TIDE_BIN" simulate "$T_DIR/gen.jsonl" --maximum 16 --json >"$T_DIR/gen.json"
[ "$(jq '.latency_s | length' "$T_DIR/gen.json")" = 3 ] || fail "latencies: $(cat "$T_DIR/gen.json")"
[ "$(jq '.tasks' "$T_DIR/gen.json")" = 192 ] || fail "tasks: $(cat "$T_DIR/gen.json")"
# 96 s of work: busy seconds exact, utilisation = busy / worker-seconds
jq -e '.busy_seconds == 96 and (.utilisation - 96 / .worker_seconds | fabs) < 1e-6' "$T_DIR/gen.json" >/dev/null ||
  fail "busy/utilisation: $(cat "$T_DIR/gen.json")"
"$TIDE_BIN" simulate --generate longtail --count 2 --tasks 50 >"$T_DIR/lt.jsonl"
[ "$(jq -s '[.[].tasks | length] | add' "$T_DIR/lt.jsonl")" = 100 ] || fail "longtail trace"

# a sweep of 2 x 2 x 2 policies: 8 rows, the front non-empty and no point on it dominated
"$TIDE_BIN" simulate "$T_DIR/gen.jsonl" --maximum 16 --json \
  --sweep interval=0.1,1 target_duration=1,5 wait_count=1,3 >"$T_DIR/sweep.json"
[ "$(jq length "$T_DIR/sweep.json")" = 8 ] || fail "sweep rows: $(cat "$T_DIR/sweep.json")"
jq -e '[.[] | select(.pareto)] | length >= 1' "$T_DIR/sweep.json" >/dev/null || fail "empty front"
jq -e '. as $all | [.[] | select(.pareto) | . as $p |
         $all[] | select(.worker_seconds < $p.worker_seconds and .mean_latency_s < $p.mean_latency_s)] | length == 0' \
  "$T_DIR/sweep.json" >/dev/null || fail "a dominated point on the front: $(cat "$T_DIR/sweep.json")"
pass "bad traces and flags refused with one line, generate and sweep right"
