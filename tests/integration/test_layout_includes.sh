#!/usr/bin/env bash
# The module folders of src/ form a layered graph, read from the #include
# lines: no folder may reach itself through the headers of others. On a
# cycle the test fails naming its folders and the include lines that make
# it. It checks itself first on a small tree with a known cycle.
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"

# edges DIR: "from to file:line" for every #include "X/..." in DIR/<from>/
# where X is another folder of DIR.
edges() {
  local root=$1
  (cd "$root" && grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"[^"/]+/' \
     --include='*.c' --include='*.h' . || true) |
    awk -v root="$root" -F: '{
      file = substr($1, 3); line = $2
      split(file, p, "/"); from = p[1]
      match($0, /"[^"\/]+\//); to = substr($0, RSTART + 1, RLENGTH - 2)
      if (to != from && system("test -d \"" root "/" to "\"") == 0)
        print from, to, file ":" line
    }'
}

# cycle EDGES_FILE: print the folders of a cycle (tsort's loop) and the
# include lines between them; returns 1 when there is one.
cycle() {
  local loop
  loop=$(awk '{print $1, $2}' "$1" | sort -u | tsort 2>&1 >/dev/null |
         sed -n 's/^tsort: \([^:]*\)$/\1/p' | grep -v '^-$' | awk '!seen[$0]++' || true)
  [ -z "$loop" ] && return 0
  echo "cycle between: $(echo $loop)"
  awk -v set=" $(echo $loop) " 'index(set, " " $1 " ") && index(set, " " $2 " ") {
    if (!seen[$1 " " $2]++) print "  " $1 " -> " $2 "  (" $3 ")" }' "$1"
  return 1
}

# self-check: a -> b -> c -> a is found and named; a -> b, a -> c is not
mkdir -p "$T_DIR/fake/a" "$T_DIR/fake/b" "$T_DIR/fake/c"
echo '#include "b/b.h"' >"$T_DIR/fake/a/a.c"
printf '#include <stdio.h>\n#include "c/c.h"\n' >"$T_DIR/fake/b/b.h"
echo '#include "tide/error.h"' >"$T_DIR/fake/c/c.c"
edges "$T_DIR/fake" >"$T_DIR/fake.edges"
cycle "$T_DIR/fake.edges" >"$T_DIR/fake.out" || fail "self-check: a cycle where there is none: $(cat "$T_DIR/fake.out")"
echo '#include "a/a.h"' >"$T_DIR/fake/c/c.h"
edges "$T_DIR/fake" >"$T_DIR/fake.edges"
if cycle "$T_DIR/fake.edges" >"$T_DIR/fake.out"; then fail "self-check: the cycle a -> b -> c -> a was not found"; fi
grep -q 'c -> a  (c/c.h:1)' "$T_DIR/fake.out" || fail "self-check: the cycle is not named: $(cat "$T_DIR/fake.out")"

edges "$TIDE_SRC/src" >"$T_DIR/src.edges"
[ -s "$T_DIR/src.edges" ] || fail "no include lines between the folders of src/"
if ! cycle "$T_DIR/src.edges" >"$T_DIR/src.out"; then
  fail "the include graph of src/ has a cycle: $(cat "$T_DIR/src.out")"
fi
echo "include graph of src/ (folder -> folders it includes):"
awk '{print $1, $2}' "$T_DIR/src.edges" | sort -u |
  awk '{d[$1] = d[$1] " " $2} END {for (k in d) print "  " k " ->" d[k]}' | sort
pass "no cycle between the module folders of src/"
