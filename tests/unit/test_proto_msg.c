/* Messages: op table, batch encode/decode round trip, decode rejections,
 * typed getters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/frame.h"
#include "proto/msg.h"

static void test_op_table(void **state)
{
  static const struct {
    tide__op op;
    const char *name;
  } want[] = {
      {TIDE_OP_HELLO, "hello"},
      {TIDE_OP_ERROR, "error"},
      {TIDE_OP_HEARTBEAT, "heartbeat"},
      {TIDE_OP_TASK_FINISHED, "task-finished"},
      {TIDE_OP_TASK_ERRED, "task-erred"},
      {TIDE_OP_ADD_KEYS, "add-keys"},
      {TIDE_OP_MISSING_DATA, "missing-data"},
      {TIDE_OP_RETIRE_ME, "retire-me"},
      {TIDE_OP_RELEASED, "released"},
      {TIDE_OP_COMPUTE_TASK, "compute-task"},
      {TIDE_OP_FREE_KEYS, "free-keys"},
      {TIDE_OP_ACQUIRE_REPLICAS, "acquire-replicas"},
      {TIDE_OP_CLOSE, "close"},
      {TIDE_OP_GET_LOGS, "get-logs"},
      {TIDE_OP_GET_DATA, "get-data"},
      {TIDE_OP_DATA, "data"},
      {TIDE_OP_UPDATE_GRAPH, "update-graph"},
      {TIDE_OP_GRAPH_ACCEPTED, "graph-accepted"},
      {TIDE_OP_KEY_DONE, "key-done"},
      {TIDE_OP_GATHER, "gather"},
      {TIDE_OP_RELEASE_KEYS, "release-keys"},
      {TIDE_OP_PUBLISH, "publish"},
      {TIDE_OP_UNPUBLISH, "unpublish"},
      {TIDE_OP_GET_DATASET, "get-dataset"},
      {TIDE_OP_LIST_DATASETS, "list-datasets"},
      {TIDE_OP_REPLY, "reply"},
      {TIDE_OP_API, "api"},
      {TIDE_OP_CHALLENGE, "challenge"},
      {TIDE_OP_AUTH, "auth"},
      {TIDE_OP_AUTH_OK, "auth-ok"},
  };
  size_t n = sizeof want / sizeof want[0];
  assert_int_equal(n, TIDE_OP__COUNT - 1); /* every op is listed */
  for (size_t i = 0; i < n; i++) {
    assert_string_equal(tide__op_name(want[i].op), want[i].name);
    assert_int_equal(tide__op_parse(want[i].name, strlen(want[i].name)), want[i].op);
  }
  assert_int_equal(tide__op_parse("nope", 4), TIDE_OP_UNKNOWN);
  assert_int_equal(tide__op_parse("data", 3), TIDE_OP_UNKNOWN); /* "dat" */
  assert_int_equal(tide__op_parse("get-datax", 8), TIDE_OP_GET_DATA);
  assert_string_equal(tide__op_name((tide__op)999), "unknown");
}

/* Frame = header + sbuf; returns the payload (after the 4-byte length). */
static char *frame_of(tide__batch *b, size_t *plen)
{
  char h[16];
  size_t hlen;
  tide__batch_header(b, h, &hlen);
  size_t total = hlen + b->sbuf.size;
  char *out = malloc(total);
  memcpy(out, h, hlen);
  if (b->sbuf.size)
    memcpy(out + hlen, b->sbuf.data, b->sbuf.size);
  uint32_t declared = ((uint32_t)(unsigned char)out[0] << 24) |
                      ((uint32_t)(unsigned char)out[1] << 16) |
                      ((uint32_t)(unsigned char)out[2] << 8) | (unsigned char)out[3];
  assert_int_equal(declared, total - TIDE_FRAME_HEADER);
  *plen = declared;
  return out;
}

static void roundtrip(uint32_t nmsgs)
{
  tide__batch b;
  tide__batch_init(&b);
  for (uint32_t i = 0; i < nmsgs; i++) {
    msgpack_packer *pk = tide__batch_begin(&b, TIDE_OP_TASK_FINISHED, 5);
    tide__pk_kstr(pk, "key", "inc-1");
    tide__pk_kint(pk, "nbytes", i);
    tide__pk_knum(pk, "start", 1.5);
    tide__pk_kbool(pk, "ok", i % 2 == 0);
    tide__pk_str(pk, "blob");
    tide__pk_bin(pk, "\0\1\2", 3);
    tide__batch_end(&b);
  }
  assert_int_equal(b.count, nmsgs);
  size_t len;
  char *frame = frame_of(&b, &len);
  msgpack_zone zone;
  msgpack_zone_init(&zone, 4096);
  msgpack_object_array msgs;
  tide_error err;
  assert_int_equal(tide__batch_decode(frame + 4, len, &zone, &msgs, &err), 0);
  assert_int_equal(msgs.size, nmsgs);
  for (uint32_t i = 0; i < nmsgs; i++) {
    const msgpack_object *m = &msgs.ptr[i];
    assert_int_equal(tide__mp_op(m), TIDE_OP_TASK_FINISHED);
    int64_t v;
    assert_true(tide__mp_int(m, "nbytes", &v));
    assert_int_equal(v, i);
    bool ok;
    assert_true(tide__mp_bool(m, "ok", &ok));
    assert_int_equal(ok, i % 2 == 0);
  }
  msgpack_zone_destroy(&zone);
  free(frame);
  tide__batch_reset(&b);
  assert_int_equal(b.count, 0);
  assert_int_equal(b.sbuf.size, 0);
  tide__batch_destroy(&b);
}

static void test_batch_roundtrip(void **state)
{
  /* Each array-header size: fixarray, array16, array32. */
  roundtrip(0);
  roundtrip(1);
  roundtrip(15);
  roundtrip(16);
  roundtrip(65535);
  roundtrip(65536);
}

static int decode_bytes(const char *p, size_t n, tide_error *err)
{
  msgpack_zone zone;
  msgpack_object_array msgs;
  msgpack_zone_init(&zone, 1024);
  int r = tide__batch_decode(p, n, &zone, &msgs, err);
  msgpack_zone_destroy(&zone);
  return r;
}

static int decode_packed(void (*fill)(msgpack_packer *pk), tide_error *err)
{
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  fill(&pk);
  int r = decode_bytes(sb.data, sb.size, err);
  msgpack_sbuffer_destroy(&sb);
  return r;
}

static void fill_map(msgpack_packer *pk)
{
  msgpack_pack_map(pk, 0);
}
static void fill_array_of_int(msgpack_packer *pk)
{
  msgpack_pack_array(pk, 1);
  msgpack_pack_int(pk, 3);
}
static void fill_no_op(msgpack_packer *pk)
{
  msgpack_pack_array(pk, 1);
  msgpack_pack_map(pk, 1);
  tide__pk_kint(pk, "x", 1);
}
static void fill_int_op(msgpack_packer *pk)
{
  msgpack_pack_array(pk, 1);
  msgpack_pack_map(pk, 1);
  tide__pk_kint(pk, "op", 1);
}
static void fill_good_then_bad(msgpack_packer *pk)
{
  msgpack_pack_array(pk, 2);
  msgpack_pack_map(pk, 1);
  tide__pk_kstr(pk, "op", "hello");
  msgpack_pack_str_with_body(pk, "x", 1);
}
static void fill_unknown_op(msgpack_packer *pk)
{
  msgpack_pack_array(pk, 1);
  msgpack_pack_map(pk, 1);
  tide__pk_kstr(pk, "op", "future-op");
}

static void test_decode_rejects(void **state)
{
  tide_error err;
  assert_int_equal(decode_packed(fill_map, &err), TIDE_EPROTO);
  assert_non_null(strstr(err.text, "not an array"));
  assert_int_equal(decode_packed(fill_array_of_int, &err), TIDE_EPROTO);
  assert_non_null(strstr(err.text, "not a map"));
  assert_int_equal(decode_packed(fill_no_op, &err), TIDE_EPROTO);
  assert_non_null(strstr(err.text, "\"op\""));
  assert_int_equal(decode_packed(fill_int_op, &err), TIDE_EPROTO);
  assert_int_equal(decode_packed(fill_good_then_bad, &err), TIDE_EPROTO);
  assert_non_null(strstr(err.text, "message 1"));
  /* An op we do not know is still a valid message (handlers ignore it). */
  assert_int_equal(decode_packed(fill_unknown_op, &err), 0);

  /* Garbage and truncation. */
  assert_int_equal(decode_bytes("", 0, &err), TIDE_EPROTO);
  assert_int_equal(decode_bytes("\xc1", 1, &err), TIDE_EPROTO);
  assert_int_equal(decode_bytes("\x92\x80", 2, &err), TIDE_EPROTO); /* truncated */
  assert_int_equal(decode_bytes("\x90\x90", 2, &err), TIDE_EPROTO); /* trailing bytes */
  assert_int_equal(decode_bytes("\x90", 1, &err), 0);               /* empty batch */
  /* Containers claiming billions of elements in a few bytes. */
  assert_int_equal(decode_bytes("\xdd\xff\xff\xff\xff", 5, &err), TIDE_EPROTO);
  assert_int_equal(decode_bytes("\x91\xdf\xff\xff\xff\xff", 6, &err), TIDE_EPROTO);
  assert_int_equal(decode_bytes("\x91\xc6\xff\xff\xff\xff", 6, &err), TIDE_EPROTO);
  /* Deep nesting is refused, not a crash. */
  char deep[2000];
  memset(deep, 0x91, sizeof deep - 1);
  deep[sizeof deep - 1] = (char)0x90;
  assert_int_equal(decode_bytes(deep, sizeof deep, &err), TIDE_EPROTO);
  /* Random bytes never crash. */
  srand(7);
  char junk[64];
  for (int i = 0; i < 20000; i++) {
    size_t n = (size_t)(rand() % (int)sizeof junk);
    for (size_t k = 0; k < n; k++)
      junk[k] = (char)rand();
    if (n)
      junk[0] = (char)(0x90 | (rand() % 4));
    decode_bytes(junk, n, &err);
  }
}

/* Unpack one map for the getter tests. */
static void fill_getters(msgpack_packer *pk)
{
  msgpack_pack_map(pk, 9);
  tide__pk_kstr(pk, "op", "reply");
  tide__pk_kint(pk, "id", -42);
  tide__pk_knum(pk, "f", 2.5);
  tide__pk_kbool(pk, "ok", true);
  tide__pk_str(pk, "bin");
  tide__pk_bin(pk, "ab", 2);
  tide__pk_str(pk, "arr");
  msgpack_pack_array(pk, 2);
  msgpack_pack_int(pk, 1);
  msgpack_pack_int(pk, 2);
  tide__pk_str(pk, "map");
  msgpack_pack_map(pk, 1);
  tide__pk_kint(pk, "k", 1);
  tide__pk_str(pk, "big");
  msgpack_pack_uint64(pk, UINT64_MAX);
  tide__pk_kstr(pk, "nil", NULL);
}

static void test_getters(void **state)
{
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  fill_getters(&pk);
  msgpack_zone zone;
  msgpack_zone_init(&zone, 1024);
  msgpack_object m;
  size_t off = 0;
  assert_int_equal(msgpack_unpack(sb.data, sb.size, &off, &zone, &m), MSGPACK_UNPACK_SUCCESS);

  const char *s;
  size_t n;
  int64_t i;
  double d;
  bool b;
  assert_int_equal(tide__mp_op(&m), TIDE_OP_REPLY);
  assert_true(tide__mp_str(&m, "op", &s, &n));
  assert_int_equal(n, 5);
  assert_true(tide__mp_int(&m, "id", &i));
  assert_int_equal(i, -42);
  assert_true(tide__mp_num(&m, "id", &d));
  assert_true(d == -42.0);
  assert_true(tide__mp_num(&m, "f", &d));
  assert_true(d == 2.5);
  assert_true(tide__mp_bool(&m, "ok", &b));
  assert_true(b);
  assert_true(tide__mp_bin(&m, "bin", &s, &n));
  assert_int_equal(n, 2);
  assert_memory_equal(s, "ab", 2);
  assert_int_equal(tide__mp_array(&m, "arr")->size, 2);
  assert_int_equal(tide__mp_map(&m, "map")->size, 1);
  char *dup = tide__mp_strdup(&m, "op");
  assert_string_equal(dup, "reply");
  free(dup);
  assert_true(tide__mp_streq(tide__mp_get(&m, "op"), "reply"));
  assert_false(tide__mp_streq(tide__mp_get(&m, "op"), "repl"));
  assert_false(tide__mp_streq(tide__mp_get(&m, "id"), "reply"));
  assert_int_equal(tide__mp_get(&m, "nil")->type, MSGPACK_OBJECT_NIL);

  /* Type mismatches and missing fields. */
  assert_false(tide__mp_str(&m, "id", &s, &n));
  assert_false(tide__mp_int(&m, "f", &i)); /* float is not an int */
  assert_false(tide__mp_int(&m, "op", &i));
  assert_false(tide__mp_int(&m, "big", &i)); /* does not fit int64 */
  assert_true(tide__mp_num(&m, "big", &d));
  assert_false(tide__mp_num(&m, "ok", &d));
  assert_false(tide__mp_bool(&m, "id", &b));
  assert_false(tide__mp_bin(&m, "op", &s, &n));
  assert_null(tide__mp_array(&m, "map"));
  assert_null(tide__mp_map(&m, "arr"));
  assert_null(tide__mp_strdup(&m, "id"));
  assert_null(tide__mp_get(&m, "missing"));
  assert_false(tide__mp_int(&m, "missing", &i));
  assert_null(tide__mp_get(tide__mp_get(&m, "id"), "x")); /* not a map */
  assert_int_equal(tide__mp_op(tide__mp_get(&m, "map")), TIDE_OP_UNKNOWN);

  /* pk_object re-packs an equal value. */
  msgpack_sbuffer sb2;
  msgpack_packer pk2;
  msgpack_sbuffer_init(&sb2);
  msgpack_packer_init(&pk2, &sb2, msgpack_sbuffer_write);
  tide__pk_object(&pk2, &m);
  assert_int_equal(sb2.size, sb.size);
  assert_memory_equal(sb2.data, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb2);
  msgpack_zone_destroy(&zone);
  msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_op_table),
      cmocka_unit_test(test_batch_roundtrip),
      cmocka_unit_test(test_decode_rejects),
      cmocka_unit_test(test_getters),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
