#!/usr/bin/env bash
# `tide run --output DIR` and `tide get NAME --output DIR`: each byte
# result lands whole in its own file (checked against the tide.bytes
# oracle), other results as KEY.json; keys with '/', '..', a leading '.',
# '%' or spaces are encoded so nothing is written outside DIR; what was
# written is printed as {KEY: {file, bytes, sha256}}. A DIR that cannot be
# used is refused before anything runs (exit 2, one line).
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"

start_scheduler
start_worker a
wait_workers 1

LONG=$(printf 'k%.0s' $(seq 300))
cat >"$T_DIR/g.json" <<G
{"tasks": {
  "data": {"fn": "tide.bytes", "args": [100000, 3]},
  "dir/../../evil": {"fn": "tide.bytes", "args": [10, 1]},
  ".hidden": {"fn": "tide.inc", "args": [1]},
  "x.json": {"fn": "tide.bytes", "args": [5, 2]},
  "x": {"fn": "tide.inc", "args": [4]},
  "sp ace%": {"fn": "tide.add", "args": [1, 2]},
  "$LONG": {"fn": "tide.bytes", "args": [7, 9]}},
 "outputs": ["data", "dir/../../evil", ".hidden", "x.json", "x", "sp ace%", "$LONG"]}
G
OUT="$T_DIR/out"
run_graph "$T_DIR/g.json" --timeout 60 --output "$OUT" --publish outs >"$T_DIR/printed.json" ||
  fail "tide run --output failed"

# byte results, whole, against the oracle
[ "$(sha256sum <"$OUT/data" | cut -d' ' -f1)" = "$(bytes_sha256 100000 3)" ] || fail "data differs from tide.bytes(100000, 3)"
[ "$(stat -c %s "$OUT/data")" = 100000 ] || fail "data is $(stat -c %s "$OUT/data") bytes"
evil="$OUT/dir%2F..%2F..%2Fevil"
[ -f "$evil" ] || fail "no $evil: $(ls "$OUT")"
[ "$(sha256sum <"$evil" | cut -d' ' -f1)" = "$(bytes_sha256 10 1)" ] || fail "dir/../../evil differs from tide.bytes(10, 1)"
[ "$(sha256sum <"$OUT/x%2Ejson" | cut -d' ' -f1)" = "$(bytes_sha256 5 2)" ] || fail "x.json (bytes) differs: $(ls "$OUT")"
long=$(ls "$OUT" | grep '^kkk' || true)
[ "$(echo "$long" | wc -l)" = 1 ] && [ ${#long} -le 255 ] && [[ "$long" == *~* ]] || fail "long key's file: '$long'"
[ "$(sha256sum <"$OUT/$long" | cut -d' ' -f1)" = "$(bytes_sha256 7 9)" ] || fail "the long key's bytes differ"
# JSON results
[ "$(cat "$OUT/%2Ehidden.json")" = 2 ] || fail ".hidden: $(cat "$OUT/%2Ehidden.json")"
[ "$(cat "$OUT/x.json")" = 5 ] || fail "x: $(cat "$OUT/x.json")"
[ "$(cat "$OUT/sp%20ace%25.json")" = 3 ] || fail "sp ace%: $(ls "$OUT")"
# nothing else, nowhere else
[ "$(ls -A "$OUT" | wc -l)" = 7 ] || fail "want 7 files in $OUT: $(ls -A "$OUT")"
[ -z "$(find "$T_DIR" -name evil -o -name '.hidden*')" ] || fail "a file escaped: $(find "$T_DIR" -name evil -o -name '.hidden*')"
# the summary names every file with its size and digest
[ "$(jq -r '.data.file' "$T_DIR/printed.json")" = "$OUT/data" ] || fail "printed: $(cat "$T_DIR/printed.json")"
[ "$(jq -r '.data.bytes' "$T_DIR/printed.json")" = 100000 ] || fail "printed bytes: $(cat "$T_DIR/printed.json")"
[ "$(jq -r '.data.sha256' "$T_DIR/printed.json")" = "$(bytes_sha256 100000 3)" ] || fail "printed sha256"
[ "$(jq -r '."dir/../../evil".file' "$T_DIR/printed.json")" = "$evil" ] || fail "printed evil: $(cat "$T_DIR/printed.json")"
[ "$(jq 'length' "$T_DIR/printed.json")" = 7 ] || fail "printed $(jq length "$T_DIR/printed.json") entries"

# tide get writes the published dataset the same way
"$TIDE_BIN" get outs --scheduler-file "$SCHED_FILE" --output "$T_DIR/out2" >"$T_DIR/printed2.json" ||
  fail "tide get --output failed"
diff -r "$OUT" "$T_DIR/out2" >"$T_DIR/diff.log" || fail "tide get --output differs: $(head -5 "$T_DIR/diff.log")"
[ "$(jq -r '.data.sha256' "$T_DIR/printed2.json")" = "$(bytes_sha256 100000 3)" ] || fail "get printed sha256"

# unusable directories: refused up front, one line, exit 2
echo x >"$T_DIR/afile"
for cmd in "run_graph $T_DIR/g.json" "$TIDE_BIN get outs --scheduler-file $SCHED_FILE"; do
  expect_fail_only 2 "^tide: --output $T_DIR/afile: not a directory$" $cmd --output "$T_DIR/afile"
  expect_fail_only 2 "^tide: --output $T_DIR/no/sub: cannot create the directory: No such file or directory$" \
    $cmd --output "$T_DIR/no/sub"
  expect_fail_only 2 "^tide: --output $T_DIR/afile/sub: cannot create the directory: Not a directory$" \
    $cmd --output "$T_DIR/afile/sub"
  expect_fail_only 2 '^tide: --output: the directory must not be empty$' $cmd --output ''
done
[ ! -e "$T_DIR/no" ] || fail "a refused --output created $T_DIR/no"
pass "7 results written (3 byte results match the oracle, keys with / .. . % and 300 characters stay inside DIR); tide get the same; bad DIRs exit 2"
