#!/usr/bin/env bash
# Plugins on a cluster's workers: `tide cluster --preload` (and the
# worker.preload config key) reach every worker on the local backend and,
# through {preload}, on the command backend, as absolute paths (a worker
# started in / still finds it); the plugin's functions compute the right
# values there. A plugin that does not load is refused up front by
# `tide cluster` (exit 2, no worker started) and ends `tide worker` with one
# line naming it (exit 2) before it registers.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/adaptive.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"

PLUGIN="$TIDE_BUILD/libplugin_example.so"
[ -f "$PLUGIN" ] || fail "$PLUGIN is not built"
mkdir -p "$T_DIR/plug"
cp "$PLUGIN" "$T_DIR/plug/libmyplugin.so"

cat >"$T_DIR/g.json" <<'G'
{"tasks": {"x": {"fn": "tide.inc", "args": [6]},
  "sq": {"fn": "example.square", "args": [{"ref": "x"}]},
  "r": {"fn": "example.repeat", "args": ["ab", 3]},
  "total": {"fn": "tide.add", "args": [{"ref": "sq"}, 1]}},
 "outputs": ["sq", "r", "total"]}
G
check_values() {
  [ "$(json_get "$1" .sq)" = 49 ] || fail "$2: sq: $(cat "$1")"
  [ "$(json_get "$1" .r)" = ababab ] || fail "$2: r: $(cat "$1")"
  [ "$(json_get "$1" .total)" = 50 ] || fail "$2: total: $(cat "$1")"
}
# the --preload values of this test's running workers
worker_preloads() {
  pgrep -af "worker $SCHED_ADDR" | grep -o -- '--preload [^ ]*' | awk '{print $2}' | sort -u
}

# 1. local backend, adaptive from 0; a bare file name in the current
#    directory, made absolute for the workers
cd "$T_DIR/plug"
start_cluster --adapt --minimum 0 --maximum 2 --interval 200ms --preload libmyplugin.so
cd "$T_DIR"
t_workers_eq 0 || fail "an adaptive cluster from 0 should start with no worker"
run_graph "$T_DIR/g.json" --timeout 60 >"$T_DIR/out1.json" || fail "run on the local cluster: $(cat "$T_DIR/cluster.log")"
check_values "$T_DIR/out1.json" local
[ "$(worker_preloads)" = "$T_DIR/plug/libmyplugin.so" ] ||
  fail "local workers got --preload '$(worker_preloads)', want the absolute $T_DIR/plug/libmyplugin.so"
stop_cluster

# 2. worker.preload from a config file (a YAML list) on the local backend
printf 'worker:\n  preload:\n    - %s\n' "$T_DIR/plug/libmyplugin.so" >"$T_DIR/tide.yaml"
start_cluster --adapt --minimum 0 --maximum 1 --interval 200ms --config "$T_DIR/tide.yaml"
run_graph "$T_DIR/g.json" --timeout 60 >"$T_DIR/out2.json" || fail "run with worker.preload: $(cat "$T_DIR/cluster.log")"
check_values "$T_DIR/out2.json" "worker.preload"
stop_cluster

# 3. command backend: {preload} expands to the flags; the worker runs in /
cat >"$T_DIR/start.sh" <<EOF2
#!/bin/sh
# usage: start.sh SCHEDULER NAME PRELOAD-FLAGS...
s=\$1 n=\$2; shift 2
cd / && "$TIDE_BIN" worker "\$s" --name "\$n" --job "\$n" "\$@" >"$T_DIR/job-\$n.log" 2>&1 &
echo "\$!"
EOF2
cat >"$T_DIR/stop.sh" <<'EOF2'
#!/bin/sh
kill "$1" 2>/dev/null
exit 0
EOF2
chmod +x "$T_DIR/start.sh" "$T_DIR/stop.sh"
cd "$T_DIR/plug"
start_cluster --backend command --start-cmd "$T_DIR/start.sh {scheduler} {name} {preload}" \
  --stop-cmd "$T_DIR/stop.sh {job_id}" --adapt --minimum 0 --maximum 1 --interval 200ms \
  --preload ./libmyplugin.so
cd "$T_DIR"
run_graph "$T_DIR/g.json" --timeout 60 >"$T_DIR/out3.json" || fail "run on the command cluster: $(cat "$T_DIR/cluster.log")"
check_values "$T_DIR/out3.json" command
[ "$(worker_preloads)" = "$T_DIR/plug/libmyplugin.so" ] || fail "command workers got --preload '$(worker_preloads)'"
stop_cluster

# 4. refused up front: nothing listens, no worker starts
expect_fail 2 '^tide: --preload: cannot load plugin missing\.so: .*No such file' \
  "$TIDE_BIN" cluster --port 0 --dashboard-port 0 --workers 1 --preload missing.so
echo 'not a library' >"$T_DIR/junk.so"
expect_fail 2 "^tide: --preload: cannot load plugin $T_DIR/junk\\.so" \
  "$TIDE_BIN" cluster --port 0 --dashboard-port 0 --workers 1 --preload "$T_DIR/junk.so"
expect_fail 2 '^tide: worker\.preload: cannot load plugin nope\.so' \
  env TIDE_WORKER__PRELOAD=nope.so "$TIDE_BIN" cluster --port 0 --dashboard-port 0 --workers 1
expect_fail 2 '^tide: --start-cmd: .*no \{preload\} placeholder' \
  "$TIDE_BIN" cluster --backend command --start-cmd 'true' --port 0 --dashboard-port 0 \
  --preload "$PLUGIN"

# 5. a worker with a plugin that does not load: exit 2, one line naming it,
#    never registered with the scheduler
start_scheduler
expect_fail 2 "^tide: cannot load plugin $T_DIR/nothere\\.so: " \
  "$TIDE_BIN" worker --scheduler-file "$SCHED_FILE" --preload "$T_DIR/nothere.so"
expect_fail 2 "^tide: cannot load plugin $T_DIR/junk\\.so: " \
  "$TIDE_BIN" worker --scheduler-file "$SCHED_FILE" --preload "$T_DIR/junk.so"
expect_fail 2 "^tide: plugin $TIDE_BUILD/libtide\\.so has no tide_plugin_init$" \
  "$TIDE_BIN" worker --scheduler-file "$SCHED_FILE" --preload "$TIDE_BUILD/libtide.so"
expect_fail 2 '^tide: cannot load plugin nope\.so: ' \
  env TIDE_WORKER__PRELOAD=nope.so "$TIDE_BIN" worker --scheduler-file "$SCHED_FILE"
joined=$(api /api/v1/get_workers | jq '.workers | length')
[ "$joined" = 0 ] || fail "$joined worker(s) registered despite a bad plugin"
pass "plugin values right on local (adaptive, bare name), worker.preload and command ({preload}, run in /); bad plugins refused with exit 2"
