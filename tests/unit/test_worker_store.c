/* Data store: exact byte accounting through put, replace and delete. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "worker/store.h"

static char *dup(const char *s, size_t n)
{
  char *p = malloc(n);
  memcpy(p, s, n);
  return p;
}

static void test_accounting(void **state)
{
  tide__store *st = tide__store_create();
  assert_int_equal(tide__store_nbytes(st), 0);
  tide__store_put(st, "a", 1, dup("\x01", 1), 1);
  tide__store_put_copy(st, "b", 1, "\xa3xyz", 4);
  assert_int_equal(tide__store_nbytes(st), 5);
  assert_int_equal(tide__store_count(st), 2);
  const char *d;
  size_t n;
  assert_true(tide__store_get(st, "b", 1, &d, &n));
  assert_int_equal(n, 4);
  assert_memory_equal(d, "\xa3xyz", 4);
  /* replacing a key accounts only the new value */
  tide__store_put(st, "a", 1, dup("\xc4\x02zz", 4), 4);
  assert_int_equal(tide__store_nbytes(st), 8);
  assert_int_equal(tide__store_count(st), 2);
  /* keys are compared by length, not NUL */
  assert_false(tide__store_get(st, "ab", 2, NULL, NULL));
  assert_true(tide__store_get(st, "ab", 1, NULL, &n));
  assert_int_equal(n, 4);
  assert_true(tide__store_del(st, "a", 1));
  assert_false(tide__store_del(st, "a", 1));
  assert_int_equal(tide__store_nbytes(st), 4);
  assert_int_equal(tide__store_count(st), 1);
  tide__store_destroy(st);
}

static void test_many(void **state)
{
  tide__store *st = tide__store_create();
  char key[32];
  uint64_t total = 0;
  for (int i = 0; i < 10000; i++) {
    int len = snprintf(key, sizeof key, "task-%d", i);
    size_t n = (size_t)(i % 97) + 1;
    char *v = calloc(1, n);
    tide__store_put(st, key, (size_t)len, v, n);
    total += n;
  }
  assert_int_equal(tide__store_nbytes(st), total);
  for (int i = 0; i < 10000; i += 2) {
    int len = snprintf(key, sizeof key, "task-%d", i);
    assert_true(tide__store_del(st, key, (size_t)len));
    total -= (uint64_t)(i % 97) + 1;
  }
  assert_int_equal(tide__store_nbytes(st), total);
  assert_int_equal(tide__store_count(st), 5000);
  tide__store_destroy(st);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_accounting),
      cmocka_unit_test(test_many),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
