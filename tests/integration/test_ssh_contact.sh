#!/usr/bin/env bash
# Scheduler and workers on different hosts, each bound to a wildcard and
# advertising a --contact-address: the scheduler file carries the address
# to dial (not 0.0.0.0), the scheduler knows each worker by its contact
# address, and 16 MiB moves between workers on two hosts through them
# ("ta.copy" exists only on h1's worker, "tb.copy" only on h2's).
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"
source "$TIDE_SRC/tests/lib/hosts.sh"

hosts_up 2
cat >"$T_DIR/copy.c" <<'C'
#include <tide/task.h>
static int copy(tide_task_ctx *ctx, const msgpack_object *args, size_t nargs, msgpack_packer *out)
{
  if (nargs != 1 || args[0].type != MSGPACK_OBJECT_BIN)
    return tide_task_fail(ctx, "copy: want one bytes argument");
  msgpack_pack_bin(out, args[0].via.bin.size);
  msgpack_pack_bin_body(out, args[0].via.bin.ptr, args[0].via.bin.size);
  return 0;
}
int tide_plugin_init(tide_registry *reg) { return tide_register(reg, NAME, copy); }
C
for p in ta tb; do
  cc -shared -fPIC -I"$TIDE_SRC/include" -DNAME="\"$p.copy\"" -o "$T_DIR/lib$p.so" "$T_DIR/copy.c" ||
    fail "cannot build the $p plugin"
done

SCHED_FILE="$T_DIR/scheduler.json"
bg scheduler "$TIDE_BIN" scheduler --host 0.0.0.0 --port 0 --dashboard-port 0 \
  --contact-address "$RIG_GW" --scheduler-file "$SCHED_FILE"
wait_for 10 test -s "$SCHED_FILE"
SCHED_ADDR=$(jq -r .address "$SCHED_FILE")
DASH_URL=$(jq -r .dashboard "$SCHED_FILE")
[[ "$SCHED_ADDR" =~ ^tcp://${RIG_GW//./\\.}:[0-9]+$ ]] || fail "scheduler file address $SCHED_ADDR, want tcp://$RIG_GW:PORT"
[[ "$DASH_URL" == "http://$RIG_GW:"* ]] || fail "scheduler file dashboard $DASH_URL"

# workers bound to every address of their host, advertising the rig's
bg worker-a ip netns exec "${RIG_NS}h1" "$TIDE_BIN" worker "$SCHED_ADDR" --name a --host 0.0.0.0 \
  --contact-address "$(host_addr h1)" --preload "$T_DIR/libta.so"
bg worker-b ip netns exec "${RIG_NS}h2" "$TIDE_BIN" worker "$SCHED_ADDR" --name b --host 0.0.0.0 \
  --port 0 --contact-address "tcp://$(host_addr h2)" --preload "$T_DIR/libtb.so"
wait_workers 2
for w in a:h1 b:h2; do
  addr=$(api /api/v1/identity | jq -r --arg n "${w%:*}" '.workers | to_entries[] | select(.value.name == $n) | .key')
  [[ "$addr" =~ ^tcp://$(host_addr "${w#*:}" | sed 's/\./\\./g'):[0-9]+$ ]] ||
    fail "worker ${w%:*} is known as \"$addr\", want its contact address on ${w#*:}"
done

LEN=$((16 * 1024 * 1024))
cat >"$T_DIR/g.json" <<G
{"tasks": {
  "data": {"fn": "tide.bytes", "args": [$LEN, 11]},
  "ona": {"fn": "ta.copy", "args": [{"ref": "data"}]},
  "onb": {"fn": "tb.copy", "args": [{"ref": "ona"}]},
  "sum_b": {"fn": "tide.checksum", "args": [{"ref": "onb"}]}},
 "outputs": ["sum_b"]}
G
want=$(bytes_sha256 $LEN 11)
run_graph "$T_DIR/g.json" --timeout 120 >"$T_DIR/out.json" || fail "graph failed: $(cat "$T_DIR/out.json")"
[ "$(jq -r .sum_b "$T_DIR/out.json")" = "$want" ] || fail "checksum $(jq -r .sum_b "$T_DIR/out.json"), want $want"
api /api/v1/task_stream?since=0 | jq -e --arg a "$(host_addr h2)" \
  '.tasks[] | select(.prefix == "tb.copy") | .worker | startswith("tcp://" + $a + ":")' >/dev/null ||
  fail "tb.copy did not run on h2"
pass "scheduler and workers bound to 0.0.0.0 advertise their contact addresses; 16 MiB moved h1 -> h2, checksum $want"
