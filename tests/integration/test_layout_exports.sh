#!/usr/bin/env bash
# libtide.so is built with -fvisibility=hidden: its dynamic symbol table
# holds the public API (include/tide, marked TIDE_API) and nothing else, so
# an embedder cannot come to depend on an internal tide__ function. The tide
# binary exports the same public symbols for the plugins it loads.
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"

LIB="$TIDE_BUILD/libtide.so"
[ -e "$LIB" ] || fail "no $LIB"
nm -D --defined-only "$LIB" | awk '{print $NF}' | sort -u >"$T_DIR/lib.txt"
[ -s "$T_DIR/lib.txt" ] || fail "nm -D listed nothing for $LIB"
internal=$(grep -E '^tide__' "$T_DIR/lib.txt" || true)
stray=$(grep -Ev '^tide_' "$T_DIR/lib.txt" || true)
[ -z "$stray$internal" ] || fail "libtide.so exports symbols outside the public API:$(printf ' %s' $stray $internal)"

# the public API is there: client, graph, cluster, adaptive, errors, plugins
for s in tide_client_connect tide_client_compute tide_graph_parse tide_cluster_create \
         tide_cluster_adapt tide_strerror tide_errprintf tide_register tide_task_fail; do
  grep -qx "$s" "$T_DIR/lib.txt" || fail "libtide.so does not export $s"
done
# every TIDE_API declaration of include/tide is exported
n_api=0
while read -r s; do
  n_api=$((n_api + 1))
  grep -qx "$s" "$T_DIR/lib.txt" || fail "$s is declared TIDE_API but not exported"
done < <(grep -ho 'TIDE_API [^(]*(' "$TIDE_SRC"/include/tide/*.h | grep -o 'tide_[a-z_0-9]*($' | tr -d '(' | sort -u)
[ "$n_api" -gt 20 ] || fail "found only $n_api TIDE_API declarations in include/tide"
n_lib=$(wc -l <"$T_DIR/lib.txt")
[ "$n_lib" -eq "$n_api" ] || fail "libtide.so exports $n_lib symbols, include/tide declares $n_api"

# the binary: what plugins resolve (tide_register, tide_task_*), no internals
nm -D --defined-only "$TIDE_BIN" | awk '{print $NF}' | sort -u >"$T_DIR/bin.txt"
internal=$(grep -E '^tide__' "$T_DIR/bin.txt" || true)
[ -z "$internal" ] || fail "the tide binary exports internals:$(printf ' %s' $internal)"
for s in tide_register tide_task_fail tide_task_key; do
  grep -qx "$s" "$T_DIR/bin.txt" || fail "the tide binary does not export $s (plugins need it)"
done
pass "libtide.so exports the $n_api public symbols only; the binary exports what plugins use"
