#!/usr/bin/env bash
# The SLURM backend against stand-in sbatch/squeue/scancel commands (first
# in PATH), so its submission, polling, cancellation and failure paths are
# tested on any machine, with or without SLURM: adaptive 0 -> N -> 0, one
# squeue per poll interval (never per worker), every job cancelled at the
# end, and sbatch's error text surfacing in /api/v1/adaptive.
source "$TIDE_SRC/tests/lib/harness.sh"

FAKE="$T_DIR/fake"
mkdir -p "$FAKE/bin" "$FAKE/jobs"
echo 0 >"$FAKE/next"
cat >"$FAKE/bin/sbatch" <<'SH'
#!/usr/bin/env bash
# stand-in sbatch --parsable: the script on stdin runs at once, in its own
# process group; prints the job id
F=$(cd "$(dirname "$0")/.." && pwd)
echo "sbatch $*" >>"$F/calls"
if [ -n "${FAKE_SBATCH_FAIL:-}" ] && [ -e "$F/fail" ]; then
  echo "sbatch: error: Batch job submission failed: $FAKE_SBATCH_FAIL" >&2
  exit 1
fi
id=$(flock "$F/next" bash -c 'n=$(($(cat "$1") + 1)); echo $n >"$1"; echo $n' _ "$F/next")
cat >"$F/jobs/$id.sh"
setsid bash "$F/jobs/$id.sh" >"$F/jobs/$id.out" 2>&1 </dev/null &
echo $! >"$F/jobs/$id.pid"
echo "$id"
SH
cat >"$FAKE/bin/squeue" <<'SH'
#!/usr/bin/env bash
F=$(cd "$(dirname "$0")/.." && pwd)
[ -n "${FAKE_QUIET:-}" ] || echo "squeue $*" >>"$F/calls"  # the test's own look
for p in "$F"/jobs/*.pid; do
  [ -e "$p" ] || continue
  id=$(basename "$p" .pid)
  kill -0 "$(cat "$p")" 2>/dev/null && echo "$id RUNNING"
done
exit 0
SH
cat >"$FAKE/bin/scancel" <<'SH'
#!/usr/bin/env bash
F=$(cd "$(dirname "$0")/.." && pwd)
echo "scancel $*" >>"$F/calls"
for id in "$@"; do
  [ -f "$F/jobs/$id.pid" ] && kill -TERM -- "-$(cat "$F/jobs/$id.pid")" 2>/dev/null
done
exit 0
SH
chmod +x "$FAKE/bin/"*
export PATH="$FAKE/bin:$PATH"
export FAKE_SBATCH_FAIL="Invalid account or account/partition combination specified"
running_jobs() { FAKE_QUIET=1 squeue --me | grep -c ' RUNNING$' || true; }

SCHED_FILE="$T_DIR/scheduler.json"
bg cluster "$TIDE_BIN" cluster --backend slurm --name fk --port 0 --dashboard-port 0 \
  --scheduler-file "$SCHED_FILE" --log-directory "$T_DIR/logs" --walltime 10m --nthreads 1 \
  --adapt --minimum 0 --maximum 3 --interval 200ms --target-duration 1s --wait-count 3 \
  --backoff 500ms,1s --pause-after 2
CLUSTER_PID=$BG_PID
wait_for 20 test -s "$SCHED_FILE"
DASH_URL=$(jq -r .dashboard "$SCHED_FILE")

# 0 -> 3 -> 0
awk 'BEGIN { printf "{\"tasks\": {"; for (i = 0; i < 12; i++) printf "%s\"s%d\": {\"fn\": \"tide.sleep\", \"args\": [1, %d]}", (i ? ", " : ""), i, i
  printf "}, \"outputs\": ["; for (i = 0; i < 12; i++) printf "%s\"s%d\"", (i ? ", " : ""), i; printf "]}\n" }' >"$T_DIR/g.json"
t0=$(date +%s.%N)
run_graph "$T_DIR/g.json" --timeout 120 >"$T_DIR/out.json" || fail "tide run failed"
n=$(jq '[to_entries[] | select(.value == (.key | ltrimstr("s") | tonumber))] | length' "$T_DIR/out.json")
[ "$n" = 12 ] || fail "expected 12 right results, got $n"
subs=$(grep -c '^sbatch' "$FAKE/calls")
[ "$subs" -ge 1 ] && [ "$subs" -le 4 ] || fail "expected 1..4 sbatch calls for maximum 3, saw $subs"
grep -q -- '--parsable' "$FAKE/calls" || fail "sbatch was not called with --parsable"
wait_for 30 t_workers_eq 0
no_running() { [ "$(running_jobs)" -eq 0 ]; }
wait_for 30 no_running
grep -q '^scancel' "$FAKE/calls" || fail "no scancel for the jobs that were scaled down"
# polling: one squeue per interval (1 s), however many workers
el=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%d", b - a + 1}')
sq=$(grep -c '^squeue' "$FAKE/calls")
[ "$sq" -le $((el + 2)) ] || fail "$sq squeue calls in about ${el}s: more than one per second"
grep -q -- '--cpus-per-task=1' "$FAKE/jobs/1.sh" || fail "job script lacks --cpus-per-task"
grep -q -- "--job 'fk-" "$FAKE/jobs/1.sh" || fail "job script lacks --job"

# sbatch fails: the error text reaches /api/v1/adaptive; backoff, then pause
touch "$FAKE/fail"
run_graph "$T_DIR/g.json" --timeout 120 >/dev/null 2>&1 &
T_PIDS+=("$!")
paused() { api /api/v1/adaptive | jq -e '.paused == true' >/dev/null; }
wait_for 30 paused
api /api/v1/adaptive >"$T_DIR/adaptive.json"
jq -e '.error | test("Invalid account")' "$T_DIR/adaptive.json" >/dev/null ||
  fail "sbatch's error is not in /api/v1/adaptive: $(jq -c '{error, backoff}' "$T_DIR/adaptive.json")"
f=$(jq '.backoff.failures' "$T_DIR/adaptive.json")
[ "$f" = 2 ] || fail "paused after $f failures, expected 2 (--pause-after 2)"
api /api/v1/identity >/dev/null || fail "the cluster stopped serving"
pass "fake SLURM: 12 results with $subs jobs, $sq squeue calls in ${el}s, all cancelled; sbatch error shown, paused after 2"
