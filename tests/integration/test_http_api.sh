#!/usr/bin/env bash
# The HTTP API of a real `tide scheduler` (port 0, --dashboard-port 0): every
# route with curl, bad bodies, unknown routes and wrong methods, the
# dashboard files, and `promtool check metrics` on a live scrape.
source "$TIDE_SRC/tests/lib/harness.sh"

# expect_error CODE WORD METHOD PATH [BODY]: a JSON {"error"} mentioning WORD.
expect_error() {
  local want=$1 word=$2; shift 2
  expect "$want" "$@"
  local msg; msg=$(jq -r '.error' "$T_DIR/body") || fail "$1 $2: not a JSON error: $(body)"
  case "$msg" in *"$word"*) ;; *) fail "$1 $2 ${3:-}: error \"$msg\" does not mention \"$word\"" ;; esac
}

start_scheduler
case "$DASH_URL" in http://127.0.0.1:[0-9]*) ;; *) fail "dashboard URL \"$DASH_URL\"" ;; esac

# --- read routes on an empty scheduler
expect 200 GET /api/v1/identity
[ "$(jq -r '.address' "$T_DIR/body")" = "$SCHED_ADDR" ] || fail "identity address $(body)"
[ "$(jq '.workers | length' "$T_DIR/body")" = 0 ] || fail "identity workers $(body)"
[ "$(jq '.tasks | length' "$T_DIR/body")" = 7 ] || fail "identity task states $(body)"
expect 200 GET /api/v1/get_workers
[ "$(jq '.num_workers' "$T_DIR/body")" = 0 ] || fail "get_workers $(body)"
expect 200 GET /api/v1/adaptive_target
[ "$(jq '.workers' "$T_DIR/body")" = 0 ] || fail "adaptive_target $(body)"
expect 200 GET /api/v1/adaptive
[ "$(jq -r '.state' "$T_DIR/body")" = inactive ] || fail "adaptive state $(body)"
[ "$(jq -c '[.minimum, .maximum, .wait_count, .plan, .log]' "$T_DIR/body")" = '[0,"inf",3,[],[]]' ] ||
  fail "adaptive defaults $(body)"
expect 200 GET /api/v1/cluster
[ "$(body)" = "{}" ] || fail "cluster without a cluster manager: $(body)"
expect 200 GET /api/v1/logs
jq -e '(.scheduler | type == "array") and (.cluster | type == "array") and (.workers | type == "object")' \
  "$T_DIR/body" >/dev/null || fail "logs shape $(body)"
pass "read routes on an empty scheduler"

# --- unknown routes, wrong methods, bad bodies
expect_error 404 /api/v1/nope GET /api/v1/nope
expect_error 404 "" GET /api/v1/identity/extra
expect_error 405 POST GET /api/v1/scale
expect_error 405 POST GET /api/v1/adapt
expect_error 405 POST GET /api/v1/retire_workers
expect_error 405 GET POST /api/v1/identity '{}'
expect_error 405 GET PUT /metrics '{}'
# a 405 names the allowed method in an Allow header (RFC 9110)
allow_of() { curl -s -o /dev/null -D - -X "$1" --max-time 5 "$DASH_URL$2" | tr -d '\r' |
  awk 'tolower($1) == "allow:" {sub(/^[^:]*: */, ""); print}'; }
[ "$(allow_of GET /api/v1/scale)" = POST ] || fail "405 on /api/v1/scale: Allow '$(allow_of GET /api/v1/scale)'"
[ "$(allow_of DELETE /api/v1/identity)" = GET ] || fail "405 on /api/v1/identity: no Allow GET"
[ "$(allow_of POST /)" = "GET, HEAD" ] || fail "405 on /: Allow '$(allow_of POST /)'"
expect_error 400 "malformed JSON" POST /api/v1/scale '{"n": '
expect_error 400 "JSON object" POST /api/v1/scale '[1]'
expect_error 400 "JSON object" POST /api/v1/adapt '"stop"'
expect_error 400 "n:" POST /api/v1/scale '{"n": -1}'
expect_error 400 "n:" POST /api/v1/scale '{"n": 2.5}'
expect_error 400 "n:" POST /api/v1/scale '{"n": "2"}'
expect_error 400 minimum POST /api/v1/adapt '{"minimum": "one"}'
expect_error 400 maximum POST /api/v1/adapt '{"maximum": -2}'
expect_error 400 interval POST /api/v1/adapt '{"interval": "soon"}'
expect_error 400 target_duration POST /api/v1/adapt '{"target_duration": false}'
expect_error 400 wait_count POST /api/v1/adapt '{"wait_count": "3"}'
expect_error 400 '"speed"' POST /api/v1/adapt '{"speed": 3}'
expect_error 400 workers POST /api/v1/retire_workers '{"workers": "w1"}'
expect_error 400 workers POST /api/v1/retire_workers '{"workers": [1]}'
expect_error 400 since GET '/api/v1/task_stream?since=yesterday'
# valid bodies, but a bare scheduler has no cluster manager
expect_error 400 "no cluster manager" POST /api/v1/scale '{"n": 2}'
expect_error 400 "no cluster manager" POST /api/v1/adapt '{"minimum": 1, "maximum": "inf"}'
# bodies over 1 MiB
head -c 1100000 /dev/zero | tr '\0' ' ' > "$T_DIR/big.json"
code=$(curl -s -o "$T_DIR/body" -w '%{http_code}' --max-time 30 -H 'Content-Type: application/json' \
  --data-binary @"$T_DIR/big.json" "$DASH_URL/api/v1/scale")
[ "$code" = 413 ] || fail "1.1 MB body: HTTP $code, want 413"
pass "404, 405, 400 and 413 answers"

# --- dashboard page and its files, served by the scheduler itself
expect 200 GET /
grep -q '<html' "$T_DIR/body" || fail "GET / is not the page"
grep -q '/static/app.js' "$T_DIR/body" || fail "the page does not load app.js"
if grep -Eq 'src="https?:|href="https?:' "$T_DIR/body"; then fail "the page loads something from outside"; fi
expect 200 GET /static/app.js
expect 200 GET /static/style.css
expect 200 GET /static/uPlot.iife.min.js
[ "$(stat -c %s "$T_DIR/body")" -gt 10000 ] || skip_part "uPlot was not embedded (npm was unavailable at build time)"
expect 404 GET /static/nothing.js
pass "dashboard page and assets"

# --- with a worker and some finished tasks
start_worker w1 --nthreads 2
wait_for 20 t_workers_eq 1
expect 200 GET /api/v1/get_workers
jq -e '.num_workers == 1 and .workers[0].name == "w1" and .workers[0].nthreads == 2
       and (.workers[0].address | startswith("tcp://")) and .workers[0].status == "running"' \
  "$T_DIR/body" >/dev/null || fail "get_workers with w1: $(body)"
cat > "$T_DIR/graph.json" <<'EOF'
{"tasks": {"a": {"fn": "tide.inc", "args": [1]},
           "b": {"fn": "tide.inc", "args": [{"ref": "a"}]},
           "c": {"fn": "tide.sleep", "args": [0.05, 7], "prefix": "nap"}},
 "outputs": ["b", "c"]}
EOF
out=$(run_graph "$T_DIR/graph.json") || fail "tide run failed"
[ "$(echo "$out" | jq -c '[.b, .c]')" = "[3,7]" ] || fail "graph outputs $out"
expect 200 GET /api/v1/tasks
jq -e '.prefixes["tide.inc"].count >= 2 and .prefixes["nap"].duration_average >= 0.04
       and (.states | length) == 7' "$T_DIR/body" >/dev/null || fail "tasks after a run: $(body)"
expect 200 GET '/api/v1/task_stream?since=0'
jq -e '(.tasks | length) >= 3 and (.workers | length) == 1 and ([.tasks[] | .stop >= .start] | all)
       and ([.tasks[].prefix] | index("nap") != null)' "$T_DIR/body" >/dev/null ||
  fail "task_stream after a run: $(body)"
later=$(jq '.now + 10' "$T_DIR/body")
expect 200 GET "/api/v1/task_stream?since=$later"
[ "$(jq '.tasks | length' "$T_DIR/body")" = 0 ] || fail "task_stream since the future: $(body)"
expect 200 GET /api/v1/logs
jq -e '(.scheduler | length) > 0' "$T_DIR/body" >/dev/null || fail "no scheduler log lines: $(body)"
pass "workers, tasks, task stream and logs after a run"

# --- metrics: the required families, then promtool on the live scrape
expect 200 GET /metrics
m="$T_DIR/body"
for f in tide_workers tide_workers_requested tide_adaptive_target tide_tasks \
         tide_task_prefix_duration_seconds tide_memory_bytes tide_worker_nbytes \
         tide_retired_workers_total tide_recomputed_tasks_total tide_tasks_by_prefix \
         tide_retirements_failed_total tide_rm_submissions_total tide_rm_submit_failures_total \
         tide_worker_startup_seconds tide_adaptive_capped_total tide_rm_worker_seconds_total; do
  grep -q "^# HELP $f " "$m" || fail "metrics: no HELP for $f"
  grep -q "^# TYPE $f " "$m" || fail "metrics: no TYPE for $f"
done
grep -qx 'tide_workers 1' "$m" || fail "metrics: tide_workers is not 1"
grep -q '^tide_task_prefix_duration_seconds{prefix="nap"} ' "$m" || fail "metrics: no duration for nap"
grep -qx 'tide_worker_nbytes{worker="w1"} [0-9.e+]*' "$m" || fail "metrics: no tide_worker_nbytes for w1"
grep -qx 'tide_recomputed_tasks_total 0' "$m" || fail "metrics: recomputed tasks"
if command -v promtool >/dev/null 2>&1; then
  promtool check metrics < "$m" || fail "promtool check metrics failed"
  pass "promtool check metrics"
else
  skip_part "promtool is not installed (package prometheus): metrics format not linted"
fi

# --- retire_workers on a bare scheduler
expect 200 POST /api/v1/retire_workers '{"workers": ["ghost"]}'
jq -e '.retired == [] and (.not_retired.ghost | type == "string")' "$T_DIR/body" >/dev/null ||
  fail "retire an unknown worker: $(body)"
expect 200 POST /api/v1/retire_workers '{"workers": ["w1"]}'
jq -e '.retired == ["w1"] and .not_retired == {}' "$T_DIR/body" >/dev/null || fail "retire w1: $(body)"
wait_for 20 t_workers_eq 0
expect 200 GET /metrics
grep -qx 'tide_retired_workers_total 1' "$T_DIR/body" || fail "metrics: retired counter"
pass "retire_workers"
