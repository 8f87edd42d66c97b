/* Fuzz target: every worker message handler. The input is a role byte and
 * one frame payload (a msgpack array of messages, decoded as a connection
 * decodes it); message i goes to the worker's scheduler dispatch or, when
 * its bit of the role byte is set, to its data port's dispatch (a peer).
 * No socket: both connections are sinks (closing conns, whose batches are
 * dropped), and peers are dialled through a stand-in that refuses at once,
 * so a fuzzed holder address is never reached: every fetch from a peer
 * fails, as it does when a holder is gone. Two functions are registered:
 * fz.echo (inline, on the loop thread) and fz.first (on the one execution
 * thread); no builtin runs, so nothing fuzzed reaches a program or a
 * large allocation. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "common/config.h"
#include "net/conn_int.h"
#include "proto/msg.h"
#include "worker/registry.h"
#include "worker/worker_int.h"

static int fz_echo(tide_task_ctx *ctx, const msgpack_object *args, size_t nargs,
                   msgpack_packer *out)
{
  msgpack_pack_array(out, (uint32_t)nargs);
  for (size_t i = 0; i < nargs; i++)
    msgpack_pack_object(out, args[i]);
  return 0;
}

static int fz_first(tide_task_ctx *ctx, const msgpack_object *args, size_t nargs,
                    msgpack_packer *out)
{
  if (nargs == 0)
    return tide_task_fail(ctx, "fz.first takes one argument");
  msgpack_pack_object(out, args[0]);
  return 0;
}

static int no_peer(uv_loop_t *loop, const char *address, const tide__auth *auth,
                   const tide__conn_ops *ops, void *arg, tide__connect_fn cb, tide_error *err)
{
  return tide_errprintf(err, TIDE_ECLOSED, "peers are not dialled while fuzzing");
}

/* A connection that takes messages and sends nothing. */
static tide__conn *sink_conn(uv_loop_t *loop)
{
  tide__conn *c = tide__conn_new(loop);
  c->closing = true;
  return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  msgpack_zone zone;
  msgpack_object_array msgs;
  if (!tide__fuzz_messages(data, size, &zone, &msgs))
    return 0;
  unsigned roles = data[0];
  tide_error err;
  uv_loop_t loop;
  uv_loop_init(&loop);
  tide__config cfg;
  tide__config_defaults(&cfg);
  tide_registry *reg;
  tide__registry_create(&reg);
  tide__registry_add(reg, "fz.echo", fz_echo, TIDE_FN_INLINE);
  tide__registry_add(reg, "fz.first", fz_first, 0);
  tide__wk_opts o = {.scheduler = "tcp://127.0.0.1:1", .name = "fz", .nthreads = 1};
  tide__wk *w;
  if (tide__wk_create(&loop, &o, &cfg, reg, &w, &err) != 0)
    abort();
  /* What tide__wk_start sets up, without listening or connecting. */
  w->store = tide__store_create();
  if (tide__exec_create(&loop, 1, tide__wtask_done, w, &w->exec, &err) != 0)
    abort();
  w->address = strdup("tcp://127.0.0.1:3");
  uv_timer_init(&loop, &w->hb_timer);
  w->hb_timer.data = w;
  uv_check_init(&loop, &w->flush_check); /* started by fetches, never run */
  w->flush_check.data = w;
  w->sched = sink_conn(&loop);
  w->registered = true;
  w->peer_connect = no_peer;
  tide__conn *peer = sink_conn(&loop);

  for (uint32_t i = 0; i < msgs.size; i++) {
    if ((roles >> (i % 8)) & 1)
      tide__transfer_serve_msg(peer, &msgs.ptr[i], w);
    else if (w->sched)
      tide__wk_sched_msg(w->sched, &msgs.ptr[i], w);
  }

  tide__conn *sched = w->sched;
  w->sched = NULL;
  tide__wk_shutdown(w, 0); /* hands jobs still held to tide__wtask_done */
  tide__conn_abort(sched, 0);
  tide__conn_abort(peer, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  tide__wk_destroy(w);
  tide__registry_destroy(reg);
  uv_loop_close(&loop);
  msgpack_zone_destroy(&zone);
  return 0;
}
