/* compute-task arguments: {"ref": KEY} replaced by the looked-up value at
 * any depth, a reference to nothing held named, no args an empty array. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "worker/args.h"

/* One held key: "x" -> the packed integer 42 (0x2a). */
static bool lookup(void *ctx, const char *key, size_t len, const char **data, size_t *n)
{
  int *calls = ctx;
  (*calls)++;
  if (len != 1 || key[0] != 'x')
    return false;
  *data = "\x2a";
  *n = 1;
  return true;
}

/* Unpack the JSON-ish input given as packed bytes, substitute, and return
 * the result's packed bytes in out (size returned; -1 when missing). */
static int subst(const char *in, size_t inlen, char *out, size_t outcap, int *calls, char *missing,
                 size_t mcap)
{
  msgpack_zone zone;
  msgpack_object o;
  size_t off = 0;
  msgpack_zone_init(&zone, 256);
  assert_int_equal(msgpack_unpack(in, inlen, &off, &zone, &o), MSGPACK_UNPACK_SUCCESS);
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  const msgpack_object *miss = NULL;
  int r = -1;
  if (tide__args_subst(&sb, &pk, &o, lookup, calls, &miss)) {
    assert_true(sb.size <= outcap);
    memcpy(out, sb.data, sb.size);
    r = (int)sb.size;
  } else {
    assert_non_null(miss);
    assert_int_equal(miss->type, MSGPACK_OBJECT_STR);
    snprintf(missing, mcap, "%.*s", (int)miss->via.str.size, miss->via.str.ptr);
  }
  msgpack_sbuffer_destroy(&sb);
  msgpack_zone_destroy(&zone);
  return r;
}

static void test_refs_replaced_at_any_depth(void **state)
{
  (void)state;
  /* [1, {"ref": "x"}, [{"ref": "x"}], {"k": {"ref": "x"}}] */
  static const char in[] = "\x94\x01\x81\xa3ref\xa1x\x91\x81\xa3ref\xa1x\x81\xa1k\x81\xa3ref\xa1x";
  /* [1, 42, [42], {"k": 42}] */
  static const char want[] = "\x94\x01\x2a\x91\x2a\x81\xa1k\x2a";
  char out[64], missing[16];
  int calls = 0;
  int n = subst(in, sizeof in - 1, out, sizeof out, &calls, missing, sizeof missing);
  assert_int_equal(n, (int)sizeof want - 1);
  assert_memory_equal(out, want, sizeof want - 1);
  assert_int_equal(calls, 3);
}

static void test_not_a_ref_kept(void **state)
{
  (void)state;
  /* {"ref": 5} (not a string) and {"ref": "x", "b": 1} (two entries) stay */
  static const char in[] = "\x92\x81\xa3ref\x05\x82\xa3ref\xa1x\xa1"
                           "b\x01";
  char out[64], missing[16];
  int calls = 0;
  int n = subst(in, sizeof in - 1, out, sizeof out, &calls, missing, sizeof missing);
  assert_int_equal(n, (int)sizeof in - 1);
  assert_memory_equal(out, in, sizeof in - 1);
  assert_int_equal(calls, 0);
}

static void test_missing_named(void **state)
{
  (void)state;
  /* [{"ref": "x"}, {"ref": "gone"}, {"ref": "x"}]: stops at "gone" */
  static const char in[] = "\x93\x81\xa3ref\xa1x\x81\xa3ref\xa4gone\x81\xa3ref\xa1x";
  char out[64], missing[16];
  int calls = 0;
  assert_int_equal(subst(in, sizeof in - 1, out, sizeof out, &calls, missing, sizeof missing), -1);
  assert_string_equal(missing, "gone");
  assert_int_equal(calls, 2);
}

static void test_args_default_empty(void **state)
{
  (void)state;
  /* {"args": 3} and {} both give an empty array; {"args": [7]} its own */
  static const char bad[] = "\x81\xa4"
                            "args\x03";
  static const char none[] = "\x80";
  static const char one[] = "\x81\xa4"
                            "args\x91\x07";
  const char *ins[] = {bad, none, one};
  size_t lens[] = {sizeof bad - 1, sizeof none - 1, sizeof one - 1};
  uint32_t sizes[] = {0, 0, 1};
  for (int i = 0; i < 3; i++) {
    msgpack_zone zone;
    msgpack_object o;
    size_t off = 0;
    msgpack_zone_init(&zone, 256);
    assert_int_equal(msgpack_unpack(ins[i], lens[i], &off, &zone, &o), MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *a = tide__args_get(&o);
    assert_int_equal(a->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(a->via.array.size, sizes[i]);
    msgpack_zone_destroy(&zone);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_refs_replaced_at_any_depth),
      cmocka_unit_test(test_not_a_ref_kept),
      cmocka_unit_test(test_missing_named),
      cmocka_unit_test(test_args_default_empty),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
