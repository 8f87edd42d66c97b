/* Unit tests of the client side without sockets: update-graph validation
 * and reuse, wants and key-done, progress, gather through get-data, release,
 * datasets that outlive their client, duplicate worker names, plugin
 * functions only some workers have, forgetting a diamond, gathers that wait
 * for a lost key's recompute, and stale results of given-back tasks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_scheduler_fake.h"

enum { CL = 50, CL2 = 51 };

static const char *GRAPH = "{\"op\": \"update-graph\", \"id\": 1, \"tasks\": ["
                           "{\"key\": \"k/a\", \"fn\": \"tide.inc\", \"args\": [1], \"deps\": []},"
                           "{\"key\": \"k/b\", \"fn\": \"tide.inc\", \"args\": [{\"ref\": "
                           "\"k/a\"}], \"deps\": [\"k/a\"]}],"
                           " \"wants\": [\"k/b\"]}";

static void test_update_graph_runs_and_reports(void **st)
{
  fixture *f = fx_new(NULL);
  fx_worker(f, 1, 1, 0);
  sclient *c = fx_client(f, CL);
  client_send(f, c, GRAPH);
  assert_int_equal(last_sent(CL, TIDE_OP_REPLY)->ok, 1);
  assert_int_equal(tstate(f, "k/a"), TIDE_TS_PROCESSING);
  assert_int_equal(tstate(f, "k/b"), TIDE_TS_WAITING);
  fx_finish(f, "k/a", 1, 0.01);
  fx_finish(f, "k/b", 1, 0.01);
  assert_int_equal(nsent(CL, TIDE_OP_KEY_DONE, "k/a"), 0);
  assert_int_equal(nsent(CL, TIDE_OP_KEY_DONE, "k/b"), 1);
  assert_string_equal(last_sent(CL, TIDE_OP_KEY_DONE)->state, "memory");
  /* submitting the same keys again reuses them: no new compute-task */
  int before = nsent(1, TIDE_OP_COMPUTE_TASK, NULL);
  client_send(f, c, GRAPH);
  assert_int_equal(nsent(1, TIDE_OP_COMPUTE_TASK, NULL), before);
  assert_int_equal(nsent(CL, TIDE_OP_KEY_DONE, "k/b"), 2);
  /* release: forgotten, freed on the worker */
  client_send(f, c, "{\"op\": \"release-keys\", \"keys\": [\"k/b\"]}");
  assert_null(T(f, "k/b"));
  assert_null(T(f, "k/a"));
  assert_int_equal(nsent(1, TIDE_OP_FREE_KEYS, "k/b"), 1);
  fx_free(f);
}

static void test_update_graph_refusals(void **st)
{
  fixture *f = fx_new(NULL);
  sclient *c = fx_client(f, CL);
  client_send(f, c,
              "{\"op\": \"update-graph\", \"id\": 2, \"tasks\": ["
              "{\"key\": \"t/a\", \"fn\": \"tide.noop\", \"args\": [], \"deps\": []},"
              "{\"key\": \"t/b\", \"fn\": \"tide.inc\", \"args\": [], \"deps\": [\"t/x\"]}],"
              " \"wants\": [\"t/b\"]}");
  const sent *r = last_sent(CL, TIDE_OP_REPLY);
  assert_int_equal(r->ok, 0);
  assert_string_equal(r->error, "task \"b\" refers to unknown key \"x\"");
  assert_int_equal(HASH_COUNT(f->s->tasks), 0); /* refused whole */
  client_send(f, c,
              "{\"op\": \"update-graph\", \"id\": 3, \"tasks\": ["
              "{\"key\": \"t/a\", \"fn\": \"tide.noop\", \"args\": [], \"deps\": [\"t/c\"]},"
              "{\"key\": \"t/b\", \"fn\": \"tide.inc\", \"args\": [], \"deps\": [\"t/a\"]},"
              "{\"key\": \"t/c\", \"fn\": \"tide.inc\", \"args\": [], \"deps\": [\"t/b\"]},"
              "{\"key\": \"t/d\", \"fn\": \"tide.inc\", \"args\": [], \"deps\": []}],"
              " \"wants\": [\"t/d\"]}");
  r = last_sent(CL, TIDE_OP_REPLY);
  assert_int_equal(r->ok, 0);
  assert_non_null(strstr(r->error, "cycle"));
  assert_int_equal(HASH_COUNT(f->s->tasks), 0);
  /* a plugin function: accepted with no worker connected ... */
  const char *plug = "{\"op\": \"update-graph\", \"id\": 4, \"tasks\": ["
                     "{\"key\": \"p/a\", \"fn\": \"my.fn\", \"args\": [], \"deps\": []}],"
                     " \"wants\": [\"p/a\"]}";
  client_send(f, c, plug);
  assert_int_equal(last_sent(CL, TIDE_OP_REPLY)->ok, 1);
  client_send(f, c, "{\"op\": \"release-keys\", \"keys\": [\"p/a\"]}");
  assert_null(T(f, "p/a"));
  /* ... refused when no connected worker has it */
  fx_worker(f, 1, 1, 0);
  client_send(f, c, plug);
  r = last_sent(CL, TIDE_OP_REPLY);
  assert_int_equal(r->ok, 0);
  assert_string_equal(r->error, "task \"a\": unknown function \"my.fn\"");
  fx_free(f);
}

/* An update-graph packed by hand: task key k (kl bytes, may hold NUL). */
static void send_raw_key(fixture *f, sclient *c, const char *k, size_t kl)
{
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 4);
  tide__pk_kstr(&pk, "op", "update-graph");
  tide__pk_kint(&pk, "id", 9);
  tide__pk_str(&pk, "tasks");
  msgpack_pack_array(&pk, 1);
  msgpack_pack_map(&pk, 4);
  tide__pk_str(&pk, "key");
  tide__pk_strn(&pk, k, kl);
  tide__pk_kstr(&pk, "fn", "tide.noop");
  tide__pk_str(&pk, "args");
  msgpack_pack_array(&pk, 0);
  tide__pk_str(&pk, "deps");
  msgpack_pack_array(&pk, 0);
  tide__pk_str(&pk, "wants");
  msgpack_pack_array(&pk, 1);
  tide__pk_strn(&pk, k, kl);
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
  tide__client_msg(f->s, c, &u.data);
  msgpack_unpacked_destroy(&u);
  msgpack_sbuffer_destroy(&sb);
}

/* Anything may speak the protocol: every field is checked as the client
 * library checks it, and a bad graph never reaches the state machine. */
static void test_update_graph_field_checks(void **st)
{
  fixture *f = fx_new(NULL);
  fx_worker(f, 1, 1, 0);
  sclient *c = fx_client(f, CL);
  send_raw_key(f, c, "n/a\0b", 5);
  const sent *r = last_sent(CL, TIDE_OP_REPLY);
  assert_int_equal(r->ok, 0);
  assert_string_equal(r->error, "task \"a\": the key holds a NUL byte");
  char big[1100];
  memset(big, 'x', sizeof big);
  send_raw_key(f, c, big, sizeof big);
  r = last_sent(CL, TIDE_OP_REPLY);
  assert_int_equal(r->ok, 0);
  assert_int_equal(strlen(r->error), strlen("task \"\": the key is longer than limits.key-length "
                                            "(1024 bytes on the wire, 992 in a graph)") +
                                         64);
  static const struct {
    const char *task, *error;
  } bad[] = {
      {"{\"key\": \"r/b\", \"fn\": \"tide.inc\", \"args\": [{\"ref\": \"r/a\"}], \"deps\": []}",
       "task \"b\": refers to \"r/a\", which is not one of its deps"},
      {"{\"key\": \"r/b\", \"fn\": \"tide.inc\", \"args\": [[{\"ref\": \"r/a\", \"x\": 1}]], "
       "\"deps\": [\"r/a\"]}",
       "task \"b\": a reference must be exactly {\"ref\": \"KEY\"}"},
      {"{\"key\": \"r/b\", \"fn\": \"tide.inc\", \"args\": 3, \"deps\": []}",
       "task \"b\": \"args\" must be an array"},
      {"{\"key\": \"r/b\", \"fn\": \"tide.inc\", \"args\": [], \"deps\": [7]}",
       "task \"b\": a dep is not a string"},
      {"{\"key\": \"r/b\", \"fn\": \"tide.inc\", \"args\": [], \"deps\": \"r/a\"}",
       "task \"b\": \"deps\" must be an array of keys"},
      {"{\"key\": \"r/b\", \"fn\": \"\", \"args\": [], \"deps\": []}",
       "task \"b\": \"fn\" must be a function name"},
      {"{\"key\": \"r/b\", \"fn\": \"tide.inc\", \"prefix\": 1, \"args\": [], \"deps\": []}",
       "task \"b\": \"prefix\" must be a non-empty string"},
      {"{\"key\": \"r/b\", \"fn\": \"tide.inc\", \"args\": [], \"deps\": [], \"retries\": 101}",
       "task \"b\": \"retries\" must be an integer from 0 to 100"},
      {"{\"key\": \"r/b\", \"fn\": \"tide.inc\", \"args\": [], \"deps\": [], \"retries\": -1}",
       "task \"b\": \"retries\" must be an integer from 0 to 100"},
      {"{\"key\": \"r/b\", \"fn\": \"tide.inc\", \"args\": [], \"deps\": [], \"x\": 1}",
       "task \"b\": unknown field (key, fn, args, deps, prefix, retries, resources)"},
      {"{\"key\": \"r/b\", \"fn\": \"tide.identity\", \"args\": "
       "[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]], \"deps\": []}",
       "task \"b\": arguments nest deeper than 24 levels"},
      {"{\"key\": \"\", \"fn\": \"tide.inc\", \"args\": [], \"deps\": []}",
       "task \"\": the key is empty"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char msg[1024];
    snprintf(msg, sizeof msg,
             "{\"op\": \"update-graph\", \"id\": 5, \"tasks\": ["
             "{\"key\": \"r/a\", \"fn\": \"tide.noop\", \"args\": [], \"deps\": []}, %s],"
             " \"wants\": [\"r/a\"]}",
             bad[i].task);
    client_send(f, c, msg);
    r = last_sent(CL, TIDE_OP_REPLY);
    assert_int_equal(r->ok, 0);
    assert_string_equal(r->error, bad[i].error);
  }
  client_send(f, c, "{\"op\": \"update-graph\", \"id\": 6, \"tasks\": {}, \"wants\": []}");
  r = last_sent(CL, TIDE_OP_REPLY);
  assert_int_equal(r->ok, 0);
  assert_string_equal(r->error, "\"tasks\" and \"wants\" must be arrays");
  /* nothing entered the graph, nothing was sent to the worker */
  assert_int_equal(HASH_COUNT(f->s->tasks), 0);
  assert_int_equal(nsent(1, TIDE_OP_COMPUTE_TASK, NULL), 0);
  assert_int_equal(nsent(CL, TIDE_OP_REPLY, NULL), 2 + (int)(sizeof bad / sizeof bad[0]) + 1);
  /* the client still works */
  client_send(f, c, GRAPH);
  assert_int_equal(last_sent(CL, TIDE_OP_REPLY)->ok, 1);
  fx_free(f);
}

/* A worker that keeps reporting a dep missing gets the task again a bounded
 * number of times, later each time; then the task errs saying why (no
 * resend livelock). */
static void test_missing_data_resends_bounded(void **st)
{
  static const char *md = "{\"op\": \"missing-data\", \"key\": \"k/a\", \"dep\": \"k/q\", "
                          "\"worker\": \"tcp://w1:1\"}";
  assert_true(tide__resend_delay(1) == 0);
  assert_true(tide__resend_delay(2) == 0.25);
  assert_true(tide__resend_delay(3) == 0.5);
  assert_true(tide__resend_delay(5) == 2);
  fixture *f = fx_new(NULL);
  sworker *w = fx_worker(f, 1, 1, 0);
  sclient *c = fx_client(f, CL);
  client_send(f, c, GRAPH);
  assert_int_equal(tstate(f, "k/a"), TIDE_TS_PROCESSING);
  /* the first resend goes at once, the second waits its backoff */
  worker_send(f, w, md);
  assert_int_equal(nsent(1, TIDE_OP_COMPUTE_TASK, "k/a"), 2);
  double t0 = tide__wall();
  worker_send(f, w, md);
  worker_send(f, w, md); /* while one is pending: not counted again */
  tide__resends_due(f->s, t0);
  assert_int_equal(nsent(1, TIDE_OP_COMPUTE_TASK, "k/a"), 2);
  tide__resends_due(f->s, t0 + 0.3);
  assert_int_equal(nsent(1, TIDE_OP_COMPUTE_TASK, "k/a"), 3);
  for (int i = 0; i < 50; i++) {
    worker_send(f, w, md);
    tide__resends_due(f->s, t0 + 1000);
  }
  assert_int_equal(nsent(1, TIDE_OP_COMPUTE_TASK, "k/a"), 1 + TIDE_MAX_RESENDS);
  assert_int_equal(f->s->nresends, 0);
  assert_int_equal(tstate(f, "k/a"), TIDE_TS_RELEASED); /* erred, wanted by no one */
  assert_int_equal(tstate(f, "k/b"), TIDE_TS_ERRED);
  const sent *d = last_sent(CL, TIDE_OP_KEY_DONE);
  assert_string_equal(d->key, "k/b");
  assert_string_equal(d->state, "erred");
  assert_string_equal(d->error, "cannot be made runnable: dependency \"k/q\" stayed missing on "
                                "its worker after 5 attempts");
  assert_int_equal(w->nprocessing, 0);
  fx_free(f);
}

static sworker *plugin_worker(fixture *f, int id, const char *fn)
{
  char name[16], addr[32];
  snprintf(name, sizeof name, "w%d", id);
  snprintf(addr, sizeof addr, "tcp://w%d:1", id);
  char **fns = calloc(2, sizeof *fns);
  fns[0] = strdup(fn);
  return tide__sw_add(f->s, (void *)(intptr_t)id, name, addr, "h", "", 1, 0, fns, 1, NULL);
}

static void test_plugin_functions_restrict_placement(void **st)
{
  fixture *f = fx_new(NULL);
  fx_worker(f, 1, 1, 0);
  sclient *c = fx_client(f, CL);
  client_send(f, c,
              "{\"op\": \"update-graph\", \"id\": 1, \"tasks\": ["
              "{\"key\": \"p/a\", \"fn\": \"my.fn\", \"args\": [], \"deps\": []},"
              "{\"key\": \"p/z\", \"fn\": \"tide.noop\", \"args\": [], \"deps\": []}],"
              " \"wants\": [\"p/a\", \"p/z\"]}");
  assert_int_equal(last_sent(CL, TIDE_OP_REPLY)->ok, 0); /* w1 lacks my.fn */
  plugin_worker(f, 2, "my.fn");
  tide__sw_set_status(f->s, tide__sw_find(f->s, "w2"), TIDE_W_PAUSED);
  client_send(f, c,
              "{\"op\": \"update-graph\", \"id\": 1, \"tasks\": ["
              "{\"key\": \"p/a\", \"fn\": \"my.fn\", \"args\": [], \"deps\": []},"
              "{\"key\": \"p/z\", \"fn\": \"tide.noop\", \"args\": [], \"deps\": []}],"
              " \"wants\": [\"p/a\", \"p/z\"]}");
  assert_int_equal(last_sent(CL, TIDE_OP_REPLY)->ok, 1);
  /* w1 has room but cannot run my.fn: it waits, without blocking p/z */
  assert_int_equal(tstate(f, "p/a"), TIDE_TS_QUEUED);
  assert_int_equal(sent_to("p/z"), 1);
  tide__sw_set_status(f->s, tide__sw_find(f->s, "w2"), TIDE_W_RUNNING);
  assert_int_equal(sent_to("p/a"), 2);
  fx_free(f);
}

static void test_progress_gather_and_datasets(void **st)
{
  fixture *f = fx_new(NULL);
  sworker *w = fx_worker(f, 1, 1, 0);
  sclient *c = fx_client(f, CL);
  client_send(f, c,
              "{\"op\": \"update-graph\", \"id\": 1, \"progress\": true, \"tasks\": ["
              "{\"key\": \"k/a\", \"fn\": \"tide.inc\", \"args\": [1], \"deps\": []},"
              "{\"key\": \"k/b\", \"fn\": \"tide.inc\", \"args\": [{\"ref\": \"k/a\"}], \"deps\": "
              "[\"k/a\"]}],"
              " \"wants\": [\"k/b\"]}");
  fx_finish(f, "k/a", 1, 0.01);
  fx_finish(f, "k/b", 3, 0.01);
  assert_int_equal(nsent(CL, TIDE_OP_KEY_DONE, "k/a"), 1); /* progress: every task */
  assert_int_equal(nsent(CL, TIDE_OP_KEY_DONE, "k/b"), 1);
  /* gather: get-data to the holder, data back, reply with the bytes */
  client_send(f, c, "{\"op\": \"gather\", \"id\": 7, \"keys\": [\"k/b\"]}");
  assert_int_equal(nsent(1, TIDE_OP_GET_DATA, "k/b"), 1);
  int64_t gid = f->s->next_gather_id - 1;
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 4);
  tide__pk_kstr(&pk, "op", "data");
  tide__pk_kint(&pk, "id", gid);
  tide__pk_str(&pk, "data");
  msgpack_pack_map(&pk, 1);
  tide__pk_str(&pk, "k/b");
  tide__pk_bin(&pk, "\x03", 1);
  tide__pk_str(&pk, "missing");
  msgpack_pack_array(&pk, 0);
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  msgpack_unpack_next(&u, sb.data, sb.size, NULL);
  tide__sched_worker_msg(f->s, w, &u.data);
  msgpack_unpacked_destroy(&u);
  msgpack_sbuffer_destroy(&sb);
  assert_int_equal(last_sent(CL, TIDE_OP_REPLY)->ok, 1);
  /* gather of an unknown key fails cleanly */
  client_send(f, c, "{\"op\": \"gather\", \"id\": 8, \"keys\": [\"k/zz\"]}");
  assert_int_equal(last_sent(CL, TIDE_OP_REPLY)->ok, 0);
  /* publish keeps k/b alive after the client leaves */
  client_send(f, c,
              "{\"op\": \"publish\", \"id\": 9, \"name\": \"ds\", \"keys\": {\"b\": \"k/b\"}}");
  assert_int_equal(last_sent(CL, TIDE_OP_REPLY)->ok, 1);
  client_send(f, c,
              "{\"op\": \"publish\", \"id\": 10, \"name\": \"ds\", \"keys\": {\"b\": \"k/b\"}}");
  assert_int_equal(last_sent(CL, TIDE_OP_REPLY)->ok, 0);
  for (sclient **p = &f->s->clients; *p; p = &(*p)->next)
    if (*p == c) {
      tide__client_gone(f->s, c);
      break;
    }
  assert_int_equal(tstate(f, "k/b"), TIDE_TS_MEMORY);
  sclient *c2 = fx_client(f, CL2);
  client_send(f, c2, "{\"op\": \"get-dataset\", \"id\": 1, \"name\": \"ds\"}");
  assert_int_equal(last_sent(CL2, TIDE_OP_REPLY)->ok, 1);
  client_send(f, c2, "{\"op\": \"unpublish\", \"id\": 2, \"name\": \"nope\"}");
  assert_int_equal(last_sent(CL2, TIDE_OP_REPLY)->ok, 0);
  client_send(f, c2, "{\"op\": \"unpublish\", \"id\": 3, \"name\": \"ds\"}");
  assert_int_equal(last_sent(CL2, TIDE_OP_REPLY)->ok, 1);
  assert_null(T(f, "k/b"));
  assert_int_equal(HASH_COUNT(f->s->tasks), 0);
  fx_free(f);
}

/* A worker's answer to get-data gid: key with one byte, or key missing. */
static void data_reply(fixture *f, sworker *w, int64_t gid, const char *key, bool missing)
{
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 4);
  tide__pk_kstr(&pk, "op", "data");
  tide__pk_kint(&pk, "id", gid);
  tide__pk_str(&pk, "data");
  msgpack_pack_map(&pk, missing ? 0 : 1);
  if (!missing) {
    tide__pk_str(&pk, key);
    tide__pk_bin(&pk, "\x02", 1);
  }
  tide__pk_str(&pk, "missing");
  msgpack_pack_array(&pk, missing ? 1 : 0);
  if (missing)
    tide__pk_str(&pk, key);
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  msgpack_unpack_next(&u, sb.data, sb.size, NULL);
  tide__sched_worker_msg(f->s, w, &u.data);
  msgpack_unpacked_destroy(&u);
  msgpack_sbuffer_destroy(&sb);
}

/* A gather whose key vanished (holder died, or says it lacks the key)
 * waits for the recompute and then answers: a client never loses a result. */
static void test_gather_waits_for_recompute(void **st)
{
  fixture *f = fx_new(NULL);
  fx_worker(f, 1, 1, 0);
  fx_worker(f, 2, 1, 0);
  sclient *c = fx_client(f, CL);
  client_send(f, c,
              "{\"op\": \"update-graph\", \"id\": 1, \"tasks\": ["
              "{\"key\": \"g/a\", \"fn\": \"tide.inc\", \"args\": [1], \"deps\": []}],"
              " \"wants\": [\"g/a\"]}");
  fx_finish(f, "g/a", 1, 0.01);
  sworker *h = T(f, "g/a")->holders[0].w;
  int hid = (int)(intptr_t)h->conn, other = hid == 1 ? 2 : 1;
  int replies = nsent(CL, TIDE_OP_REPLY, NULL);
  /* 1. the holder dies while the gather is out */
  client_send(f, c, "{\"op\": \"gather\", \"id\": 11, \"keys\": [\"g/a\"]}");
  assert_int_equal(nsent(hid, TIDE_OP_GET_DATA, "g/a"), 1);
  tide__sw_remove(f->s, h, false, "killed");
  assert_int_equal(nsent(CL, TIDE_OP_REPLY, NULL), replies); /* no failure: it waits */
  assert_int_equal(tstate(f, "g/a"), TIDE_TS_PROCESSING);
  assert_int_equal(f->s->gather_waiting, 1);
  fx_finish(f, "g/a", 1, 0.01);
  assert_int_equal(nsent(other, TIDE_OP_GET_DATA, "g/a"), 1);
  sworker *w = tide__sw_find(f->s, other == 1 ? "w1" : "w2");
  data_reply(f, w, f->s->next_gather_id - 1, "g/a", false);
  assert_int_equal(nsent(CL, TIDE_OP_REPLY, NULL), replies + 1);
  assert_int_equal(last_sent(CL, TIDE_OP_REPLY)->ok, 1);
  assert_int_equal(f->s->counters.recomputed, 1);
  /* 2. the holder says it does not have it: computed again, then answered */
  client_send(f, c, "{\"op\": \"gather\", \"id\": 12, \"keys\": [\"g/a\"]}");
  int64_t gid = f->s->next_gather_id - 1;
  data_reply(f, w, gid, "g/a", true);
  assert_int_equal(nsent(CL, TIDE_OP_REPLY, NULL), replies + 1);
  assert_int_equal(tstate(f, "g/a"), TIDE_TS_PROCESSING);
  fx_finish(f, "g/a", 1, 0.01);
  data_reply(f, w, gid, "g/a", false);
  assert_int_equal(last_sent(CL, TIDE_OP_REPLY)->ok, 1);
  assert_int_equal(f->s->counters.recomputed, 2);
  assert_int_equal(f->s->gather_waiting, 0);
  /* 3. a waiting gather whose client leaves is dropped */
  client_send(f, c, "{\"op\": \"gather\", \"id\": 13, \"keys\": [\"g/a\"]}");
  data_reply(f, w, f->s->next_gather_id - 1, "g/a", true);
  assert_int_equal(f->s->gather_waiting, 1);
  tide__client_gone(f->s, c);
  assert_int_equal(f->s->gather_waiting, 0);
  assert_null(f->s->gathers);
  fx_free(f);
}

/* A task given back to the scheduler (its input vanished) that then
 * finishes on its old worker: that stale result is dropped, the task runs
 * again, the client gets it once, and only the lost input counts as
 * recomputed. */
static void test_stale_finish_dropped_not_lost(void **st)
{
  fixture *f = fx_new(NULL);
  fx_worker(f, 1, 1, 0);
  fx_worker(f, 2, 1, 0);
  sclient *c = fx_client(f, CL);
  client_send(f, c,
              "{\"op\": \"update-graph\", \"id\": 1, \"tasks\": ["
              "{\"key\": \"s/a\", \"fn\": \"tide.inc\", \"args\": [1], \"deps\": []},"
              "{\"key\": \"s/b\", \"fn\": \"tide.inc\", \"args\": [{\"ref\": \"s/a\"}], \"deps\": "
              "[\"s/a\"]}],"
              " \"wants\": [\"s/b\"]}");
  fx_finish(f, "s/a", 1, 0.01);
  stask *a = T(f, "s/a"), *b = T(f, "s/b");
  assert_int_equal(b->state, TIDE_TS_PROCESSING);
  sworker *old = b->proc;
  uint64_t done = f->s->counters.tasks_completed;
  /* a's only copy vanishes while b runs: b is given back */
  sworker *h = a->holders[0].w;
  tide__holder_remove(f->s, a, h);
  tide__task_lost(f->s, a);
  assert_int_equal(b->state, TIDE_TS_WAITING);
  assert_int_equal(nsent((int)(intptr_t)old->conn, TIDE_OP_FREE_KEYS, "s/b"), 1);
  /* the old worker finishes b anyway: dropped, not counted */
  int frees = nsent((int)(intptr_t)old->conn, TIDE_OP_FREE_KEYS, "s/b");
  tide__task_finished(f->s, old, b, 1, 100.0, 100.1, 0);
  assert_int_equal(b->state, TIDE_TS_WAITING);
  assert_int_equal(nsent((int)(intptr_t)old->conn, TIDE_OP_FREE_KEYS, "s/b"), frees + 1);
  assert_int_equal(f->s->counters.tasks_completed, done);
  assert_int_equal(nsent(CL, TIDE_OP_KEY_DONE, "s/b"), 0);
  /* a again, then b again: the client gets b once; one recompute (a) */
  fx_finish(f, "s/a", 1, 0.01);
  assert_int_equal(b->state, TIDE_TS_PROCESSING);
  fx_finish(f, "s/b", 1, 0.01);
  assert_int_equal(tstate(f, "s/b"), TIDE_TS_MEMORY);
  assert_int_equal(nsent(CL, TIDE_OP_KEY_DONE, "s/b"), 1);
  assert_int_equal(f->s->counters.recomputed, 1);
  fx_free(f);
}

static void test_duplicate_worker_name(void **st)
{
  fixture *f = fx_new(NULL);
  assert_non_null(fx_worker(f, 1, 1, 0));
  tide_error err;
  assert_null(tide__sw_add(f->s, (void *)2, "w1", "tcp://other:1", "h", "", 1, 0, NULL, 0, &err));
  assert_non_null(strstr(err.text, "already connected"));
  assert_int_equal(f->s->nworkers, 1);
  fx_free(f);
}

static void test_diamond_forgotten_once(void **st)
{
  fixture *f = fx_new(NULL);
  fx_worker(f, 1, 2, 0);
  fx_task(f, "a", "tide.inc", NULL, NULL);
  fx_task(f, "b", "tide.inc", "a", NULL);
  fx_task(f, "c", "tide.inc", "a", NULL);
  fx_task(f, "d", "tide.add", "b", "c");
  tide__task_want(f->s, T(f, "d"), 1);
  tide__task_activate(f->s, T(f, "d"));
  fx_finish(f, "a", 1, 0.01);
  fx_finish(f, "b", 1, 0.01);
  fx_finish(f, "c", 1, 0.01);
  fx_finish(f, "d", 1, 0.01);
  tide__task_want(f->s, T(f, "d"), -1);
  assert_int_equal(HASH_COUNT(f->s->tasks), 0);
  fx_free(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_update_graph_runs_and_reports),
      cmocka_unit_test(test_update_graph_refusals),
      cmocka_unit_test(test_update_graph_field_checks),
      cmocka_unit_test(test_missing_data_resends_bounded),
      cmocka_unit_test(test_plugin_functions_restrict_placement),
      cmocka_unit_test(test_progress_gather_and_datasets),
      cmocka_unit_test(test_gather_waits_for_recompute),
      cmocka_unit_test(test_stale_finish_dropped_not_lost),
      cmocka_unit_test(test_duplicate_worker_name),
      cmocka_unit_test(test_diamond_forgotten_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
