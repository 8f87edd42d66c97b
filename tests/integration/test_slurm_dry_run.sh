#!/usr/bin/env bash
# `tide cluster --backend slurm --dry-run` prints the job script it would
# submit, line by line as dask-jobqueue's job_script() does, and exits 0
# without submitting anything (no SLURM needed).
source "$TIDE_SRC/tests/lib/harness.sh"

"$TIDE_BIN" cluster --backend slurm --dry-run --name dry --host 10.1.2.3 --port 8786 \
  --processes 2 --nthreads 3 --memory-limit 2GiB \
  --partition debug --account proj --walltime 1h --cores 6 --memory 4GiB \
  --log-directory /var/log/tide \
  --job-extra-directive=--qos=high --job-extra-directive=--exclusive \
  --job-directives-skip=--exclusive \
  --job-script-prologue 'module load tide' --job-script-prologue 'export OMP_NUM_THREADS=1' \
  >"$T_DIR/script.sh" 2>"$T_DIR/err.log" || fail "--dry-run exited $?: $(cat "$T_DIR/err.log")"
W="$(readlink -f "$TIDE_BIN")"
cat >"$T_DIR/want.sh" <<WANT
#!/usr/bin/env bash

#SBATCH -J dry-0
#SBATCH -p debug
#SBATCH -A proj
#SBATCH -n 1
#SBATCH --cpus-per-task=6
#SBATCH --mem=4096M
#SBATCH -t 01:00:00
#SBATCH -o /var/log/tide/dry-0-%j.out
#SBATCH -e /var/log/tide/dry-0-%j.err
#SBATCH --qos=high

module load tide
export OMP_NUM_THREADS=1

'$W' worker 'tcp://10.1.2.3:8786' --name 'dry-0-0' --nthreads 3 --memory-limit 2147483648 --lifetime 3240s --lifetime-stagger 90s --death-timeout 60s --job 'dry-0' &
'$W' worker 'tcp://10.1.2.3:8786' --name 'dry-0-1' --nthreads 3 --memory-limit 2147483648 --lifetime 3240s --lifetime-stagger 90s --death-timeout 60s --job 'dry-0' &
wait
WANT
diff -u "$T_DIR/want.sh" "$T_DIR/script.sh" >"$T_DIR/diff.log" || fail "job script differs: $(cat "$T_DIR/diff.log")"
bash -n "$T_DIR/script.sh" || fail "the job script is not valid bash"
# walltimes as sbatch -t and dask-jobqueue write them reach #SBATCH -t
for wt in "00:10:00=00:10:00" "45=00:45:00" "1-12=1-12:00:00" "2-03:04:05=2-03:04:05" "90s=00:01:30"; do
  "$TIDE_BIN" cluster --backend slurm --dry-run --walltime "${wt%%=*}" >"$T_DIR/wt.sh" 2>"$T_DIR/err.log" ||
    fail "--walltime ${wt%%=*}: exit $?: $(cat "$T_DIR/err.log")"
  grep -qx "#SBATCH -t ${wt#*=}" "$T_DIR/wt.sh" || fail "--walltime ${wt%%=*}: $(grep -e '-t ' "$T_DIR/wt.sh"), want -t ${wt#*=}"
done
# --preload reaches every worker line as an absolute, quoted path
mkdir -p "$T_DIR/my plugins"
cp "$TIDE_BUILD/libplugin_example.so" "$T_DIR/my plugins/libp.so"
(cd "$T_DIR/my plugins" && "$TIDE_BIN" cluster --backend slurm --dry-run --processes 2 \
   --preload libp.so --preload "$TIDE_BUILD/libplugin_example.so") >"$T_DIR/pre.sh" 2>"$T_DIR/err.log" ||
  fail "--dry-run --preload: $(cat "$T_DIR/err.log")"
n=$(grep -cF -- " --preload '$T_DIR/my plugins/libp.so' --preload '$TIDE_BUILD/libplugin_example.so' " "$T_DIR/pre.sh" || true)
[ "$n" = 2 ] || fail "want both worker lines with the two absolute --preload paths, got $n: $(grep worker "$T_DIR/pre.sh")"
bash -n "$T_DIR/pre.sh" || fail "the --preload job script is not valid bash"
# bad values are refused with one tide: line and exit 2
set +e
"$TIDE_BIN" cluster --backend slurm --dry-run --walltime soon >/dev/null 2>"$T_DIR/bad.log"; rc=$?
set -e
[ $rc -eq 2 ] || fail "--walltime soon: exit $rc, expected 2"
grep -qx 'tide: bad --walltime "soon" (use MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS, or 30m, 1h, 90s)' "$T_DIR/bad.log" ||
  fail "no 'tide: bad --walltime' line listing the forms: $(cat "$T_DIR/bad.log")"
[ "$(wc -l <"$T_DIR/bad.log")" = 1 ] || fail "more than the tide: line on stderr: $(cat "$T_DIR/bad.log")"
pass "--dry-run script matches line by line ($(wc -l <"$T_DIR/script.sh") lines); 5 sbatch walltime forms; --preload on both worker lines; bad --walltime exits 2"
