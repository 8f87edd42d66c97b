/* A resource manager of your own, the way Dask users subclass Cluster and
 * implement scale_up / scale_down, then call adapt(minimum=10,
 * maximum=100): this program supplies a tide_backend_ops table that starts
 * each worker as a plain process (posix_spawn of `tide worker`), stops it
 * with SIGTERM, and reports exits from poll(). Then it adapts.
 *
 *   prog_custom_backend TIDE_BIN [MINIMUM [MAXIMUM [SCHEDULER_FILE [INTERVAL_S]]]]
 *
 * Defaults: minimum 10, maximum 100, no scheduler file, interval 1 s. The
 * scheduler and dashboard listen on free ports (see the scheduler file).
 * Stop it with SIGINT or SIGTERM: it retires and stops every worker. */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tide/cluster.h"

extern char **environ;

/* One worker process per job (processes = 1). */
typedef struct proc {
  char job[128];
  pid_t pid;
  struct proc *next;
} proc;

typedef struct my_manager {
  const char *tide_bin;
  proc *procs;
} my_manager;

static int my_scale_up(void *self, tide_cluster *c, tide_job *const *jobs, size_t n,
                       tide_error *err)
{
  my_manager *m = self;
  for (size_t i = 0; i < n; i++) {
    const tide_job *j = jobs[i];
    char nthreads[16];
    snprintf(nthreads, sizeof nthreads, "%d", j->nthreads);
    char *argv[] = {(char *)m->tide_bin,
                    "worker",
                    (char *)j->scheduler,
                    "--name",
                    (char *)j->workers[0],
                    "--nthreads",
                    nthreads,
                    "--job",
                    (char *)j->name,
                    NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, m->tide_bin, NULL, NULL, argv, environ);
    if (rc != 0)
      return tide_errprintf(err, TIDE_EBACKEND, "cannot start %s: %s", m->tide_bin, strerror(rc));
    proc *p = calloc(1, sizeof *p);
    snprintf(p->job, sizeof p->job, "%s", j->name);
    p->pid = pid;
    p->next = m->procs;
    m->procs = p;
    char id[32];
    snprintf(id, sizeof id, "%d", (int)pid);
    tide_cluster_job_set_id(c, j->name, id);
    tide_cluster_job_state(c, j->name, TIDE_JOB_PENDING); /* accepted */
  }
  return 0;
}

static int my_scale_down(void *self, tide_cluster *c, tide_job *const *jobs, size_t n,
                         tide_error *err)
{
  my_manager *m = self;
  for (size_t i = 0; i < n; i++)
    for (proc *p = m->procs; p; p = p->next)
      if (strcmp(p->job, jobs[i]->name) == 0)
        kill(p->pid, SIGTERM);
  return 0;
}

/* Reap exited workers and tell the cluster their jobs are gone. */
static int my_poll(void *self, tide_cluster *c, tide_error *err)
{
  my_manager *m = self;
  for (proc **pp = &m->procs; *pp;) {
    proc *p = *pp;
    if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
      *pp = p->next;
      tide_cluster_job_state(c, p->job, TIDE_JOB_GONE);
      free(p);
    } else {
      pp = &p->next;
    }
  }
  return 0;
}

static void my_destroy(void *self)
{
  my_manager *m = self;
  while (m->procs) {
    proc *p = m->procs;
    m->procs = p->next;
    kill(p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
    free(p);
  }
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(stderr, "usage: %s TIDE_BIN [MINIMUM [MAXIMUM [SCHEDULER_FILE [INTERVAL_S]]]]\n",
            argv[0]);
    return 2;
  }
  my_manager m = {.tide_bin = argv[1]};
  static const tide_backend_ops ops = {
      .kind = "MyCluster",
      .scale_up = my_scale_up,
      .scale_down = my_scale_down,
      .poll = my_poll,
      .poll_interval = 0.1,
      .destroy = my_destroy,
  };
  tide_cluster_opts o = {
      .name = "mine", .port = 0, .dashboard_port = 0, .scheduler_file = argc > 4 ? argv[4] : NULL};
  tide_cluster *c;
  tide_error err = {{0}};
  if (tide_cluster_create(&o, &ops, &m, &c, &err) < 0) {
    fprintf(stderr, "tide: %s\n", err.text);
    return 2;
  }
  /* cluster.adapt(minimum=10, maximum=100) */
  tide_adapt_opts a = {.set = TIDE_ADAPT_MINIMUM | TIDE_ADAPT_MAXIMUM,
                       .minimum = argc > 2 ? atof(argv[2]) : 10,
                       .maximum = argc > 3 ? atof(argv[3]) : 100};
  if (argc > 5) {
    a.set |= TIDE_ADAPT_INTERVAL;
    a.interval = atof(argv[5]);
  }
  if (tide_cluster_adapt(c, &a, &err) < 0) {
    fprintf(stderr, "tide: %s\n", err.text);
    tide_cluster_destroy(c);
    return 2;
  }
  char repr[256];
  tide_cluster_repr(c, repr, sizeof repr);
  printf("%s\n", repr);
  fflush(stdout);
  int rc = tide_cluster_run(c);
  tide_cluster_destroy(c);
  return rc == 0 ? 0 : 1;
}
