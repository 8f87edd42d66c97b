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

#include "common.h"
#include "common/util.h"

enum { NEW_CONN = 5 }; /* the new connection's conn pointer */
static bool new_closed;

static void on_close(void *conn)
{
  if (conn == (void *)NEW_CONN)
    new_closed = true;
}

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
  msgpack_zone zone;
  msgpack_object_array msgs;
  if (!tide__fuzz_messages(data, size, &zone, &msgs))
    return 0;
  unsigned roles = data[0];
  tide__fuzz_sched f;
  tide__fuzz_sched_start(&f, on_close);
  tide__sched *s = f.s;
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
    uv_run(&f.loop, UV_RUN_NOWAIT); /* timers due now: new work, retirement */
  }
  tide__target_inputs in;
  (void)tide__sched_adaptive_target(s, 5.0, &in);
  (void)tide__sched_workers_to_close(s, &(tide__close_opts){0}, NULL);

  tide__fuzz_sched_stop(&f);
  free(sc);
  msgpack_zone_destroy(&zone);
  return 0;
}
