#!/usr/bin/env bash
# `make fuzz`: run every libFuzzer target of BUILD (built with -DTIDE_FUZZ=ON)
# for SECONDS each, one after the other, one process each (the machine has
# 2 cores). Each target first replays its regressions (fuzz/regressions/<t>/),
# then fuzzes from its committed seeds (fuzz/corpus/<t>/, read only), with
# its dictionary (fuzz/dict/<t>.dict), into a
# working corpus in BUILD/fuzz-corpus/<t>/. A crash, leak or UB report is
# saved under BUILD/fuzz-artifacts/<t>/ and fails the run; the figures of
# every target go to BUILD/fuzz-summary.txt (docs/reliability.md).
# Usage: fuzz/run.sh BUILD [SECONDS] [TARGET...]
set -uo pipefail
build=${1:?usage: fuzz/run.sh BUILD [SECONDS] [TARGET...]}
secs=${2:-60}
shift $(($# >= 2 ? 2 : 1))
src=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$build" && pwd)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$src"/fuzz_*.c; do
    t=$(basename "$f" .c)
    targets+=("${t#fuzz_}")
  done
fi
summary="$build/fuzz-summary.txt"
printf '%-8s %10s %8s %12s %12s %s\n' target execs seconds seeds corpus result >"$summary"
rc=0
for t in "${targets[@]}"; do
  bin="$build/fuzz_$t"
  if [ ! -x "$bin" ]; then
    echo "fuzz: no $bin (build with make fuzz)" >&2
    exit 2
  fi
  art="$build/fuzz-artifacts/$t/"
  work="$build/fuzz-corpus/$t"
  log="$build/fuzz-$t.log"
  mkdir -p "$art" "$work"
  result=ok
  regs=("$src/regressions/$t"/*)
  if [ -e "${regs[0]}" ]; then
    if ! "$bin" -artifact_prefix="$art" "${regs[@]}" >"$log.replay" 2>&1; then
      echo "fuzz: $t: a regression input fails again (log: $log.replay)" >&2
      result=REGRESSION
      rc=1
    fi
  fi
  # -rss_limit_mb: one input must not grow a process past 2 GiB; the
  # dictionary (fuzz/dict/<t>.dict) holds the ops, fields and routes.
  dict=()
  [ -f "$src/dict/$t.dict" ] && dict=(-dict="$src/dict/$t.dict")
  "$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=25 -print_final_stats=1 \
    "${dict[@]}" -artifact_prefix="$art" "$work" "$src/corpus/$t" >"$log" 2>&1
  st=$?
  if [ $st -ne 0 ]; then
    echo "fuzz: $t failed (exit $st); input saved in $art, log: $log" >&2
    tail -n 40 "$log" >&2
    result=CRASH
    rc=1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  nseeds=$(find "$src/corpus/$t" -type f | wc -l)
  ncorpus=$(find "$work" -type f | wc -l)
  printf '%-8s %10s %8s %12s %12s %s\n' "$t" "${execs:-?}" "${took:-$secs}" "$nseeds" \
    "$ncorpus" "$result" >>"$summary"
  echo "fuzz: $t: ${execs:-?} executions in ${took:-$secs} s, $ncorpus inputs in its corpus: $result"
done
cat "$summary"
exit $rc
