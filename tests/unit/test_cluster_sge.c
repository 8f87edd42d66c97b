/* SGE backend: job scripts line by line (each directive, skips, prologue),
 * h_rt walltimes, qstat state codes and the qstat -xml reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cluster/backend.h"
#include "cluster/backends/sge.h"
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

static void test_script_lines(void **state)
{
  static const char *const workers[] = {"tide-3-0", "tide-3-1"};
  tide__slurm_opts o;
  tide_job job = make_job(workers, 2);
  char *text;
  (void)state;

  tide__sge_opts_init(&o, NULL);
  free(o.tide_bin);
  o.tide_bin = strdup("/opt/tide/bin/tide");
  set(&o, "queue", "tide.q");
  set(&o, "project", "proj");
  set(&o, "pe", "smp");
  set(&o, "walltime", "1-02:03:04");
  set(&o, "memory", "3GiB");
  set(&o, "log-directory", "/var/log/tide");
  set(&o, "job-extra-directive", "-V");
  set(&o, "job-extra-directive", "-l gpu=1");
  set(&o, "job-directives-skip", "gpu");
  set(&o, "job-script-prologue", "module load tide");
  text = tide__sge_job_script(&o, &job);
  assert_string_equal(text, "#!/usr/bin/env bash\n"
                            "\n"
                            "#$ -N tide-3\n"
                            "#$ -q tide.q\n"
                            "#$ -P proj\n"
                            "#$ -pe smp 4\n"
                            "#$ -l h_rt=26:03:04\n"
                            "#$ -l mem_free=3072M\n"
                            "#$ -o /var/log/tide/tide-3-$JOB_ID.out\n"
                            "#$ -e /var/log/tide/tide-3-$JOB_ID.err\n"
                            "#$ -V\n"
                            "\n"
                            "module load tide\n"
                            "\n"
                            "'/opt/tide/bin/tide' worker 'tcp://10.0.0.1:8786' --name 'tide-3-0' "
                            "--nthreads 2 --memory-limit 1073741824 --lifetime 84406s "
                            "--lifetime-stagger 300s --death-timeout 60s --job 'tide-3' &\n"
                            "'/opt/tide/bin/tide' worker 'tcp://10.0.0.1:8786' --name 'tide-3-1' "
                            "--nthreads 2 --memory-limit 1073741824 --lifetime 84406s "
                            "--lifetime-stagger 300s --death-timeout 60s --job 'tide-3' &\n"
                            "wait\n");
  free(text);
  tide__slurm_opts_free(&o);
}

static void test_script_minimal(void **state)
{
  static const char *const workers[] = {"tide-3"};
  tide__slurm_opts o;
  tide_job job = make_job(workers, 1);
  char *text;
  (void)state;

  /* no queue, project, PE, walltime or memory: those directives are absent,
   * and a skip pattern drops -o while -e stays */
  tide__sge_opts_init(&o, NULL);
  free(o.tide_bin);
  o.tide_bin = strdup("tide");
  o.walltime = 0;
  job.memory_limit = 0;
  set(&o, "job-directives-skip", "-o ");
  text = tide__sge_job_script(&o, &job);
  assert_string_equal(text, "#!/usr/bin/env bash\n"
                            "\n"
                            "#$ -N tide-3\n"
                            "#$ -e ./tide-3-$JOB_ID.err\n"
                            "\n"
                            "'tide' worker 'tcp://10.0.0.1:8786' --name 'tide-3' --nthreads 2 "
                            "--death-timeout 60s --job 'tide-3' &\n"
                            "wait\n");
  free(text);
  tide__slurm_opts_free(&o);
}

/* A TLS cluster's workers get the three paths as quoted flags (the batch
 * engine's script body, shared with SLURM), with --allow-exec beside them. */
static void test_script_tls(void **state)
{
  static const char *const workers[] = {"tide-3"};
  tide__slurm_opts o;
  tide_job job = make_job(workers, 1);
  (void)state;

  tide__sge_opts_init(&o, NULL);
  free(o.tide_bin);
  o.tide_bin = strdup("tide");
  o.walltime = 0;
  job.memory_limit = 0;
  job.allow_exec = 1;
  job.tls_ca_file = "/sec/ca.pem";
  job.tls_cert = "/sec/my cert.pem";
  job.tls_key = "/sec/key.pem";
  char *text = tide__sge_job_script(&o, &job);
  assert_non_null(strstr(text, "'tide' worker 'tcp://10.0.0.1:8786' --name 'tide-3' --nthreads 2 "
                               "--allow-exec --tls-ca-file '/sec/ca.pem' --tls-cert "
                               "'/sec/my cert.pem' --tls-key '/sec/key.pem' --death-timeout 60s"));
  free(text);
  tide__slurm_opts_free(&o);
}

static void test_config(void **state)
{
  tide__config cfg;
  tide__slurm_opts o;
  (void)state;

  tide__config_defaults(&cfg);
  snprintf(cfg.sge.queue, sizeof cfg.sge.queue, "all.q");
  snprintf(cfg.sge.pe, sizeof cfg.sge.pe, "smp");
  cfg.sge.walltime = 600;
  cfg.sge.cores = 8;
  cfg.sge.max_pending = 3;
  snprintf(cfg.slurm.partition, sizeof cfg.slurm.partition, "not-for-sge");
  tide__sge_opts_init(&o, &cfg);
  assert_string_equal(o.partition, "all.q");
  assert_string_equal(o.pe, "smp");
  assert_null(o.account);
  assert_int_equal((int)o.walltime, 600);
  assert_int_equal(o.cores, 8);
  assert_int_equal(o.max_pending, 3);
  tide__slurm_opts_free(&o);
}

static void test_walltime(void **state)
{
  char b[32];
  (void)state;
  tide__sge_format_walltime(60, b, sizeof b);
  assert_string_equal(b, "00:01:00");
  tide__sge_format_walltime(3600 * 26 + 61.2, b, sizeof b);
  assert_string_equal(b, "26:01:02");
  tide__sge_format_walltime(90, b, sizeof b);
  assert_string_equal(b, "00:01:30");
}

static void test_states(void **state)
{
  (void)state;
  assert_int_equal(tide__sge_state("qw"), TIDE_JOB_PENDING);
  assert_int_equal(tide__sge_state("hqw"), TIDE_JOB_PENDING);
  assert_int_equal(tide__sge_state("r"), TIDE_JOB_RUNNING);
  assert_int_equal(tide__sge_state("t"), TIDE_JOB_RUNNING);
  assert_int_equal(tide__sge_state("Rr"), TIDE_JOB_RUNNING);
  assert_int_equal(tide__sge_state("s"), TIDE_JOB_PENDING);
  assert_int_equal(tide__sge_state("dr"), TIDE_JOB_GONE);
  assert_int_equal(tide__sge_state("Eqw"), TIDE_JOB_GONE);
}

typedef struct seen_log {
  long ids[8];
  tide_job_state st[8];
  int n;
} seen_log;

static void record(void *arg, long id, tide_job_state st)
{
  seen_log *l = arg;
  assert_true(l->n < 8);
  l->ids[l->n] = id;
  l->st[l->n++] = st;
}

static void test_parse_qstat(void **state)
{
  /* the shape Grid Engine 8.1 prints: running jobs under queue_info,
   * pending ones under the inner job_info */
  char xml[] = "<?xml version='1.0'?>\n"
               "<job_info  xmlns:xsd=\"http://example/qstat.xsd\">\n"
               "  <queue_info>\n"
               "    <job_list state=\"running\">\n"
               "      <JB_job_number>17</JB_job_number>\n"
               "      <JAT_prio>0.50000</JAT_prio>\n"
               "      <JB_name>t1-0</JB_name>\n"
               "      <state>r</state>\n"
               "      <slots>2</slots>\n"
               "    </job_list>\n"
               "  </queue_info>\n"
               "  <job_info>\n"
               "    <job_list state=\"pending\">\n"
               "      <JB_job_number>18</JB_job_number>\n"
               "      <JB_name>t1-1</JB_name>\n"
               "      <state>qw</state>\n"
               "    </job_list>\n"
               "    <job_list state=\"pending\">\n"
               "      <JB_job_number>19</JB_job_number>\n"
               "      <state>Eqw</state>\n"
               "    </job_list>\n"
               "    <job_list state=\"pending\">\n"
               "      <JB_job_number>x</JB_job_number>\n"
               "      <state>qw</state>\n"
               "    </job_list>\n"
               "  </job_info>\n"
               "</job_info>\n";
  char empty[] = "<?xml version='1.0'?>\n<job_info>\n  <queue_info>\n  </queue_info>\n"
                 "  <job_info>\n  </job_info>\n</job_info>\n";
  char cut[] = "<job_info><job_list><JB_job_number>5</JB_job_number><state>r";
  seen_log l = {0};
  (void)state;

  tide__sge_parse_qstat(xml, record, &l);
  assert_int_equal(l.n, 3);
  assert_int_equal(l.ids[0], 17);
  assert_int_equal(l.st[0], TIDE_JOB_RUNNING);
  assert_int_equal(l.ids[1], 18);
  assert_int_equal(l.st[1], TIDE_JOB_PENDING);
  assert_int_equal(l.ids[2], 19);
  assert_int_equal(l.st[2], TIDE_JOB_GONE);
  memset(&l, 0, sizeof l);
  tide__sge_parse_qstat(empty, record, &l);
  assert_int_equal(l.n, 0);
  tide__sge_parse_qstat(cut, record, &l);
  assert_int_equal(l.n, 0);
}

static void test_dry_run_flags(void **state)
{
  const tide__backend_def *def = tide__backend_find("sge");
  const char *keys[] = {"partition"};
  const char *values[] = {"x"};
  const char *good_keys[] = {"dry-run", "queue"};
  const char *good_values[] = {"1", "tide.q"};
  tide__backend_args a;
  const tide_backend_ops *ops = NULL;
  void *self = NULL;
  char *out = NULL;
  tide_error err;
  (void)state;

  assert_non_null(def);
  assert_true(tide__backend_has_flag(def, "queue"));
  assert_true(tide__backend_has_flag(def, "pe"));
  assert_false(tide__backend_has_flag(def, "partition"));
  memset(&a, 0, sizeof a);
  a.keys = keys;
  a.values = values;
  a.n = 1;
  assert_int_equal(def->create(&a, &ops, &self, &err), TIDE_EUSAGE);
  assert_non_null(strstr(err.text, "unknown sge flag --partition"));
  a.keys = good_keys;
  a.values = good_values;
  a.n = 2;
  a.output = &out;
  assert_int_equal(def->create(&a, &ops, &self, &err), TIDE__BACKEND_DONE);
  assert_null(ops);
  assert_non_null(strstr(out, "\n#$ -q tide.q\n"));
  free(out);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_script_lines),  cmocka_unit_test(test_script_minimal),
      cmocka_unit_test(test_config),        cmocka_unit_test(test_walltime),
      cmocka_unit_test(test_states),        cmocka_unit_test(test_parse_qstat),
      cmocka_unit_test(test_dry_run_flags), cmocka_unit_test(test_script_tls),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
