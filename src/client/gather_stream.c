/* Gathering a graph's outputs while it still runs: each time another
 * TIDE__GATHER_BATCH keys have finished, a gather for the outputs in
 * memory and not yet asked for goes out without waiting for its reply, so
 * by the time the last task finishes only the last outputs are still to
 * fetch. The values are kept per request and put together in the outputs'
 * order at the end, so what the caller gets (and `tide run` prints) is the
 * same as one gather after the last task. A reply the scheduler had to
 * split because its values exceed one frame (limits.frame-size, "more")
 * ends the pipelining: the outputs are then gathered by the one-shot
 * gather, which asks again for what each part left out. */
#include <stdlib.h>
#include <string.h>

#include "client/internal.h"
#include "common/util.h"

static void on_reply(void *arg, size_t seq, const msgpack_object *reply)
{
  tide__gpipe *p = arg;
  bool ok = false;
  if (seq >= p->parts.n || p->rc < 0)
    return;
  tide__mp_bool(reply, "ok", &ok);
  if (!ok) /* the stream keeps the reason */
    return;
  bool more = false;
  tide__mp_bool(reply, "more", &more);
  if (more) {
    p->split = true;
    return;
  }
  size_t a = p->starts.v[seq], b = seq + 1 < p->starts.n ? p->starts.v[seq + 1] : p->which.n;
  size_t *ends = tide__xmalloc((b - a + 1) * sizeof *ends);
  p->rc = tide__client_put_values(reply, p->keys, p->names, p->which.v + a, b - a, &p->parts.v[seq],
                                  ends, &p->err);
  for (size_t j = a; p->rc == 0 && j < b; j++) {
    p->beg[p->which.v[j]] = j > a ? ends[j - a - 1] : 0;
    p->end[p->which.v[j]] = ends[j - a];
  }
  free(ends);
}

void tide__gpipe_init(tide__gpipe *p, tide_client *c, char *const *keys, char *const *names,
                      tide__ckey *const *ents, size_t n)
{
  memset(p, 0, sizeof *p);
  p->c = c;
  p->keys = keys;
  p->names = names;
  p->ents = ents;
  p->n = n;
  p->asked = tide__xcalloc(n + 1, 1);
  p->part = tide__xcalloc(n + 1, sizeof *p->part);
  p->beg = tide__xcalloc(n + 1, sizeof *p->beg);
  p->end = tide__xcalloc(n + 1, sizeof *p->end);
  p->seen_done = tide__client_keys(c)->ndone;
  tide__client_stream_reset(c);
  tide__client_stream_watch(c, on_reply, p);
}

/* Ask for the outputs in todo. */
static void send_todo(tide__gpipe *p)
{
  if (p->todo.n == 0 || tide__client_need_conn(p->c, NULL) < 0)
    return;
  msgpack_packer *pk = tide__client_begin_streamed(p->c, TIDE_OP_GATHER, 1);
  tide__pk_str(pk, "keys");
  msgpack_pack_array(pk, (uint32_t)p->todo.n);
  tide__vec_push(&p->starts, p->which.n);
  for (size_t j = 0; j < p->todo.n; j++) {
    size_t i = p->todo.v[j];
    tide__pk_str(pk, p->keys[i]);
    p->part[i] = p->parts.n;
    tide__vec_push(&p->which, i);
  }
  msgpack_sbuffer part;
  msgpack_sbuffer_init(&part);
  tide__vec_push(&p->parts, part);
  p->nasked += p->todo.n;
  p->todo.n = 0;
  tide__client_end_streamed(p->c);
}

/* Move the outputs in memory and not yet asked for to todo. */
static void collect(tide__gpipe *p)
{
  bool prefix = true;
  for (size_t i = p->scan; i < p->n; i++) {
    if (!p->asked[i] && p->ents[i]->state == TIDE__K_MEMORY) {
      p->asked[i] = 1;
      tide__vec_push(&p->todo, i);
    }
    prefix = prefix && p->asked[i];
    if (prefix)
      p->scan = i + 1;
  }
}

void tide__gpipe_step(tide__gpipe *p)
{
  uint64_t done = tide__client_keys(p->c)->ndone;
  if (done - p->seen_done < TIDE__GATHER_BATCH)
    return;
  p->seen_done = done;
  collect(p);
  if (p->todo.n >= TIDE__GATHER_BATCH)
    send_todo(p);
}

int tide__gpipe_finish(tide__gpipe *p, double deadline, double timeout, char **values, size_t *len,
                       tide_error *err)
{
  const char *refused = NULL;
  int rc = 0;
  collect(p);
  send_todo(p);
  while (rc == 0 && p->rc == 0 && tide__client_stream_replies(p->c, &refused) < p->parts.n)
    rc = tide__client_turn(p->c, deadline, err);
  if (rc == TIDE_ETIMEOUT)
    return tide_errprintf(err, rc, "timed out after %gs waiting for the scheduler (gather)",
                          timeout);
  if (rc < 0)
    return rc;
  if (p->rc < 0)
    return tide_errprintf(err, p->rc, "%s", p->err.text);
  tide__client_stream_replies(p->c, &refused);
  if (p->split && !refused)
    return tide__client_gather(p->c, p->keys, p->names, p->n, values, len, err);
  if (refused)
    return tide_errprintf(err, TIDE_ENOTFOUND, "cannot gather the results: %s", refused);
  if (p->nasked < p->n) /* the connection went while asking */
    return tide__client_need_conn(p->c, err);
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, (uint32_t)p->n);
  for (size_t i = 0; i < p->n; i++) {
    const msgpack_sbuffer *part = &p->parts.v[p->part[i]];
    msgpack_sbuffer_write(&sb, part->data + p->beg[i], p->end[i] - p->beg[i]);
  }
  *values = sb.data;
  *len = sb.size;
  return 0;
}

void tide__gpipe_free(tide__gpipe *p)
{
  tide__client_stream_reset(p->c);
  for (size_t k = 0; k < p->parts.n; k++)
    msgpack_sbuffer_destroy(&p->parts.v[k]);
  tide__vec_free(&p->parts);
  tide__vec_free(&p->starts);
  tide__vec_free(&p->which);
  tide__vec_free(&p->todo);
  free(p->asked);
  free(p->part);
  free(p->beg);
  free(p->end);
}
