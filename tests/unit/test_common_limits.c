/* The limits table agrees with itself end to end: the largest result and
 * its message fit a frame, the deepest argument the client allows decodes
 * in the scheduler, a key or graph at the limit passes both the client and
 * the scheduler and one over fails both with the same words, and every
 * limit is a limits.* configuration key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/config.h"
#include "common/limits.h"
#include "proto/frame.h"
#include "proto/graphcheck.h"
#include "proto/msg.h"
#include "tide/client.h"
#include "worker/builtins.h"

static void test_defaults_consistent(void **state)
{
  tide__limits l = TIDE__LIMITS_DEFAULT;
  tide_error err;
  assert_int_equal(tide__limits_check(&l, &err), 0);
  assert_int_equal(l.frame_size, (int64_t)1 << 30);
  /* the largest result leaves exactly the envelope free in a frame */
  assert_int_equal(tide__limits_result_size(&l), ((int64_t)1 << 30) - 4096);
  assert_true(tide__limits_result_size(&l) + TIDE_LIMITS_ENVELOPE <= l.frame_size);
  /* tide.bytes at its maximum makes exactly that result (5-byte bin 32 header) */
  tide__limits_set(NULL);
  assert_int_equal(tide__builtin_bytes_max() + 5, tide__limits_result_size(&l));
  assert_int_equal(tide__builtin_bytes_max(), ((int64_t)1 << 30) - 4101);
  assert_true(l.handshake_frame <= l.frame_size);
  assert_true(l.frame_memory >= l.frame_size);
  assert_true(l.arg_depth <= TIDE_LIMITS_DEPTH_CEILING);
}

/* The biggest value-carrying message (a reply with one value under a key of
 * the longest length) fits a frame of the lowest allowed size, and the
 * framer and batch decoder of the receiving side take it. */
static void test_largest_result_travels(void **state)
{
  tide__limits l = TIDE__LIMITS_DEFAULT;
  l.frame_size = l.handshake_frame = 64 * 1024;
  tide_error err;
  assert_int_equal(tide__limits_check(&l, &err), 0);
  size_t vlen = (size_t)tide__limits_result_size(&l);
  assert_int_equal(vlen, 64 * 1024 - 4096);
  char *value = calloc(1, vlen), key[TIDE_LIMITS_KEY_CEILING];
  memset(key, 'k', sizeof key);
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  char hdr[TIDE_FRAME_HEADER] = {0};
  msgpack_sbuffer_write(&sb, hdr, sizeof hdr);
  msgpack_pack_array(&pk, 1);
  msgpack_pack_map(&pk, 4);
  tide__pk_kstr(&pk, "op", "reply");
  tide__pk_kint(&pk, "id", INT64_MAX);
  tide__pk_kbool(&pk, "ok", true);
  tide__pk_str(&pk, "data");
  msgpack_pack_map(&pk, 1);
  tide__pk_strn(&pk, key, sizeof key);
  msgpack_pack_bin_with_body(&pk, value, vlen);
  size_t payload = sb.size - TIDE_FRAME_HEADER;
  assert_true(payload <= (size_t)l.frame_size);
  tide__frame_header((uint32_t)payload, sb.data);
  tide__framer f;
  tide__framer_init(&f, (size_t)l.frame_size);
  tide__framer_feed(&f, sb.data, sb.size);
  const char *p;
  size_t n;
  assert_int_equal(tide__framer_next(&f, &p, &n, &err), 1);
  msgpack_zone z;
  msgpack_zone_init(&z, 4096);
  msgpack_object_array msgs;
  assert_int_equal(tide__batch_decode(p, n, &z, &msgs, &err), 0);
  assert_int_equal(msgs.size, 1);
  msgpack_zone_destroy(&z);
  tide__framer_free(&f);
  msgpack_sbuffer_destroy(&sb);
  free(value);
}

static void refused_as(tide__limits l, const char *words)
{
  tide_error err = {{0}};
  assert_int_equal(tide__limits_check(&l, &err), TIDE_EUSAGE);
  if (!strstr(err.text, words))
    fail_msg("\"%s\" does not say \"%s\"", err.text, words);
}

static void test_check_refuses(void **state)
{
  tide__limits l = TIDE__LIMITS_DEFAULT;
  l.result_size = l.frame_size - TIDE_LIMITS_ENVELOPE + 1;
  refused_as(l, "limits.result-size: 1073737729 does not fit a frame of 1073741824 bytes");
  l.result_size = l.frame_size - TIDE_LIMITS_ENVELOPE; /* exactly the room left: fine */
  tide_error err;
  assert_int_equal(tide__limits_check(&l, &err), 0);
  l = (tide__limits)TIDE__LIMITS_DEFAULT;
  l.frame_size = (int64_t)1 << 32; /* the 4-byte length cannot say it */
  refused_as(l, "limits.frame-size");
  l = (tide__limits)TIDE__LIMITS_DEFAULT;
  l.arg_depth = 28;
  refused_as(l, "limits.arg-depth: must be between 1 and 27");
  l = (tide__limits)TIDE__LIMITS_DEFAULT;
  l.key_length = 1025;
  refused_as(l, "limits.key-length: must be between 1 and 1024");
  l = (tide__limits)TIDE__LIMITS_DEFAULT;
  l.handshake_frame = l.frame_size + 1;
  refused_as(l, "limits.handshake-frame");
  l = (tide__limits)TIDE__LIMITS_DEFAULT;
  l.frame_memory = l.frame_size - 1;
  refused_as(l, "limits.frame-memory");
}

static void test_config_keys(void **state)
{
  char *env[] = {"HOME=/nonexistent",
                 "TIDE_CONFIG=/dev/null",
                 "TIDE_LIMITS__FRAME_SIZE=1MiB",
                 "TIDE_LIMITS__FRAME_MEMORY=8MiB",
                 "TIDE_LIMITS__GRAPH_TASKS=5000",
                 "TIDE_LIMITS__KEY_LENGTH=100",
                 "TIDE_LIMITS__ARG_DEPTH=27",
                 "TIDE_LIMITS__CONNECTIONS=300",
                 "TIDE_LIMITS__CONNECTIONS_PER_SOURCE=200",
                 "TIDE_LIMITS__HTTP_CONNECTIONS=400",
                 "TIDE_LIMITS__HTTP_CONNECTIONS_PER_SOURCE=40",
                 "TIDE_LIMITS__HTTP_TIMEOUT=3s",
                 "TIDE_LIMITS__HANDSHAKE_FRAME=64KiB",
                 "TIDE_LIMITS__HANDSHAKE_MEMORY=1MiB",
                 "TIDE_LIMITS__HANDSHAKE_TIMEOUT=2s",
                 "TIDE_LIMITS__IDLE_TIMEOUT=1s",
                 NULL};
  tide__config cfg;
  tide_error err = {{0}};
  assert_int_equal(tide__config_load(&cfg, NULL, env, &err), 0);
  assert_int_equal(cfg.limits.frame_size, 1 << 20);
  assert_int_equal(tide__limits_result_size(&cfg.limits), (1 << 20) - 4096);
  assert_int_equal(cfg.limits.frame_memory, 8 << 20);
  assert_int_equal(cfg.limits.graph_tasks, 5000);
  assert_int_equal(cfg.limits.key_length, 100);
  assert_int_equal(cfg.limits.arg_depth, 27);
  assert_int_equal(cfg.limits.connections, 300);
  assert_int_equal(cfg.limits.connections_per_source, 200);
  assert_int_equal(cfg.limits.http_connections, 400);
  assert_int_equal(cfg.limits.http_connections_per_source, 40);
  assert_true(cfg.limits.http_timeout == 3);
  assert_int_equal(cfg.limits.handshake_frame, 64 << 10);
  assert_int_equal(cfg.limits.handshake_memory, 1 << 20);
  assert_true(cfg.limits.handshake_timeout == 2 && cfg.limits.idle_timeout == 1);
  /* a result that could not travel in the configured frame stops the load */
  char *bad[] = {"HOME=/nonexistent", "TIDE_CONFIG=/dev/null", "TIDE_LIMITS__FRAME_SIZE=1MiB",
                 "TIDE_LIMITS__RESULT_SIZE=1MiB", NULL};
  assert_int_equal(tide__config_load(&cfg, NULL, bad, &err), TIDE_EUSAGE);
  assert_non_null(strstr(err.text, "limits.result-size: 1048576 does not fit"));
  char *deep[] = {"HOME=/nonexistent", "TIDE_CONFIG=/dev/null", "TIDE_LIMITS__ARG_DEPTH=28", NULL};
  assert_int_equal(tide__config_load(&cfg, NULL, deep, &err), TIDE_EUSAGE);
  assert_non_null(strstr(err.text, "limits.arg-depth"));
}

/* An update-graph as the client packs it (batch, message, tasks, task,
 * args), its one argument depth lists deep. */
static void pack_update_graph(msgpack_sbuffer *sb, int depth)
{
  msgpack_packer pk;
  msgpack_sbuffer_init(sb);
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 1);
  msgpack_pack_map(&pk, 5);
  tide__pk_kstr(&pk, "op", "update-graph");
  tide__pk_kint(&pk, "id", 1);
  tide__pk_str(&pk, "tasks");
  msgpack_pack_array(&pk, 1);
  msgpack_pack_map(&pk, 4);
  tide__pk_kstr(&pk, "key", "t/a");
  tide__pk_kstr(&pk, "fn", "tide.identity");
  tide__pk_str(&pk, "args");
  msgpack_pack_array(&pk, 1);
  for (int i = 0; i < depth; i++)
    msgpack_pack_array(&pk, 1);
  msgpack_pack_int(&pk, 1);
  tide__pk_str(&pk, "deps");
  msgpack_pack_array(&pk, 0);
  tide__pk_str(&pk, "wants");
  msgpack_pack_array(&pk, 0);
  tide__pk_kbool(&pk, "progress", false);
}

/* 0 when the scheduler decodes the frame and accepts its task; else -1
 * (decoding failed) or -2 (the task check refused it, words in why). */
static int scheduler_takes(int depth, tide_error *why)
{
  msgpack_sbuffer sb;
  pack_update_graph(&sb, depth);
  msgpack_zone z;
  msgpack_zone_init(&z, 4096);
  msgpack_object_array msgs;
  int rc = 0;
  if (tide__batch_decode(sb.data, sb.size, &z, &msgs, why) < 0) {
    rc = -1;
  } else {
    const msgpack_object *tasks = tide__mp_get(&msgs.ptr[0], "tasks");
    assert_non_null(tasks);
    if (tide__wire_task_check(&tasks->via.array.ptr[0], why) < 0)
      rc = -2;
  }
  msgpack_zone_destroy(&z);
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

/* A graph file whose one argument nests depth lists around 1. */
static int client_takes(int depth, tide_error *err)
{
  char json[256], *p = json;
  p += sprintf(p, "{\"tasks\": {\"a\": {\"fn\": \"tide.identity\", \"args\": [");
  for (int i = 0; i < depth; i++)
    *p++ = '[';
  *p++ = '1';
  for (int i = 0; i < depth; i++)
    *p++ = ']';
  strcpy(p, "]}}}");
  tide_graph *g = NULL;
  int rc = tide_graph_parse(json, strlen(json), "graph.json", &g, err);
  tide_graph_destroy(g);
  return rc;
}

static void test_depth_client_and_scheduler(void **state)
{
  tide_error e1, e2;
  tide__limits_set(NULL);
  /* the default, 24: passes both; 25 fails both with the same words */
  assert_int_equal(client_takes(24, &e1), 0);
  assert_int_equal(scheduler_takes(24, &e2), 0);
  assert_int_equal(client_takes(25, &e1), TIDE_EGRAPH);
  assert_int_equal(scheduler_takes(25, &e2), -2);
  assert_string_equal(e1.text, "graph.json:1: task \"a\": arguments nest deeper than 24 levels");
  assert_string_equal(e2.text, "arguments nest deeper than 24 levels");
  /* 28, which once passed the client and broke the scheduler's decoder */
  assert_int_equal(client_takes(28, &e1), TIDE_EGRAPH);
  /* the ceiling, 27: the most the scheduler's decoder takes in an
   * update-graph, and one more it cannot decode */
  tide__limits l = TIDE__LIMITS_DEFAULT;
  l.arg_depth = TIDE_LIMITS_DEPTH_CEILING;
  tide__limits_set(&l);
  assert_int_equal(client_takes(27, &e1), 0);
  assert_int_equal(scheduler_takes(27, &e2), 0);
  assert_int_equal(client_takes(28, &e1), TIDE_EGRAPH);
  assert_int_equal(scheduler_takes(28, &e2), -1);
  tide__limits_set(NULL);
}

static int client_key(size_t n, tide_error *err)
{
  char *json = malloc(n + 64), *key = malloc(n + 1);
  memset(key, 'k', n);
  key[n] = 0;
  sprintf(json, "{\"tasks\": {\"%s\": {\"fn\": \"tide.noop\"}}}", key);
  tide_graph *g = NULL;
  int rc = tide_graph_parse(json, strlen(json), "graph.json", &g, err);
  tide_graph_destroy(g);
  free(json);
  free(key);
  return rc;
}

/* The wire key the client makes of a graph key of n bytes: a 31-byte token
 * and a slash, the most TIDE_KEY_TOKEN_ROOM allows. */
static int scheduler_key(size_t n, tide_error *err)
{
  size_t wl = TIDE_KEY_TOKEN_ROOM + n;
  char *k = malloc(wl);
  memset(k, 't', TIDE_KEY_TOKEN_ROOM - 1);
  k[TIDE_KEY_TOKEN_ROOM - 1] = '/';
  memset(k + TIDE_KEY_TOKEN_ROOM, 'k', n);
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 4);
  tide__pk_str(&pk, "key");
  tide__pk_strn(&pk, k, wl);
  tide__pk_kstr(&pk, "fn", "tide.noop");
  tide__pk_str(&pk, "args");
  msgpack_pack_array(&pk, 0);
  tide__pk_str(&pk, "deps");
  msgpack_pack_array(&pk, 0);
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
  int rc = tide__wire_task_check(&u.data, err);
  msgpack_unpacked_destroy(&u);
  msgpack_sbuffer_destroy(&sb);
  free(k);
  return rc;
}

static void ends_with(const char *s, const char *tail)
{
  size_t n = strlen(s), t = strlen(tail);
  if (n < t || strcmp(s + n - t, tail) != 0)
    fail_msg("\"%s\" does not end with \"%s\"", s, tail);
}

static void test_key_length_client_and_scheduler(void **state)
{
  tide_error e1, e2;
  tide__limits_set(NULL);
  /* at the limit: 992 in the graph, 1024 on the wire */
  assert_int_equal(client_key(992, &e1), 0);
  assert_int_equal(scheduler_key(992, &e2), 0);
  /* one byte over: both refuse, with the same words */
  assert_int_equal(client_key(993, &e1), TIDE_EGRAPH);
  assert_int_equal(scheduler_key(993, &e2), TIDE_EGRAPH);
  const char *words =
      "the key is longer than limits.key-length (1024 bytes on the wire, 992 in a graph)";
  ends_with(e1.text, words);
  assert_string_equal(e2.text, words);
  /* a lowered limit moves both sides together */
  tide__limits l = TIDE__LIMITS_DEFAULT;
  l.key_length = 100;
  tide__limits_set(&l);
  assert_int_equal(client_key(68, &e1), 0);
  assert_int_equal(scheduler_key(68, &e2), 0);
  assert_int_equal(client_key(69, &e1), TIDE_EGRAPH);
  assert_int_equal(scheduler_key(69, &e2), TIDE_EGRAPH);
  words = "the key is longer than limits.key-length (100 bytes on the wire, 68 in a graph)";
  ends_with(e1.text, words);
  assert_string_equal(e2.text, words);
  tide__limits_set(NULL);
}

static void test_graph_tasks_client_and_scheduler(void **state)
{
  tide__limits l = TIDE__LIMITS_DEFAULT;
  l.graph_tasks = 2;
  tide__limits_set(&l);
  const char *two = "{\"tasks\": {\"a\": {\"fn\": \"tide.noop\"}, \"b\": {\"fn\": \"tide.noop\"}}}";
  const char *three = "{\"tasks\": {\"a\": {\"fn\": \"tide.noop\"}, \"b\": {\"fn\": "
                      "\"tide.noop\"}, \"c\": {\"fn\": \"tide.noop\"}}}";
  tide_graph *g = NULL;
  tide_error e1, e2;
  assert_int_equal(tide_graph_parse(two, strlen(two), "graph.json", &g, &e1), 0);
  tide_graph_destroy(g);
  g = NULL;
  assert_int_equal(tide__graph_size_check(2, &e2), 0);
  assert_int_equal(tide_graph_parse(three, strlen(three), "graph.json", &g, &e1), TIDE_EGRAPH);
  tide_graph_destroy(g);
  assert_int_equal(tide__graph_size_check(3, &e2), TIDE_EGRAPH);
  assert_string_equal(e2.text, "the graph has 3 tasks, more than limits.graph-tasks (2)");
  assert_string_equal(e1.text,
                      "graph.json: the graph has 3 tasks, more than limits.graph-tasks (2)");
  tide__limits_set(NULL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults_consistent),
      cmocka_unit_test(test_largest_result_travels),
      cmocka_unit_test(test_check_refuses),
      cmocka_unit_test(test_config_keys),
      cmocka_unit_test(test_depth_client_and_scheduler),
      cmocka_unit_test(test_key_length_client_and_scheduler),
      cmocka_unit_test(test_graph_tasks_client_and_scheduler),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
