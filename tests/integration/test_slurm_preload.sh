#!/usr/bin/env bash
# SLURM backend with --preload: an adaptive cluster from 0 submits job
# scripts whose workers load the plugin (given as a relative path, made
# absolute for the compute node); the plugin's functions compute the right
# values on them; afterwards the jobs leave squeue.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/slurm.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"
slurm_require

PLUGIN="$TIDE_BUILD/libplugin_example.so"
[ -f "$PLUGIN" ] || fail "$PLUGIN is not built"
mkdir -p "$T_DIR/plug"
cp "$PLUGIN" "$T_DIR/plug/libmyplugin.so"
cd "$T_DIR/plug"
start_slurm_cluster --nthreads 1 --adapt --minimum 0 --maximum 1 --interval 200ms \
  --walltime 10m --preload ./libmyplugin.so
cd "$T_DIR"

cat >"$T_DIR/g.json" <<'G'
{"tasks": {"x": {"fn": "tide.inc", "args": [6]},
  "sq": {"fn": "example.square", "args": [{"ref": "x"}]},
  "r": {"fn": "example.repeat", "args": ["ab", 3]},
  "total": {"fn": "tide.add", "args": [{"ref": "sq"}, 1]}},
 "outputs": ["sq", "r", "total"]}
G
run_graph "$T_DIR/g.json" --timeout 120 >"$T_DIR/out.json" || fail "run on SLURM: $(tail -5 "$T_DIR/cluster.log")"
[ "$(json_get "$T_DIR/out.json" .sq)" = 49 ] || fail "sq: $(cat "$T_DIR/out.json")"
[ "$(json_get "$T_DIR/out.json" .r)" = ababab ] || fail "r: $(cat "$T_DIR/out.json")"
[ "$(json_get "$T_DIR/out.json" .total)" = 50 ] || fail "total: $(cat "$T_DIR/out.json")"
# the job script SLURM ran carried the absolute path
jobid=$(api /api/v1/cluster | jq -r '[.jobs[] | .backend_id | select(. != null and . != "")][0]')
if [ -n "$jobid" ] && [ "$jobid" != null ]; then
  scontrol write batch_script "$jobid" "$T_DIR/job.sh" >/dev/null 2>&1 &&
    { grep -qF -- "--preload '$T_DIR/plug/libmyplugin.so'" "$T_DIR/job.sh" ||
        fail "job script lacks the absolute --preload: $(grep worker "$T_DIR/job.sh")"; }
fi
wait_for 60 t_workers_eq 0
wait_for 30 slurm_no_jobs
pass "plugin values right (49, ababab, 50) on a SLURM worker started with --preload; jobs left squeue"
