/* The simulator's peers of the scheduler: virtual workers, which get its
 * compute-task and acquire-replicas messages through a send layer that
 * captures them and answer through its own message handlers, and the
 * client, which submits each line of the trace as an update-graph and
 * releases the outputs once they are all done, as `tide run` does. */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "sim/internal.h"

void tide__sim_start_tasks(sim *m, vworker *vw)
{
  while (!vw->gone && vw->running < m->o->nthreads && vw->qhead < vw->q.n) {
    vtask *vt = vw->q.v[vw->qhead++];
    stask *t = tide__task_find(m->s, vt->t->key, strlen(vt->t->key));
    if (!t || t->proc != vw->w) /* freed or taken back while queued */
      continue;
    vw->running++;
    tide__sim_push(m, m->now + vt->t->duration, EV_FINISH, vw, vt);
  }
  if (vw->qhead == vw->q.n)
    vw->qhead = vw->q.n = 0;
}

/* Hand the packed message in sb to the scheduler as from vw, decoded as
 * its connection would decode it. */
static void deliver(sim *m, vworker *vw, const msgpack_sbuffer *sb)
{
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  if (msgpack_unpack_next(&u, sb->data, sb->size, NULL) == MSGPACK_UNPACK_SUCCESS)
    tide__sched_worker_msg(m->s, vw->w, &u.data);
  msgpack_unpacked_destroy(&u);
}

static void worker_msg(sim *m, vworker *vw, const char *op, const vtask *vt, double start)
{
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 6);
  tide__pk_kstr(&pk, "op", op);
  tide__pk_kstr(&pk, "key", vt->t->key);
  tide__pk_kint(&pk, "nbytes", vt->t->nbytes);
  tide__pk_knum(&pk, "start", m->base + start);
  tide__pk_knum(&pk, "stop", m->base + m->now);
  tide__pk_kint(&pk, "thread", 0);
  deliver(m, vw, &sb);
  msgpack_sbuffer_destroy(&sb);
}

void tide__sim_finish(sim *m, vworker *vw, vtask *vt)
{
  vw->running--;
  if (vw->gone)
    return;
  stask *t = tide__task_find(m->s, vt->t->key, strlen(vt->t->key));
  if (t && t->proc == vw->w && t->state == TIDE_TS_PROCESSING) {
    m->r->busy_seconds += vt->t->duration;
    m->r->tasks_done++;
    worker_msg(m, vw, "task-finished", vt, m->now - vt->t->duration);
  }
  tide__sim_start_tasks(m, vw);
}

void tide__sim_arrive(sim *m, vworker *vw)
{
  if (vw->cancelled)
    return;
  tide_error err = {{0}};
  vw->w = tide__sw_add(m->s, vw, vw->name, vw->addr, "sim", vw->name, m->o->nthreads, m->o->memory,
                       NULL, 0, &err);
  if (!vw->w) {
    vw->cancelled = true;
    m->nplan--;
    m->nrm--;
    return;
  }
  vw->arrived = m->now;
  tide__startup_observe(m->startup, "sim", m->now - vw->requested);
  m->nobs++;
  if (m->nobs > m->r->peak)
    m->r->peak = m->nobs;
  if (m->r->first_worker < 0)
    m->r->first_worker = m->now - m->tr->subs[0].t;
}

/* ---- the captured send layer */

static msgpack_packer *tx_begin(void *conn, tide__op op, uint32_t nfields)
{
  (void)conn;
  msgpack_sbuffer_clear(&tide__sim_cur->sb);
  msgpack_pack_map(&tide__sim_cur->pk, nfields + 1);
  tide__pk_kstr(&tide__sim_cur->pk, "op", tide__op_name(op));
  tide__sim_cur->op = op;
  return &tide__sim_cur->pk;
}

static vtask *msg_vtask(sim *m, const msgpack_object *o)
{
  const char *k;
  size_t kl;
  vtask *vt = NULL;
  if (tide__mp_str(o, "key", &k, &kl))
    HASH_FIND(hh, m->tasks, k, kl, vt);
  return vt;
}

static void tx_end(void *conn)
{
  sim *m = tide__sim_cur;
  if (m->op == TIDE_OP_ACQUIRE_REPLICAS) {
    /* answered as a later event: copies take no virtual time here */
    msgpack_sbuffer *copy = tide__xcalloc(1, sizeof *copy);
    msgpack_sbuffer_init(copy);
    msgpack_sbuffer_write(copy, m->sb.data, m->sb.size);
    tide__sim_push(m, m->now, EV_REPLICAS, conn, copy);
    return;
  }
  if (m->op != TIDE_OP_COMPUTE_TASK && m->op != TIDE_OP_CLOSE && m->op != TIDE_OP_KEY_DONE &&
      m->op != TIDE_OP_REPLY)
    return; /* free-keys, heartbeat intervals: nothing a virtual worker acts on */
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  if (msgpack_unpack_next(&u, m->sb.data, m->sb.size, NULL) != MSGPACK_UNPACK_SUCCESS) {
    msgpack_unpacked_destroy(&u);
    return;
  }
  const msgpack_object *o = &u.data;
  if (conn == &m->client_conn) {
    bool ok = true;
    if (m->op == TIDE_OP_REPLY && tide__mp_bool(o, "ok", &ok) && !ok)
      m->err = TIDE_EUSAGE; /* the scheduler refused a submission */
    vtask *vt = m->op == TIDE_OP_KEY_DONE ? msg_vtask(m, o) : NULL;
    if (vt && m->left[vt->sub] > 0 && --m->left[vt->sub] == 0) {
      const tide__sim_sub *sub = &m->tr->subs[vt->sub];
      m->r->latency[vt->sub] = m->now - sub->t;
      m->subs_done++;
      tide__sim_push(m, m->now, EV_RELEASE, (void *)sub, NULL);
    }
  } else {
    vworker *vw = conn;
    if (m->op == TIDE_OP_COMPUTE_TASK) {
      vtask *vt = msg_vtask(m, o);
      if (vt) {
        tide__vec_push(&vw->q, vt);
        /* started once the scheduler has recorded the task as processing here */
        if (!vw->start_queued) {
          vw->start_queued = true;
          tide__sim_push(m, m->now, EV_START, vw, NULL);
        }
      }
    } else if (m->op == TIDE_OP_CLOSE && !vw->gone) {
      /* retired: the scheduler removes it right after this message */
      vw->gone = true;
      m->nobs--;
      m->nrm--;
    }
  }
  msgpack_unpacked_destroy(&u);
}

static void tx_close(void *conn, const char *reason)
{
  (void)conn;
  (void)reason;
}

const tide__sched_tx tide__sim_tx = {tx_begin, tx_end, tx_close};

/* acquire-replicas {keys: {key: [address]}}: the worker fetched them all
 * and answers add-keys {keys: {key: nbytes}} (docs/protocol.md). */
void tide__sim_replicas(sim *m, vworker *vw, msgpack_sbuffer *req)
{
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  const msgpack_object_map *keys = NULL;
  if (!vw->gone && msgpack_unpack_next(&u, req->data, req->size, NULL) == MSGPACK_UNPACK_SUCCESS)
    keys = tide__mp_map(&u.data, "keys");
  if (keys) {
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    tide__pk_kstr(&pk, "op", "add-keys");
    tide__pk_str(&pk, "keys");
    msgpack_pack_map(&pk, keys->size);
    for (uint32_t i = 0; i < keys->size; i++) {
      const msgpack_object *k = &keys->ptr[i].key;
      vtask *vt = NULL;
      if (k->type == MSGPACK_OBJECT_STR)
        HASH_FIND(hh, m->tasks, k->via.str.ptr, k->via.str.size, vt);
      msgpack_pack_object(&pk, *k);
      msgpack_pack_int64(&pk, vt ? vt->t->nbytes : 0);
    }
    tide__pk_str(&pk, "failed");
    msgpack_pack_array(&pk, 0);
    deliver(m, vw, &sb);
    msgpack_sbuffer_destroy(&sb);
  }
  msgpack_unpacked_destroy(&u);
  msgpack_sbuffer_destroy(req);
  free(req);
}

/* ---- the client side: submissions and releases */

static void client_msg(sim *m, msgpack_sbuffer *sb, bool update)
{
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  if (msgpack_unpack_next(&u, sb->data, sb->size, NULL) == MSGPACK_UNPACK_SUCCESS) {
    if (update)
      tide__client_update_graph(m->s, m->client, &u.data);
    else
      tide__client_release_keys(m->s, m->client, &u.data);
  }
  msgpack_unpacked_destroy(&u);
}

/* The outputs of a submission: its tasks no other task of it depends on. */
static bool *outputs(sim *m, const tide__sim_sub *sub, size_t *n)
{
  bool *dep = tide__xcalloc(sub->ntasks, 1);
  vtask *vt;
  for (size_t i = 0; i < sub->ntasks; i++)
    for (uint32_t d = 0; d < sub->tasks[i].ndeps; d++) {
      HASH_FIND_STR(m->tasks, sub->tasks[i].deps[d], vt);
      if (vt && vt->t >= sub->tasks && vt->t < sub->tasks + sub->ntasks)
        dep[vt->t - sub->tasks] = true;
    }
  *n = 0;
  for (size_t i = 0; i < sub->ntasks; i++)
    *n += !dep[i];
  return dep;
}

void tide__sim_submit(sim *m, size_t si)
{
  const tide__sim_sub *sub = &m->tr->subs[si];
  size_t nout;
  bool *dep = outputs(m, sub, &nout);
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 5);
  tide__pk_kstr(&pk, "op", "update-graph");
  tide__pk_kint(&pk, "id", (int64_t)si + 1);
  tide__pk_str(&pk, "tasks");
  msgpack_pack_array(&pk, (uint32_t)sub->ntasks);
  for (size_t i = 0; i < sub->ntasks; i++) {
    const tide__sim_task *t = &sub->tasks[i];
    msgpack_pack_map(&pk, 5);
    tide__pk_kstr(&pk, "key", t->key);
    tide__pk_kstr(&pk, "fn", "tide.sleep");
    tide__pk_kstr(&pk, "prefix", t->prefix);
    tide__pk_str(&pk, "args");
    msgpack_pack_array(&pk, 0);
    tide__pk_str(&pk, "deps");
    msgpack_pack_array(&pk, t->ndeps);
    for (uint32_t d = 0; d < t->ndeps; d++)
      tide__pk_str(&pk, t->deps[d]);
  }
  tide__pk_str(&pk, "wants");
  msgpack_pack_array(&pk, (uint32_t)nout);
  for (size_t i = 0; i < sub->ntasks; i++)
    if (!dep[i])
      tide__pk_str(&pk, sub->tasks[i].key);
  tide__pk_str(&pk, "progress");
  msgpack_pack_false(&pk);
  m->left[si] = nout;
  free(dep);
  client_msg(m, &sb, true);
  msgpack_sbuffer_destroy(&sb);
}

/* The client gathered a finished submission and lets its keys go. */
void tide__sim_release(sim *m, const tide__sim_sub *sub)
{
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  size_t nout;
  bool *dep = outputs(m, sub, &nout);
  msgpack_pack_map(&pk, 2);
  tide__pk_kstr(&pk, "op", "release-keys");
  tide__pk_str(&pk, "keys");
  msgpack_pack_array(&pk, (uint32_t)nout);
  for (size_t i = 0; i < sub->ntasks; i++)
    if (!dep[i])
      tide__pk_str(&pk, sub->tasks[i].key);
  free(dep);
  client_msg(m, &sb, false);
  msgpack_sbuffer_destroy(&sb);
}
