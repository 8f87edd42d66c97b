#!/usr/bin/env bash
# docs/design.md §1 (build): `cmake --install` puts the tide binary, libtide.so/.a, the
# public headers (with the umbrella tide.h) and a relocatable tide.pc under
# the prefix; a C program builds with pkg-config against it, shared and
# static, and computes on a real cluster.
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"
command -v pkg-config >/dev/null && command -v cc >/dev/null || skip "needs pkg-config and cc"

P="$T_DIR/inst"
cmake --install "$TIDE_BUILD" --prefix "$P" >"$T_DIR/install.log" 2>&1 || fail "cmake --install: $(tail -3 "$T_DIR/install.log")"
for f in bin/tide lib/libtide.so lib/libtide.a lib/pkgconfig/tide.pc include/tide/tide.h \
         include/tide/client.h include/tide/cluster.h include/tide/adaptive.h include/tide/task.h \
         include/tide/error.h; do
  [ -e "$P/$f" ] || fail "not installed: $f"
done
export PKG_CONFIG_PATH="$P/lib/pkgconfig"
# a sanitizer build's libtide needs the sanitizer runtimes linked into the program
SAN=()
grep -qi '^TIDE_SANITIZE:BOOL=ON' "$TIDE_BUILD/CMakeCache.txt" 2>/dev/null && SAN=(-fsanitize=address,undefined)
inc=$(pkg-config --variable=includedir tide)
[ "$(cd "$inc" && pwd -P)" = "$(cd "$P/include" && pwd -P)" ] || fail "tide.pc includedir $inc is not under the prefix"
cc "${SAN[@]}" -o "$T_DIR/prog_dyn" "$TIDE_SRC/examples/prog_client.c" $(pkg-config --cflags --libs tide) 2>"$T_DIR/cc.log" ||
  fail "shared build: $(head -3 "$T_DIR/cc.log")"
# libtide.a with the shared system libraries tide.pc names as private
deps=$(pkg-config --print-requires-private tide | awk '{print $1}')
cc "${SAN[@]}" -o "$T_DIR/prog_static" "$TIDE_SRC/examples/prog_client.c" $(pkg-config --cflags tide) "$P/lib/libtide.a" \
  $(pkg-config --libs msgpack $deps) -lpthread -lm -ldl 2>"$T_DIR/cc.log" ||
  fail "static build: $(head -3 "$T_DIR/cc.log")"
# the plugin example builds with the line its header documents, nothing else
build=$(sed -n 's/^ \* Build: //p' "$TIDE_SRC/examples/plugin_example.c")
[ -n "$build" ] || fail "examples/plugin_example.c documents no Build: line"
mkdir -p "$T_DIR/plug" && cp "$TIDE_SRC/examples/plugin_example.c" "$T_DIR/plug/"
(cd "$T_DIR/plug" && eval "$build") 2>"$T_DIR/cc.log" || fail "plugin build line '$build': $(head -3 "$T_DIR/cc.log")"
nm -D "$T_DIR/plug/libplugin_example.so" | grep -q ' T tide_plugin_init$' || fail "the built plugin exports no tide_plugin_init"
printf '#include <tide/tide.h>\nint main(void) { tide_error e; (void)e; return 0; }\n' >"$T_DIR/u.c"
cc "${SAN[@]}" -Wall -Werror -o "$T_DIR/u" "$T_DIR/u.c" $(pkg-config --cflags --libs tide) || fail "tide/tide.h does not compile"

TIDE_BIN="$P/bin/tide"
start_scheduler
start_worker a
wait_for 10 sh -c "curl -sf '$DASH_URL/api/v1/identity' | jq -e '.workers | length == 1'"
out=$(LD_LIBRARY_PATH="$P/lib" "$T_DIR/prog_dyn" "$SCHED_FILE" 5) || fail "prog_dyn failed: $out"
[ "$out" = "$(printf 'sum=11\ninc=6')" ] || fail "prog_dyn printed: $out"
"$TIDE_BIN" unpublish prog_client --scheduler-file "$SCHED_FILE" || fail "unpublish prog_client"
out=$("$T_DIR/prog_static" "$SCHED_FILE" 6) || fail "prog_static failed: $out"
[ "$out" = "$(printf 'sum=13\ninc=7')" ] || fail "prog_static printed: $out"
pass "installed under a prefix; pkg-config builds, shared and static, compute 11 and 13"
