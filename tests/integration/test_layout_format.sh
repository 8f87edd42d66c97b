#!/usr/bin/env bash
# Every C file in the repository is formatted as .clang-format says (two
# spaces, 100 columns, function braces on their own line), so a diff shows
# changes, not re-indentation. `make format` fixes what this finds.
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"

command -v clang-format >/dev/null 2>&1 || skip "clang-format is not installed (scripts/install-deps.sh --test)"
cd "$TIDE_SRC" || fail "no source tree at $TIDE_SRC"
git rev-parse --git-dir >/dev/null 2>&1 || skip "not a git checkout: cannot list the tracked C files"
mapfile -t files < <(git ls-files '*.c' '*.h')
[ "${#files[@]}" -gt 50 ] || fail "only ${#files[@]} C files tracked: wrong tree?"
bad=()
for f in "${files[@]}"; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
[ ${#bad[@]} -eq 0 ] || fail "${#bad[@]} file(s) differ from .clang-format (run make format): ${bad[*]}"
pass "${#files[@]} C files match .clang-format"
