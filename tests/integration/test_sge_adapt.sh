#!/usr/bin/env bash
# SGE backend on a real Grid Engine: an adaptive cluster from 0 submits jobs
# that qstat lists while the work runs, their workers (in the execution
# host's network namespace) compute a graph with the right values, and the
# cluster goes back to 0 workers with no job of ours left in qstat.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/sge.sh"
sge_require

start_sge_cluster --queue tide.q --pe tide-pe --nthreads 1 --adapt --minimum 0 --maximum 3 \
  --interval 200ms --target-duration 1s --wait-count 3 --walltime 10m
t_workers_eq 0 || fail "workers before any work"
# 12 sleeps, their sum, and 1 MiB moved between tasks with its checksum
sleep_graph "$T_DIR/s.json" 12 1
jq '.tasks += {sum: {fn: "tide.sum", args: [[range(12) | {ref: "t\(.)"}]]},
               data: {fn: "tide.bytes", args: [1048576, 7]},
               check: {fn: "tide.checksum", args: [{ref: "data"}]}}
    | .outputs += ["sum", "check"]' "$T_DIR/s.json" >"$T_DIR/g.json"
run_graph "$T_DIR/g.json" --timeout 180 >"$T_DIR/out.json" &
RUN=$!
T_PIDS+=("$RUN")
maxjobs=0 running=0
while kill -0 $RUN 2>/dev/null; do
  n=$(sge_njobs)
  [ "$n" -gt "$maxjobs" ] && maxjobs=$n
  r=$(sge_our_jobs | awk '$3 == "r"' | wc -l)
  [ "$r" -gt "$running" ] && running=$r
  sleep 0.2
done
wait $RUN || fail "tide run failed: $(tail -n 5 "$T_DIR/cluster.log")"
check_sleep_outputs <(jq 'with_entries(select(.key | startswith("t")))' "$T_DIR/out.json") 12
jq -e '.sum == 66' "$T_DIR/out.json" >/dev/null || fail "sum of 0..11 is not 66: $(jq -c .sum "$T_DIR/out.json")"
# tide.checksum of tide.bytes(1 MiB, seed 7): the value every tide worker computes
want=796057759e9f4a8da1723b35b4bea2056e6192743a80555ece2fb5e90fbf838d
[ "$(jq -r .check "$T_DIR/out.json")" = "$want" ] || fail "checksum $(jq -r .check "$T_DIR/out.json"), want $want"
[ "$maxjobs" -ge 1 ] && [ "$maxjobs" -le 3 ] || fail "expected 1..3 jobs in qstat during the run, saw $maxjobs"
[ "$running" -ge 1 ] || fail "no job of ours ever in state r in qstat"
subs=$(grep -c "submitted as SGE job" "$T_DIR/cluster.log" || true)
wait_for 60 t_workers_eq 0
wait_for 30 sge_no_jobs
grep -q "tcp://$SGE_ADDR_NS:" "$T_DIR/cluster.log" || fail "no worker joined from the execution host's address $SGE_ADDR_NS"
kill -0 "$CLUSTER_PID" || fail "tide cluster exited"
pass "0 -> up to $maxjobs SGE jobs ($running running at once, $subs qsub) -> 0 workers, none left in qstat; 12 sleeps, sum 66 and the 1 MiB checksum right"
