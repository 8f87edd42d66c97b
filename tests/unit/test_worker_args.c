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

/* A packed string literal and its length, for the table below. */
#define MP(lit) lit, sizeof lit - 1

static const struct subst_case {
  const char *in;
  size_t inlen;
  const char *want; /* NULL: the substitution fails */
  size_t wantlen;
  const char *missing; /* the key it names when it fails */
  int calls;           /* lookups made */
} subst_cases[] = {
    /* [1, {"ref": "x"}, [{"ref": "x"}], {"k": {"ref": "x"}}] gives
     * [1, 42, [42], {"k": 42}]: references at any depth */
    {MP("\x94\x01\x81\xa3ref\xa1x\x91\x81\xa3ref\xa1x\x81\xa1k\x81\xa3ref\xa1x"),
     MP("\x94\x01\x2a\x91\x2a\x81\xa1k\x2a"), NULL, 3},
    /* {"ref": 5} (not a string) and {"ref": "x", "b": 1} (two entries) stay */
    {MP("\x92\x81\xa3ref\x05\x82\xa3ref\xa1x\xa1"
        "b\x01"),
     MP("\x92\x81\xa3ref\x05\x82\xa3ref\xa1x\xa1"
        "b\x01"),
     NULL, 0},
    /* [{"ref": "x"}, {"ref": "gone"}, {"ref": "x"}]: stops at "gone" */
    {MP("\x93\x81\xa3ref\xa1x\x81\xa3ref\xa4gone\x81\xa3ref\xa1x"), NULL, 0, "gone", 2},
};

static void test_subst(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof subst_cases / sizeof subst_cases[0]; i++) {
    const struct subst_case *c = &subst_cases[i];
    char out[64], missing[16] = "";
    int calls = 0;
    int n = subst(c->in, c->inlen, out, sizeof out, &calls, missing, sizeof missing);
    if (c->want) {
      assert_int_equal(n, (int)c->wantlen);
      assert_memory_equal(out, c->want, c->wantlen);
    } else {
      assert_int_equal(n, -1);
      assert_string_equal(missing, c->missing);
    }
    assert_int_equal(calls, c->calls);
  }
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
      cmocka_unit_test(test_subst),
      cmocka_unit_test(test_args_default_empty),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
