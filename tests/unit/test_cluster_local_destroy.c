/* The local backend's teardown: a cluster destroyed while its jobs' worker
 * processes are still ending (they ignore SIGTERM, the SIGKILL grace is
 * far off) kills them, and every job it held is freed through its handles'
 * close callbacks, with nothing calling back into the freed backend. The
 * sanitizer build (LeakSanitizer, AddressSanitizer) proves the last two;
 * every build asserts the processes are dead. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <uv.h>

#include "cluster/backend.h"
#include "cluster/cluster_int.h"
#include "common/util.h"

enum { NJOBS = 2, NPROCS = 2 };

static char dir[] = "/tmp/tide-local-destroy.XXXXXX";

/* The pids the stand-in workers wrote, up to max; how many. */
static int read_pids(pid_t *pids, int max)
{
  int n = 0;
  char path[256];
  snprintf(path, sizeof path, "cat %s/pid.* 2>/dev/null", dir);
  FILE *p = popen(path, "r");
  long v;
  while (p && n < max && fscanf(p, "%ld", &v) == 1)
    pids[n++] = (pid_t)v;
  if (p)
    pclose(p);
  return n;
}

/* Dead: gone, or a zombie nobody reaps any more. */
static int dead(pid_t pid)
{
  char path[64], stat[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f)
    return 1;
  size_t len = fread(stat, 1, sizeof stat - 1, f);
  fclose(f);
  stat[len] = '\0';
  const char *close = strrchr(stat, ')');
  return close && close[1] == ' ' && close[2] == 'Z';
}

static void test_destroy_while_ending(void **unused)
{
  assert_non_null(mkdtemp(dir));
  char exe[256];
  snprintf(exe, sizeof exe, "%s/worker.sh", dir);
  FILE *f = fopen(exe, "w");
  assert_non_null(f);
  /* a worker that will not end on SIGTERM: only the SIGKILL ends it */
  fprintf(f,
          "#!/bin/sh\ntrap '' TERM\necho $$ >%s/pid.$$.tmp\nmv %s/pid.$$.tmp %s/pid.$$\n"
          "exec sleep 60\n",
          dir, dir, dir);
  fclose(f);
  assert_int_equal(chmod(exe, 0755), 0);

  tide__config cfg;
  tide__config_defaults(&cfg);
  tide_cluster_opts o = {.name = "ld",
                         .host = "127.0.0.1",
                         .port = 0,
                         .dashboard_port = -1,
                         .processes = NPROCS,
                         .nthreads = 1};
  tide__backend_args a = {.cfg = &cfg, .opts = &o, .tide_path = exe, .kill_grace = 60};
  const tide_backend_ops *ops = NULL;
  void *self = NULL;
  tide_error err = {{0}};
  assert_int_equal(tide__backend_local.create(&a, &ops, &self, &err), 0);
  tide_cluster *c = NULL;
  assert_int_equal(tide__cluster_create_cfg(&o, &cfg, ops, self, &c, &err), 0);
  assert_int_equal(tide_cluster_scale(c, NJOBS * NPROCS, &err), 0);
  uv_loop_t *loop = tide_cluster_loop(c);
  pid_t pids[NJOBS * NPROCS + 1];
  for (int i = 0; i < 500 && read_pids(pids, NJOBS * NPROCS + 1) < NJOBS * NPROCS; i++) {
    uv_run(loop, UV_RUN_NOWAIT);
    usleep(10000);
  }
  assert_int_equal(read_pids(pids, NJOBS * NPROCS + 1), NJOBS * NPROCS);
  /* stopped: SIGTERM, which they ignore, so both jobs are still ending */
  assert_int_equal(tide_cluster_scale(c, 0, &err), 0);
  for (int i = 0; i < 20; i++) {
    uv_run(loop, UV_RUN_NOWAIT);
    usleep(10000);
  }
  for (int i = 0; i < NJOBS * NPROCS; i++)
    assert_false(dead(pids[i]));
  tide_cluster_destroy(c);
  int ndead = 0;
  for (int t = 0; t < 200 && ndead < NJOBS * NPROCS; t++) {
    ndead = 0;
    for (int i = 0; i < NJOBS * NPROCS; i++)
      ndead += dead(pids[i]);
    usleep(10000);
  }
  assert_int_equal(ndead, NJOBS * NPROCS);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_destroy_while_ending),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
