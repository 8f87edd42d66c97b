# Helpers for the core integration tests (tests/integration/test_core_*.sh),
# sourced after harness.sh.

# expect_fail RC PATTERN CMD...: run CMD; it must exit RC and print exactly
# one line starting with "tide: " on stderr, matching the ERE PATTERN.
expect_fail() {
  local want=$1 pat=$2 rc=0
  shift 2
  "$@" >"$T_DIR/fail.out" 2>"$T_DIR/fail.err" || rc=$?
  [ "$rc" = "$want" ] || fail "$*: exit $rc, want $want; stderr: $(cat "$T_DIR/fail.err")"
  local n
  n=$(grep -c '^tide: ' "$T_DIR/fail.err" || true)
  [ "$n" = 1 ] || fail "$*: $n lines starting with 'tide: ' on stderr, want 1: $(cat "$T_DIR/fail.err")"
  grep -qE -- "$pat" "$T_DIR/fail.err" || fail "$*: stderr does not match /$pat/: $(cat "$T_DIR/fail.err")"
}

# expect_fail_only: like expect_fail, and stderr holds nothing else (for
# client commands, which log nothing by default).
expect_fail_only() {
  expect_fail "$@"
  local n
  n=$(wc -l <"$T_DIR/fail.err")
  [ "$n" = 1 ] || fail "$*: $n lines on stderr, want only the 'tide: ' line: $(cat "$T_DIR/fail.err")"
}

# bytes_gen LENGTH SEED FILE: write tide.bytes(LENGTH, SEED) to FILE with
# the independent oracle tests/lib/bytes_oracle.c (built by CMake next to
# tide; it shares no code with the worker's generator).
bytes_gen() {
  local oracle="$TIDE_BUILD/bytes_oracle"
  [ -x "$oracle" ] || fail "$oracle is missing (it is built with tide: make build)"
  "$oracle" "$1" "$2" >"$3" || fail "bytes_oracle $1 $2 failed"
}

# bytes_sha256 LENGTH SEED: sha256 hex of tide.bytes(LENGTH, SEED).
bytes_sha256() {
  bytes_gen "$1" "$2" "$T_DIR/bytes.bin"
  sha256sum "$T_DIR/bytes.bin" | cut -d' ' -f1
}

# json_get FILE JQ: jq -r on FILE, failing the test on a jq error.
json_get() { jq -er "$2" "$1" || fail "jq '$2' failed on $1: $(head -c 300 "$1")"; }
