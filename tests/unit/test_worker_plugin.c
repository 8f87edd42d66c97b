/* Plugin loading: the example plugin's functions, a missing file, a
 * library without tide_plugin_init, a plugin loaded twice. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "worker/plugin.h"
#include "worker_testutil.h"

static char plugin[PATH_MAX + 32];

/* The example plugin is built next to this test executable. */
static int setup(void **state)
{
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0)
    return -1;
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  *slash = '\0';
  snprintf(plugin, sizeof plugin, "%s/libplugin_example.so", exe);
  if (access(plugin, R_OK) != 0) {
    fprintf(stderr, "missing %s: build the plugin_example target first\n", plugin);
    return -1;
  }
  return 0;
}

static void pack1(msgpack_sbuffer *sb, int64_t x)
{
  msgpack_packer pk;
  msgpack_sbuffer_init(sb);
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 1);
  msgpack_pack_int64(&pk, x);
}

static void test_example(void **state)
{
  tide_registry *reg;
  tide_error err;
  tide__registry_create(&reg);
  assert_int_equal(tide__plugin_load(reg, plugin, &err), 0);
  assert_int_equal(tide__registry_count(reg), 3);
  assert_string_equal(tide__registry_name(reg, 0), "example.square");

  msgpack_sbuffer sb;
  call c;
  pack1(&sb, 7);
  call_run(reg, "example.square", &sb, &c);
  assert_int_equal(c.job.outcome, TIDE__CALL_OK);
  assert_int_equal(c.result.via.i64, 49);
  call_free(&c);

  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 2);
  msgpack_pack_str_with_body(&pk, "ab", 2);
  msgpack_pack_int(&pk, 3);
  call_run(reg, "example.repeat", &sb, &c);
  assert_int_equal(c.job.outcome, TIDE__CALL_OK);
  assert_int_equal(c.result.via.str.size, 6);
  assert_memory_equal(c.result.via.str.ptr, "ababab", 6);
  call_free(&c);

  pack1(&sb, -2);
  call_run(reg, "example.fail_if_negative", &sb, &c);
  assert_int_equal(c.job.outcome, TIDE__CALL_ERRED);
  assert_string_equal(c.job.error, "example.fail_if_negative: task test-key got a negative number");
  call_free(&c);

  /* loading it again: its names are taken, tide_plugin_init fails */
  assert_int_equal(tide__plugin_load(reg, plugin, &err), TIDE_EPLUGIN);
  assert_non_null(strstr(err.text, "tide_plugin_init failed"));
  assert_int_equal(tide__registry_count(reg), 3);
  tide__registry_destroy(reg);

  /* a bare file name in the current directory is that file */
  char dir[PATH_MAX + 32], cwd[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", plugin);
  *strrchr(dir, '/') = '\0';
  assert_non_null(getcwd(cwd, sizeof cwd));
  assert_int_equal(chdir(dir), 0);
  tide__registry_create(&reg);
  int rc = tide__plugin_load(reg, "libplugin_example.so", &err);
  assert_int_equal(chdir(cwd), 0);
  assert_int_equal(rc, 0);
  assert_int_equal(tide__registry_count(reg), 3);
  tide__registry_destroy(reg);
}

static void test_bad_plugins(void **state)
{
  tide_registry *reg;
  tide_error err;
  tide__registry_create(&reg);
  assert_int_equal(tide__plugin_load(reg, "/nonexistent/libnope.so", &err), TIDE_EPLUGIN);
  assert_non_null(strstr(err.text, "cannot load plugin /nonexistent/libnope.so: "));
  assert_non_null(strstr(err.text, "No such file"));
  /* a real shared library without the entry point */
  assert_int_equal(tide__plugin_load(reg, "libm.so.6", &err), TIDE_EPLUGIN);
  assert_string_equal(err.text, "plugin libm.so.6 has no tide_plugin_init");
  /* a file that is not a library */
  char tmp[] = "/tmp/tide-notso-XXXXXX";
  int fd = mkstemp(tmp);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "garbage", 7), 7);
  close(fd);
  assert_int_equal(tide__plugin_load(reg, tmp, &err), TIDE_EPLUGIN);
  assert_non_null(strstr(err.text, "cannot load plugin "));
  unlink(tmp);
  assert_int_equal(tide__registry_count(reg), 0);
  tide__registry_destroy(reg);
}

/* tide cluster's up-front check and the absolute paths it hands workers */
static void test_check_and_absolute(void **state)
{
  tide_error err;
  char out[PATH_MAX], dir[PATH_MAX + 32], cwd[PATH_MAX];
  assert_int_equal(tide__plugin_check(plugin, &err), 0);
  assert_int_equal(tide__plugin_check("/nonexistent/libnope.so", &err), TIDE_EPLUGIN);
  assert_non_null(strstr(err.text, "cannot load plugin /nonexistent/libnope.so: "));
  assert_int_equal(tide__plugin_check("libm.so.6", &err), TIDE_EPLUGIN);
  assert_string_equal(err.text, "plugin libm.so.6 has no tide_plugin_init");

  snprintf(dir, sizeof dir, "%s", plugin);
  *strrchr(dir, '/') = '\0';
  assert_non_null(getcwd(cwd, sizeof cwd));
  assert_int_equal(chdir(dir), 0);
  int r1 = tide__plugin_absolute("libplugin_example.so", out, sizeof out, &err);
  char got1[PATH_MAX];
  snprintf(got1, sizeof got1, "%s", out);
  int r2 = tide__plugin_absolute("./../x/../nope.so", out, sizeof out, &err);
  assert_int_equal(chdir(cwd), 0);
  assert_int_equal(r1, 0);
  char want[PATH_MAX];
  assert_non_null(realpath(plugin, want));
  assert_string_equal(got1, want); /* a file here: absolute */
  assert_int_equal(r2, TIDE_EPLUGIN);
  assert_non_null(strstr(err.text, "cannot load plugin ./../x/../nope.so: No such file"));
  /* a bare name that is no file here: a library-path search, kept */
  assert_int_equal(tide__plugin_absolute("libm.so.6", out, sizeof out, &err), 0);
  assert_string_equal(out, "libm.so.6");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_example),
      cmocka_unit_test(test_bad_plugins),
      cmocka_unit_test(test_check_and_absolute),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
