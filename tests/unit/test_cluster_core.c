/* Unit tests of the Cluster core with a fake backend (no worker processes):
 * job and worker names, whole-job scaling, not-arrived jobs stopped first,
 * submission failures and backoff, async failures, the backend registry
 * and the command backend's templates. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cluster/backend.h"
#include "cluster/cluster_int.h"
#include "common/log.h"
#include "common/util.h"

typedef struct fake {
  int ups, downs;
  char started[16][64];
  int nstarted;
  char stopped[16][64];
  int nstopped;
  int fail_next;
} fake;

static int f_up(void *self, tide_cluster *c, tide_job *const *jobs, size_t n, tide_error *err)
{
  fake *f = self;
  f->ups++;
  if (f->fail_next) {
    f->fail_next--;
    return tide_errprintf(err, TIDE_EBACKEND, "sbatch: queue closed");
  }
  for (size_t i = 0; i < n; i++) {
    snprintf(f->started[f->nstarted++ % 16], 64, "%s", jobs[i]->name);
    tide_cluster_job_state(c, jobs[i]->name, TIDE_JOB_PENDING);
  }
  return 0;
}

static int f_down(void *self, tide_cluster *c, tide_job *const *jobs, size_t n, tide_error *err)
{
  fake *f = self;
  f->downs++;
  for (size_t i = 0; i < n; i++)
    snprintf(f->stopped[f->nstopped++ % 16], 64, "%s", jobs[i]->name);
  return 0;
}

static tide_cluster *make(fake *f, tide_backend_ops *ops, int processes)
{
  tide__config cfg;
  tide__config_defaults(&cfg);
  memset(ops, 0, sizeof *ops);
  ops->kind = "FakeCluster";
  ops->scale_up = f_up;
  ops->scale_down = f_down;
  tide_cluster_opts o = {.name = "job",
                         .host = "127.0.0.1",
                         .port = 0,
                         .dashboard_port = -1,
                         .processes = processes,
                         .nthreads = 2};
  tide_cluster *c = NULL;
  tide_error err = {{0}};
  int rc = tide__cluster_create_cfg(&o, &cfg, ops, f, &c, &err);
  if (rc < 0)
    fprintf(stderr, "create: %s\n", err.text);
  assert_int_equal(rc, 0);
  return c;
}

static void test_names_and_whole_jobs(void **unused)
{
  fake f = {0};
  tide_backend_ops ops;
  tide_cluster *c = make(&f, &ops, 3);
  tide_error err = {{0}};
  assert_int_equal(tide_cluster_scale(c, 4, &err), 0); /* -> 2 jobs of 3 */
  assert_int_equal(tide__cluster_nplan(c), 6);
  assert_int_equal(f.nstarted, 2);
  assert_string_equal(f.started[0], "job-0");
  assert_string_equal(f.started[1], "job-1");
  json_t *info = tide__cluster_info_json(c);
  json_t *jobs = json_object_get(info, "jobs");
  assert_int_equal(json_array_size(jobs), 2);
  json_t *ws = json_object_get(json_array_get(jobs, 1), "workers");
  assert_string_equal(json_string_value(json_array_get(ws, 0)), "job-1-0");
  assert_string_equal(json_string_value(json_array_get(ws, 2)), "job-1-2");
  assert_string_equal(json_string_value(json_object_get(json_array_get(jobs, 0), "state")),
                      "pending");
  json_decref(info);

  /* plan/requested in /api/v1/adaptive; none observed */
  json_t *a = tide__cluster_adaptive_json(c);
  assert_int_equal(json_array_size(json_object_get(a, "plan")), 6);
  assert_int_equal(json_array_size(json_object_get(a, "requested")), 6);
  assert_int_equal(json_array_size(json_object_get(a, "observed")), 0);
  assert_string_equal(json_string_value(json_object_get(a, "state")), "inactive");
  json_decref(a);

  /* scale down to 1 -> 1 job: the newest job, never arrived, stops at once */
  assert_int_equal(tide_cluster_scale(c, 1, &err), 0);
  assert_int_equal(f.nstopped, 1);
  assert_string_equal(f.stopped[0], "job-1");
  assert_int_equal(tide__cluster_nplan(c), 3);
  tide_cluster_job_state(c, "job-1", TIDE_JOB_GONE);
  assert_int_equal(tide__cluster_nplan(c), 3);

  char repr[256];
  tide_cluster_repr(c, repr, sizeof repr);
  assert_non_null(strstr(repr, "FakeCluster(job, 'tcp://127.0.0.1:"));
  assert_non_null(strstr(repr, "workers=0, threads=0"));
  tide_cluster_destroy(c);
}

static void test_failures_back_off(void **unused)
{
  fake f = {.fail_next = 2};
  tide_backend_ops ops;
  tide_cluster *c = make(&f, &ops, 1);
  tide_error err = {{0}};
  int rc = tide_cluster_scale(c, 2, &err);
  assert_int_equal(rc, TIDE_EBACKEND);
  assert_non_null(strstr(err.text, "queue closed"));
  assert_int_equal(tide__cluster_nplan(c), 0); /* failed jobs leave the plan */
  assert_int_equal(c->backoff.failures, 1);
  tide__cluster_metrics m;
  tide__cluster_metrics_get(c, &m);
  json_decref(m.startup);
  assert_int_equal(m.submit_failures, 2);
  json_t *a = tide__cluster_adaptive_json(c);
  assert_string_equal(json_string_value(json_object_get(a, "error")), "sbatch: queue closed");
  json_decref(a);
  /* the fixed-size plan is refilled once the backoff allows */
  c->backoff.next_try = 0;
  tide__cluster_maintain(c); /* fails again: 2 in a row */
  assert_int_equal(c->backoff.failures, 2);
  c->backoff.next_try = 0;
  tide__cluster_maintain(c);
  assert_int_equal(tide__cluster_nplan(c), 2);
  assert_int_equal(c->backoff.failures, 0); /* success (PENDING) resets */

  /* an asynchronous failure report counts too, and drops the job */
  tide_cluster_job_failed(c, "job-4", "start command exited with status 1");
  assert_int_equal(c->backoff.failures, 1);
  assert_int_equal(tide__cluster_nplan(c), 1);
  /* a job that ends unexpectedly is replaced to keep the fixed size */
  tide_cluster_job_state(c, "job-5", TIDE_JOB_GONE);
  assert_int_equal(tide__cluster_nplan(c), 0);
  c->backoff.next_try = 0;
  tide__cluster_maintain(c);
  assert_int_equal(tide__cluster_nplan(c), 2);
  tide_cluster_destroy(c);
}

static void test_died_replaced_after_15s(void **unused)
{
  fake f = {0};
  tide_backend_ops ops;
  tide_cluster *c = make(&f, &ops, 1);
  tide_error err = {{0}};
  assert_int_equal(tide_cluster_scale(c, 2, &err), 0);
  tide__cluster_worker_event(c, TIDE_SEV_WORKER_ADDED, "job-0", false);
  tide__cluster_worker_event(c, TIDE_SEV_WORKER_ADDED, "job-1", false);
  tide__rec_member *na;
  assert_int_equal(tide__cluster_not_arrived(c, &na), 0);
  free(na);
  /* job-0 leaves unexpectedly: nothing happens before 15 s */
  tide__cluster_worker_event(c, TIDE_SEV_WORKER_REMOVED, "job-0", false);
  tide__cluster_maintain(c);
  assert_int_equal(f.nstopped, 0);
  assert_int_equal(tide__cluster_nplan(c), 2);
  /* it comes back: forgiven */
  tide__cluster_worker_event(c, TIDE_SEV_WORKER_ADDED, "job-0", false);
  tide__cluster_worker_event(c, TIDE_SEV_WORKER_REMOVED, "job-0", false);
  tide__cworker *w = NULL;
  HASH_FIND_STR(c->workers, "job-0", w);
  assert_non_null(w);
  w->died_at -= 16; /* 16 s later, still gone: its job is stopped and replaced */
  tide__cluster_maintain(c);
  assert_int_equal(f.nstopped, 1);
  assert_string_equal(f.stopped[0], "job-0");
  assert_int_equal(tide__cluster_nplan(c), 2);
  assert_string_equal(f.started[2], "job-2");
  tide__cluster_metrics m;
  tide__cluster_metrics_get(c, &m);
  json_decref(m.startup);
  assert_int_equal(m.replaced, 1);
  /* a retired worker (expected removal) is not replaced; its job stops */
  tide__cluster_worker_event(c, TIDE_SEV_WORKER_REMOVED, "job-1", true);
  assert_int_equal(f.nstopped, 2);
  assert_string_equal(f.stopped[1], "job-1");
  tide_cluster_destroy(c);
}

static void test_no_scale_backend(void **unused)
{
  tide__config cfg;
  tide__config_defaults(&cfg);
  tide_backend_ops ops = {.kind = "FixedCluster"};
  tide_cluster_opts o = {.port = 0, .dashboard_port = -1};
  tide_cluster *c;
  tide_error err = {{0}};
  assert_int_equal(tide__cluster_create_cfg(&o, &cfg, &ops, NULL, &c, &err), 0);
  assert_int_equal(tide_cluster_scale(c, 2, &err), TIDE_ENOSCALE);
  assert_non_null(strstr(err.text, "FixedCluster"));
  tide_adapt_opts a = {.set = TIDE_ADAPT_MAXIMUM, .maximum = 3};
  assert_int_equal(tide_cluster_adapt(c, &a, &err), TIDE_ENOSCALE);
  tide_cluster_destroy(c);
}

static void test_adapt_validation_and_merge(void **unused)
{
  fake f = {0};
  tide_backend_ops ops;
  tide_cluster *c = make(&f, &ops, 1);
  tide_error err = {{0}};
  tide_adapt_opts a = {.set = TIDE_ADAPT_INTERVAL, .interval = 0};
  assert_int_equal(tide_cluster_adapt(c, &a, &err), TIDE_EUSAGE);
  a = (tide_adapt_opts){.set = TIDE_ADAPT_WORKER_KEY, .worker_key = "colour"};
  assert_int_equal(tide_cluster_adapt(c, &a, &err), TIDE_EUSAGE);
  assert_non_null(strstr(err.text, "colour"));
  a = (tide_adapt_opts){.set = TIDE_ADAPT_WAIT_COUNT, .wait_count = 0};
  assert_int_equal(tide_cluster_adapt(c, &a, &err), TIDE_EUSAGE);
  a = (tide_adapt_opts){.set = TIDE_ADAPT_MINIMUM, .minimum = -1};
  assert_int_equal(tide_cluster_adapt(c, &a, &err), TIDE_EUSAGE);

  a = (tide_adapt_opts){
      .set = TIDE_ADAPT_MAXIMUM | TIDE_ADAPT_WAIT_COUNT, .maximum = 5, .wait_count = 7};
  assert_int_equal(tide_cluster_adapt(c, &a, &err), 0);
  a = (tide_adapt_opts){.set = TIDE_ADAPT_MAXIMUM, .maximum = 2};
  assert_int_equal(tide_cluster_adapt(c, &a, &err), 0);
  json_t *j = tide__cluster_adaptive_json(c);
  assert_string_equal(json_string_value(json_object_get(j, "state")), "running");
  assert_true(json_real_value(json_object_get(j, "maximum")) == 2);
  assert_int_equal(json_integer_value(json_object_get(j, "wait_count")), 7); /* kept */
  json_decref(j);
  /* scale() stops adapting */
  assert_int_equal(tide_cluster_scale(c, 1, &err), 0);
  j = tide__cluster_adaptive_json(c);
  assert_string_equal(json_string_value(json_object_get(j, "state")), "stopped");
  json_decref(j);
  tide_cluster_destroy(c);
}

static void test_registry_and_templates(void **unused)
{
  assert_non_null(tide__backend_find("local"));
  assert_non_null(tide__backend_find("command"));
  assert_null(tide__backend_find("nope"));
  assert_true(tide__backend_has_flag(tide__backend_find("command"), "start-cmd"));
  assert_false(tide__backend_has_flag(tide__backend_find("local"), "start-cmd"));
  const char *keys[] = {"start-cmd", "stop-cmd", "start-cmd"};
  const char *vals[] = {"a", "b", "c"};
  tide__backend_args args = {.keys = keys, .values = vals, .n = 3};
  assert_string_equal(tide__backend_arg(&args, "start-cmd"), "c");
  assert_null(tide__backend_arg(&args, "poll-cmd"));

  const char *wn[] = {"t-4-0", "t-4-1", NULL};
  tide_job job = {.name = "t-4",
                  .workers = wn,
                  .nworkers = 2,
                  .nthreads = 3,
                  .memory_limit = 1000,
                  .scheduler = "tcp://127.0.0.1:9"};
  char *s = tide__command_expand(
      "run {name} {job} [{workers}] {scheduler} {nthreads} {memory_limit} {processes} {other}",
      &job, NULL);
  assert_string_equal(s, "run t-4 t-4 [t-4-0 t-4-1] tcp://127.0.0.1:9 3 1000 2 {other}");
  free(s);
  s = tide__command_expand("scancel {job_id}", &job, "12; rm -rf /");
  assert_string_equal(s, "scancel '12; rm -rf /'");
  free(s);
  s = tide__command_expand("kill {job_id}", &job, "4242");
  assert_string_equal(s, "kill 4242");
  free(s);
  /* {preload}: nothing without plugins, else one quoted flag per plugin */
  s = tide__command_expand("w {preload}.", &job, NULL);
  assert_string_equal(s, "w .");
  free(s);
  const char *pre[] = {"/opt/p/liba.so", "/home/my dir/it's.so"};
  job.preload = pre;
  job.npreload = 2;
  s = tide__command_expand("w {preload}", &job, NULL);
  assert_string_equal(s, "w --preload /opt/p/liba.so --preload '/home/my dir/it'\\''s.so'");
  free(s);
  /* {tls}: nothing when TLS is off, else the three flags with quoted paths */
  s = tide__command_expand("w {tls}.", &job, NULL);
  assert_string_equal(s, "w .");
  free(s);
  job.tls_ca_file = "/s/ca.pem";
  job.tls_cert = "/s/my cert.pem";
  job.tls_key = "/s/it's.key";
  s = tide__command_expand("w {tls}", &job, NULL);
  assert_string_equal(
      s, "w --tls-ca-file /s/ca.pem --tls-cert '/s/my cert.pem' --tls-key '/s/it'\\''s.key'");
  free(s);
}

int main(void)
{
  tide__log_init("test", TIDE_LOG_ERROR);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_names_and_whole_jobs),
      cmocka_unit_test(test_failures_back_off),
      cmocka_unit_test(test_died_replaced_after_15s),
      cmocka_unit_test(test_no_scale_backend),
      cmocka_unit_test(test_adapt_validation_and_merge),
      cmocka_unit_test(test_registry_and_templates),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
