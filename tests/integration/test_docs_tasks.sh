#!/usr/bin/env bash
# docs/tasks.md runs as written: its `sh test` blocks, in order, in one
# shell in an empty directory with tide on PATH; `json file=` blocks are
# written where the shell is at that point; each `json output` block
# equals (as JSON) what the block before it printed.
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/docs.sh"
DOC="$TIDE_SRC/docs/tasks.md"
[ -f "$DOC" ] || fail "$DOC is missing"

doc_driver "$DOC"
[ $doc_nsh -ge 8 ] && [ $doc_nfile -ge 4 ] && [ $doc_nout -ge 8 ] ||
  fail "found $doc_nsh sh, $doc_nfile file and $doc_nout output blocks in $DOC: the markers changed?"

PATH="$TIDE_BUILD:$PATH" timeout 240 bash "$DOC_DRIVER" >"$T_DIR/driver.log" 2>&1 ||
  fail "the documented commands failed (exit $?): $(tail -5 "$T_DIR/driver.log"); cluster: $(tail -3 "$T_DIR/wd/cluster.log" 2>/dev/null)"

doc_check_outputs
[ $doc_checked = $doc_nout ] || fail "checked $doc_checked of $doc_nout outputs"
pass "docs/tasks.md: $doc_nsh shell blocks ran, $doc_checked outputs match"
