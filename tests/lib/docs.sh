# Running a document's examples as written (tests/integration/test_docs_*),
# sourced after harness.sh. Marked fenced blocks, in document order:
#   ```sh test         shell commands (stdout kept as that step's output)
#   ```sh test-slurm   the same, run only when DOC_SLURM=1
#   ```c file=NAME, ```json file=NAME   written to NAME where the shell is
#   ```json output     must equal (as JSON) what the step before printed
# All steps run in one shell (set -e) in $T_DIR/wd.

DOC_SLURM=${DOC_SLURM:-1}

# doc_driver DOC: write $T_DIR/driver.sh from DOC and the wanted outputs to
# $T_DIR/steps/step-N.want; sets doc_nsh, doc_nfile, doc_nout.
doc_driver() {
  local doc=$1 line kind="" n=0
  DOC_OUT="$T_DIR/steps"
  DOC_DRIVER="$T_DIR/driver.sh"
  mkdir -p "$DOC_OUT" "$T_DIR/wd"
  printf 'set -e\ncd %q\n' "$T_DIR/wd" >"$DOC_DRIVER"
  doc_nsh=0 doc_nfile=0 doc_nout=0
  while IFS= read -r line || [ -n "$line" ]; do
    if [ -z "$kind" ]; then
      case "$line" in
        '```sh test') kind=sh ;;
        '```sh test-slurm') kind=sh; [ "$DOC_SLURM" = 1 ] || kind=skip ;;
        '```c file='* | '```json file='*) kind=file; doc_nfile=$((doc_nfile + 1))
          printf "cat >'%s' <<'TIDE_DOC_EOF'\n" "${line#*file=}" >>"$DOC_DRIVER" ;;
        '```json output') kind=out; doc_nout=$((doc_nout + 1)); : >"$DOC_OUT/step-$n.want" ;;
      esac
      case $kind in
        sh) n=$((n + 1)) doc_nsh=$((doc_nsh + 1)); echo "{" >>"$DOC_DRIVER" ;;
        skip) n=$((n + 1)) ;;
      esac
      continue
    fi
    if [ "$line" = '```' ]; then
      case $kind in
        sh) echo "} >'$DOC_OUT/step-$n.out'" >>"$DOC_DRIVER" ;;
        file) echo 'TIDE_DOC_EOF' >>"$DOC_DRIVER" ;;
      esac
      kind=""
      continue
    fi
    case $kind in
      sh | file) printf '%s\n' "$line" >>"$DOC_DRIVER" ;;
      out) printf '%s\n' "$line" >>"$DOC_OUT/step-$n.want" ;;
    esac
  done <"$doc"
  [ -z "$kind" ] || fail "an unclosed code block in $doc"
}

# doc_check_outputs: compare every wanted output with what its step
# printed; a step skipped (test-slurm without SLURM) has no output and is
# passed over. Sets doc_checked.
doc_check_outputs() {
  local want got
  doc_checked=0
  for want in "$DOC_OUT"/step-*.want; do
    [ -f "$want" ] || continue
    got="${want%.want}.out"
    [ -f "$got" ] || { [ "$DOC_SLURM" = 1 ] && fail "no output for $(basename "$want")"; continue; }
    [ "$(jq -S -c . "$got")" = "$(jq -S -c . "$want")" ] ||
      fail "$(basename "$got"): printed $(cat "$got"), the doc shows $(cat "$want")"
    doc_checked=$((doc_checked + 1))
  done
  [ -z "$(pgrep -f "$T_DIR/wd" || true)" ] || fail "a documented cluster or worker is still running"
}
