/* The blocking client library against a fake scheduler (src/net on its own
 * loop thread): connect errors, compute, task errors, refused graphs,
 * timeouts, datasets, api calls, and the scheduler going away. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/value.h"
#include "common/util.h"
#include "net/conn.h"
#include "proto/frame.h"
#include "proto/msg.h"
#include "tide/client.h"

/* --- the fake scheduler ---------------------------------------------------- */

typedef struct fake {
  uv_loop_t loop;
  uv_async_t stop;
  tide__server *srv;
  pthread_t thread;
  int port;
  char addr[64];
  pthread_mutex_t ready_lock;
  pthread_cond_t ready_cv;
  bool ready;
  /* values by key (packed msgpack), a tiny store */
  char *keys[64];
  msgpack_sbuffer vals[64];
  size_t nkeys;
  /* one dataset */
  char *ds_name;
  msgpack_sbuffer ds_keys; /* packed map {outname: key} */
  tide__conn *conns[16];   /* open connections */
  int update_graphs;       /* count of update-graph seen */
  int releases;            /* release-keys messages seen */
} fake;

static void store_put(fake *f, const char *key, size_t klen, const msgpack_object *v)
{
  msgpack_packer pk;
  f->keys[f->nkeys] = strndup(key, klen);
  msgpack_sbuffer_init(&f->vals[f->nkeys]);
  msgpack_packer_init(&pk, &f->vals[f->nkeys], msgpack_sbuffer_write);
  msgpack_pack_object(&pk, *v);
  f->nkeys++;
}

static msgpack_sbuffer *store_get(fake *f, const msgpack_object *k)
{
  for (size_t i = 0; i < f->nkeys; i++)
    if (tide__mp_streq(k, f->keys[i]))
      return &f->vals[i];
  return NULL;
}

static void reply_head(tide__conn *c, int64_t id, bool ok, uint32_t extra, const char *error)
{
  msgpack_packer *pk = tide__conn_begin(c, TIDE_OP_REPLY, 2 + extra + (error ? 1 : 0));
  tide__pk_kint(pk, "id", id);
  tide__pk_kbool(pk, "ok", ok);
  if (error)
    tide__pk_kstr(pk, "error", error);
}

static void on_update_graph(fake *f, tide__conn *c, const msgpack_object *m, int64_t id)
{
  const msgpack_object_array *tasks = tide__mp_array(m, "tasks"),
                             *wants = tide__mp_array(m, "wants");
  f->update_graphs++;
  for (uint32_t i = 0; i < tasks->size; i++) {
    const char *key;
    size_t klen;
    tide__mp_str(&tasks->ptr[i], "key", &key, &klen);
    if (tide__mp_streq(tide__mp_get(&tasks->ptr[i], "fn"), "bad.fn")) {
      char e[256];
      snprintf(e, sizeof e, "task \"%.*s\": unknown function \"bad.fn\"", (int)klen, key);
      reply_head(c, id, false, 0, e);
      tide__conn_end(c);
      return;
    }
  }
  reply_head(c, id, true, 0, NULL);
  tide__conn_end(c);
  for (uint32_t w = 0; w < wants->size; w++) {
    for (uint32_t i = 0; i < tasks->size; i++) {
      const msgpack_object *t = &tasks->ptr[i], *fn = tide__mp_get(t, "fn");
      const char *key;
      size_t klen;
      tide__mp_str(t, "key", &key, &klen);
      if (!tide__mp_streq(&wants->ptr[w], "") && wants->ptr[w].via.str.size == klen &&
          memcmp(wants->ptr[w].via.str.ptr, key, klen) == 0) {
        const msgpack_object_array *args = tide__mp_array(t, "args");
        if (tide__mp_streq(fn, "hang"))
          continue;
        if (tide__mp_streq(fn, "die")) {
          tide__conn_close(c, 0, "die");
          return;
        }
        bool erred = tide__mp_streq(fn, "tide.fail");
        msgpack_packer *pk = tide__conn_begin(c, TIDE_OP_KEY_DONE, erred ? 4 : 2);
        tide__pk_str(pk, "key");
        tide__pk_strn(pk, key, klen);
        tide__pk_kstr(pk, "state", erred ? "erred" : "memory");
        if (erred) {
          tide__pk_str(pk, "error");
          tide__pk_object(pk, &args->ptr[0]);
          tide__pk_str(pk, "task");
          tide__pk_strn(pk, key, klen);
        } else {
          store_put(f, key, klen, args->size ? &args->ptr[0] : &(msgpack_object){0});
        }
        tide__conn_end(c);
      }
    }
  }
}

static void fake_msg(tide__conn *c, const msgpack_object *m, void *arg)
{
  fake *f = arg;
  int64_t id = -1;
  tide__mp_int(m, "id", &id);
  switch (tide__mp_op(m)) {
  case TIDE_OP_HELLO: {
    msgpack_packer *pk = tide__conn_begin(c, TIDE_OP_HELLO, 5);
    tide__pk_kint(pk, "proto", TIDE_PROTO_VERSION);
    tide__pk_kstr(pk, "role", "scheduler");
    tide__pk_kstr(pk, "id", "fake");
    tide__pk_kstr(pk, "address", f->addr);
    tide__pk_kstr(pk, "dashboard", "http://127.0.0.1:1");
    tide__conn_end(c);
    break;
  }
  case TIDE_OP_UPDATE_GRAPH: on_update_graph(f, c, m, id); break;
  case TIDE_OP_GATHER: {
    const msgpack_object_array *keys = tide__mp_array(m, "keys");
    uint32_t n = 0;
    for (uint32_t i = 0; i < keys->size; i++)
      n += store_get(f, &keys->ptr[i]) != NULL;
    msgpack_packer *pk = tide__conn_begin(c, TIDE_OP_REPLY, 3);
    tide__pk_kint(pk, "id", id);
    tide__pk_kbool(pk, "ok", true);
    tide__pk_str(pk, "data");
    msgpack_pack_map(pk, n);
    for (uint32_t i = 0; i < keys->size; i++) {
      msgpack_sbuffer *v = store_get(f, &keys->ptr[i]);
      if (v) {
        tide__pk_object(pk, &keys->ptr[i]);
        tide__pk_bin(pk, v->data, v->size);
      }
    }
    tide__conn_end(c);
    break;
  }
  case TIDE_OP_PUBLISH: {
    msgpack_packer kp;
    free(f->ds_name);
    f->ds_name = tide__mp_strdup(m, "name");
    msgpack_sbuffer_clear(&f->ds_keys);
    msgpack_packer_init(&kp, &f->ds_keys, msgpack_sbuffer_write);
    tide__pk_object(&kp, tide__mp_get(m, "keys"));
    reply_head(c, id, true, 0, NULL);
    tide__conn_end(c);
    break;
  }
  case TIDE_OP_GET_DATASET:
  case TIDE_OP_UNPUBLISH: {
    bool known = f->ds_name && tide__mp_streq(tide__mp_get(m, "name"), f->ds_name);
    if (!known) {
      reply_head(c, id, false, 0, "unknown dataset");
    } else if (tide__mp_op(m) == TIDE_OP_UNPUBLISH) {
      free(f->ds_name);
      f->ds_name = NULL;
      reply_head(c, id, true, 0, NULL);
    } else {
      msgpack_unpacked u;
      size_t off = 0;
      msgpack_unpacked_init(&u);
      msgpack_unpack_next(&u, f->ds_keys.data, f->ds_keys.size, &off);
      msgpack_packer *pk = tide__conn_begin(c, TIDE_OP_REPLY, 3);
      tide__pk_kint(pk, "id", id);
      tide__pk_kbool(pk, "ok", true);
      tide__pk_str(pk, "keys");
      tide__pk_object(pk, &u.data);
      msgpack_unpacked_destroy(&u);
    }
    tide__conn_end(c);
    break;
  }
  case TIDE_OP_LIST_DATASETS: {
    msgpack_packer *pk = tide__conn_begin(c, TIDE_OP_REPLY, 3);
    tide__pk_kint(pk, "id", id);
    tide__pk_kbool(pk, "ok", true);
    tide__pk_str(pk, "names");
    msgpack_pack_array(pk, f->ds_name ? 1 : 0);
    if (f->ds_name)
      tide__pk_str(pk, f->ds_name);
    tide__conn_end(c);
    break;
  }
  case TIDE_OP_API: {
    char body[256];
    const char *meth, *path;
    size_t ml, pl;
    tide__mp_str(m, "method", &meth, &ml);
    tide__mp_str(m, "path", &path, &pl);
    if (pl == 7 && memcmp(path, "/refuse", 7) == 0) {
      reply_head(c, id, false, 0, "not allowed here");
      tide__conn_end(c);
      break;
    }
    snprintf(body, sizeof body, "{\"method\": \"%.*s\", \"path\": \"%.*s\"}", (int)ml, meth,
             (int)pl, path);
    msgpack_packer *pk = tide__conn_begin(c, TIDE_OP_REPLY, 4);
    tide__pk_kint(pk, "id", id);
    tide__pk_kbool(pk, "ok", true);
    tide__pk_kint(pk, "status", strstr(body, "/missing") ? 404 : 200);
    tide__pk_kstr(pk, "body", body);
    tide__conn_end(c);
    break;
  }
  case TIDE_OP_RELEASE_KEYS: f->releases++; break;
  default: break;
  }
}

static void fake_closed(tide__conn *c, int status, void *arg)
{
  fake *f = arg;
  for (int i = 0; i < 16; i++)
    if (f->conns[i] == c)
      f->conns[i] = NULL;
}

static const tide__conn_ops fake_ops = {fake_msg, fake_closed};

static void fake_accept(tide__server *s, tide__conn *c, void *arg, const tide__conn_ops **ops,
                        void **carg)
{
  fake *f = arg;
  *ops = &fake_ops;
  *carg = arg;
  for (int i = 0; i < 16; i++)
    if (!f->conns[i]) {
      f->conns[i] = c;
      break;
    }
}

static void on_stop(uv_async_t *a)
{
  fake *f = a->data;
  tide__server_close(f->srv);
  for (int i = 0; i < 16; i++)
    if (f->conns[i])
      tide__conn_close(f->conns[i], 0, NULL);
  uv_close((uv_handle_t *)&f->stop, NULL);
}

static void *fake_main(void *arg)
{
  fake *f = arg;
  tide_error err;
  uv_loop_init(&f->loop);
  uv_async_init(&f->loop, &f->stop, on_stop);
  f->stop.data = f;
  assert_int_equal(tide__server_listen(&f->loop, "127.0.0.1", 0, fake_accept, f, &f->srv, &err), 0);
  f->port = tide__server_port(f->srv);
  snprintf(f->addr, sizeof f->addr, "tcp://127.0.0.1:%d", f->port);
  pthread_mutex_lock(&f->ready_lock);
  f->ready = true;
  pthread_cond_signal(&f->ready_cv);
  pthread_mutex_unlock(&f->ready_lock);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  uv_loop_close(&f->loop);
  return NULL;
}

static int setup(void **state)
{
  fake *f = calloc(1, sizeof *f);
  pthread_mutex_init(&f->ready_lock, NULL);
  pthread_cond_init(&f->ready_cv, NULL);
  msgpack_sbuffer_init(&f->ds_keys);
  pthread_create(&f->thread, NULL, fake_main, f);
  pthread_mutex_lock(&f->ready_lock);
  while (!f->ready)
    pthread_cond_wait(&f->ready_cv, &f->ready_lock);
  pthread_mutex_unlock(&f->ready_lock);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  fake *f = *state;
  uv_async_send(&f->stop);
  pthread_join(f->thread, NULL);
  for (size_t i = 0; i < f->nkeys; i++) {
    free(f->keys[i]);
    msgpack_sbuffer_destroy(&f->vals[i]);
  }
  free(f->ds_name);
  msgpack_sbuffer_destroy(&f->ds_keys);
  free(f);
  return 0;
}

/* --- tests ------------------------------------------------------------------ */

static tide_client *connect_fake(fake *f)
{
  tide_client *c = NULL;
  tide_error err = {{0}};
  if (tide_client_connect(f->addr, NULL, 5, &c, &err) != 0)
    fail_msg("connect: %s", err.text);
  return c;
}

static tide_graph *graph(const char *json)
{
  tide_graph *g = NULL;
  tide_error err = {{0}};
  if (tide_graph_parse(json, strlen(json), "g.json", &g, &err) != 0)
    fail_msg("graph: %s", err.text);
  return g;
}

/* Compact JSON text of packed outputs (caller frees). */
static char *outputs_text(const char *v, size_t len)
{
  json_t *j = tide__values_to_json(v, len);
  assert_non_null(j);
  char *s = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  return s;
}

static void test_connect_errors(void **state)
{
  tide_client *c = (tide_client *)0x1;
  tide_error err = {{0}};
  /* port 1: nothing listens */
  int rc = tide_client_connect("tcp://127.0.0.1:1", NULL, 2, &c, &err);
  assert_true(rc < 0);
  assert_null(c);
  assert_string_equal(err.text,
                      "cannot reach the scheduler at tcp://127.0.0.1:1: connection refused");
  rc = tide_client_connect(NULL, "/nonexistent/scheduler.json", 2, &c, &err);
  assert_true(rc < 0);
  assert_non_null(strstr(err.text, "/nonexistent/scheduler.json"));
  rc = tide_client_connect(NULL, NULL, 2, &c, &err);
  assert_int_equal(rc, TIDE_EUSAGE);
}

static void test_scheduler_file(void **state)
{
  fake *f = *state;
  char path[] = "/tmp/tide-sched-XXXXXX";
  int fd = mkstemp(path);
  FILE *fp = fdopen(fd, "w");
  fprintf(fp, "{\"type\": \"Scheduler\", \"address\": \"%s\"}", f->addr);
  fclose(fp);
  tide_client *c = NULL;
  tide_error err = {{0}};
  assert_int_equal(tide_client_connect(NULL, path, 5, &c, &err), 0);
  assert_string_equal(tide_client_scheduler_address(c), f->addr);
  assert_string_equal(tide_client_dashboard(c), "http://127.0.0.1:1");
  tide_client_destroy(c);
  unlink(path);
}

static void progress_count(size_t done, size_t total, void *arg)
{
  size_t *last = arg;
  assert_true(done <= total);
  *last = done;
}

static void test_compute(void **state)
{
  fake *f = *state;
  tide_client *c = connect_fake(f);
  /* The fake stores args[0] as each wanted key's value. */
  tide_graph *g = graph("{\"tasks\": {\"a\": {\"fn\": \"tide.identity\", \"args\": [7]},"
                        " \"b\": {\"fn\": \"tide.identity\", \"args\": [{\"ref\": \"a\"}]},"
                        " \"c\": {\"fn\": \"tide.identity\", \"args\": [\"x\"]}},"
                        " \"outputs\": [\"c\", \"b\"]}");
  char *v = NULL;
  size_t len = 0, last = 0;
  tide_error err = {{0}};
  assert_int_equal(tide_client_compute(c, g, 5, progress_count, &last, &v, &len, &err), 0);
  char *s = outputs_text(v, len);
  /* b's value is its (prefixed) reference: the outputs are under the graph's
   * own keys and the refs carry the submission token. */
  json_error_t je;
  json_t *j = json_loads(s, 0, &je);
  assert_int_equal(json_object_size(j), 2);
  assert_string_equal(json_string_value(json_object_get(j, "c")), "x");
  const char *r0 = json_string_value(json_object_get(json_object_get(j, "b"), "ref"));
  assert_non_null(r0);
  char ref[64];
  snprintf(ref, sizeof ref, "%s", r0);
  assert_int_equal(strlen(ref), 16 + 2);
  assert_string_equal(ref + 16, "/a");
  assert_int_equal(last, 3);
  json_decref(j);
  free(s);
  free(v);

  /* A second compute of the same graph uses a new token. */
  assert_int_equal(tide_client_compute(c, g, 5, NULL, NULL, &v, &len, &err), 0);
  s = outputs_text(v, len);
  assert_null(strstr(s, ref));
  free(s);
  free(v);
  tide_graph_destroy(g);

  /* publish, get, list, unpublish */
  assert_int_equal(tide_client_publish(c, "ds", &err), 0);
  char **names = NULL;
  assert_int_equal(tide_client_list_datasets(c, &names, &err), 0);
  assert_non_null(names[0]);
  assert_string_equal(names[0], "ds");
  assert_null(names[1]);
  free(names[0]);
  free(names);
  assert_int_equal(tide_client_get_dataset(c, "ds", &v, &len, &err), 0);
  s = outputs_text(v, len);
  assert_non_null(strstr(s, "\"c\":\"x\""));
  free(s);
  free(v);
  assert_int_equal(tide_client_get_dataset(c, "nope", &v, &len, &err), TIDE_ENOTFOUND);
  assert_string_equal(err.text, "no dataset named \"nope\"");
  assert_null(v);
  assert_int_equal(tide_client_unpublish(c, "ds", &err), 0);
  assert_int_equal(tide_client_unpublish(c, "ds", &err), TIDE_ENOTFOUND);
  assert_string_equal(err.text, "no dataset named \"ds\"");
  assert_int_equal(tide_client_release(c, &err), 0);
  tide_client_destroy(c);
}

static void test_task_error(void **state)
{
  fake *f = *state;
  tide_client *c = connect_fake(f);
  tide_graph *g = graph("{\"tasks\": {\"b\": {\"fn\": \"tide.fail\", \"args\": [\"boom\"]}}}");
  char *v = NULL;
  size_t len = 0;
  tide_error err = {{0}};
  assert_int_equal(tide_client_compute(c, g, 5, NULL, NULL, &v, &len, &err), TIDE_ETASK);
  assert_string_equal(err.text, "task \"b\" failed: boom");
  assert_null(v);
  tide_graph_destroy(g);
  /* refused graph: TIDE_EGRAPH naming the graph and the task without the token */
  g = graph("{\"tasks\": {\"p\": {\"fn\": \"bad.fn\", \"args\": []}}}");
  assert_int_equal(tide_client_compute(c, g, 5, NULL, NULL, &v, &len, &err), TIDE_EGRAPH);
  assert_string_equal(err.text, "g.json: task \"p\": unknown function \"bad.fn\"");
  tide_graph_destroy(g);
  tide_client_destroy(c);
}

static void test_timeout(void **state)
{
  fake *f = *state;
  tide_client *c = connect_fake(f);
  tide_graph *g = graph("{\"tasks\": {\"h\": {\"fn\": \"hang\", \"args\": []}}}");
  char *v = NULL;
  size_t len = 0;
  tide_error err = {{0}};
  double t0 = tide__now();
  assert_int_equal(tide_client_compute(c, g, 0.3, NULL, NULL, &v, &len, &err), TIDE_ETIMEOUT);
  double dt = tide__now() - t0;
  assert_true(dt >= 0.25 && dt < 3);
  assert_non_null(strstr(err.text, "timed out after 0.3s"));
  tide_graph_destroy(g);
  tide_client_destroy(c);
}

static void test_scheduler_goes_away(void **state)
{
  fake *f = *state;
  tide_client *c = connect_fake(f);
  tide_graph *g = graph("{\"tasks\": {\"d\": {\"fn\": \"die\", \"args\": []}}}");
  char *v = NULL;
  size_t len = 0;
  tide_error err = {{0}};
  assert_int_equal(tide_client_compute(c, g, 5, NULL, NULL, &v, &len, &err), TIDE_ECLOSED);
  assert_non_null(strstr(err.text, "lost the connection to the scheduler at tcp://127.0.0.1:"));
  /* every later call fails the same way, without blocking */
  assert_int_equal(tide_client_unpublish(c, "x", &err), TIDE_ECLOSED);
  tide_graph_destroy(g);
  tide_client_destroy(c);
}

static void test_api(void **state)
{
  fake *f = *state;
  tide_client *c = connect_fake(f);
  int status = 0;
  char *resp = NULL;
  tide_error err = {{0}};
  assert_int_equal(tide_client_api(c, "POST", "/api/v1/scale", "{\"n\": 2}", &status, &resp, &err),
                   0);
  assert_int_equal(status, 200);
  assert_string_equal(resp, "{\"method\": \"POST\", \"path\": \"/api/v1/scale\"}");
  free(resp);
  assert_int_equal(tide_client_api(c, "GET", "/missing", NULL, &status, &resp, &err), 0);
  assert_int_equal(status, 404);
  free(resp);
  /* a refusal is a negative code like every other failure, with the reason */
  assert_int_equal(tide_client_api(c, "GET", "/refuse", NULL, &status, &resp, &err), TIDE_EPROTO);
  assert_string_equal(err.text, "GET /refuse: not allowed here");
  assert_null(resp);
  assert_string_equal(tide_strerror(TIDE_EREFUSED), "request refused");
  tide_client_destroy(c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_connect_errors),
      cmocka_unit_test_setup_teardown(test_scheduler_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_compute, setup, teardown),
      cmocka_unit_test_setup_teardown(test_task_error, setup, teardown),
      cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
      cmocka_unit_test_setup_teardown(test_scheduler_goes_away, setup, teardown),
      cmocka_unit_test_setup_teardown(test_api, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
