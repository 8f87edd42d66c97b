/* Fuzz target: every scheduler message handler. The input is a role byte
 * and one frame payload (a msgpack array of messages, decoded as a
 * connection decodes it); message i is handed to the scheduler's dispatch
 * as coming from worker 1, worker 2, a client (all three registered) or a
 * new connection that has yet to say hello, picked by two bits of the role
 * byte. The scheduler sends through a sink (its injectable tide__sched_tx):
 * every message it sends must be well-formed msgpack. The HTTP API is
 * attached, so the "api" op reaches its routes too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "http/api.h"
#include "proto/msg.h"
#include "scheduler/internal.h"

static msgpack_sbuffer sink_sb;
static msgpack_packer sink_pk;

static msgpack_packer *sink_begin(void *conn, tide__op op, uint32_t n)
{
  msgpack_sbuffer_clear(&sink_sb);
  msgpack_packer_init(&sink_pk, &sink_sb, msgpack_sbuffer_write);
  msgpack_pack_map(&sink_pk, n + 1);
  tide__pk_kstr(&sink_pk, "op", tide__op_name(op));
  return &sink_pk;
}

static void sink_end(void *conn)
{
  size_t off = 0;
  msgpack_zone z;
  msgpack_object o;
  msgpack_zone_init(&z, 1024);
  /* what the scheduler sends must decode as one whole map */
  if (msgpack_unpack(sink_sb.data, sink_sb.size, &off, &z, &o) != MSGPACK_UNPACK_SUCCESS ||
      off != sink_sb.size || o.type != MSGPACK_OBJECT_MAP)
    abort();
  msgpack_zone_destroy(&z);
}

enum { NEW_CONN = 5 }; /* the new connection's conn pointer */
static bool new_closed;

static void sink_close(void *conn, const char *reason)
{
  if (conn == (void *)NEW_CONN)
    new_closed = true;
}

static const tide__sched_tx sink_tx = {sink_begin, sink_end, sink_close};

static sclient *add_client(tide__sched *s, intptr_t conn)
{
  sclient *c = tide__xcalloc(1, sizeof *c);
  c->conn = (void *)conn;
  c->id = s->next_client_id++;
  c->next = s->clients;
  s->clients = c;
  return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 2)
    return 0;
  tide__log_init("fuzz", TIDE_LOG_NONE); /* quiet: millions of runs */
  unsigned roles = data[0];
  msgpack_zone zone;
  msgpack_zone_init(&zone, 4096);
  msgpack_object_array msgs;
  tide_error err;
  if (tide__batch_decode((const char *)data + 1, size - 1, &zone, &msgs, &err) != 0) {
    msgpack_zone_destroy(&zone);
    return 0;
  }
  uv_loop_t loop;
  uv_loop_init(&loop);
  tide__config cfg;
  tide__config_defaults(&cfg);
  tide__sched *s;
  if (tide__sched_create(&loop, &cfg, &s, &err) != 0)
    abort();
  tide__sched_set_tx(s, &sink_tx);
  msgpack_sbuffer_init(&sink_sb);
  tide__api *api;
  tide__api_create(s, NULL, NULL, &api);
  tide__sw_add(s, (void *)1, "w1", "tcp://127.0.0.1:1", "h", "", 2, 1 << 30, NULL, 0, NULL);
  tide__sw_add(s, (void *)2, "w2", "tcp://127.0.0.1:2", "h", "", 1, 0, NULL, 0, NULL);
  sclient *c = add_client(s, 3);
  sconn *sc = tide__xcalloc(1, sizeof *sc); /* as the scheduler's on_accept makes it */
  sc->s = s;
  sc->conn = (void *)NEW_CONN;
  new_closed = false;

  for (uint32_t i = 0; i < msgs.size; i++) {
    unsigned r = (roles >> (2 * (i % 4))) & 3;
    if (r < 2) {
      sworker *w = tide__sw_find(s, r ? "w2" : "w1"); /* NULL once removed */
      if (w)
        tide__sched_worker_msg(s, w, &msgs.ptr[i]);
    } else if (r == 2) {
      tide__client_msg(s, c, &msgs.ptr[i]);
    } else if (!new_closed && tide__sched_conn_msg(s, sc, &msgs.ptr[i])) {
      new_closed = true; /* closed with a protocol error: nothing more is read */
    }
    uv_run(&loop, UV_RUN_NOWAIT); /* timers due now: new work, retirement */
  }
  tide__target_inputs in;
  (void)tide__sched_adaptive_target(s, 5.0, &in);
  (void)tide__sched_workers_to_close(s, &(tide__close_opts){0}, NULL);

  tide__sched_close(s, false);
  uv_run(&loop, UV_RUN_DEFAULT);
  tide__sched_destroy(s);
  tide__api_destroy(api);
  free(sc);
  uv_loop_close(&loop);
  msgpack_sbuffer_destroy(&sink_sb);
  msgpack_zone_destroy(&zone);
  return 0;
}
