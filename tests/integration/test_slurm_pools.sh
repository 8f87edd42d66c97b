#!/usr/bin/env bash
# docs/adaptive.md "Pools" through a real SLURM: a local pool of small
# workers (max 4) and a SLURM pool advertising BIG=1 (min 0, max 2). 100
# small tasks and 4 that need BIG=1: only the BIG tasks bring SLURM jobs
# (1..2, named after the big pool; none for the small pool), they run on
# the SLURM pool's workers only, every value is right, and the SLURM pool
# shrinks back to 0 with squeue empty.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/slurm.sh"
slurm_require

start_slurm_cluster --nthreads 1 --adapt --interval 200ms --wait-count 3 --walltime 10m \
  --pool small:backend=local,max=4 --pool big:backend=slurm,resources=BIG=1,min=0,max=2
api /api/v1/cluster | jq -e '[.pools[] | [.name, .backend, .resources]] == [["small","LocalCluster",""],["big","SLURMCluster","BIG=1"]]' >/dev/null ||
  fail "pools: $(api /api/v1/cluster | jq -c .pools)"
[ "$(slurm_njobs)" -eq 0 ] || fail "SLURM jobs before any work"

jq -n '{tasks: (([range(100)] | map({key: "s\(.)", value: {fn: "tide.sleep", args: [0.05, .]}}))
               + ([range(4)] | map({key: "b\(.)", value: {fn: "tide.sleep", args: [1, (1000 + .)],
                                                          resources: {BIG: 1}}}))
               | from_entries),
        outputs: ([range(100) | "s\(.)"] + [range(4) | "b\(.)"])}' > "$T_DIR/g.json"
run_graph "$T_DIR/g.json" --timeout 120 > "$T_DIR/out.json" &
RUN=$!
T_PIDS+=("$RUN")
# sample our SLURM jobs and which pool each worker is in while it runs
maxjobs=0
: > "$T_DIR/jobs"
: > "$T_DIR/who"
while kill -0 "$RUN" 2>/dev/null; do
  slurm_our_jobs >> "$T_DIR/jobs"
  j=$(slurm_njobs)
  [ "$j" -gt "$maxjobs" ] && maxjobs=$j
  api /api/v1/get_workers 2>/dev/null | jq -c '.workers[] | {address, pool}' >> "$T_DIR/who" || true
  sleep 0.2
done
wait "$RUN" || fail "tide run failed: $(cat "$T_DIR/out.json")"
got=$(jq '[to_entries[] | select(.key | startswith("s")) | select(.value == (.key | ltrimstr("s") | tonumber))] | length' "$T_DIR/out.json")
[ "$got" = 100 ] || fail "$got of 100 small values right"
got=$(jq '[to_entries[] | select(.key | startswith("b")) | select(.value == 1000 + (.key | ltrimstr("b") | tonumber))] | length' "$T_DIR/out.json")
[ "$got" = 4 ] || fail "$got of 4 BIG values right"

# SLURM jobs came for the big pool only, 1..2 of them
[ "$maxjobs" -ge 1 ] && [ "$maxjobs" -le 2 ] || fail "$maxjobs SLURM jobs at once, want 1..2: $(sort -u "$T_DIR/jobs")"
awk '{print $2}' "$T_DIR/jobs" | sort -u > "$T_DIR/names"
grep -q -- "^$SLURM_NAME-big-" "$T_DIR/names" || fail "no SLURM job of the big pool: $(cat "$T_DIR/names")"
! grep -qv -- "^$SLURM_NAME-big-" "$T_DIR/names" || fail "SLURM jobs of another pool: $(cat "$T_DIR/names")"
log=$(api /api/v1/adaptive | jq -c .log)
peak_big=$(echo "$log" | jq '[.[] | select(.pool == "big" and .status == "up") | .n] | max // 0')
[ "$peak_big" -ge 1 ] && [ "$peak_big" -le 2 ] || fail "big pool peak $peak_big: $log"
[ "$(echo "$log" | jq '[.[] | select(.pool == "big" and .status == "up") | .queued_share] | max')" = 0 ] ||
  fail "the SLURM pool grew for small tasks: $log"
# the BIG tasks ran on the SLURM pool's workers
jq -s 'unique' "$T_DIR/who" > "$T_DIR/who.json"
on_wrong=$(api '/api/v1/task_stream?since=0' | jq --slurpfile who "$T_DIR/who.json" '
  ($who[0] | map({(.address): .pool}) | add) as $pool
  | [.tasks[] | select((.key | test("/b[0-9]+$")) and $pool[.worker] != "big")] | length')
[ "$on_wrong" = 0 ] || fail "$on_wrong BIG task(s) ran outside the SLURM pool"

# the SLURM pool back to 0: workers retired, jobs gone from squeue
pool_workers() { api /api/v1/cluster | jq -c '[.pools[] | .workers]'; }
big_empty() { [ "$(api '/api/v1/pools?name=big' | jq '.workers + .plan')" = 0 ]; }
wait_for 60 big_empty || fail "the SLURM pool did not shrink to 0: $(api '/api/v1/pools?name=big')"
wait_for 30 slurm_no_jobs || fail "SLURM jobs left: $(slurm_our_jobs)"
startup=$(api '/api/v1/pools?name=big' | jq .startup)
pass "SLURM pool peak $peak_big ($maxjobs job(s), startup ${startup}s) for 4 BIG tasks, back to 0; 104 values right"
