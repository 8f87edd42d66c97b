/* Streamed submission of a big graph: update-graph messages of at most
 * TIDE__STREAM_CHUNK tasks each, sent one after the other without waiting
 * for replies, so the scheduler creates and places the first tasks while
 * the client still packs and sends the rest (docs/protocol.md,
 * "update-graph"). The whole graph was checked when it was loaded, so no
 * part is sent of a graph the client would refuse. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/graph.h"
#include "client/internal.h"
#include "common/util.h"
#include "common/vec.h"

bool tide__graph_streamable(const tide_graph *g)
{
  /* A plugin function is known only to the scheduler (it asks its workers),
   * so a graph with one goes whole: a refusal then leaves nothing running. */
  return tide_graph_ntasks(g) > TIDE__STREAM_CHUNK && tide__graph_all_builtin(g);
}

/* "<token>/<key>" (malloc'd). */
static char *prefixed(const char *token, const char *key)
{
  size_t tl = strlen(token), kl = strlen(key);
  char *s = tide__xmalloc(tl + kl + 2);
  memcpy(s, token, tl);
  s[tl] = '/';
  memcpy(s + tl + 1, key, kl + 1);
  return s;
}

int tide__keys_submit_streamed(tide_client *c, const tide_graph *g, const char *token,
                               char *const *wants, size_t n, bool progress, const char *what,
                               double timeout, tide__ckey **ents, tide_error *err)
{
  size_t nt = tide_graph_ntasks(g), nchunks = 0;
  size_t *order = tide__graph_order(g);
  size_t *last = tide__xcalloc(nt + 1, sizeof *last); /* position of the last dependent */
  size_t *outof = tide__xmalloc((nt + 1) * sizeof *outof);
  tide__strvec bridges = {0};      /* wanted until every part is in */
  TIDE__VEC(const char *) w = {0}; /* one part's wants */
  double deadline = timeout > 0 ? tide__now() + timeout : 0;
  const char *refused = NULL;
  int rc;

  for (size_t p = 0; p < nt; p++) {
    size_t nd;
    const size_t *d = tide__graph_deps(g, order[p], &nd);
    for (size_t j = 0; j < nd; j++)
      last[d[j]] = p; /* order is increasing: the last write is the latest */
  }
  for (size_t i = 0; i < nt; i++)
    outof[i] = SIZE_MAX;
  for (size_t i = 0; i < n; i++)
    outof[tide__graph_output_task(g, i)] = i;
  if ((rc = tide__client_need_conn(c, err)) < 0)
    goto out;
  tide__keys_enter(c, wants, n, ents);
  tide__client_stream_reset(c);
  for (size_t s = 0, e; s < nt && rc == 0; s = e) {
    e = s + TIDE__STREAM_CHUNK < nt ? s + TIDE__STREAM_CHUNK : nt;
    /* A task a later part depends on is wanted until that part is in: the
     * scheduler forgets a task nothing wants at the end of its message. */
    w.n = 0;
    for (size_t p = s; p < e; p++) {
      size_t t = order[p];
      if (outof[t] != SIZE_MAX) {
        tide__vec_push(&w, wants[outof[t]]);
      } else if (last[t] >= e) {
        tide__vec_push(&bridges, prefixed(token, tide__graph_key(g, t)));
        tide__vec_push(&w, bridges.v[bridges.n - 1]);
      }
    }
    if ((rc = tide__client_need_conn(c, err)) < 0)
      break;
    msgpack_packer *pk = tide__client_begin_streamed(c, TIDE_OP_UPDATE_GRAPH, 3);
    tide__pk_str(pk, "tasks");
    tide__graph_pack_some(g, token, order + s, e - s, pk);
    tide__pk_str(pk, "wants");
    msgpack_pack_array(pk, (uint32_t)w.n);
    for (size_t i = 0; i < w.n; i++)
      tide__pk_str(pk, w.v[i]);
    tide__pk_kbool(pk, "progress", progress);
    tide__client_end_streamed(c);
    nchunks++;
  }
  while (rc == 0 && tide__client_stream_replies(c, &refused) < nchunks)
    rc = tide__client_turn(c, deadline, err);
  if (rc == TIDE_ETIMEOUT)
    rc = tide_errprintf(err, rc, "timed out after %gs waiting for the scheduler (update-graph)",
                        timeout);
  tide__client_stream_replies(c, &refused);
  if (rc == 0 && refused)
    rc = tide_errprintf(err, TIDE_EGRAPH, "%s: %s", what, refused);
  /* every part is in (or the graph failed): the dependents hold what they need */
  tide__client_send_release(c, bridges.v, bridges.n);
  tide__client_stream_reset(c);
out:
  tide__strvec_free(&bridges);
  tide__vec_free(&w);
  free(order);
  free(last);
  free(outof);
  return rc;
}
