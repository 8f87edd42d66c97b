#!/usr/bin/env bash
# User strings reach workers as they were written on every backend: a
# cluster name (so worker names) with quotes, $, ;, & and backquotes, and a
# scheduler-file path and a plugin path with spaces, quotes and a $ are
# passed whole, never split or expanded by a shell. Local: the workers register under those
# names and run the plugin's functions. Command: the start command gets
# each placeholder as exactly one argument. SLURM (--dry-run): the job
# script, run with a stand-in for tide, hands the worker exactly these
# arguments.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/adaptive.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"

PLUGIN="$TIDE_BUILD/libplugin_example.so"
[ -f "$PLUGIN" ] || fail "$PLUGIN is not built"
Q="$T_DIR/dir with 'single' \"double\" \$HOME"
mkdir -p "$Q"
PL="$Q/lib my 'plug' \"in\".so"
cp "$PLUGIN" "$PL"
# `tide cluster --name` refuses spaces and '/' up front; the rest must pass
NAME="w'x\"y\$HOME;\`id\`&z"

cat >"$T_DIR/g.json" <<'G'
{"tasks": {"sq": {"fn": "example.square", "args": [7]}}, "outputs": ["sq"]}
G
# names: the registered worker names, one per line, sorted
names() { api /api/v1/identity | jq -r '[.workers[].name] | sort | .[]'; }

# 1. local backend: argv, no shell
SCHED_FILE="$Q/sched file.json"
bg cluster "$TIDE_BIN" cluster --host 127.0.0.1 --port 0 --dashboard-port 0 \
  --scheduler-file "$SCHED_FILE" --name "$NAME" --preload "$PL" --workers 1
CLUSTER_PID=$BG_PID
wait_for 10 test -s "$SCHED_FILE"
SCHED_ADDR=$(jq -r .address "$SCHED_FILE")
DASH_URL=$(jq -r .dashboard "$SCHED_FILE")
wait_workers 1
[ "$(names)" = "$NAME-0" ] || fail "local worker named '$(names)', want '$NAME-0'"
[ "$(run_graph "$T_DIR/g.json" | jq -c .sq)" = 49 ] || fail "plugin function on the local worker"
stop_cluster
pass "local: worker '$NAME-0' registered and loaded the plugin from a quoted path"

# 2. command backend: each placeholder is one argument of the start command
cat >"$T_DIR/start.sh" <<EOF2
#!/bin/sh
# usage: start.sh SCHEDULER NAME SCHEDULER_FILE [--preload PATH]...
printf '%s\n' "\$@" >"$T_DIR/argv-cmd.txt"
s=\$1 n=\$2; shift 3
"$TIDE_BIN" worker "\$s" --name "\$n" --job "\$n" "\$@" >"$T_DIR/job.log" 2>&1 &
echo "\$!"
EOF2
printf '#!/bin/sh\nkill "$1" 2>/dev/null\nexit 0\n' >"$T_DIR/stop.sh"
chmod +x "$T_DIR/start.sh" "$T_DIR/stop.sh"
SCHED_FILE="$Q/sched file.json"
bg cluster "$TIDE_BIN" cluster --host 127.0.0.1 --port 0 --dashboard-port 0 \
  --scheduler-file "$SCHED_FILE" --name "$NAME" --preload "$PL" --workers 1 --backend command \
  --allow-exec --start-cmd "$T_DIR/start.sh {scheduler} {name} {scheduler_file} {preload} {allow_exec}" \
  --stop-cmd "$T_DIR/stop.sh {job_id}"
CLUSTER_PID=$BG_PID
wait_for 10 test -s "$SCHED_FILE"
SCHED_ADDR=$(jq -r .address "$SCHED_FILE")
DASH_URL=$(jq -r .dashboard "$SCHED_FILE")
wait_workers 1
printf '%s\n' "$SCHED_ADDR" "$NAME-0" "$SCHED_FILE" --preload "$PL" --allow-exec >"$T_DIR/want-cmd.txt"
cmp -s "$T_DIR/want-cmd.txt" "$T_DIR/argv-cmd.txt" ||
  fail "start command arguments: $(diff "$T_DIR/want-cmd.txt" "$T_DIR/argv-cmd.txt")"
[ "$(names)" = "$NAME-0" ] || fail "command worker named '$(names)'"
[ "$(run_graph "$T_DIR/g.json" | jq -c .sq)" = 49 ] || fail "plugin function on the command worker"
echo '{"tasks": {"e": {"fn": "tide.exec", "args": [["echo", "hi"]]}}, "outputs": ["e"]}' >"$T_DIR/e.json"
[ "$(run_graph "$T_DIR/e.json" | jq -c .e.bytes)" = 3 ] || fail "tide.exec on the command worker (--allow-exec)"
kill -TERM "$CLUSTER_PID"
wait "$CLUSTER_PID" || fail "command cluster exited $? after SIGTERM"
pass "command: 6 arguments arrived whole, worker registered, ran the plugin and tide.exec"
# --allow-exec with a start command that would drop it is refused up front
expect_fail_only 2 '^tide: --start-cmd: workers are to allow tide\.exec .*no \{allow_exec\} placeholder' \
  "$TIDE_BIN" cluster --backend command --allow-exec --start-cmd true --port 0 --dashboard-port 0

# 3. SLURM --dry-run: run the script's worker lines with a stand-in tide
"$TIDE_BIN" cluster --backend slurm --dry-run --name "$NAME" --host 127.0.0.1 --port 8786 \
  --preload "$PL" --allow-exec --log-directory "$Q" >"$T_DIR/script.sh" 2>"$T_DIR/err.log" ||
  fail "--dry-run exited $?: $(cat "$T_DIR/err.log")"
W="$(readlink -f "$TIDE_BIN")"
grep -qF "'$W' worker " "$T_DIR/script.sh" || fail "no worker line: $(cat "$T_DIR/script.sh")"
printf '#!/bin/sh\nprintf "%%s\\n" "$@" >"%s"\n' "$T_DIR/argv-slurm.txt" >"$T_DIR/fake-tide"
chmod +x "$T_DIR/fake-tide"
sed "s|'$W'|'$T_DIR/fake-tide'|" "$T_DIR/script.sh" >"$T_DIR/run.sh"
(cd "$T_DIR" && bash "$T_DIR/run.sh") || fail "the job script failed: $(cat "$T_DIR/run.sh")"
grep -q '^#SBATCH -o .*dir with .single' "$T_DIR/script.sh" || fail "log directory not in the script"
want=(worker tcp://127.0.0.1:8786 --name "$NAME-0" --nthreads 1 --lifetime 3240s
  --lifetime-stagger 90s --preload "$PL" --allow-exec --death-timeout 60s --job "$NAME-0")
printf '%s\n' "${want[@]}" >"$T_DIR/want-slurm.txt"
cmp -s "$T_DIR/want-slurm.txt" "$T_DIR/argv-slurm.txt" ||
  fail "job script arguments: $(diff "$T_DIR/want-slurm.txt" "$T_DIR/argv-slurm.txt")"
pass "slurm: the job script hands the worker ${#want[@]} arguments, each whole"
