/* The blocking client library (include/tide/client.h): one connection to the
 * scheduler on a private uv loop that runs only inside each blocking call. */
#include <errno.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uthash.h>
#include <uv.h>

#include "client/graph.h"
#include "client/internal.h"
#include "common/log.h"
#include "common/schedfile.h"
#include "common/util.h"
#include "net/conn.h"
#include "net/tls.h"
#include "proto/frame.h"
#include "proto/msg.h"
#include "tide/client.h"

struct tide_client {
  uv_loop_t loop;
  uv_timer_t timer;
  tide__conn *conn;
  bool connected; /* connect callback ran with success */
  bool ready;     /* scheduler hello received */
  bool closed;    /* the connection is gone (or never came) */
  bool timed_out;
  int conn_status; /* connect or close status */
  char *target;    /* address we connect to */
  tide__auth auth; /* the cluster token, when the scheduler asks for one */
  char *address;   /* scheduler's own address from its hello */
  char *dashboard;
  char *sched_error; /* "error" message from the scheduler */
  char *tls_error;   /* why TLS failed, when it did */
  double timeout;    /* request timeout, 0 = none */
  int64_t next_id;

  /* the one request in flight */
  int64_t wait_id;
  bool got_reply;
  msgpack_sbuffer reply_buf;
  msgpack_unpacked reply;

  /* every key asked for, by futures and computes (keys.c) */
  tide__ckeys keys;
  char token[24]; /* the last compute's */

  /* outputs held after the last compute */
  char **held_keys;  /* prefixed */
  char **held_names; /* graph keys */
  tide__ckey **held_ents;
  size_t nheld;

  /* streamed requests (stream.c): their replies, counted from stream_first */
  int64_t stream_first; /* 0: no stream */
  size_t stream_replies;
  char *stream_error;       /* the first refusal's reason, tokens stripped */
  tide__reply_fn stream_cb; /* sees each streamed reply, when set */
  void *stream_arg;
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
    if (!tide__mp_int(msg, "id", &id))
      break;
    if (id == c->wait_id && !c->got_reply) {
      msgpack_packer pk;
      msgpack_sbuffer_clear(&c->reply_buf);
      msgpack_packer_init(&pk, &c->reply_buf, msgpack_sbuffer_write);
      tide__pk_object(&pk, msg);
      c->got_reply = true;
    } else if (c->stream_first && id >= c->stream_first) {
      bool ok = false;
      c->stream_replies++;
      if (c->stream_cb)
        c->stream_cb(c->stream_arg, (size_t)(id - c->stream_first), msg);
      tide__mp_bool(msg, "ok", &ok);
      if (!ok && !c->stream_error) {
        const char *e = "request refused";
        size_t elen = strlen(e);
        tide__mp_str(msg, "error", &e, &elen);
        c->stream_error = strip_token(c->token, e, elen);
      }
    }
    break;
  case TIDE_OP_KEY_DONE: tide__keys_on_done(c, msg); break;
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
  const char *tls = tide__conn_tls_error(conn);
  if (tls && !c->tls_error)
    c->tls_error = tide__xstrdup(tls);
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

static void release_held(tide_client *c)
{
  for (size_t i = 0; i < c->nheld; i++) {
    free(c->held_keys[i]);
    free(c->held_names[i]);
  }
  free(c->held_keys);
  free(c->held_names);
  free(c->held_ents);
  c->held_keys = c->held_names = NULL;
  c->held_ents = NULL;
  c->nheld = 0;
}

int tide_tls_configure(const char *ca_file, const char *cert, const char *key, tide_error *err)
{
  tide__tls_files f = {ca_file, cert, key};
  return tide__tls_configure(&f, err);
}

int tide_client_connect(const char *address, const char *scheduler_file, double timeout,
                        tide_client **out, tide_error *err)
{
  tide_client *c;
  char *target = NULL, *token = NULL;
  tide__auth auth = {0};
  int rc = 0;

  *out = NULL;
  if (address)
    target = tide__xstrdup(address);
  else if (!scheduler_file)
    return tide_errprintf(err, TIDE_EUSAGE, "no scheduler address or scheduler file given");
  else if ((rc = tide__schedfile_read(scheduler_file, &target, &token, err)) < 0)
    return rc;
  /* The token: the scheduler file's, else the file named by the
   * auth.token-file convention (docs/security.md). */
  const char *tf = getenv("TIDE_AUTH__TOKEN_FILE");
  if (token)
    rc = tide__auth_set(&auth, token, strlen(token), err);
  else if (tf && *tf)
    rc = tide__auth_load(&auth, tf, err);
  free(token);
  /* and the TLS files the scheduler file names (docs/security.md "TLS") */
  if (rc == 0)
    rc = tide__tls_adopt_schedfile(scheduler_file, err);
  if (rc < 0) {
    free(target);
    return rc;
  }
  if (timeout <= 0)
    timeout = 10;

  c = tide__xcalloc(1, sizeof *c);
  c->target = target;
  c->auth = auth;
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
  rc = tide__conn_connect(&c->loop, target, &c->auth, &client_ops, c, on_connect, &cerr);
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
    else if (c->tls_error)
      rc = tide_errprintf(err, TIDE_ECLOSED, "cannot reach the scheduler at %s: %s", target,
                          c->tls_error);
    else if (rc == TIDE_ETIMEOUT)
      rc = tide_errprintf(err, TIDE_ETIMEOUT,
                          "cannot reach the scheduler at %s: timed out after %gs", target, timeout);
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
  release_held(c);
  tide__keys_destroy(&c->keys);
  msgpack_unpacked_destroy(&c->reply);
  msgpack_sbuffer_destroy(&c->reply_buf);
  free(c->target);
  free(c->address);
  free(c->dashboard);
  free(c->sched_error);
  free(c->stream_error);
  free(c->tls_error);
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
 * ok=false returns TIDE_EREFUSED with err holding the scheduler's reason. */
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
    return tide_errprintf(err, rc, "timed out after %gs waiting for the scheduler (%s)", c->timeout,
                          what);
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
    rc = tide_errprintf(err, TIDE_EREFUSED, "%s", m);
    free(m);
    return rc;
  }
  return 0;
}

int tide__client_refused_as(tide_error *err, int code, const char *fmt, ...)
{
  char what[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (!err)
    return code;
  char reason[sizeof err->text];
  snprintf(reason, sizeof reason, "%s", err->text);
  return tide_errprintf(err, code, "%s: %s", what, reason);
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
  HASH_ITER (hh, index, e, tmp) {
    HASH_DEL(index, e);
    free(e);
  }
}

/* Gather keys[i] and pack {names[i]: VALUE} into a new buffer. A reply
 * with "more" carried only what fits one frame: the rest is asked again. */
static int gather(tide_client *c, char *const *keys, char *const *names, size_t n, char **values,
                  size_t *len, tide_error *err)
{
  const msgpack_object *reply;
  char **got = tide__xcalloc(n ? n : 1, sizeof *got);
  size_t *glen = tide__xcalloc(n ? n : 1, sizeof *glen), left = n;
  int rc = 0;

  do {
    msgpack_packer *pk = begin_request(c, TIDE_OP_GATHER, 1);
    tide__pk_str(pk, "keys");
    msgpack_pack_array(pk, (uint32_t)left);
    for (size_t i = 0; i < n; i++)
      if (!got[i])
        tide__pk_str(pk, keys[i]);
    rc = finish_request(c, "gather", &reply, err);
    if (rc == TIDE_EREFUSED)
      rc = tide__client_refused_as(err, TIDE_ENOTFOUND, "cannot gather the results");
    if (rc < 0)
      break;
    const msgpack_object_map *data = tide__mp_map(reply, "data");
    if (!data) {
      rc = tide_errprintf(err, TIDE_EPROTO, "malformed gather reply from the scheduler");
      break;
    }
    bool more = false;
    tide__mp_bool(reply, "more", &more);
    dentry *index = index_data(data);
    size_t before = left;
    for (size_t i = 0; i < n; i++) {
      if (got[i])
        continue;
      dentry *e = NULL;
      HASH_FIND(hh, index, keys[i], strlen(keys[i]), e);
      const msgpack_object *v = e ? e->val : NULL;
      if (v && v->type == MSGPACK_OBJECT_BIN && v->via.bin.size > 0) {
        got[i] = tide__xmalloc(v->via.bin.size);
        memcpy(got[i], v->via.bin.ptr, v->via.bin.size);
        glen[i] = v->via.bin.size;
        left--;
      } else if (!more) {
        rc = tide_errprintf(err, TIDE_ENOTFOUND, "the scheduler returned no value for \"%s\"",
                            names[i]);
        break;
      }
    }
    free_index(index);
    if (rc == 0 && left > 0 && left == before)
      rc = tide_errprintf(err, TIDE_EPROTO, "the scheduler returned no value in a gather reply");
  } while (rc == 0 && left > 0);
  if (rc == 0) {
    msgpack_sbuffer sb;
    msgpack_packer opk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&opk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&opk, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
      tide__pk_str(&opk, names[i]);
      msgpack_sbuffer_write(&sb, got[i], glen[i]);
    }
    *values = sb.data;
    *len = sb.size;
  }
  for (size_t i = 0; i < n; i++)
    free(got[i]);
  free(got);
  free(glen);
  return rc;
}

int tide__client_put_values(const msgpack_object *reply, char *const *keys, char *const *names,
                            const size_t *which, size_t n, msgpack_sbuffer *out, size_t *ends,
                            tide_error *err)
{
  const msgpack_object_map *data = tide__mp_map(reply, "data");
  if (!data)
    return tide_errprintf(err, TIDE_EPROTO, "malformed gather reply from the scheduler");
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  dentry *index = NULL;
  for (size_t j = 0; j < n; j++) {
    size_t i = which ? which[j] : j;
    /* The reply usually lists the keys in the order asked: try that slot
     * first, else look the key up in an index built once. */
    const msgpack_object *v = NULL;
    if (j < data->size && tide__mp_streq(&data->ptr[j].key, keys[i])) {
      v = &data->ptr[j].val;
    } else {
      if (!index)
        index = index_data(data);
      dentry *e = NULL;
      HASH_FIND(hh, index, keys[i], strlen(keys[i]), e);
      v = e ? e->val : NULL;
    }
    if (!v || v->type != MSGPACK_OBJECT_BIN || v->via.bin.size == 0) {
      free_index(index);
      return tide_errprintf(err, TIDE_ENOTFOUND, "the scheduler returned no value for \"%s\"",
                            names[i]);
    }
    tide__pk_str(&pk, names[i]);
    msgpack_sbuffer_write(out, v->via.bin.ptr, v->via.bin.size); /* already packed */
    if (ends)
      ends[j] = out->size;
  }
  free_index(index);
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

/* A graph is one user of the key table: its outputs are wanted keys under
 * a token of its own, so two runs of one graph never collide. */
typedef struct compute_run {
  tide_client *c;
  const tide_graph *g;
  tide_progress_fn progress;
  void *parg;
  size_t total, shown;
  tide__gpipe gp;
} compute_run;

static void pack_graph(msgpack_packer *pk, void *arg)
{
  compute_run *r = arg;
  tide__graph_pack_tasks(r->g, r->c->token, pk);
}

static void show_progress(compute_run *r)
{
  size_t done = r->c->keys.progress;
  if (done != r->shown) {
    r->shown = done;
    r->progress(done < r->total ? done : r->total, r->total, r->parg);
  }
}

/* After every turn of the wait: the bar, and the outputs done so far asked
 * for (gather_stream.c). */
static void on_wait_turn(void *arg)
{
  compute_run *r = arg;
  if (r->progress)
    show_progress(r);
  tide__gpipe_step(&r->gp);
}

/* tide_client_compute; when take is set, it is g, destroyed once submitted. */
static int compute(tide_client *c, const tide_graph *g, tide_graph *take, double timeout,
                   tide_progress_fn progress, void *parg, char **values, size_t *len,
                   tide_error *err)
{
  tide_error lerr;
  size_t total = tide_graph_ntasks(g), nout = tide__graph_noutputs(g);
  double deadline = timeout > 0 ? tide__now() + timeout : 0;
  compute_run r = {c, g, progress, parg, total, SIZE_MAX};
  tide__ckey *bad = NULL;
  int rc;

  if (!err)
    err = &lerr;
  *values = NULL;
  *len = 0;
  if ((rc = need_conn(c, err)) < 0) {
    tide_graph_destroy(take);
    return rc;
  }
  tide_client_release(c, NULL);
  make_token(c->token, sizeof c->token);
  c->held_keys = tide__xcalloc(nout + 1, sizeof *c->held_keys);
  c->held_names = tide__xcalloc(nout + 1, sizeof *c->held_names);
  c->held_ents = tide__xcalloc(nout + 1, sizeof *c->held_ents);
  size_t toklen = strlen(c->token);
  for (size_t i = 0; i < nout; i++) {
    const char *k = tide__graph_output(g, i);
    size_t klen = strlen(k); /* "<token>/<key>" without printf: once per output */
    char *key = tide__xmalloc(toklen + klen + 2);
    memcpy(key, c->token, toklen);
    key[toklen] = '/';
    memcpy(key + toklen + 1, k, klen + 1);
    c->held_keys[i] = key;
    c->held_names[i] = tide__xstrdup(k);
  }
  c->nheld = nout;
  c->keys.progress = 0;
  c->keys.progress_token = c->token;

  double saved = c->timeout;
  if (timeout > 0)
    c->timeout = timeout;
  if (tide__graph_streamable(g))
    rc = tide__keys_submit_streamed(c, g, c->token, c->held_keys, nout, progress != NULL,
                                    tide__graph_name(g), c->timeout, c->held_ents, err);
  else
    rc = tide__keys_submit(c, pack_graph, &r, c->held_keys, nout, progress != NULL,
                           tide__graph_name(g), c->held_ents, err);
  c->timeout = saved;
  /* The caller handed the graph over: freeing a big one takes tens of ms
   * (every JSON node), time the wait below would otherwise not overlap. */
  tide_graph_destroy(take);
  g = NULL;
  if (rc < 0)
    goto done;

  tide__gpipe_init(&r.gp, c, c->held_keys, c->held_names, c->held_ents, nout);
  rc = tide__keys_wait(c, c->held_ents, nout, true, deadline, on_wait_turn, &r, &bad, err);
  if (rc == 0 && bad) {
    rc = tide_errprintf(err, TIDE_ETASK, "task \"%s\" failed: %s", bad->task, bad->error);
  } else if (rc == TIDE_ETIMEOUT) {
    size_t ndone = 0;
    for (size_t i = 0; i < nout; i++)
      ndone += c->held_ents[i]->state != TIDE__K_PENDING;
    rc = tide_errprintf(err, TIDE_ETIMEOUT, "timed out after %gs: %zu of %zu outputs done", timeout,
                        ndone, nout);
  } else if (rc == 0) {
    if (progress && r.shown != total)
      progress(total, total, parg);
    double until = deadline > 0 ? deadline : c->timeout > 0 ? tide__now() + c->timeout : 0;
    rc = tide__gpipe_finish(&r.gp, until, deadline > 0 ? timeout : c->timeout, values, len, err);
  }
  tide__gpipe_free(&r.gp);
done:
  c->keys.progress_token = NULL;
  if (rc < 0)
    tide_client_release(c, NULL);
  return rc;
}

int tide_client_compute(tide_client *c, const tide_graph *g, double timeout,
                        tide_progress_fn progress, void *parg, char **values, size_t *len,
                        tide_error *err)
{
  return compute(c, g, NULL, timeout, progress, parg, values, len, err);
}

int tide__client_compute_take(tide_client *c, tide_graph *g, double timeout,
                              tide_progress_fn progress, void *parg, char **values, size_t *len,
                              tide_error *err)
{
  return compute(c, g, g, timeout, progress, parg, values, len, err);
}

int tide_client_publish(tide_client *c, const char *name, tide_error *err)
{
  tide_error lerr;
  if (!err)
    err = &lerr;
  if (c->conn && !c->closed && !c->nheld)
    return tide_errprintf(err, TIDE_EUSAGE, "nothing to publish: no graph was computed");
  return tide__client_publish_keys(c, name, c->held_names, c->held_keys, c->nheld, err);
}

/* A request about the dataset `name` (get, unpublish); a refusal means the
 * scheduler has no such dataset. */
static int dataset_request(tide_client *c, tide__op op, const char *name,
                           const msgpack_object **reply, tide_error *err)
{
  int rc = need_conn(c, err);
  if (rc < 0)
    return rc;
  msgpack_packer *pk = begin_request(c, op, 1);
  tide__pk_kstr(pk, "name", name);
  rc = finish_request(c, op == TIDE_OP_UNPUBLISH ? "unpublish" : "get-dataset", reply, err);
  if (rc == TIDE_EREFUSED)
    return tide_errprintf(err, TIDE_ENOTFOUND, "no dataset named \"%s\"", name);
  return rc;
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
  if ((rc = dataset_request(c, TIDE_OP_GET_DATASET, name, &reply, err)) < 0)
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
  const msgpack_object *reply;
  return dataset_request(c, TIDE_OP_UNPUBLISH, name, &reply, err);
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
  if (rc == TIDE_EREFUSED)
    return tide__client_refused_as(err, TIDE_EPROTO, "list-datasets");
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
  if (c->held_ents)
    tide__keys_unref_all(c, c->held_ents, c->nheld);
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
  if (rc == TIDE_EREFUSED)
    return tide__client_refused_as(err, TIDE_EPROTO, "%s %s", method, path);
  if (rc < 0)
    return rc;
  tide__mp_int(reply, "status", &st);
  *status = (int)st;
  *response = tide__mp_strdup(reply, "body");
  if (!*response)
    *response = tide__xstrdup("{}");
  return 0;
}

/* ---- the internal interface of client/internal.h ---- */

msgpack_packer *tide__client_begin_request(tide_client *c, tide__op op, uint32_t nfields)
{
  return begin_request(c, op, nfields);
}

int tide__client_finish_request(tide_client *c, const char *what, const msgpack_object **reply,
                                tide_error *err)
{
  return finish_request(c, what, reply, err);
}

int tide__client_gather(tide_client *c, char *const *keys, char *const *names, size_t n,
                        char **values, size_t *len, tide_error *err)
{
  return gather(c, keys, names, n, values, len, err);
}

void tide__client_send_release(tide_client *c, char *const *keys, size_t n)
{
  send_release(c, keys, n);
}

int tide__client_need_conn(tide_client *c, tide_error *err)
{
  return need_conn(c, err);
}

int tide__client_turn(tide_client *c, double deadline, tide_error *err)
{
  if (c->closed || !c->conn)
    return closed_error(c, err);
  c->timed_out = false;
  if (deadline > 0) {
    double left = deadline - tide__now();
    if (left <= 0)
      return TIDE_ETIMEOUT;
    uv_timer_start(&c->timer, on_timer, (uint64_t)(left * 1000.0) + 1, 0);
  }
  uv_run(&c->loop, UV_RUN_ONCE);
  uv_timer_stop(&c->timer);
  return 0;
}

msgpack_packer *tide__client_begin_streamed(tide_client *c, tide__op op, uint32_t nfields)
{
  msgpack_packer *pk = tide__conn_begin(c->conn, op, nfields + 1);
  int64_t id = ++c->next_id;
  if (!c->stream_first)
    c->stream_first = id;
  tide__pk_kint(pk, "id", id);
  return pk;
}

void tide__client_end_streamed(tide_client *c)
{
  tide__conn_end(c->conn);
  tide__conn_flush(c->conn);
  /* what the socket did not take goes out now, and early news comes in */
  uv_run(&c->loop, UV_RUN_NOWAIT);
}

size_t tide__client_stream_replies(const tide_client *c, const char **error)
{
  *error = c->stream_error;
  return c->stream_replies;
}

void tide__client_stream_watch(tide_client *c, tide__reply_fn cb, void *arg)
{
  c->stream_cb = cb;
  c->stream_arg = arg;
}

void tide__client_stream_reset(tide_client *c)
{
  c->stream_cb = NULL;
  c->stream_first = 0;
  c->stream_replies = 0;
  free(c->stream_error);
  c->stream_error = NULL;
}

void tide__client_make_token(char *out, size_t n)
{
  make_token(out, n);
}

char *tide__client_strip_token(const char *token, const char *s, size_t n)
{
  return strip_token(token, s, n);
}

tide__ckeys *tide__client_keys(tide_client *c)
{
  return &c->keys;
}

int tide__client_publish_keys(tide_client *c, const char *name, char *const *names,
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
  if (rc == TIDE_EREFUSED)
    return tide__client_refused_as(err, TIDE_EUSAGE, "cannot publish \"%s\"", name);
  return rc;
}
