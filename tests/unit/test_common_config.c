/* Config: defaults, YAML file, environment overrides, errors naming
 * file:line and key. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/config.h"

static char tmpdir[256];

static const char *write_file(const char *name, const char *text)
{
  static char path[512];
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  return path;
}

static int setup(void **state)
{
  snprintf(tmpdir, sizeof tmpdir, "/tmp/tide-config-test-XXXXXX");
  assert_non_null(mkdtemp(tmpdir));
  return 0;
}

static int teardown(void **state)
{
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  return system(cmd);
}

static char *empty_env[] = {NULL};

static void test_defaults(void **state)
{
  tide__config c;
  tide__config_defaults(&c);
  assert_true(c.adaptive.interval == 1);
  assert_true(isinf(c.adaptive.maximum));
  assert_int_equal(c.adaptive.wait_count, 3);
  assert_true(c.adaptive.target_duration == 5);
  assert_true(c.adaptive.arrival_aware);
  assert_true(c.scheduler.unknown_task_duration == 0.5);
  assert_true(c.scheduler.bandwidth == 100e6);
  assert_true(c.scheduler.worker_saturation == 1.1);
  assert_int_equal(c.scheduler.allowed_failures, 3);
  assert_true(c.scheduler.retire_timeout == 60);
  assert_true(c.scheduler.heartbeat_timeout == 10);
  assert_true(c.worker.memory_target == 0.6);
  assert_true(c.worker.memory_pause == 0.8);
  assert_true(c.worker.heartbeat_interval == 0.5);
  assert_true(c.slurm.walltime == 3600);
  assert_int_equal(c.slurm.cores, 1);
  assert_int_equal(c.slurm.max_pending, 8);
  assert_string_equal(c.slurm.partition, "");

  /* No file anywhere (HOME points to an empty dir): defaults. */
  char home[300];
  snprintf(home, sizeof home, "HOME=%s", tmpdir);
  char *env[] = {home, NULL};
  tide__config d;
  tide_error err;
  assert_int_equal(tide__config_load(&d, NULL, env, &err), 0);
  assert_int_equal(d.adaptive.wait_count, 3);
}

static const char *full_yaml = "# every section\n"
                               "adaptive:\n"
                               "  interval: 250ms\n"
                               "  minimum: 2\n"
                               "  maximum: .inf\n"
                               "  wait-count: 8\n"
                               "  target-duration: 1m\n"
                               "  arrival-aware: false\n"
                               "scheduler:\n"
                               "  unknown-task-duration: 2s\n"
                               "  bandwidth: 1GB\n"
                               "  worker-saturation: inf\n"
                               "  allowed-failures: 0\n"
                               "  retire-timeout: 2m\n"
                               "  heartbeat-timeout: 30s\n"
                               "worker:\n"
                               "  memory:\n"
                               "    target: 0.5\n"
                               "    pause: 0.9\n"
                               "  heartbeat-interval: 100ms\n"
                               "slurm:\n"
                               "  partition: gpu\n"
                               "  account: \"proj-1\"\n"
                               "  walltime: 01:30:00\n"
                               "  cores: 4\n"
                               "  memory: 16GiB\n"
                               "  log-directory: /tmp/logs\n"
                               "  max-pending: 2\n"
                               "tls:\n"
                               "  ca-file: /etc/tide/ca.pem\n"
                               "  cert: /etc/tide/node.pem\n"
                               "  key: /etc/tide/node.key\n";

static void test_file(void **state)
{
  tide__config c;
  tide_error err;
  const char *p = write_file("full.yaml", full_yaml);
  assert_int_equal(tide__config_load(&c, p, empty_env, &err), 0);
  assert_true(c.adaptive.interval == 0.25);
  assert_true(c.adaptive.minimum == 2);
  assert_true(isinf(c.adaptive.maximum));
  assert_int_equal(c.adaptive.wait_count, 8);
  assert_true(c.adaptive.target_duration == 60);
  assert_false(c.adaptive.arrival_aware);
  assert_true(c.scheduler.unknown_task_duration == 2);
  assert_true(c.scheduler.bandwidth == 1e9);
  assert_true(isinf(c.scheduler.worker_saturation));
  assert_int_equal(c.scheduler.allowed_failures, 0);
  assert_true(c.scheduler.retire_timeout == 120);
  assert_true(c.scheduler.heartbeat_timeout == 30);
  assert_true(c.worker.memory_target == 0.5);
  assert_true(c.worker.memory_pause == 0.9);
  assert_true(c.worker.heartbeat_interval == 0.1);
  assert_string_equal(c.slurm.partition, "gpu");
  assert_string_equal(c.slurm.account, "proj-1");
  assert_true(c.slurm.walltime == 5400);
  assert_int_equal(c.slurm.cores, 4);
  assert_int_equal(c.slurm.memory, 16LL << 30);
  assert_string_equal(c.slurm.log_directory, "/tmp/logs");
  assert_int_equal(c.slurm.max_pending, 2);
  assert_string_equal(c.tls.ca_file, "/etc/tide/ca.pem");
  assert_string_equal(c.tls.cert, "/etc/tide/node.pem");
  assert_string_equal(c.tls.key, "/etc/tide/node.key");

  /* Empty and comment-only files are fine. */
  assert_int_equal(tide__config_load(&c, write_file("empty.yaml", ""), empty_env, &err), 0);
  assert_int_equal(tide__config_load(&c, write_file("c.yaml", "# nothing\n"), empty_env, &err), 0);
  assert_int_equal(c.adaptive.wait_count, 3);
}

static void expect_error(const char *yaml, const char *want1, const char *want2)
{
  tide__config c;
  tide_error err;
  tide__config_defaults(&c);
  c.adaptive.wait_count = 77;
  const char *p = write_file("bad.yaml", yaml);
  assert_int_equal(tide__config_load(&c, p, empty_env, &err), TIDE_ECONFIG);
  if (!strstr(err.text, want1) || (want2 && !strstr(err.text, want2)))
    fail_msg("error \"%s\" lacks \"%s\" / \"%s\"", err.text, want1, want2 ? want2 : "");
  assert_int_equal(c.adaptive.wait_count, 77); /* untouched on failure */
}

static void test_file_errors(void **state)
{
  char want[300];
  snprintf(want, sizeof want, "%s/bad.yaml:3:", tmpdir);
  expect_error("adaptive:\n  interval: 1s\n  wait-cuont: 3\n", want, "\"adaptive.wait-cuont\"");
  expect_error("adaptive:\n  interval: 1s\n  wait-count: lots\n", want, "adaptive.wait-count");
  expect_error("adaptive:\n  interval: 1s\n  wait-count: 0\n", want, "adaptive.wait-count");
  expect_error("worker:\n  memory:\n    target: 1.5\n", want, "worker.memory.target");
  expect_error("adaptive:\n  interval: 1s\n  arrival-aware: maybe\n", want,
               "adaptive.arrival-aware");
  expect_error("scheduler:\n  bandwidth: 1GB\n  heartbeat-timeout: soon\n", want,
               "scheduler.heartbeat-timeout");
  expect_error("slurm:\n  cores: 1\n  walltime: 1:xx:00\n", want, "slurm.walltime");
  expect_error("nope:\n  a: 1\n", "bad.yaml:2:", "\"nope.a\"");
  expect_error("adaptive:\n  minimum: [1, 2]\n", "bad.yaml:2:", "adaptive.minimum");
  expect_error("adaptive: [\n", "bad.yaml:", "YAML");
  expect_error("just text\n", "bad.yaml:1:", "mapping");
  expect_error("adaptive:\n  maximum: -1\n", "bad.yaml:2:", "adaptive.maximum");
  expect_error("adaptive:\n  minimum: inf\n", "bad.yaml:2:", "adaptive.minimum");
  /* A mapping that holds itself through an alias (it recursed until the
   * stack overflowed) and mappings repeated through aliases (2^40 visits)
   * are refused at once. */
  expect_error("!: &b\n &a: *b\n", "bad.yaml:1:", "alias");
  char bomb[2048] = "m0: &m0 {}\n";
  for (int i = 1; i <= 40; i++) {
    size_t n = strlen(bomb);
    snprintf(bomb + n, sizeof bomb - n, "m%d: &m%d {x: *m%d, y: *m%d}\n", i, i, i - 1, i - 1);
  }
  expect_error(bomb, "bad.yaml:", "alias");
  /* a scalar alias is fine */
  tide__config c0;
  tide_error e0;
  assert_int_equal(tide__config_load(&c0,
                                     write_file("alias.yaml", "adaptive:\n  interval: &i 3s\n"
                                                              "  target-duration: *i\n"),
                                     empty_env, &e0),
                   0);
  assert_true(c0.adaptive.target_duration == 3.0);

  /* A missing explicit file is an error; via TIDE_CONFIG too. */
  tide__config c;
  tide_error err;
  assert_int_equal(tide__config_load(&c, "/nonexistent/tide.yaml", empty_env, &err), TIDE_ECONFIG);
  assert_non_null(strstr(err.text, "/nonexistent/tide.yaml"));
  char *env[] = {"TIDE_CONFIG=/nonexistent/x.yaml", NULL};
  assert_int_equal(tide__config_load(&c, NULL, env, &err), TIDE_ECONFIG);
  assert_non_null(strstr(err.text, "/nonexistent/x.yaml"));
}

static void test_env(void **state)
{
  tide__config c;
  tide_error err;
  char cfgvar[600];
  const char *p = write_file("env.yaml", "adaptive:\n  wait-count: 5\n  interval: 2s\n");
  snprintf(cfgvar, sizeof cfgvar, "TIDE_CONFIG=%s", p);
  char *env[] = {
      "PATH=/usr/bin",
      "TIDE_BIN=/x/tide",
      cfgvar,
      "TIDE_ADAPTIVE__WAIT_COUNT=8", /* overrides the file */
      "TIDE_WORKER__MEMORY__TARGET=0.7",
      "TIDE_SLURM__LOG_DIRECTORY=/var/log/tide",
      "TIDE_SCHEDULER__RETIRE_TIMEOUT=90s",
      "TIDE_TLS__CA_FILE=/run/ca.pem",
      NULL,
  };
  assert_int_equal(tide__config_load(&c, NULL, env, &err), 0);
  assert_int_equal(c.adaptive.wait_count, 8);
  assert_true(c.adaptive.interval == 2); /* from the file */
  assert_true(c.worker.memory_target == 0.7);
  assert_string_equal(c.slurm.log_directory, "/var/log/tide");
  assert_true(c.scheduler.retire_timeout == 90);
  assert_string_equal(c.tls.ca_file, "/run/ca.pem");
  assert_string_equal(c.tls.cert, ""); /* not given: TLS off */

  char *bad[] = {"TIDE_ADAPTIVE__WAIT_COUNT=many", NULL};
  assert_int_equal(tide__config_load(&c, "/dev/null", bad, &err), TIDE_ECONFIG);
  assert_non_null(strstr(err.text, "TIDE_ADAPTIVE__WAIT_COUNT"));
  assert_non_null(strstr(err.text, "many"));
  char *unknown[] = {"TIDE_ADAPTIVE__FOO=1", NULL};
  assert_int_equal(tide__config_load(&c, "/dev/null", unknown, &err), TIDE_ECONFIG);
  assert_non_null(strstr(err.text, "TIDE_ADAPTIVE__FOO"));
  assert_non_null(strstr(err.text, "adaptive.foo"));
}

static void test_set(void **state)
{
  tide__config c;
  tide_error err;
  tide__config_defaults(&c);
  assert_int_equal(tide__config_set(&c, "adaptive.maximum", "10", &err), 0);
  assert_true(c.adaptive.maximum == 10);
  assert_int_equal(tide__config_set(&c, "slurm.walltime", "2-00:00:00", &err), 0);
  assert_true(c.slurm.walltime == 2 * 86400);
  assert_int_equal(tide__config_set(&c, "slurm.walltime", "30:00", &err), 0);
  assert_true(c.slurm.walltime == 1800);
  assert_int_equal(tide__config_set(&c, "slurm.walltime", "2h", &err), 0);
  assert_true(c.slurm.walltime == 7200);
  assert_int_equal(tide__config_set(&c, "adaptive.interval", "0s", &err), TIDE_ECONFIG);
  assert_true(c.adaptive.interval == 1);
  assert_int_equal(tide__config_set(&c, "scheduler.worker-saturation", "0", &err), TIDE_ECONFIG);
  assert_int_equal(tide__config_set(&c, "slurm.cores", "99999999999", &err), TIDE_ECONFIG);
  assert_int_equal(tide__config_set(&c, "slurm", "x", &err), TIDE_ECONFIG);
  assert_non_null(strstr(err.text, "\"slurm\""));
  char longv[600];
  memset(longv, 'x', sizeof longv - 1);
  longv[sizeof longv - 1] = '\0';
  assert_int_equal(tide__config_set(&c, "slurm.partition", longv, &err), TIDE_ECONFIG);
  assert_string_equal(c.slurm.partition, "");
}

/* worker.preload: a YAML list or one ':'-joined string (the environment's
 * form); each layer replaces the list; a list elsewhere stays an error. */
static void test_preload(void **state)
{
  tide__config c;
  tide_error err;
  tide__config_defaults(&c);
  assert_int_equal(c.worker.npreload, 0);
  const char *p = write_file("pre.yaml", "worker:\n  preload:\n    - /a/liba.so\n    - libb.so\n");
  assert_int_equal(tide__config_load(&c, p, empty_env, &err), 0);
  assert_int_equal(c.worker.npreload, 2);
  assert_string_equal(c.worker.preload[0], "/a/liba.so");
  assert_string_equal(c.worker.preload[1], "libb.so");
  char *env[] = {"TIDE_WORKER__PRELOAD=/x/one.so:/y/two.so:/z/three.so", NULL};
  assert_int_equal(tide__config_load(&c, p, env, &err), 0);
  assert_int_equal(c.worker.npreload, 3);
  assert_string_equal(c.worker.preload[2], "/z/three.so");
  p = write_file("pre1.yaml", "worker:\n  preload: /only/one.so\n");
  assert_int_equal(tide__config_load(&c, p, empty_env, &err), 0);
  assert_int_equal(c.worker.npreload, 1);
  assert_string_equal(c.worker.preload[0], "/only/one.so");
  assert_int_equal(tide__config_set(&c, "worker.preload", "", &err), 0);
  assert_int_equal(c.worker.npreload, 0);

  char want[300];
  snprintf(want, sizeof want, "%s/bad.yaml:3:", tmpdir);
  expect_error("worker:\n  preload:\n    - {a: 1}\n", want, "worker.preload");
  char many[2048] = "worker:\n  preload:\n";
  for (int i = 0; i <= TIDE__CONFIG_MAX_PRELOAD; i++)
    snprintf(many + strlen(many), sizeof many - strlen(many), "    - /p/%d.so\n", i);
  expect_error(many, "bad.yaml:2:", "at most");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),    cmocka_unit_test(test_file),
      cmocka_unit_test(test_file_errors), cmocka_unit_test(test_env),
      cmocka_unit_test(test_set),         cmocka_unit_test(test_preload),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
