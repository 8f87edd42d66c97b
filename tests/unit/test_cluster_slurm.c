/* SLURM backend: flags, walltime/lifetime arithmetic, job scripts, states. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cluster/backend.h"
#include "cluster/backends/batch.h"
#include "cluster/backends/slurm.h"
#include "common/config.h"

static tide_job make_job(const char *const *workers, int p)
{
  tide_job j;
  memset(&j, 0, sizeof j);
  j.name = "tide-3";
  j.workers = workers;
  j.nworkers = p;
  j.nthreads = 2;
  j.memory_limit = 1073741824;
  j.scheduler = "tcp://10.0.0.1:8786";
  return j;
}

static void set(tide__slurm_opts *o, const char *flag, const char *value)
{
  tide_error err;
  assert_int_equal(tide__slurm_opts_set(o, flag, value, &err), 1);
}

static void test_flags(void **state)
{
  tide__slurm_opts o;
  tide_error err;
  bool takes;
  (void)state;
  tide__slurm_opts_init(&o, NULL);
  assert_int_equal(o.max_pending, 8);
  assert_true(o.walltime == 3600);
  set(&o, "--walltime", "30m");
  assert_true(o.walltime == 1800);
  set(&o, "--walltime", "00:10:00"); /* as SLURM and dask-jobqueue write it */
  assert_true(o.walltime == 600);
  set(&o, "--walltime", "45"); /* sbatch -t: a bare number is minutes */
  assert_true(o.walltime == 2700);
  set(&o, "--walltime", "1-12");
  assert_true(o.walltime == 129600);
  set(&o, "--memory", "4GiB");
  assert_int_equal(o.memory, 4LL << 30);
  set(&o, "--job-extra-directive", "--qos=high");
  set(&o, "--job-extra-directive", "--exclusive");
  assert_int_equal(o.extra.n, 2);
  assert_string_equal(o.extra.v[0], "--qos=high");
  assert_string_equal(o.extra.v[1], "--exclusive");
  assert_int_equal(tide__slurm_opts_set(&o, "--nonsense", "x", &err), 0);
  assert_true(tide__slurm_opts_set(&o, "--walltime", "soon", &err) < 0);
  assert_non_null(strstr(err.text, "bad --walltime \"soon\" (use MM, MM:SS, HH:MM:SS, D-HH"));
  assert_true(tide__slurm_opts_set(&o, "--walltime", "1:60:00", &err) < 0);
  assert_true(o.walltime == 129600); /* a refused value changes nothing */
  assert_true(tide__slurm_opts_set(&o, "--cores", "0", &err) < 0);
  assert_true(tide__slurm_is_flag("--dry-run", &takes));
  assert_false(takes);
  set(&o, "--dry-run", NULL);
  assert_true(o.dry_run);
  tide__slurm_opts_free(&o);
}

static void test_lifetime(void **state)
{
  double l, s;
  (void)state;
  tide__slurm_lifetime(3600, &l, &s);
  assert_true(fabs(l - 3240) < 1e-9); /* 10% margin */
  assert_true(l + s < 3600 - 60);
  tide__slurm_lifetime(300, &l, &s);
  assert_true(fabs(l - 240) < 1e-9); /* 60 s floor */
  tide__slurm_lifetime(60, &l, &s);
  assert_true(l > 30 && l + s < 60 - 5);
  tide__slurm_lifetime(0, &l, &s);
  assert_true(l == 0 && s == 0);
}

static void test_walltime_format(void **state)
{
  char b[32];
  (void)state;
  tide__slurm_format_walltime(60, b, sizeof b);
  assert_string_equal(b, "00:01:00");
  tide__slurm_format_walltime(3600 * 26 + 61.2, b, sizeof b);
  assert_string_equal(b, "1-02:01:02");
  /* what #SBATCH -t gets for each accepted form: HH:MM:SS or D-HH:MM:SS,
   * both of which sbatch reads back as the same time */
  static const struct {
    const char *in, *out;
  } forms[] = {
      {"10", "00:10:00"},    {"90:30", "01:30:30"},     {"100:00:00", "4-04:00:00"},
      {"2-5", "2-05:00:00"}, {"1-02:30", "1-02:30:00"}, {"1-02:03:04", "1-02:03:04"},
      {"90s", "00:01:30"},   {"1.5h", "01:30:00"},      {"1d", "1-00:00:00"},
  };
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
    tide__slurm_opts o;
    tide__slurm_opts_init(&o, NULL);
    set(&o, "--walltime", forms[i].in);
    tide__slurm_format_walltime(o.walltime, b, sizeof b);
    if (strcmp(b, forms[i].out) != 0)
      fail_msg("--walltime %s -> #SBATCH -t %s, want %s", forms[i].in, b, forms[i].out);
    tide__slurm_opts_free(&o);
  }
}

/* The script line by line: directives in order, skip patterns, prologue,
 * P backgrounded workers and wait. */
static void test_script(void **state)
{
  static const char *const workers[] = {"tide-3-0", "tide-3-1"};
  tide__slurm_opts o;
  tide_job j = make_job(workers, 2);
  char *text, *line, *save = NULL;
  const char *want[] = {
      "#!/usr/bin/env bash",
      "#SBATCH -J tide-3",
      "#SBATCH -p debug",
      "#SBATCH -A proj",
      "#SBATCH -n 1",
      "#SBATCH --cpus-per-task=4",
      "#SBATCH --mem=2048M",
      "#SBATCH -t 01:00:00",
      "#SBATCH -o /logs/tide-3-%j.out",
      "#SBATCH -e /logs/tide-3-%j.err",
      "#SBATCH --qos=high",
      "module load foo",
      "export X=1",
      "'/opt/tide' worker 'tcp://10.0.0.1:8786' --name 'tide-3-0' --nthreads 2 --memory-limit "
      "1073741824 --lifetime 3240s --lifetime-stagger 90s --death-timeout 60s --job 'tide-3' &",
      "'/opt/tide' worker 'tcp://10.0.0.1:8786' --name 'tide-3-1' --nthreads 2 --memory-limit "
      "1073741824 --lifetime 3240s --lifetime-stagger 90s --death-timeout 60s --job 'tide-3' &",
      "wait",
  };
  size_t i = 0;
  (void)state;

  tide__slurm_opts_init(&o, NULL);
  free(o.tide_bin);
  o.tide_bin = strdup("/opt/tide");
  set(&o, "--partition", "debug");
  set(&o, "--account", "proj");
  set(&o, "--log-directory", "/logs");
  set(&o, "--job-extra-directive", "--qos=high");
  set(&o, "--job-extra-directive", "--exclusive");
  set(&o, "--job-directives-skip", "--exclusive");
  set(&o, "--job-script-prologue", "module load foo");
  set(&o, "--job-script-prologue", "export X=1");
  text = tide__slurm_job_script(&o, &j);
  for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    assert_true(i < sizeof want / sizeof want[0]);
    assert_string_equal(line, want[i]);
    i++;
  }
  assert_int_equal(i, sizeof want / sizeof want[0]);
  free(text);
  tide__slurm_opts_free(&o);
}

/* TLS files reach each worker line as quoted paths, never as contents. */
static void test_script_tls(void **state)
{
  static const char *const workers[] = {"tide-3-0", "tide-3-1"};
  tide__slurm_opts o;
  tide_job j = make_job(workers, 2);
  (void)state;
  j.tls_ca_file = "/s/ca.pem";
  j.tls_cert = "/s/my cert.pem";
  j.tls_key = "/s/it's.key";
  tide__slurm_opts_init(&o, NULL);
  char *text = tide__slurm_job_script(&o, &j);
  const char *flags =
      " --tls-ca-file '/s/ca.pem' --tls-cert '/s/my cert.pem' --tls-key '/s/it'\\''s.key' ";
  const char *p = strstr(text, flags);
  assert_non_null(p);
  assert_non_null(strstr(p + 1, flags)); /* both workers */
  assert_null(strstr(text, "BEGIN"));
  free(text);
  tide__slurm_opts_free(&o);
}

static void test_states(void **state)
{
  (void)state;
  assert_int_equal(tide__slurm_state("PENDING"), TIDE_JOB_PENDING);
  assert_int_equal(tide__slurm_state("CONFIGURING"), TIDE_JOB_PENDING);
  assert_int_equal(tide__slurm_state("RUNNING"), TIDE_JOB_RUNNING);
  assert_int_equal(tide__slurm_state("COMPLETING"), TIDE_JOB_GONE);
  assert_int_equal(tide__slurm_state("CANCELLED"), TIDE_JOB_GONE);
  assert_int_equal(tide__slurm_state("TIMEOUT"), TIDE_JOB_GONE);
}

/* --dry-run: create() hands the script back and returns TIDE__BACKEND_DONE
 * (the library never exits the process; the command prints and exits 0). */
static void test_dry_run_returns(void **state)
{
  (void)state;
  tide__config cfg;
  tide__config_defaults(&cfg);
  tide_cluster_opts co;
  memset(&co, 0, sizeof co);
  co.name = "dry";
  co.port = 8786;
  co.processes = 1;
  co.nthreads = 1;
  const char *keys[] = {"dry-run", "partition"}, *vals[] = {"1", "debug"};
  char *out = NULL;
  tide__backend_args a = {.cfg = &cfg,
                          .opts = &co,
                          .keys = keys,
                          .values = vals,
                          .n = 2,
                          .tide_path = "/bin/true",
                          .output = &out};
  const tide__backend_def *def = tide__backend_find("slurm");
  const tide_backend_ops *ops = NULL;
  void *self = NULL;
  tide_error err;
  assert_non_null(def);
  assert_int_equal(def->create(&a, &ops, &self, &err), TIDE__BACKEND_DONE);
  assert_null(ops);
  assert_null(self);
  assert_non_null(out);
  assert_non_null(strstr(out, "#SBATCH -J dry-0\n"));
  assert_non_null(strstr(out, "#SBATCH -p debug\n"));
  free(out);
}

static void write_lines(const char *path, const char *word, int n)
{
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  for (int i = 0; i < n; i++)
    fprintf(f, "%s %d\n", word, i);
  fclose(f);
}

/* The logs op appends the last 200 lines of the job's .out, then its .err,
 * to the NULL-terminated list it is given. */
static void test_logs(void **state)
{
  char dir[] = "/tmp/tide-slurm-logs-XXXXXX", out7[256], err7[256], out8[256];
  assert_non_null(mkdtemp(dir));
  snprintf(out7, sizeof out7, "%s/j-7.out", dir);
  snprintf(err7, sizeof err7, "%s/j-7.err", dir);
  snprintf(out8, sizeof out8, "%s/j-8.out", dir);
  write_lines(out7, "out", 250);
  write_lines(err7, "err", 3);
  write_lines(out8, "none", 0);

  tide__slurm_opts o;
  tide__slurm_opts_init(&o, NULL);
  o.log_directory = strdup(dir);
  const tide_backend_ops *ops;
  void *self;
  tide_error err;
  /* the logs op is the batch engine's, whatever the resource manager */
  static const tide__batch_rm rm = {.tag = "slurm", .label = "SLURM", .kind = "SLURMCluster"};
  assert_int_equal(tide__batch_backend_create(&rm, &o, &ops, &self, &err), 0);
  tide_job job;
  memset(&job, 0, sizeof job);
  job.name = "j";
  job.backend_id = "7";
  char **lines = calloc(2, sizeof *lines);
  lines[0] = strdup("kept");
  assert_int_equal(ops->logs(self, NULL, &job, &lines), 0);
  size_t n = 0;
  while (lines[n])
    n++;
  assert_int_equal(n, 1 + 200 + 3);
  assert_string_equal(lines[0], "kept");
  assert_string_equal(lines[1], "out 50");
  assert_string_equal(lines[200], "out 249");
  assert_string_equal(lines[201], "err 0");
  assert_string_equal(lines[203], "err 2");
  for (size_t i = 0; i < n; i++)
    free(lines[i]);
  free(lines);

  lines = NULL; /* an empty file still gives a list, an empty one */
  job.backend_id = "8";
  assert_int_equal(ops->logs(self, NULL, &job, &lines), 0);
  assert_non_null(lines);
  assert_null(lines[0]);
  free(lines);
  lines = NULL; /* no file: no list */
  job.backend_id = "9";
  assert_int_equal(ops->logs(self, NULL, &job, &lines), 0);
  assert_null(lines);

  ops->destroy(self);
  unlink(out7);
  unlink(err7);
  unlink(out8);
  rmdir(dir);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_flags),           cmocka_unit_test(test_lifetime),
      cmocka_unit_test(test_walltime_format), cmocka_unit_test(test_script),
      cmocka_unit_test(test_script_tls),      cmocka_unit_test(test_states),
      cmocka_unit_test(test_dry_run_returns), cmocka_unit_test(test_logs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
