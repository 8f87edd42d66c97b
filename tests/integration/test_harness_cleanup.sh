#!/usr/bin/env bash
# A failing test still cleans up: with the EXIT trap of a library that
# chains to the harness's (slurm.sh, sge.sh; hosts.sh does the same), a
# test that fails ends with its status, prints where its logs are, and
# leaves none of the processes it started running.
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"

for lib in slurm sge; do
  cat >"$T_DIR/child-$lib.sh" <<CHILD
source "\$TIDE_SRC/tests/lib/harness.sh"
source "\$TIDE_SRC/tests/lib/$lib.sh"
unset SLURM_CONF
bg sleeper sleep 300
echo "\$BG_PID" >"$T_DIR/sleeper-$lib.pid"
fail "on purpose"
CHILD
  rc=0
  bash "$T_DIR/child-$lib.sh" >"$T_DIR/child-$lib.out" 2>&1 || rc=$?
  [ "$rc" = 1 ] || fail "$lib.sh: a failing test exited $rc, want 1: $(cat "$T_DIR/child-$lib.out")"
  dir=$(sed -n 's/^--- .* failed (rc=1); logs in \(.*\):$/\1/p' "$T_DIR/child-$lib.out")
  [ -n "$dir" ] || fail "$lib.sh: the cleanup did not run (no 'logs in' line): $(cat "$T_DIR/child-$lib.out")"
  rm -rf "$dir"
  pid=$(cat "$T_DIR/sleeper-$lib.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid"
    fail "$lib.sh: the failed test left its process $pid running"
  fi
done
pass "a failing test under slurm.sh's and sge.sh's traps exits 1, reports its logs and leaves no process"
