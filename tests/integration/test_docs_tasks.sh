#!/usr/bin/env bash
# docs/tasks.md runs as written: its `sh test` blocks, in order, in one
# shell in an empty directory with tide on PATH; `json file=` blocks are
# written where the shell is at that point; each `json output` block
# equals (as JSON) what the block before it printed.
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"
DOC="$TIDE_SRC/docs/tasks.md"
[ -f "$DOC" ] || fail "$DOC is missing"

OUT="$T_DIR/steps"
mkdir -p "$OUT" "$T_DIR/wd"
driver="$T_DIR/driver.sh"
{
  echo 'set -e'
  echo "cd '$T_DIR/wd'"
} >"$driver"
n=0 kind="" nsh=0 nfile=0 nout=0
while IFS= read -r line || [ -n "$line" ]; do
  if [ -z "$kind" ]; then
    case "$line" in
      '```sh test') kind=sh; n=$((n + 1)) nsh=$((nsh + 1)); echo "{" >>"$driver" ;;
      '```json file='*) kind=file; nfile=$((nfile + 1))
        printf "cat >'%s' <<'TIDE_DOC_EOF'\n" "${line#*file=}" >>"$driver" ;;
      '```json output') kind=out; nout=$((nout + 1)); : >"$OUT/step-$n.want" ;;
    esac
    continue
  fi
  if [ "$line" = '```' ]; then
    case $kind in
      sh) echo "} >'$OUT/step-$n.out'" >>"$driver" ;;
      file) echo 'TIDE_DOC_EOF' >>"$driver" ;;
    esac
    kind=""
    continue
  fi
  case $kind in
    sh | file) printf '%s\n' "$line" >>"$driver" ;;
    out) printf '%s\n' "$line" >>"$OUT/step-$n.want" ;;
  esac
done <"$DOC"
[ -z "$kind" ] || fail "an unclosed code block in $DOC"
[ $nsh -ge 8 ] && [ $nfile -ge 4 ] && [ $nout -ge 8 ] ||
  fail "found $nsh sh, $nfile file and $nout output blocks in $DOC: the markers changed?"

PATH="$TIDE_BUILD:$PATH" timeout 240 bash "$driver" >"$T_DIR/driver.log" 2>&1 ||
  fail "the documented commands failed (exit $?): $(tail -5 "$T_DIR/driver.log"); cluster: $(tail -3 "$T_DIR/wd/cluster.log" 2>/dev/null)"

checked=0
for want in "$OUT"/step-*.want; do
  got="${want%.want}.out"
  [ -f "$got" ] || fail "no output for $(basename "$want")"
  [ "$(jq -S -c . "$got")" = "$(jq -S -c . "$want")" ] ||
    fail "$(basename "$got"): printed $(cat "$got"), the doc shows $(cat "$want")"
  checked=$((checked + 1))
done
[ $checked = $nout ] || fail "checked $checked of $nout outputs"
[ -z "$(pgrep -f "$T_DIR/wd" || true)" ] || fail "a documented cluster or worker is still running"
pass "docs/tasks.md: $nsh shell blocks ran, $checked outputs match"
