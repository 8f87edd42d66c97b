/* The growable array and the text buffer: contents, counts and growth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/vec.h"

typedef TIDE__VEC(int) intvec;
typedef TIDE__VEC(const char *) strvec;

static void test_push(void **state)
{
  intvec a = {0};
  size_t grows = 0, last_cap = 0;
  for (int i = 0; i < 1000; i++) {
    tide__vec_push(&a, i * 3);
    if (a.cap != last_cap) {
      grows++;
      last_cap = a.cap;
    }
  }
  assert_int_equal(a.n, 1000);
  for (int i = 0; i < 1000; i++)
    assert_int_equal(a.v[i], i * 3);
  /* doubling from 8: 8, 16, ..., 1024 is 8 allocations, not 1000 */
  assert_int_equal(a.cap, 1024);
  assert_int_equal(grows, 8);
  tide__vec_free(&a);
  assert_null(a.v);
  assert_int_equal(a.n, 0);
  assert_int_equal(a.cap, 0);
  tide__vec_push(&a, 7); /* reusable after free */
  assert_int_equal(a.n, 1);
  assert_int_equal(a.v[0], 7);
  tide__vec_free(&a);
}

static void test_reserve(void **state)
{
  strvec s = {0};
  const char **end = tide__vec_reserve(&s, 100);
  assert_ptr_equal(end, s.v);
  assert_int_equal(s.cap, 128);
  assert_int_equal(s.n, 0);
  s.v[s.n++] = "a";
  end = tide__vec_reserve(&s, 127); /* exactly fits: no growth */
  assert_int_equal(s.cap, 128);
  assert_ptr_equal(end, s.v + 1);
  (void)tide__vec_reserve(&s, 128);
  assert_int_equal(s.cap, 256);
  assert_string_equal(s.v[0], "a");
  free(s.v); /* the array is plain malloc'd memory a caller may keep */
}

static void test_text(void **state)
{
  tide__text b = {0};
  tide__text_put(&b, "abc", 3);
  assert_int_equal(b.n, 3);
  assert_string_equal(b.v, "abc");
  tide__text_printf(&b, "[%d,%s]", 42, "x");
  assert_int_equal(b.n, 9);
  assert_string_equal(b.v, "abc[42,x]");
  tide__text_truncate(&b, 2);
  assert_int_equal(b.n, 2);
  assert_string_equal(b.v, "ab");
  tide__text_truncate(&b, 5); /* past the end: unchanged */
  assert_int_equal(b.n, 2);
  for (int i = 0; i < 10000; i++)
    tide__text_put(&b, "0123456789", 10);
  assert_int_equal(b.n, 100002);
  assert_int_equal(strlen(b.v), 100002);
  assert_memory_equal(b.v + 99992, "0123456789", 10);
  tide__vec_free(&b);
}

static void test_strvec(void **state)
{
  tide__strvec s = {0};
  char name[16];
  for (int i = 0; i < 20; i++) {
    snprintf(name, sizeof name, "w-%d", i);
    tide__vec_push(&s, strdup(name));
  }
  assert_int_equal(s.n, 20);
  assert_int_equal(s.cap, 32);
  assert_string_equal(s.v[0], "w-0");
  assert_string_equal(s.v[19], "w-19");
  tide__strvec_free(&s); /* the strings too: the sanitizer build sees a leak */
  assert_null(s.v);
  assert_int_equal(s.n, 0);
  assert_int_equal(s.cap, 0);
  tide__strvec_free(&s); /* freeing an empty one is fine */
  assert_null(s.v);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_push),
      cmocka_unit_test(test_reserve),
      cmocka_unit_test(test_text),
      cmocka_unit_test(test_strvec),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
