/* Shared by the scheduler unit tests: a scheduler whose sending layer
 * records messages instead of using sockets, fake workers and graphs. */
#ifndef TEST_SCHEDULER_FAKE_H
#define TEST_SCHEDULER_FAKE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/util.h"
#include "scheduler/internal.h"

typedef struct sent {
  void *conn;
  tide__op op;
  char key[128]; /* "key" field, or the first of "keys" (array or map) */
  int ok;        /* reply: 1 ok, 0 not, -1 no field */
  char error[256];
  char state[16]; /* key-done */
} sent;

static sent g_sent[100000];
static size_t g_nsent;
static msgpack_sbuffer g_sb;
static msgpack_packer g_pk;
static int g_closed[64];

static msgpack_packer *fake_begin(void *conn, tide__op op, uint32_t n)
{
  msgpack_sbuffer_clear(&g_sb);
  msgpack_packer_init(&g_pk, &g_sb, msgpack_sbuffer_write);
  msgpack_pack_map(&g_pk, n + 1);
  tide__pk_kstr(&g_pk, "op", tide__op_name(op));
  if (g_nsent < sizeof g_sent / sizeof g_sent[0]) {
    g_sent[g_nsent].conn = conn;
    g_sent[g_nsent].op = op;
    g_sent[g_nsent].key[0] = 0;
  }
  return &g_pk;
}

static void fake_end(void *conn)
{
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  if (msgpack_unpack_next(&u, g_sb.data, g_sb.size, NULL) == MSGPACK_UNPACK_SUCCESS &&
      g_nsent < sizeof g_sent / sizeof g_sent[0]) {
    const char *k;
    size_t kl;
    const msgpack_object *o = &u.data;
    bool okv;
    g_sent[g_nsent].ok = tide__mp_bool(o, "ok", &okv) ? okv : -1;
    g_sent[g_nsent].error[0] = g_sent[g_nsent].state[0] = 0;
    if (tide__mp_str(o, "error", &k, &kl))
      snprintf(g_sent[g_nsent].error, sizeof g_sent[g_nsent].error, "%.*s", (int)kl, k);
    if (tide__mp_str(o, "state", &k, &kl))
      snprintf(g_sent[g_nsent].state, sizeof g_sent[g_nsent].state, "%.*s", (int)kl, k);
    if (tide__mp_str(o, "key", &k, &kl)) {
      snprintf(g_sent[g_nsent].key, sizeof g_sent[g_nsent].key, "%.*s", (int)kl, k);
    } else if (tide__mp_array(o, "keys") && tide__mp_array(o, "keys")->size) {
      const msgpack_object *e = &tide__mp_array(o, "keys")->ptr[0];
      snprintf(g_sent[g_nsent].key, sizeof g_sent[g_nsent].key, "%.*s", (int)e->via.str.size,
               e->via.str.ptr);
    } else if (tide__mp_map(o, "keys") && tide__mp_map(o, "keys")->size) {
      const msgpack_object *e = &tide__mp_map(o, "keys")->ptr[0].key;
      snprintf(g_sent[g_nsent].key, sizeof g_sent[g_nsent].key, "%.*s", (int)e->via.str.size,
               e->via.str.ptr);
    }
  }
  msgpack_unpacked_destroy(&u);
  g_nsent++;
}

static void fake_close(void *conn)
{
  (void)conn;
}

static void fake_close_r(void *conn, const char *reason)
{
  (void)reason;
  intptr_t i = (intptr_t)conn;
  if (i > 0 && i < 64)
    g_closed[i]++;
  fake_close(conn);
}

static const tide__sched_tx fake_tx = {fake_begin, fake_end, fake_close_r};

typedef struct fixture {
  uv_loop_t loop;
  tide__sched *s;
  tide__config cfg;
} fixture;

static fixture *fx_new(void (*tweak)(tide__config *))
{
  fixture *f = calloc(1, sizeof *f);
  uv_loop_init(&f->loop);
  tide__config_defaults(&f->cfg);
  if (tweak)
    tweak(&f->cfg);
  tide__sched_create(&f->loop, &f->cfg, &f->s, NULL);
  tide__sched_set_tx(f->s, &fake_tx);
  msgpack_sbuffer_init(&g_sb);
  g_nsent = 0;
  memset(g_closed, 0, sizeof g_closed);
  return f;
}

static void fx_free(fixture *f)
{
  tide__sched_close(f->s, false);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  tide__sched_destroy(f->s);
  uv_loop_close(&f->loop);
  msgpack_sbuffer_destroy(&g_sb);
  free(f);
}

/* A fake worker: conn is (void *)id, address "tcp://w<id>". */
__attribute__((unused)) static sworker *fx_worker(fixture *f, int id, int nthreads, int64_t mem)
{
  char name[32], addr[64];
  snprintf(name, sizeof name, "w%d", id);
  snprintf(addr, sizeof addr, "tcp://w%d:1", id);
  return tide__sw_add(f->s, (void *)(intptr_t)id, name, addr, "h", "", nthreads, mem, NULL, 0,
                      NULL);
}

/* Add a task with up to 4 deps named by key; not activated. */
__attribute__((unused)) static stask *fx_task(fixture *f, const char *key, const char *fn,
                                              const char *d1, const char *d2)
{
  stask *deps[2] = {NULL, NULL};
  uint32_t n = 0;
  if (d1)
    deps[n++] = tide__task_find(f->s, d1, strlen(d1));
  if (d2)
    deps[n++] = tide__task_find(f->s, d2, strlen(d2));
  static const char args[] = "\x90"; /* [] */
  return tide__task_new(f->s, key, strlen(key), fn, strlen(fn), NULL, 0, args, 1, deps, n);
}

static stask *T(fixture *f, const char *key)
{
  return tide__task_find(f->s, key, strlen(key));
}

__attribute__((unused)) static int tstate(fixture *f, const char *key)
{
  stask *t = T(f, key);
  return t ? t->state : -1;
}

/* Messages of op sent to conn id (0 = any) with key (NULL = any). */
__attribute__((unused)) static int nsent(int id, tide__op op, const char *key)
{
  int n = 0;
  for (size_t i = 0; i < g_nsent; i++)
    if ((id == 0 || g_sent[i].conn == (void *)(intptr_t)id) && g_sent[i].op == op &&
        (!key || strcmp(g_sent[i].key, key) == 0))
      n++;
  return n;
}

/* The worker id the last compute-task for key went to, 0 if none. */
__attribute__((unused)) static int sent_to(const char *key)
{
  for (size_t i = g_nsent; i-- > 0;)
    if (g_sent[i].op == TIDE_OP_COMPUTE_TASK && strcmp(g_sent[i].key, key) == 0)
      return (int)(intptr_t)g_sent[i].conn;
  return 0;
}

__attribute__((unused)) static void fx_finish(fixture *f, const char *key, int64_t nbytes,
                                              double dur)
{
  stask *t = T(f, key);
  tide__task_finished(f->s, t->proc, t, nbytes, 100.0, 100.0 + dur, 0);
}

/* Pack a JSON text as a msgpack message (for client/worker messages). */
static void pack_json(msgpack_packer *pk, json_t *j)
{
  switch (json_typeof(j)) {
  case JSON_OBJECT: {
    msgpack_pack_map(pk, json_object_size(j));
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v)
    {
      tide__pk_str(pk, k);
      pack_json(pk, v);
    }
    break;
  }
  case JSON_ARRAY: {
    msgpack_pack_array(pk, json_array_size(j));
    size_t i;
    json_t *v;
    json_array_foreach(j, i, v) pack_json(pk, v);
    break;
  }
  case JSON_STRING: tide__pk_str(pk, json_string_value(j)); break;
  case JSON_INTEGER: msgpack_pack_int64(pk, json_integer_value(j)); break;
  case JSON_REAL: msgpack_pack_double(pk, json_real_value(j)); break;
  case JSON_TRUE: msgpack_pack_true(pk); break;
  case JSON_FALSE: msgpack_pack_false(pk); break;
  default: msgpack_pack_nil(pk); break;
  }
}

typedef struct jmsg {
  msgpack_sbuffer sb;
  msgpack_unpacked u;
} jmsg;

/* A decoded message from JSON; free with jmsg_free. */
__attribute__((unused)) static const msgpack_object *jmsg_make(jmsg *m, const char *text)
{
  json_error_t je;
  json_t *j = json_loads(text, 0, &je);
  if (!j) {
    fprintf(stderr, "bad test JSON: %s: %s\n", je.text, text);
    abort();
  }
  msgpack_sbuffer_init(&m->sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &m->sb, msgpack_sbuffer_write);
  pack_json(&pk, j);
  json_decref(j);
  msgpack_unpacked_init(&m->u);
  msgpack_unpack_next(&m->u, m->sb.data, m->sb.size, NULL);
  return &m->u.data;
}

__attribute__((unused)) static void jmsg_free(jmsg *m)
{
  msgpack_unpacked_destroy(&m->u);
  msgpack_sbuffer_destroy(&m->sb);
}

/* A fake client on conn id. */
__attribute__((unused)) static sclient *fx_client(fixture *f, int id)
{
  sclient *c = calloc(1, sizeof *c);
  c->conn = (void *)(intptr_t)id;
  c->id = f->s->next_client_id++;
  c->next = f->s->clients;
  f->s->clients = c;
  return c;
}

__attribute__((unused)) static void client_send(fixture *f, sclient *c, const char *json)
{
  jmsg m;
  tide__client_msg(f->s, c, jmsg_make(&m, json));
  jmsg_free(&m);
}

__attribute__((unused)) static void worker_send(fixture *f, sworker *w, const char *json)
{
  jmsg m;
  tide__sched_worker_msg(f->s, w, jmsg_make(&m, json));
  jmsg_free(&m);
}

/* The last message of op sent to conn id, or NULL. */
__attribute__((unused)) static const sent *last_sent(int id, tide__op op)
{
  for (size_t i = g_nsent; i-- > 0;)
    if (g_sent[i].conn == (void *)(intptr_t)id && g_sent[i].op == op)
      return &g_sent[i];
  return NULL;
}

#endif
