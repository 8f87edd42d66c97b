#!/usr/bin/env bash
# docs/plugins.md runs as written: its `sh test` blocks, in order, in one
# shell in an empty directory, with tide installed under a prefix (cmake
# --install) and found through PATH and PKG_CONFIG_PATH only; `c file=` and
# `json file=` blocks are written where the shell is at that point; each
# `json output` block equals what the block before it printed. The
# `sh test-slurm` blocks run too when SLURM is up (else that part is
# reported skipped).
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/slurm.sh"
command -v pkg-config >/dev/null && command -v cc >/dev/null || skip "needs pkg-config and cc"
DOC="$TIDE_SRC/docs/plugins.md"
[ -f "$DOC" ] || fail "$DOC is missing"

P="$T_DIR/inst"
cmake --install "$TIDE_BUILD" --prefix "$P" >"$T_DIR/install.log" 2>&1 || fail "cmake --install: $(tail -3 "$T_DIR/install.log")"

slurm=0
if conf=$( (slurm_require >/dev/null 2>&1 && echo "$SLURM_CONF") ) && [ -n "$conf" ]; then
  export SLURM_CONF="$conf"
  slurm=1
else
  skip_part "SLURM is not up: the SLURM blocks of docs/plugins.md did not run"
fi

# The driver: every block in document order; a step's stdout goes to
# $T_DIR/step-N.out, an output block to $T_DIR/step-N.want.
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
      '```sh test') kind=sh ;;
      '```sh test-slurm') kind=sh; [ $slurm = 1 ] || kind=skip ;;
      '```c file='* | '```json file='*) kind=file; fname=${line#*file=}; nfile=$((nfile + 1))
        printf "cat >'%s' <<'TIDE_DOC_EOF'\n" "$fname" >>"$driver" ;;
      '```json output') kind=out; nout=$((nout + 1)); : >"$OUT/step-$n.want" ;;
    esac
    if [ "$kind" = sh ]; then
      n=$((n + 1)) nsh=$((nsh + 1))
      echo "{" >>"$driver"
    elif [ "$kind" = skip ]; then
      n=$((n + 1))
    fi
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
[ $nsh -ge 5 ] && [ $nfile -ge 2 ] && [ $nout -ge 2 ] ||
  fail "found $nsh sh, $nfile file and $nout output blocks in $DOC: the markers changed?"

PATH="$P/bin:$PATH" PKG_CONFIG_PATH="$P/lib/pkgconfig" LD_LIBRARY_PATH="" \
  timeout 240 bash "$driver" >"$T_DIR/driver.log" 2>&1 ||
  fail "the documented commands failed (exit $?): $(tail -5 "$T_DIR/driver.log"); cluster: $(tail -5 "$T_DIR"/wd/myplugin/cluster*.log 2>/dev/null)"

checked=0
for want in "$OUT"/step-*.want; do
  [ -f "$want" ] || continue
  got="${want%.want}.out"
  [ -f "$got" ] || { [ $slurm = 0 ] && continue; fail "no output for $(basename "$want")"; }
  [ "$(jq -S -c . "$got")" = "$(jq -S -c . "$want")" ] ||
    fail "$(basename "$got"): printed $(cat "$got"), the doc shows $(cat "$want")"
  checked=$((checked + 1))
done
[ $checked -ge 1 ] || fail "no output block checked"
[ -z "$(pgrep -f "$T_DIR/wd" || true)" ] || fail "a documented cluster or worker is still running"
pass "docs/plugins.md: $nsh shell blocks ran against the installed prefix, $checked outputs match"
