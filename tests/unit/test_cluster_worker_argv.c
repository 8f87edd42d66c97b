/* The one worker command line (src/cluster/worker_argv.c): the words in
 * order for a job with every setting, the same job without them, the flag
 * groups the command backend's placeholders use, and the shell rendering
 * that quotes every word but tide's own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cluster/backend.h"
#include "cluster/worker_argv.h"

static const char *workers[] = {"w-0", "w 'one'"};
static const char *preload[] = {"/p/a.so", "/p b/$x.so"};

static tide_job full_job(void)
{
  return (tide_job){.name = "job-1",
                    .workers = workers,
                    .nworkers = 2,
                    .nthreads = 3,
                    .memory_limit = 2147483648,
                    .lifetime = 90.5,
                    .scheduler = "tls://10.0.0.1:8786",
                    .preload = preload,
                    .npreload = 2,
                    .allow_exec = 1,
                    .tls_ca_file = "/t/ca.pem",
                    .tls_cert = "/t/c.pem",
                    .tls_key = "/t/k.pem",
                    .pool = "gpu",
                    .resources = "GPU=1"};
}

/* argv's words joined by '|' */
static char *joined(const tide__strvec *argv)
{
  tide__text b = {0};
  tide__text_put(&b, "", 0);
  for (size_t i = 0; i < argv->n; i++)
    tide__text_printf(&b, "%s%s", i ? "|" : "", argv->v[i]);
  return b.v;
}

static void test_full(void **state)
{
  tide_job job = full_job();
  tide__strvec argv = {0};
  tide__worker_argv(&argv, &job, 1, &(tide__worker_opts){.exe = "/b/tide", .stagger = 4});
  assert_int_equal(argv.n, 30);
  char *s = joined(&argv);
  assert_string_equal(s, "/b/tide|worker|tls://10.0.0.1:8786|--name|w 'one'|--nthreads|3|"
                         "--memory-limit|2147483648|--lifetime|90.500s|--lifetime-stagger|4s|"
                         "--preload|/p/a.so|--preload|/p b/$x.so|--allow-exec|--pool|gpu|"
                         "--resources|GPU=1|--tls-ca-file|/t/ca.pem|--tls-cert|/t/c.pem|"
                         "--tls-key|/t/k.pem|--job|job-1");
  free(s);
  tide__text line = {0};
  tide__shell_join(&line, &argv);
  assert_string_equal(line.v, "'/b/tide' worker 'tls://10.0.0.1:8786' --name 'w '\\''one'\\''' "
                              "--nthreads 3 --memory-limit 2147483648 --lifetime 90.500s "
                              "--lifetime-stagger 4s --preload '/p/a.so' --preload '/p b/$x.so' "
                              "--allow-exec --pool 'gpu' --resources 'GPU=1' --tls-ca-file "
                              "'/t/ca.pem' --tls-cert '/t/c.pem' --tls-key '/t/k.pem' --job "
                              "'job-1'");
  tide__vec_free(&line);
  tide__strvec_free(&argv);
}

static void test_bare(void **state)
{
  /* no memory limit, lifetime, plugins, pool or TLS: 9 words; a batch
   * script's death timeout goes just before --job */
  tide_job job = {.name = "j", .nworkers = 1, .nthreads = 1, .scheduler = "tcp://h:1"};
  tide__strvec argv = {0};
  tide__worker_argv(&argv, &job, 0,
                    &(tide__worker_opts){.exe = "tide", .stagger = 9, .death_timeout = 60});
  char *s = joined(&argv);
  assert_string_equal(s, "tide|worker|tcp://h:1|--name|j|--nthreads|1|--death-timeout|60s|--job|j");
  free(s);
  tide__strvec_free(&argv);
  /* resources without a pool still reach the worker */
  job.resources = "MEM=2";
  tide__worker_flags_append(&argv, &job, TIDE__WORKER_ALL_FLAGS);
  s = joined(&argv);
  assert_string_equal(s, "--resources|MEM=2");
  free(s);
  tide__strvec_free(&argv);
}

static void test_groups(void **state)
{
  tide_job job = full_job();
  const struct {
    unsigned which;
    const char *want;
  } cases[] = {
      {TIDE__WORKER_PRELOAD, "--preload|/p/a.so|--preload|/p b/$x.so"},
      {TIDE__WORKER_ALLOW_EXEC, "--allow-exec"},
      {TIDE__WORKER_POOL, "--pool|gpu|--resources|GPU=1"},
      {TIDE__WORKER_TLS, "--tls-ca-file|/t/ca.pem|--tls-cert|/t/c.pem|--tls-key|/t/k.pem"},
      {0, ""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    tide__strvec argv = {0};
    tide__worker_flags_append(&argv, &job, cases[i].which);
    char *s = joined(&argv);
    assert_string_equal(s, cases[i].want);
    free(s);
    tide__strvec_free(&argv);
  }
}

/* The command backend renders a group with its own rule: safe words bare. */
static void test_command_placeholders(void **state)
{
  tide_job job = full_job();
  char *s = tide__command_expand("x{tls} {pool} {preload} {allow_exec}", &job, NULL);
  assert_string_equal(s, "x --tls-ca-file /t/ca.pem --tls-cert /t/c.pem --tls-key /t/k.pem "
                         "--pool gpu --resources GPU=1 --preload /p/a.so --preload "
                         "'/p b/$x.so' --allow-exec");
  free(s);
  job.pool = NULL; /* {pool} is a pool's: resources alone give nothing */
  s = tide__command_expand("[{pool}]", &job, NULL);
  assert_string_equal(s, "[]");
  free(s);
}

static void test_quote(void **state)
{
  const char *in[] = {"", "a b", "it's", "''"};
  const char *want[] = {"''", "'a b'", "'it'\\''s'", "''\\'''\\'''"};
  for (size_t i = 0; i < 4; i++) {
    char *q = tide__shell_quote(in[i]);
    assert_string_equal(q, want[i]);
    free(q);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_full),   cmocka_unit_test(test_bare),
      cmocka_unit_test(test_groups), cmocka_unit_test(test_command_placeholders),
      cmocka_unit_test(test_quote),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
