/* Framer: split feeds, several frames per feed, oversize, zero-copy reserve. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/frame.h"

/* Build n frames with payload i of length lens[i] filled with byte i. */
static size_t make_frames(char *out, const size_t *lens, int n)
{
  size_t off = 0;
  for (int i = 0; i < n; i++) {
    tide__frame_header((uint32_t)lens[i], out + off);
    off += TIDE_FRAME_HEADER;
    memset(out + off, 'a' + i, lens[i]);
    off += lens[i];
  }
  return off;
}

static void check_frame(tide__framer *f, size_t len, char fill)
{
  const char *p;
  size_t n;
  tide_error err;
  assert_int_equal(tide__framer_next(f, &p, &n, &err), 1);
  assert_int_equal(n, len);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(p[i], fill);
}

static void test_header(void **state)
{
  char h[4];
  tide__frame_header(0x01020304u, h);
  assert_memory_equal(h, "\x01\x02\x03\x04", 4);
  tide__frame_header(0xffffffffu, h);
  assert_memory_equal(h, "\xff\xff\xff\xff", 4);
}

static void test_byte_by_byte(void **state)
{
  size_t lens[] = {5, 0, 300, 1};
  char buf[1024];
  size_t total = make_frames(buf, lens, 4);
  tide__framer f;
  tide__framer_init(&f, 1000);
  int got = 0;
  for (size_t i = 0; i < total; i++) {
    tide__framer_feed(&f, buf + i, 1);
    const char *p;
    size_t n;
    tide_error err;
    int r;
    while ((r = tide__framer_next(&f, &p, &n, &err)) == 1) {
      assert_int_equal(n, lens[got]);
      for (size_t k = 0; k < n; k++)
        assert_int_equal(p[k], 'a' + got);
      got++;
    }
    assert_int_equal(r, 0);
  }
  assert_int_equal(got, 4);
  assert_int_equal(tide__framer_buffered(&f), 0);
  tide__framer_free(&f);
}

static void test_many_frames_one_feed(void **state)
{
  size_t lens[] = {1, 2, 3, 100, 7};
  char buf[1024];
  size_t total = make_frames(buf, lens, 5);
  tide__framer f;
  tide__framer_init(&f, 0);
  assert_int_equal(f.max, (size_t)1 << 30); /* limits.frame-size by default */
  /* All but the last byte: four whole frames and a partial one. */
  tide__framer_feed(&f, buf, total - 1);
  for (int i = 0; i < 4; i++)
    check_frame(&f, lens[i], 'a' + i);
  const char *p;
  size_t n;
  assert_int_equal(tide__framer_next(&f, &p, &n, NULL), 0);
  assert_int_equal(tide__framer_buffered(&f), TIDE_FRAME_HEADER + 6);
  tide__framer_feed(&f, buf + total - 1, 1);
  check_frame(&f, 7, 'e');
  assert_int_equal(tide__framer_next(&f, &p, &n, NULL), 0);
  tide__framer_free(&f);
}

static void test_oversize(void **state)
{
  tide__framer f;
  tide_error err;
  const char *p;
  size_t n;
  char h[4];
  tide__framer_init(&f, 100);
  tide__frame_header(100, h);
  tide__framer_feed(&f, h, 4);
  assert_int_equal(tide__framer_next(&f, &p, &n, &err), 0); /* exactly max: fine */
  tide__framer_free(&f);

  tide__framer_init(&f, 100);
  tide__frame_header(101, h);
  tide__framer_feed(&f, h, 3);
  assert_int_equal(tide__framer_next(&f, &p, &n, &err), 0); /* header incomplete */
  tide__framer_feed(&f, h + 3, 1);
  assert_int_equal(tide__framer_next(&f, &p, &n, &err), TIDE_EPROTO);
  assert_non_null(strstr(err.text, "101"));
  /* A hostile header does not make reserve allocate its size. */
  char *space;
  size_t avail;
  tide__framer_reserve(&f, 16, &space, &avail);
  assert_true(f.buf.cap < 1 << 20);
  tide__framer_free(&f);
}

static void test_reserve_zero_copy(void **state)
{
  tide__framer f;
  char *space;
  size_t avail;
  char h[4];
  tide__framer_init(&f, 1 << 24);
  /* Announce a 1 MB frame: reserve makes room for all of it at once. */
  tide__frame_header(1 << 20, h);
  tide__framer_feed(&f, h, 4);
  tide__framer_reserve(&f, 16, &space, &avail);
  assert_true(avail >= 1 << 20);
  size_t cap = f.buf.cap;
  assert_int_equal(cap, 2 << 20); /* 64 KiB doubled until 4 + 1 MB fit */
  memset(space, 'z', 1 << 20);
  tide__framer_commit(&f, 1 << 20);
  check_frame(&f, 1 << 20, 'z');
  /* Consumed: the next reserve starts at the front, no growth. */
  tide__framer_reserve(&f, 16, &space, &avail);
  assert_ptr_equal(space, f.buf.v);
  assert_int_equal(f.buf.cap, cap);
  tide__framer_free(&f);
}

static void test_many_small_frames_no_growth(void **state)
{
  /* 10,000 frames fed in chunks: the buffer stays small because consumed
   * bytes are reused. */
  tide__framer f;
  tide__framer_init(&f, 1000);
  char frame[4 + 20];
  tide__frame_header(20, frame);
  memset(frame + 4, 'q', 20);
  int got = 0;
  for (int i = 0; i < 10000; i++) {
    tide__framer_feed(&f, frame, 10);
    tide__framer_feed(&f, frame + 10, sizeof frame - 10);
    const char *p;
    size_t n;
    while (tide__framer_next(&f, &p, &n, NULL) == 1)
      got++;
  }
  assert_int_equal(got, 10000);
  assert_int_equal(f.buf.cap, 1024); /* the floor, never a few bytes */
  tide__framer_free(&f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_header),
      cmocka_unit_test(test_byte_by_byte),
      cmocka_unit_test(test_many_frames_one_feed),
      cmocka_unit_test(test_oversize),
      cmocka_unit_test(test_reserve_zero_copy),
      cmocka_unit_test(test_many_small_frames_no_growth),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
