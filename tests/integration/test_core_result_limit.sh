#!/usr/bin/env bash
# The largest result a task may make travels, and one byte more fails its
# task where it is made while the worker stays (docs/design.md §9 "Limits").
# The whole cluster, client included, runs with limits.frame-size lowered to
# 1 MiB, which stands in for 1 GiB and keeps memory and time small; the
# default table obeys the same rule (result + 4 KiB envelope <= frame), which
# tests/unit/test_common_limits.c proves.
source "${TIDE_SRC:-$(dirname "$0")/../..}/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"
export TIDE_LIMITS__FRAME_SIZE=1MiB
FRAME=1048576
RESULT=$((FRAME - 4096)) # limits.result-size: the frame less the envelope
BYTES_MAX=$((RESULT - 5)) # tide.bytes: less its bin 32 header

# big.make N: bytes of length N, with no limit of its own
cat >"$T_DIR/make.c" <<'C'
#include <stdlib.h>
#include <tide/task.h>
static int make(tide_task_ctx *ctx, const msgpack_object *args, size_t nargs, msgpack_packer *out)
{
  if (nargs != 1 || args[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
    return tide_task_fail(ctx, "big.make: want one length");
  size_t n = (size_t)args[0].via.u64;
  char *b = calloc(1, n ? n : 1);
  msgpack_pack_bin(out, n);
  msgpack_pack_bin_body(out, b, n);
  free(b);
  return 0;
}
int tide_plugin_init(tide_registry *reg) { return tide_register(reg, "big.make", make); }
C
cc -shared -fPIC -I"$TIDE_SRC/include" -o "$T_DIR/libbig.so" "$T_DIR/make.c" || fail "cannot build the plugin"
# two.lens X Y: the sum of two bytes values' lengths (only on worker b, so
# b fetches both from a in one request)
cat >"$T_DIR/two.c" <<'C'
#include <tide/task.h>
static int lens(tide_task_ctx *ctx, const msgpack_object *args, size_t nargs, msgpack_packer *out)
{
  if (nargs != 2 || args[0].type != MSGPACK_OBJECT_BIN || args[1].type != MSGPACK_OBJECT_BIN)
    return tide_task_fail(ctx, "two.lens: want two bytes");
  return msgpack_pack_uint64(out, (uint64_t)args[0].via.bin.size + args[1].via.bin.size);
}
int tide_plugin_init(tide_registry *reg) { return tide_register(reg, "two.lens", lens); }
C
cc -shared -fPIC -I"$TIDE_SRC/include" -o "$T_DIR/libtwo.so" "$T_DIR/two.c" || fail "cannot build the plugin"

start_scheduler
start_worker a --preload "$T_DIR/libbig.so"
WPID=$WORKER_PID
start_worker b --preload "$T_DIR/libtwo.so"
wait_workers 2

# at the limit: delivered to the client through the scheduler, intact,
# two such values in one run (more than one frame carries: the worker's
# data and the scheduler's reply each go out in two messages)
cat >"$T_DIR/max.json" <<G
{"tasks": {"a": {"fn": "tide.bytes", "args": [$BYTES_MAX, 3]},
           "p": {"fn": "big.make", "args": [$BYTES_MAX]},
           "q": {"fn": "big.make", "args": [$((BYTES_MAX - 1))]},
           "n": {"fn": "two.lens", "args": [{"ref": "p"}, {"ref": "q"}]}},
 "outputs": ["a", "p", "n"]}
G
run_graph "$T_DIR/max.json" --timeout 60 >"$T_DIR/max.out" || fail "the largest results were not delivered"
want=$(bytes_sha256 $BYTES_MAX 3)
[ "$(jq -c .a "$T_DIR/max.out")" = "{\"bytes\":$BYTES_MAX,\"sha256\":\"$want\"}" ] \
  || fail "a: $(jq -c .a "$T_DIR/max.out"), want $BYTES_MAX bytes with sha256 $want"
zeros=$(head -c $BYTES_MAX /dev/zero | sha256sum | cut -d' ' -f1)
[ "$(jq -c .p "$T_DIR/max.out")" = "{\"bytes\":$BYTES_MAX,\"sha256\":\"$zeros\"}" ] \
  || fail "p: $(jq -c .p "$T_DIR/max.out")"
# b fetched both of a's values in one request, answered in two messages
[ "$(jq .n "$T_DIR/max.out")" = $((2 * BYTES_MAX - 1)) ] || fail "n: $(jq .n "$T_DIR/max.out")"
# one byte over, from the builtin: refused before it is made
echo "{\"tasks\": {\"o\": {\"fn\": \"tide.bytes\", \"args\": [$((BYTES_MAX + 1))]}}}" >"$T_DIR/over.json"
expect_fail_only 1 "^tide: task \"o\" failed: tide\\.bytes: length must be between 0 and $BYTES_MAX \\(limits\\.result-size less the msgpack header\\), got $((BYTES_MAX + 1))\$" \
  run_graph "$T_DIR/over.json" --timeout 60
# one byte over, from a plugin: refused by the worker that made it
echo "{\"tasks\": {\"q\": {\"fn\": \"big.make\", \"args\": [$((BYTES_MAX + 1))]}}}" >"$T_DIR/pover.json"
expect_fail_only 1 "^tide: task \"q\" failed: result of $((RESULT + 1)) bytes is too large to send: limits\\.result-size is $RESULT bytes\$" \
  run_graph "$T_DIR/pover.json" --timeout 60

# the worker stayed (same process, still registered) and still delivers
kill -0 "$WPID" || fail "the worker died"
t_workers_eq 2 || fail "workers: $(nworkers), want 2"
run_graph "$T_DIR/max.json" --timeout 60 >"$T_DIR/again.out" || fail "nothing delivered after the refusals"
[ "$(jq -r .a.sha256 "$T_DIR/again.out")" = "$want" ] || fail "again: $(jq -c .a "$T_DIR/again.out")"
! grep -q "frame of .* exceeds the limit" "$T_DIR"/*.log || fail "a frame went over the limit: $(grep -h 'exceeds the limit' "$T_DIR"/*.log | head -1)"
pass "results of $RESULT bytes delivered in $FRAME-byte frames, two at a time to the client and between workers; $((RESULT + 1)) refused at the source twice; the worker stays"
