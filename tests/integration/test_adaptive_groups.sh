#!/usr/bin/env bash
# docs/design.md §7 "Whole groups": with --processes 2 a job holds two
# workers named NAME-JOB-I; the target is rounded to whole jobs and workers
# grouped by job are closed a whole group at a time.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/adaptive.sh"

start_cluster --adapt --processes 2 --minimum 1 --maximum 6 --interval 200ms --wait-count 2 \
  --target-duration 1s
wait_workers 2 10   # minimum 1 rounds up to one job of 2
names=$(api /api/v1/identity | jq -r '[.workers[] | .name] | sort | join(",")')
[ "$names" = "tide-0-0,tide-0-1" ] || fail "worker names: $names"
jobs=$(api /api/v1/identity | jq -r '[.workers[] | .job] | unique | join(",")')
[ "$jobs" = "tide-0" ] || fail "job of the workers: $jobs"
[ "$(adaptive | jq -r .worker_key)" = job ] || fail "worker_key should default to job"

sleep_graph "$T_DIR/g.json" 24 0.3
( while :; do adaptive | jq '.plan | length' >> "$T_DIR/plans" 2>/dev/null || true; sleep 0.05; done ) &
T_PIDS+=("$!"); PL=$!
out=$(run_graph "$T_DIR/g.json")
[ "$(echo "$out" | jq length)" = 24 ] || fail "lost outputs"
wait_workers 2 15
kill $PL
odd=$(awk '$1 % 2 == 1' "$T_DIR/plans" | wc -l)
[ "$odd" = 0 ] || fail "a plan held a partial job"
[ "$(max_of "$T_DIR/plans")" -ge 4 ] || fail "never scaled up beyond one job"
log=$(adaptive | jq -c .log)
# every up asks for whole jobs; every down names whole jobs
[ "$(echo "$log" | jq '[.[] | select(.status == "up") | .n % 2] | add')" = 0 ] || fail "up not whole jobs: $log"
partial=$(echo "$log" | jq '[.[] | select(.status == "down") | .workers | map(sub("-[0-9]+$"; "")) | group_by(.) | .[] | length] | map(select(. != 2)) | length')
[ "$partial" = 0 ] || fail "a down split a job: $log"
[ "$(echo "$log" | jq '[.[] | select(.status == "down")] | length')" -ge 1 ] || fail "never scaled down"
stop_cluster
pass "jobs of 2: whole jobs up and down"
