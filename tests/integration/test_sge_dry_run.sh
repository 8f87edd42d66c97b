#!/usr/bin/env bash
# `tide cluster --backend sge --dry-run` prints the job script it would
# submit with qsub, line by line, and exits 0 without submitting anything
# (no Grid Engine needed); SLURM's flags and bad values exit 2 with one
# tide: line.
source "$TIDE_SRC/tests/lib/harness.sh"

"$TIDE_BIN" cluster --backend sge --dry-run --name dry --host 10.1.2.3 --port 8786 \
  --processes 2 --nthreads 3 --memory-limit 2GiB \
  --queue all.q --project proj --pe smp --walltime 1-12 --memory 4GiB \
  --log-directory /var/log/tide \
  --job-extra-directive=-V --job-extra-directive='-l gpu=1' \
  --job-directives-skip=gpu \
  --job-script-prologue 'module load tide' --job-script-prologue 'export OMP_NUM_THREADS=1' \
  >"$T_DIR/script.sh" 2>"$T_DIR/err.log" || fail "--dry-run exited $?: $(cat "$T_DIR/err.log")"
W="$(readlink -f "$TIDE_BIN")"
cat >"$T_DIR/want.sh" <<WANT
#!/usr/bin/env bash

#\$ -N dry-0
#\$ -q all.q
#\$ -P proj
#\$ -pe smp 6
#\$ -l h_rt=36:00:00
#\$ -l mem_free=4096M
#\$ -o /var/log/tide/dry-0-\$JOB_ID.out
#\$ -e /var/log/tide/dry-0-\$JOB_ID.err
#\$ -V

module load tide
export OMP_NUM_THREADS=1

'$W' worker 'tcp://10.1.2.3:8786' --name 'dry-0-0' --nthreads 3 --memory-limit 2147483648 --lifetime 116640s --lifetime-stagger 300s --death-timeout 60s --job 'dry-0' &
'$W' worker 'tcp://10.1.2.3:8786' --name 'dry-0-1' --nthreads 3 --memory-limit 2147483648 --lifetime 116640s --lifetime-stagger 300s --death-timeout 60s --job 'dry-0' &
wait
WANT
diff -u "$T_DIR/want.sh" "$T_DIR/script.sh" >"$T_DIR/diff.log" || fail "job script differs: $(cat "$T_DIR/diff.log")"
bash -n "$T_DIR/script.sh" || fail "the job script is not valid bash"
# walltimes in every form tide takes reach h_rt as HH:MM:SS
for wt in "00:10:00=00:10:00" "45=00:45:00" "2-03:04:05=51:04:05" "90s=00:01:30"; do
  "$TIDE_BIN" cluster --backend sge --dry-run --walltime "${wt%%=*}" >"$T_DIR/wt.sh" 2>"$T_DIR/err.log" ||
    fail "--walltime ${wt%%=*}: exit $?: $(cat "$T_DIR/err.log")"
  grep -qx "#\$ -l h_rt=${wt#*=}" "$T_DIR/wt.sh" || fail "--walltime ${wt%%=*}: $(grep h_rt "$T_DIR/wt.sh"), want h_rt=${wt#*=}"
done
set +e
"$TIDE_BIN" cluster --backend sge --dry-run --partition debug >/dev/null 2>"$T_DIR/bad.log"; rc1=$?
"$TIDE_BIN" cluster --backend sge --dry-run --walltime soon >/dev/null 2>"$T_DIR/bad2.log"; rc2=$?
set -e
[ $rc1 -eq 2 ] && [ "$(wc -l <"$T_DIR/bad.log")" = 1 ] && grep -q '^tide: .*partition' "$T_DIR/bad.log" ||
  fail "--partition for sge: exit $rc1: $(cat "$T_DIR/bad.log")"
[ $rc2 -eq 2 ] && grep -qx 'tide: bad --walltime "soon" (use MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS, or 30m, 1h, 90s)' "$T_DIR/bad2.log" ||
  fail "--walltime soon: exit $rc2: $(cat "$T_DIR/bad2.log")"
pass "--dry-run script matches line by line ($(wc -l <"$T_DIR/script.sh") lines); 4 walltime forms as h_rt; --partition and a bad --walltime exit 2"
