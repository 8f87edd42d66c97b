#!/usr/bin/env bash
# SGE backend with --processes 2 on a real Grid Engine: each job holds 2
# workers named NAME-JOB-0/1 that arrive and leave together, asks its
# parallel environment for 2 slots (qstat shows 2), the target is rounded to
# whole jobs and the number of submissions stays bounded.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/sge.sh"
sge_require

start_sge_cluster --queue tide.q --pe tide-pe --processes 2 --nthreads 1 --adapt --minimum 0 \
  --maximum 4 --interval 200ms --target-duration 1s --wait-count 3 --walltime 10m
sleep_graph "$T_DIR/g.json" 16 1
run_graph "$T_DIR/g.json" --timeout 180 >"$T_DIR/out.json" &
RUN=$!
T_PIDS+=("$RUN")
maxw=0 slots=""
while kill -0 $RUN 2>/dev/null; do
  names=$(api /api/v1/identity | jq -r '.workers[] | .name' 2>/dev/null || true)
  w=$(printf '%s\n' "$names" | grep -c . || true)
  [ "$w" -gt "$maxw" ] && maxw=$w
  if [ -n "$names" ] && printf '%s\n' "$names" | grep -vqE "^$SGE_NAME-[0-9]+-[01]\$"; then
    fail "worker names not NAME-JOB-I: $(echo $names)"
  fi
  # the slots column of our running jobs
  slots+=" $(qstat 2>/dev/null | awk -v p="$SGE_NAME-" 'index($3, p) == 1 && $5 == "r" {print $NF}' | tr '\n' ' ')"
  sleep 0.2
done
wait $RUN || fail "tide run failed"
check_sleep_outputs "$T_DIR/out.json" 16
[ "$maxw" -ge 2 ] && [ "$maxw" -le 4 ] || fail "expected 2..4 workers (1..2 jobs), saw $maxw"
[ "$(echo $slots | tr ' ' '\n' | grep -c . || true)" -ge 1 ] || fail "no running job of ours seen in qstat"
bad=$(echo $slots | tr ' ' '\n' | grep -vx 2 || true)
[ -z "$bad" ] || fail "running jobs with slots other than 2: $bad"
wait_for 60 t_workers_eq 0
wait_for 30 sge_no_jobs
subs=$(grep -c "submitted as SGE job" "$T_DIR/cluster.log" || true)
[ "$subs" -ge 1 ] && [ "$subs" -le 3 ] || fail "expected 1..3 qsub submissions, saw $subs"
pass "--processes 2: up to $maxw workers in pairs, 2 slots per job in qstat, $subs submissions, back to 0"
