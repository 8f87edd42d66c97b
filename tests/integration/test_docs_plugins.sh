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
source "$TIDE_SRC/tests/lib/docs.sh"
command -v pkg-config >/dev/null && command -v cc >/dev/null || skip "needs pkg-config and cc"
DOC="$TIDE_SRC/docs/plugins.md"
[ -f "$DOC" ] || fail "$DOC is missing"

P="$T_DIR/inst"
cmake --install "$TIDE_BUILD" --prefix "$P" >"$T_DIR/install.log" 2>&1 || fail "cmake --install: $(tail -3 "$T_DIR/install.log")"

DOC_SLURM=0
if conf=$( (slurm_require >/dev/null 2>&1 && echo "$SLURM_CONF") ) && [ -n "$conf" ]; then
  export SLURM_CONF="$conf"
  DOC_SLURM=1
else
  skip_part "SLURM is not up: the SLURM blocks of docs/plugins.md did not run"
fi

doc_driver "$DOC"
[ $doc_nsh -ge 5 ] && [ $doc_nfile -ge 2 ] && [ $doc_nout -ge 2 ] ||
  fail "found $doc_nsh sh, $doc_nfile file and $doc_nout output blocks in $DOC: the markers changed?"

PATH="$P/bin:$PATH" PKG_CONFIG_PATH="$P/lib/pkgconfig" LD_LIBRARY_PATH="" \
  timeout 240 bash "$DOC_DRIVER" >"$T_DIR/driver.log" 2>&1 ||
  fail "the documented commands failed (exit $?): $(tail -5 "$T_DIR/driver.log"); cluster: $(tail -5 "$T_DIR"/wd/myplugin/cluster*.log 2>/dev/null)"

doc_check_outputs
[ $doc_checked -ge 1 ] || fail "no output block checked"
pass "docs/plugins.md: $doc_nsh shell blocks ran against the installed prefix, $doc_checked outputs match"
