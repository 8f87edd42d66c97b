/* The blocking client library (include/tide/client.h): one connection to the
 * scheduler on a private uv loop that runs only inside each blocking call. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uthash.h>
#include <uv.h>

#include "client/client_int.h"
#include "client/graph.h"
#include "common/log.h"
#include "common/util.h"
#include "net/conn.h"
#include "proto/frame.h"
#include "proto/msg.h"
#include "tide/client.h"

/* A wanted key of the running compute. */
typedef struct want {
  char *key;           /* prefixed */
  int state;           /* 0 pending, 1 memory, 2 erred */
  UT_hash_handle hh;
} want;

struct tide_client {
  uv_loop_t loop;
  uv_timer_t timer;
  tide__conn *conn;
  bool connected;      /* connect callback ran with success */
  bool ready;          /* scheduler hello received */
  bool closed;         /* the connection is gone (or never came) */
  bool timed_out;
  int conn_status;     /* connect or close status */
  char *target;        /* address we connect to */
  char *address;       /* scheduler's own address from its hello */
  char *dashboard;
  char *sched_error;   /* "error" message from the scheduler */
  double timeout;      /* request timeout, 0 = none */
  int64_t next_id;

  /* the one request in flight */
  int64_t wait_id;
  bool got_reply;
  msgpack_sbuffer reply_buf;
  msgpack_unpacked reply;

  /* the running compute */
  want *wants;
  size_t nwanted, ndone;
  size_t progress_done;
  bool computing;
  char *task_error;    /* "task \"b\" failed: ..." */
  char token[24];

  /* outputs held after the last compute */
  char **held_keys;    /* prefixed */
  char **held_names;   /* graph keys */
  size_t nheld;

  /* key-done messages go here instead, when set (client_int.h) */
  tide__key_done_fn key_hook;
  void *key_hook_arg;
};

static void on_msg(tide__conn *conn, const msgpack_object *msg, void *arg);
static void on_closed(tide__conn *conn, int status, void *arg);
static const tide__conn_ops client_ops = {on_msg, on_closed};

/* Replace every "<token>/" in s by "" (keys in scheduler messages). */
static char *strip_token(const char *token, const char *s, size_t n)
{
  char *out = tide__xmalloc(n + 1);
  size_t tl = strlen(token), o = 0;
  for (size_t i = 0; i < n;) {
    if (tl && i + tl < n && memcmp(s + i, token, tl) == 0 && s[i + tl] == '/') {
      i += tl + 1;
      continue;
    }
    out[o++] = s[i++];
  }
  out[o] = '\0';
  return out;
}

static void on_key_done(tide_client *c, const msgpack_object *msg)
{
  const char *key, *st;
  size_t klen, slen;
  want *w = NULL;

  size_t tl = strlen(c->token);

  if (!c->computing || !tide__mp_str(msg, "key", &key, &klen) ||
      !tide__mp_str(msg, "state", &st, &slen))
    return;
  /* Late news about an earlier submission: not ours any more. */
  if (klen <= tl || memcmp(key, c->token, tl) != 0 || key[tl] != '/')
    return;
  if (c->progress_done < SIZE_MAX)
    c->progress_done++;
  HASH_FIND(hh, c->wants, key, klen, w);
  bool erred = slen == 5 && memcmp(st, "erred", 5) == 0;
  if (erred && !c->task_error) {
    const char *task = key, *e = "unknown error";
    size_t tlen = klen, elen = strlen(e);
    tide__mp_str(msg, "task", &task, &tlen);
    tide__mp_str(msg, "error", &e, &elen);
    char *t = strip_token(c->token, task, tlen), *m = strip_token(c->token, e, elen);
    c->task_error = tide__xasprintf("task \"%s\" failed: %s", t, m);
    free(t);
    free(m);
  }
  if (w && w->state == 0) {
    w->state = erred ? 2 : 1;
    c->ndone++;
  }
}

static void on_msg(tide__conn *conn, const msgpack_object *msg, void *arg)
{
  tide_client *c = arg;
  int64_t id;

  switch (tide__mp_op(msg)) {
  case TIDE_OP_HELLO:
    free(c->address);
    free(c->dashboard);
    c->address = tide__mp_strdup(msg, "address");
    c->dashboard = tide__mp_strdup(msg, "dashboard");
    c->ready = true;
    break;
  case TIDE_OP_ERROR:
    free(c->sched_error);
    c->sched_error = tide__mp_strdup(msg, "message");
    break;
  case TIDE_OP_REPLY:
    if (tide__mp_int(msg, "id", &id) && id == c->wait_id && !c->got_reply) {
      msgpack_packer pk;
      msgpack_sbuffer_clear(&c->reply_buf);
      msgpack_packer_init(&pk, &c->reply_buf, msgpack_sbuffer_write);
      tide__pk_object(&pk, msg);
      c->got_reply = true;
    }
    break;
  case TIDE_OP_KEY_DONE:
    if (c->key_hook)
      c->key_hook(msg, c->key_hook_arg);
    else
      on_key_done(c, msg);
    break;
  default: tide__debug("client", "ignoring message %s", tide__op_name(tide__mp_op(msg))); break;
  }
}

static void on_closed(tide__conn *conn, int status, void *arg)
{
  tide_client *c = arg;
  c->conn = NULL;
  c->closed = true;
  if (status)
    c->conn_status = status;
}

static void on_connect(tide__conn *conn, int status, void *arg)
{
  tide_client *c = arg;
  if (status < 0) {
    c->closed = true;
    c->conn_status = status;
    return;
  }
  c->conn = conn;
  c->connected = true;
  tide__conn_set_arg(conn, c);
  msgpack_packer *pk = tide__conn_begin(conn, TIDE_OP_HELLO, 3);
  tide__pk_kint(pk, "proto", TIDE_PROTO_VERSION);
  tide__pk_kstr(pk, "role", "client");
  char name[64];
  snprintf(name, sizeof name, "client-%d", (int)getpid());
  tide__pk_kstr(pk, "name", name);
  tide__conn_end(conn);
  tide__conn_flush(conn);
}

static void on_timer(uv_timer_t *t)
{
  tide_client *c = t->data;
  c->timed_out = true;
}

/* Run the loop until *flag is set, the connection closes, or timeout
 * seconds pass (<= 0: no limit). Returns 0, TIDE_ETIMEOUT or TIDE_ECLOSED. */
static int wait_for(tide_client *c, const bool *flag, double timeout)
{
  c->timed_out = false;
  if (timeout > 0)
    uv_timer_start(&c->timer, on_timer, (uint64_t)(timeout * 1000.0 + 0.5), 0);
  while (!*flag && !c->closed && !c->timed_out)
    uv_run(&c->loop, UV_RUN_ONCE);
  uv_timer_stop(&c->timer);
  if (*flag)
    return 0;
  return c->timed_out ? TIDE_ETIMEOUT : TIDE_ECLOSED;
}

static int closed_error(tide_client *c, tide_error *err)
{
  const char *addr = c->address ? c->address : c->target;
  if (c->sched_error)
    return tide_errprintf(err, TIDE_ECLOSED, "the scheduler at %s closed the connection: %s", addr,
                          c->sched_error);
  return tide_errprintf(err, TIDE_ECLOSED, "lost the connection to the scheduler at %s", addr);
}

static int read_scheduler_file(const char *path, char **address, tide_error *err)
{
  json_error_t jerr;
  json_t *j = json_load_file(path, 0, &jerr), *a;
  if (!j) {
    if (access(path, R_OK) != 0)
      return tide_errprintf(err, -errno, "cannot read scheduler file %s: %s", path,
                            strerror(errno));
    return tide_errprintf(err, TIDE_EUSAGE, "%s:%d: malformed scheduler file: %s", path,
                          jerr.line, jerr.text);
  }
  a = json_object_get(j, "address");
  if (!json_is_string(a)) {
    json_decref(j);
    return tide_errprintf(err, TIDE_EUSAGE, "%s: scheduler file has no \"address\"", path);
  }
  *address = tide__xstrdup(json_string_value(a));
  json_decref(j);
  return 0;
}

static void release_held(tide_client *c)
{
  for (size_t i = 0; i < c->nheld; i++) {
    free(c->held_keys[i]);
    free(c->held_names[i]);
  }
  free(c->held_keys);
  free(c->held_names);
  c->held_keys = c->held_names = NULL;
  c->nheld = 0;
}

static void clear_wants(tide_client *c)
{
  want *w, *tmp;
  HASH_ITER(hh, c->wants, w, tmp) {
    HASH_DEL(c->wants, w);
    free(w->key);
    free(w);
  }
  c->nwanted = c->ndone = c->progress_done = 0;
  c->computing = false;
  free(c->task_error);
  c->task_error = NULL;
}

int tide_client_connect(const char *address, const char *scheduler_file, double timeout,
                        tide_client **out, tide_error *err)
{
  tide_client *c;
  char *target = NULL;
  int rc;

  *out = NULL;
  if (address)
    target = tide__xstrdup(address);
  else if (!scheduler_file)
    return tide_errprintf(err, TIDE_EUSAGE, "no scheduler address or scheduler file given");
  else if ((rc = read_scheduler_file(scheduler_file, &target, err)) < 0)
    return rc;
  if (timeout <= 0)
    timeout = 10;

  c = tide__xcalloc(1, sizeof *c);
  c->target = target;
  msgpack_sbuffer_init(&c->reply_buf);
  msgpack_unpacked_init(&c->reply);
  if ((rc = uv_loop_init(&c->loop)) < 0) {
    free(c->target);
    free(c);
    return tide_errprintf(err, rc, "cannot create an event loop: %s", uv_strerror(rc));
  }
  uv_timer_init(&c->loop, &c->timer);
  c->timer.data = c;

  tide_error cerr = {{0}};
  rc = tide__conn_connect(&c->loop, target, &client_ops, c, on_connect, &cerr);
  if (rc < 0) {
    if (rc == TIDE_EUSAGE && cerr.text[0])
      rc = tide_errprintf(err, rc, "%s", cerr.text);
    else
      rc = tide_errprintf(err, rc, "cannot reach the scheduler at %s: %s", target,
                          cerr.text[0] ? cerr.text : tide_strerror(rc));
    tide_client_destroy(c);
    return rc;
  }
  rc = wait_for(c, &c->ready, timeout);
  if (rc < 0) {
    if (c->sched_error)
      rc = tide_errprintf(err, TIDE_ECLOSED, "the scheduler at %s refused the connection: %s",
                          target, c->sched_error);
    else if (rc == TIDE_ETIMEOUT)
      rc = tide_errprintf(err, TIDE_ETIMEOUT, "cannot reach the scheduler at %s: timed out after %gs",
                          target, timeout);
    else if (!c->connected && c->conn_status < 0)
      rc = tide_errprintf(err, c->conn_status, "cannot reach the scheduler at %s: %s", target,
                          tide_strerror(c->conn_status));
    else
      rc = tide_errprintf(err, TIDE_ECLOSED,
                          "cannot reach the scheduler at %s: it closed the connection", target);
    tide_client_destroy(c);
    return rc;
  }
  *out = c;
  return 0;
}

void tide_client_destroy(tide_client *c)
{
  if (!c)
    return;
  /* The net layer bounds a graceful close (flush, shutdown) in time and
   * always calls on_closed; wait for it, then for our timer's close. */
  if (c->conn)
    tide__conn_close(c->conn, 0, NULL);
  while (c->conn)
    uv_run(&c->loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&c->timer, NULL);
  while (uv_run(&c->loop, UV_RUN_DEFAULT) != 0)
    ;
  uv_loop_close(&c->loop);
  clear_wants(c);
  release_held(c);
  msgpack_unpacked_destroy(&c->reply);
  msgpack_sbuffer_destroy(&c->reply_buf);
  free(c->target);
  free(c->address);
  free(c->dashboard);
  free(c->sched_error);
  free(c);
}

const char *tide_client_scheduler_address(const tide_client *c)
{
  return c->address && *c->address ? c->address : c->target;
}

const char *tide_client_dashboard(const tide_client *c)
{
  return c->dashboard ? c->dashboard : "";
}

void tide_client_set_timeout(tide_client *c, double timeout)
{
  c->timeout = timeout > 0 ? timeout : 0;
}

/* Start a request message: packs "id" and returns the packer for the
 * remaining nfields fields. */
static msgpack_packer *begin_request(tide_client *c, tide__op op, uint32_t nfields)
{
  msgpack_packer *pk = tide__conn_begin(c->conn, op, nfields + 1);
  c->wait_id = ++c->next_id;
  c->got_reply = false;
  tide__pk_kint(pk, "id", c->wait_id);
  return pk;
}

/* Send the request begun with begin_request and wait for its reply. On 0,
 * *reply is the reply map (valid until the next request). A reply with
 * ok=false returns 1 with err holding the scheduler's error text. */
static int finish_request(tide_client *c, const char *what, const msgpack_object **reply,
                          tide_error *err)
{
  size_t off = 0;
  bool ok = false;
  int rc;

  tide__conn_end(c->conn);
  tide__conn_flush(c->conn);
  rc = wait_for(c, &c->got_reply, c->timeout);
  if (rc == TIDE_ETIMEOUT)
    return tide_errprintf(err, rc, "timed out after %gs waiting for the scheduler (%s)",
                          c->timeout, what);
  if (rc < 0)
    return closed_error(c, err);
  if (msgpack_unpack_next(&c->reply, c->reply_buf.data, c->reply_buf.size, &off) !=
      MSGPACK_UNPACK_SUCCESS)
    return tide_errprintf(err, TIDE_EPROTO, "malformed reply from the scheduler (%s)", what);
  *reply = &c->reply.data;
  tide__mp_bool(*reply, "ok", &ok);
  if (!ok) {
    const char *e = "request refused";
    size_t elen = strlen(e);
    tide__mp_str(*reply, "error", &e, &elen);
    char *m = strip_token(c->token, e, elen);
    tide_errprintf(err, 1, "%s", m);
    free(m);
    return 1;
  }
  return 0;
}

static int need_conn(tide_client *c, tide_error *err)
{
  if (!c->conn || c->closed)
    return closed_error(c, err);
  return 0;
}

/* An index over the keys of a gather reply's data map. */
typedef struct dentry {
  const msgpack_object *val;
  UT_hash_handle hh;
} dentry;

static dentry *index_data(const msgpack_object_map *data)
{
  dentry *index = NULL, *e;
  for (uint32_t k = 0; k < data->size; k++) {
    const msgpack_object *ko = &data->ptr[k].key;
    if (ko->type != MSGPACK_OBJECT_STR)
      continue;
    HASH_FIND(hh, index, ko->via.str.ptr, ko->via.str.size, e);
    if (e)
      continue;
    e = tide__xmalloc(sizeof *e);
    e->val = &data->ptr[k].val;
    HASH_ADD_KEYPTR(hh, index, ko->via.str.ptr, ko->via.str.size, e);
  }
  return index;
}

static void free_index(dentry *index)
{
  dentry *e, *tmp;
  HASH_ITER(hh, index, e, tmp) {
    HASH_DEL(index, e);
    free(e);
  }
}

/* Gather keys[i] and pack {names[i]: VALUE} into a new buffer. */
static int gather(tide_client *c, char *const *keys, char *const *names, size_t n, char **values,
                  size_t *len, tide_error *err)
{
  const msgpack_object *reply;
  msgpack_packer *pk = begin_request(c, TIDE_OP_GATHER, 1);
  int rc;

  tide__pk_str(pk, "keys");
  msgpack_pack_array(pk, (uint32_t)n);
  for (size_t i = 0; i < n; i++)
    tide__pk_str(pk, keys[i]);
  rc = finish_request(c, "gather", &reply, err);
  if (rc > 0) {
    char msg[sizeof err->text];
    snprintf(msg, sizeof msg, "%s", err->text);
    return tide_errprintf(err, TIDE_ENOTFOUND, "cannot gather the results: %s", msg);
  }
  if (rc < 0)
    return rc;
  const msgpack_object_map *data = tide__mp_map(reply, "data");
  if (!data)
    return tide_errprintf(err, TIDE_EPROTO, "malformed gather reply from the scheduler");
  msgpack_sbuffer sb;
  msgpack_packer opk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&opk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&opk, (uint32_t)n);
  dentry *index = NULL;
  for (size_t i = 0; i < n; i++) {
    /* The reply usually lists the keys in the order asked: try that slot
     * first, else look the key up in an index built once. */
    const msgpack_object *v = NULL;
    if (i < data->size && tide__mp_streq(&data->ptr[i].key, keys[i])) {
      v = &data->ptr[i].val;
    } else {
      if (!index)
        index = index_data(data);
      dentry *e = NULL;
      HASH_FIND(hh, index, keys[i], strlen(keys[i]), e);
      v = e ? e->val : NULL;
    }
    if (!v || v->type != MSGPACK_OBJECT_BIN || v->via.bin.size == 0) {
      msgpack_sbuffer_destroy(&sb);
      free_index(index);
      return tide_errprintf(err, TIDE_ENOTFOUND, "the scheduler returned no value for \"%s\"",
                            names[i]);
    }
    tide__pk_str(&opk, names[i]);
    msgpack_sbuffer_write(&sb, v->via.bin.ptr, v->via.bin.size);
  }
  free_index(index);
  *values = sb.data;
  *len = sb.size;
  return 0;
}

static void make_token(char *out, size_t n)
{
  unsigned char r[8];
  if (uv_random(NULL, NULL, r, sizeof r, 0, NULL) < 0) {
    double t = tide__wall();
    memcpy(r, &t, sizeof r);
    r[0] ^= (unsigned char)getpid();
  }
  for (size_t i = 0; i < sizeof r && 2 * i + 2 < n; i++)
    snprintf(out + 2 * i, 3, "%02x", r[i]);
}

static void send_release(tide_client *c, char *const *keys, size_t n)
{
  if (!n || !c->conn || c->closed)
    return;
  msgpack_packer *pk = tide__conn_begin(c->conn, TIDE_OP_RELEASE_KEYS, 1);
  tide__pk_str(pk, "keys");
  msgpack_pack_array(pk, (uint32_t)n);
  for (size_t i = 0; i < n; i++)
    tide__pk_str(pk, keys[i]);
  tide__conn_end(c->conn);
  tide__conn_flush(c->conn);
}

static int submit(tide_client *c, const tide_graph *g, bool progress, tide_error *err)
{
  const msgpack_object *reply;
  size_t nout = tide__graph_noutputs(g);
  msgpack_packer *pk = begin_request(c, TIDE_OP_UPDATE_GRAPH, 3);
  int rc;

  tide__pk_str(pk, "tasks");
  tide__graph_pack_tasks(g, c->token, pk);
  tide__pk_str(pk, "wants");
  msgpack_pack_array(pk, (uint32_t)nout);
  for (size_t i = 0; i < c->nheld; i++)
    tide__pk_str(pk, c->held_keys[i]);
  tide__pk_kbool(pk, "progress", progress);
  rc = finish_request(c, "update-graph", &reply, err);
  if (rc > 0) {
    char msg[sizeof err->text];
    snprintf(msg, sizeof msg, "%s", err->text);
    return tide_errprintf(err, TIDE_EGRAPH, "%s: %s", tide__graph_name(g), msg);
  }
  return rc;
}

int tide_client_compute(tide_client *c, const tide_graph *g, double timeout,
                        tide_progress_fn progress, void *parg, char **values, size_t *len,
                        tide_error *err)
{
  tide_error lerr;
  size_t total = tide_graph_ntasks(g), nout = tide__graph_noutputs(g), shown = SIZE_MAX;
  double deadline = timeout > 0 ? tide__now() + timeout : 0;
  int rc;

  if (!err)
    err = &lerr;
  *values = NULL;
  *len = 0;
  if ((rc = need_conn(c, err)) < 0)
    return rc;
  tide_client_release(c, NULL);
  clear_wants(c);
  make_token(c->token, sizeof c->token);
  c->held_keys = tide__xcalloc(nout + 1, sizeof *c->held_keys);
  c->held_names = tide__xcalloc(nout + 1, sizeof *c->held_names);
  size_t toklen = strlen(c->token);
  for (size_t i = 0; i < nout; i++) {
    want *w = tide__xcalloc(1, sizeof *w);
    const char *k = tide__graph_output(g, i);
    size_t klen = strlen(k); /* "<token>/<key>" without printf: once per output */
    w->key = tide__xmalloc(toklen + klen + 2);
    memcpy(w->key, c->token, toklen);
    w->key[toklen] = '/';
    memcpy(w->key + toklen + 1, k, klen + 1);
    HASH_ADD_KEYPTR(hh, c->wants, w->key, toklen + 1 + klen, w);
    c->held_keys[i] = tide__xstrdup(w->key);
    c->held_names[i] = tide__xstrdup(k);
  }
  c->nheld = c->nwanted = nout;
  c->computing = true;

  double saved = c->timeout;
  if (timeout > 0)
    c->timeout = timeout;
  rc = submit(c, g, progress != NULL, err);
  c->timeout = saved;
  if (rc < 0)
    goto done;

  c->timed_out = false;
  if (deadline > 0) {
    double left = deadline - tide__now();
    uv_timer_start(&c->timer, on_timer, left > 0 ? (uint64_t)(left * 1000.0) + 1 : 1, 0);
  }
  while (c->ndone < c->nwanted && !c->task_error && !c->closed && !c->timed_out) {
    uv_run(&c->loop, UV_RUN_ONCE);
    if (progress && c->progress_done != shown) {
      shown = c->progress_done;
      progress(shown < total ? shown : total, total, parg);
    }
  }
  uv_timer_stop(&c->timer);
  if (c->task_error) {
    rc = tide_errprintf(err, TIDE_ETASK, "%s", c->task_error);
  } else if (c->ndone < c->nwanted) {
    if (c->timed_out)
      rc = tide_errprintf(err, TIDE_ETIMEOUT, "timed out after %gs: %zu of %zu outputs done",
                          timeout, c->ndone, c->nwanted);
    else
      rc = closed_error(c, err);
  } else {
    if (progress && shown != total)
      progress(total, total, parg);
    if (deadline > 0) {
      double left = deadline - tide__now();
      c->timeout = left > 0.001 ? left : 0.001;
    }
    rc = gather(c, c->held_keys, c->held_names, c->nheld, values, len, err);
    c->timeout = saved;
    if (rc > 0)
      rc = TIDE_ENOTFOUND;
  }
done:
  c->computing = false;
  if (rc < 0) {
    send_release(c, c->held_keys, c->nheld);
    release_held(c);
  }
  return rc;
}

int tide_client_publish(tide_client *c, const char *name, tide_error *err)
{
  tide_error lerr;
  if (!err)
    err = &lerr;
  if (c->conn && !c->closed && !c->nheld)
    return tide_errprintf(err, TIDE_EUSAGE, "nothing to publish: no graph was computed");
  return tide__cl_publish_keys(c, name, c->held_names, c->held_keys, c->nheld, err);
}

int tide_client_get_dataset(tide_client *c, const char *name, char **values, size_t *len,
                            tide_error *err)
{
  tide_error lerr;
  if (!err)
    err = &lerr;
  const msgpack_object *reply;
  int rc;

  *values = NULL;
  *len = 0;
  if ((rc = need_conn(c, err)) < 0)
    return rc;
  msgpack_packer *pk = begin_request(c, TIDE_OP_GET_DATASET, 1);
  tide__pk_kstr(pk, "name", name);
  rc = finish_request(c, "get-dataset", &reply, err);
  if (rc > 0)
    return tide_errprintf(err, TIDE_ENOTFOUND, "no dataset named \"%s\"", name);
  if (rc < 0)
    return rc;
  const msgpack_object_map *keys = tide__mp_map(reply, "keys");
  if (!keys)
    return tide_errprintf(err, TIDE_EPROTO, "malformed get-dataset reply from the scheduler");
  size_t n = keys->size;
  char **k = tide__xcalloc(n + 1, sizeof *k), **nm = tide__xcalloc(n + 1, sizeof *nm);
  for (size_t i = 0; i < n; i++) {
    const msgpack_object *ko = &keys->ptr[i].key, *vo = &keys->ptr[i].val;
    nm[i] = ko->type == MSGPACK_OBJECT_STR ? tide__xstrndup(ko->via.str.ptr, ko->via.str.size)
                                           : tide__xstrdup("?");
    k[i] = vo->type == MSGPACK_OBJECT_STR ? tide__xstrndup(vo->via.str.ptr, vo->via.str.size)
                                          : tide__xstrdup("");
  }
  rc = gather(c, k, nm, n, values, len, err);
  if (rc > 0)
    rc = TIDE_ENOTFOUND;
  for (size_t i = 0; i < n; i++) {
    free(k[i]);
    free(nm[i]);
  }
  free(k);
  free(nm);
  return rc;
}

int tide_client_unpublish(tide_client *c, const char *name, tide_error *err)
{
  tide_error lerr;
  if (!err)
    err = &lerr;
  const msgpack_object *reply;
  int rc;

  if ((rc = need_conn(c, err)) < 0)
    return rc;
  msgpack_packer *pk = begin_request(c, TIDE_OP_UNPUBLISH, 1);
  tide__pk_kstr(pk, "name", name);
  rc = finish_request(c, "unpublish", &reply, err);
  if (rc > 0)
    return tide_errprintf(err, TIDE_ENOTFOUND, "no dataset named \"%s\"", name);
  return rc;
}

int tide_client_list_datasets(tide_client *c, char ***names, tide_error *err)
{
  tide_error lerr;
  if (!err)
    err = &lerr;
  const msgpack_object *reply;
  const msgpack_object_array *a;
  int rc;

  *names = NULL;
  if ((rc = need_conn(c, err)) < 0)
    return rc;
  begin_request(c, TIDE_OP_LIST_DATASETS, 0);
  rc = finish_request(c, "list-datasets", &reply, err);
  if (rc > 0)
    return TIDE_EPROTO;
  if (rc < 0)
    return rc;
  if (!(a = tide__mp_array(reply, "names")))
    return tide_errprintf(err, TIDE_EPROTO, "malformed list-datasets reply from the scheduler");
  char **out = tide__xcalloc(a->size + 1, sizeof *out);
  size_t n = 0;
  for (uint32_t i = 0; i < a->size; i++)
    if (a->ptr[i].type == MSGPACK_OBJECT_STR)
      out[n++] = tide__xstrndup(a->ptr[i].via.str.ptr, a->ptr[i].via.str.size);
  *names = out;
  return 0;
}

int tide_client_release(tide_client *c, tide_error *err)
{
  send_release(c, c->held_keys, c->nheld);
  release_held(c);
  return 0;
}

int tide_client_api(tide_client *c, const char *method, const char *path, const char *body,
                    int *status, char **response, tide_error *err)
{
  tide_error lerr;
  if (!err)
    err = &lerr;
  const msgpack_object *reply;
  int64_t st = 0;
  int rc;

  *status = 0;
  *response = NULL;
  if ((rc = need_conn(c, err)) < 0)
    return rc;
  msgpack_packer *pk = begin_request(c, TIDE_OP_API, 3);
  tide__pk_kstr(pk, "method", method);
  tide__pk_kstr(pk, "path", path);
  tide__pk_kstr(pk, "body", body ? body : "");
  rc = finish_request(c, path, &reply, err);
  if (rc > 0) {
    char msg[sizeof err->text];
    snprintf(msg, sizeof msg, "%s", err->text);
    return tide_errprintf(err, TIDE_EPROTO, "%s %s: %s", method, path, msg);
  }
  if (rc < 0)
    return rc;
  tide__mp_int(reply, "status", &st);
  *status = (int)st;
  *response = tide__mp_strdup(reply, "body");
  if (!*response)
    *response = tide__xstrdup("{}");
  return 0;
}

/* ---- the lower-level calls of client_int.h ---- */

void tide__cl_on_key_done(tide_client *c, tide__key_done_fn fn, void *arg)
{
  c->key_hook = fn;
  c->key_hook_arg = arg;
}

int tide__cl_update_graph(tide_client *c, void (*pack_tasks)(msgpack_packer *pk, void *arg),
                              void *arg, char *const *keys, size_t n, tide_error *err)
{
  tide_error lerr;
  const msgpack_object *reply;
  int rc;
  if (!err)
    err = &lerr;
  if ((rc = need_conn(c, err)) < 0)
    return rc;
  msgpack_packer *pk = begin_request(c, TIDE_OP_UPDATE_GRAPH, 3);
  tide__pk_str(pk, "tasks");
  pack_tasks(pk, arg);
  tide__pk_str(pk, "wants");
  msgpack_pack_array(pk, (uint32_t)n);
  for (size_t i = 0; i < n; i++)
    tide__pk_str(pk, keys[i]);
  tide__pk_kbool(pk, "progress", false);
  rc = finish_request(c, "update-graph", &reply, err);
  if (rc > 0) {
    char msg[sizeof err->text];
    snprintf(msg, sizeof msg, "%s", err->text);
    return tide_errprintf(err, TIDE_EGRAPH, "%s", msg);
  }
  return rc;
}

int tide__cl_wait_until(tide_client *c, bool (*done)(void *arg), void (*tick)(void *arg),
                            void *arg, double timeout, tide_error *err)
{
  tide_error lerr;
  int rc;
  if (!err)
    err = &lerr;
  if ((rc = need_conn(c, err)) < 0)
    return rc;
  c->timed_out = false;
  if (timeout > 0)
    uv_timer_start(&c->timer, on_timer, (uint64_t)(timeout * 1000.0) + 1, 0);
  while (!done(arg) && !c->closed && !c->timed_out) {
    uv_run(&c->loop, UV_RUN_ONCE);
    if (tick)
      tick(arg);
  }
  uv_timer_stop(&c->timer);
  if (done(arg))
    return 0;
  if (c->timed_out)
    return tide_errprintf(err, TIDE_ETIMEOUT, "timed out after %gs", timeout);
  return closed_error(c, err);
}

void tide__cl_release_keys(tide_client *c, char *const *keys, size_t n)
{
  send_release(c, keys, n);
}

int tide__cl_publish_keys(tide_client *c, const char *name, char *const *names,
                              char *const *keys, size_t n, tide_error *err)
{
  tide_error lerr;
  const msgpack_object *reply;
  int rc;
  if (!err)
    err = &lerr;
  if ((rc = need_conn(c, err)) < 0)
    return rc;
  msgpack_packer *pk = begin_request(c, TIDE_OP_PUBLISH, 2);
  tide__pk_kstr(pk, "name", name);
  tide__pk_str(pk, "keys");
  msgpack_pack_map(pk, (uint32_t)n);
  for (size_t i = 0; i < n; i++) {
    tide__pk_str(pk, names[i]);
    tide__pk_str(pk, keys[i]);
  }
  rc = finish_request(c, "publish", &reply, err);
  if (rc > 0) {
    char msg[sizeof err->text];
    snprintf(msg, sizeof msg, "%s", err->text);
    return tide_errprintf(err, TIDE_EUSAGE, "cannot publish \"%s\": %s", name, msg);
  }
  return rc;
}
