/* The public logging control: the level filters, a sink captures every line
 * that passes (and only those), a NULL sink gives stderr back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"
#include "tide/tide.h"

typedef struct capture {
  int per_level[TIDE_LOG_NONE];
  int total;
  char last[1200];
} capture;

static void sink(tide_log_level_t level, const char *line, void *userdata)
{
  capture *c = userdata;
  c->per_level[level]++;
  c->total++;
  snprintf(c->last, sizeof c->last, "%s", line);
}

/* One line at each level. */
static void log_each(void)
{
  tide__debug("test", "d %d", 1);
  tide__info("test", "i %d", 2);
  tide__warn("test", "w %d", 3);
  tide__error("test", "e %d", 4);
}

static int setup(void **state)
{
  tide__log_init("unit", TIDE_LOG_INFO);
  return 0;
}

static int teardown(void **state)
{
  tide_log_set_sink(NULL, NULL);
  tide_log_set_level(TIDE_LOG_INFO);
  return 0;
}

static void test_sink_and_levels(void **state)
{
  capture c = {{0}};
  tide_log_set_sink(sink, &c);

  tide_log_set_level(TIDE_LOG_DEBUG);
  log_each();
  assert_int_equal(c.total, 4);
  for (int i = 0; i < TIDE_LOG_NONE; i++)
    assert_int_equal(c.per_level[i], 1);
  assert_non_null(strstr(c.last, " unit error test: e 4"));
  assert_null(strchr(c.last, '\n'));

  tide_log_set_level(TIDE_LOG_WARNING);
  log_each();
  assert_int_equal(c.total, 6);
  assert_int_equal(c.per_level[TIDE_LOG_DEBUG], 1);
  assert_int_equal(c.per_level[TIDE_LOG_INFO], 1);
  assert_int_equal(c.per_level[TIDE_LOG_WARNING], 2);
  assert_int_equal(c.per_level[TIDE_LOG_ERROR], 2);

  tide_log_set_level(TIDE_LOG_NONE);
  log_each();
  assert_int_equal(c.total, 6);

  tide_log_set_level(TIDE_LOG_INFO);
  log_each();
  assert_int_equal(c.total, 9);
  assert_int_equal(c.per_level[TIDE_LOG_DEBUG], 1);
}

static void test_ring_kept_with_sink(void **state)
{
  capture c = {{0}};
  tide_log_set_sink(sink, &c);
  tide__info("test", "ring marker %d", 77);
  assert_int_equal(c.total, 1);
  size_t n = 0;
  char **lines = tide__log_recent(1, &n);
  assert_int_equal(n, 1);
  assert_string_equal(lines[0], c.last);
  tide__log_free_lines(lines);
}

static void test_null_sink_restores_stderr(void **state)
{
  capture c = {{0}};
  tide_log_set_sink(sink, &c);
  tide_log_set_sink(NULL, NULL);

  char path[] = "/tmp/tide-log-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  fflush(stderr);
  int saved = dup(STDERR_FILENO);
  dup2(fd, STDERR_FILENO);
  log_each(); /* level INFO: three lines */
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);

  assert_int_equal(c.total, 0);
  FILE *f = fdopen(fd, "r");
  rewind(f);
  char line[1300];
  int n = 0, errors = 0;
  while (fgets(line, sizeof line, f)) {
    n++;
    errors += strstr(line, " unit error test: e 4\n") != NULL;
  }
  fclose(f);
  unlink(path);
  assert_int_equal(n, 3);
  assert_int_equal(errors, 1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_sink_and_levels, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ring_kept_with_sink, setup, teardown),
      cmocka_unit_test_setup_teardown(test_null_sink_restores_stderr, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
