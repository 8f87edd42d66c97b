/* msgpack -> JSON output conversion (bytes as {"bytes", "sha256"}) and
 * JSON -> msgpack packing of graph arguments. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/value.h"

/* Convert a packed value to compact JSON text (caller frees). */
static char *to_json(const msgpack_sbuffer *sb)
{
  msgpack_unpacked u;
  size_t off = 0;
  msgpack_unpacked_init(&u);
  assert_int_equal(msgpack_unpack_next(&u, sb->data, sb->size, &off), MSGPACK_UNPACK_SUCCESS);
  json_t *j = tide__value_to_json(&u.data);
  char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
  json_decref(j);
  msgpack_unpacked_destroy(&u);
  return s;
}

static void test_scalars(void **state)
{
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 9);
  msgpack_pack_nil(&pk);
  msgpack_pack_true(&pk);
  msgpack_pack_int64(&pk, -5);
  msgpack_pack_uint64(&pk, 1000);
  msgpack_pack_double(&pk, 1.5);
  msgpack_pack_str_with_body(&pk, "h\"i", 3);
  msgpack_pack_double(&pk, NAN);
  msgpack_pack_uint64(&pk, UINT64_MAX);
  msgpack_pack_float(&pk, 0.25f);
  char *s = to_json(&sb);
  assert_string_equal(s, "[null,true,-5,1000,1.5,\"h\\\"i\",null,1.8446744073709552e19,0.25]");
  free(s);
  msgpack_sbuffer_destroy(&sb);
}

static void test_bytes(void **state)
{
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 3);
  msgpack_pack_str_with_body(&pk, "b", 1);
  msgpack_pack_bin_with_body(&pk, "abc", 3);
  msgpack_pack_str_with_body(&pk, "e", 1);
  msgpack_pack_bin(&pk, 0);
  msgpack_pack_str_with_body(&pk, "u", 1);
  msgpack_pack_str_with_body(&pk, "\xff", 1); /* not UTF-8 */
  char *s = to_json(&sb);
  /* sha256("abc") and sha256("") */
  assert_string_equal(s, "{\"b\":{\"bytes\":3,\"sha256\":"
                         "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"},"
                         "\"e\":{\"bytes\":0,\"sha256\":"
                         "\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"},"
                         "\"u\":{\"bytes\":1,\"sha256\":"
                         "\"a8100ae6aa1940d0b663bb31cd466142ebbdbd5187131b92d93818987832eb89\"}}");
  free(s);
  msgpack_sbuffer_destroy(&sb);
}

static void test_nested_and_keys(void **state)
{
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  /* {1: [true, {"x": nil}], "rc": 0} */
  msgpack_pack_map(&pk, 2);
  msgpack_pack_int(&pk, 1);
  msgpack_pack_array(&pk, 2);
  msgpack_pack_true(&pk);
  msgpack_pack_map(&pk, 1);
  msgpack_pack_str_with_body(&pk, "x", 1);
  msgpack_pack_nil(&pk);
  msgpack_pack_str_with_body(&pk, "rc", 2);
  msgpack_pack_int(&pk, 0);
  char *s = to_json(&sb);
  assert_string_equal(s, "{\"1\":[true,{\"x\":null}],\"rc\":0}");
  free(s);
  /* the outputs map keeps its order */
  json_t *j = tide__values_to_json(sb.data, sb.size);
  assert_non_null(j);
  assert_int_equal(json_object_size(j), 2);
  json_decref(j);
  /* not a map, or garbage: NULL */
  assert_null(tide__values_to_json("\x93\x01\x02\x03", 4));
  assert_null(tide__values_to_json("\xc1", 1));
  assert_null(tide__values_to_json("", 0));
  msgpack_sbuffer_destroy(&sb);
}

static void test_bad_utf8_key(void **state)
{
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 1);
  msgpack_pack_str_with_body(&pk,
                             "a\xff"
                             "b",
                             3);
  msgpack_pack_int(&pk, 1);
  char *s = to_json(&sb);
  assert_string_equal(s, "{\"a?b\":1}");
  free(s);
  msgpack_sbuffer_destroy(&sb);
}

static void test_pack_json(void **state)
{
  json_error_t jerr;
  json_t *j =
      json_loads("[1, -2, 2.5, \"s\", null, true, false, {\"ref\": \"a\"},"
                 " [{\"ref\": \"b\"}], {\"ref\": \"c\", \"x\": 1}, {\"k\": {\"ref\": \"d\"}}]",
                 0, &jerr);
  assert_non_null(j);
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  tide__value_pack_json(&pk, j, "T/");
  char *s = to_json(&sb);
  assert_string_equal(s, "[1,-2,2.5,\"s\",null,true,false,{\"ref\":\"T/a\"},[{\"ref\":\"T/b\"}],"
                         "{\"ref\":\"c\",\"x\":1},{\"k\":{\"ref\":\"T/d\"}}]");
  free(s);
  /* without a prefix refs stay as they are */
  msgpack_sbuffer_clear(&sb);
  tide__value_pack_json(&pk, j, NULL);
  s = to_json(&sb);
  assert_non_null(strstr(s, "{\"ref\":\"a\"}"));
  free(s);
  msgpack_sbuffer_destroy(&sb);
  json_decref(j);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_scalars),         cmocka_unit_test(test_bytes),
      cmocka_unit_test(test_nested_and_keys), cmocka_unit_test(test_bad_utf8_key),
      cmocka_unit_test(test_pack_json),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
