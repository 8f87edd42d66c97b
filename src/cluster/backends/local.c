/* The local backend: a job is P worker processes of the tide binary
 * (`tide worker ADDRESS --name N ... --job J`) started with uv_spawn; they
 * start and stop together. Stop = SIGTERM, then SIGKILL after a grace
 * period. A job whose processes all exit is reported gone. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <unistd.h>
#include <uv.h>

#include "cluster/backend.h"
#include "common/log.h"
#include "common/util.h"

typedef struct lproc {
  uv_process_t h;
  struct ljob *job;
  bool alive;
} lproc;

typedef struct ljob {
  char *name;
  struct local *l;
  lproc *procs;
  int n, nalive, nopen;
  bool stopping;
  uv_timer_t kill; /* SIGKILL after the grace period */
  UT_hash_handle hh;
} ljob;

typedef struct local {
  tide_backend_ops ops;
  char *exe;
  double grace;
  double stagger; /* --lifetime-stagger */
  tide_cluster *c;
  ljob *jobs;
} local;

static void ljob_free(ljob *j)
{
  free(j->procs);
  free(j->name);
  free(j);
}

static void on_handle_closed(uv_handle_t *h)
{
  ljob *j = h->data;
  if (--j->nopen == 0)
    ljob_free(j);
}

static void job_gone(ljob *j)
{
  local *l = j->l;
  HASH_DEL(l->jobs, j);
  if (uv_is_active((uv_handle_t *)&j->kill))
    uv_timer_stop(&j->kill);
  uv_close((uv_handle_t *)&j->kill, on_handle_closed);
  tide_cluster_job_state(l->c, j->name, TIDE_JOB_GONE);
}

static void on_exit_cb(uv_process_t *h, int64_t status, int sig)
{
  lproc *p = (lproc *)h;
  ljob *j = p->job;
  p->alive = false;
  if (!j->stopping && (status != 0 || sig))
    tide__log(TIDE_LOG_WARNING, "backend", "worker process %d of job %s exited (status %d%s%s)",
              h->pid, j->name, (int)status, sig ? ", signal " : "", sig ? strsignal(sig) : "");
  uv_close((uv_handle_t *)h, on_handle_closed);
  if (--j->nalive == 0)
    job_gone(j);
}

static void on_kill(uv_timer_t *t)
{
  ljob *j = t->data;
  for (int i = 0; i < j->n; i++)
    if (j->procs[i].alive) {
      tide__log(TIDE_LOG_WARNING, "backend", "worker %d of job %s ignored SIGTERM: SIGKILL",
                j->procs[i].h.pid, j->name);
      uv_process_kill(&j->procs[i].h, SIGKILL);
    }
}

static int spawn_one(local *l, const tide_job *job, int i, lproc *p, tide_error *err)
{
  char nthreads[16], mem[32], life[32], stag[32];
  const char **argv = tide__xcalloc(30 + 2 * (size_t)job->npreload, sizeof *argv);
  int k = 0;
  argv[k++] = l->exe;
  argv[k++] = "worker";
  argv[k++] = job->scheduler;
  argv[k++] = "--name";
  argv[k++] = job->workers[i];
  argv[k++] = "--nthreads";
  snprintf(nthreads, sizeof nthreads, "%d", job->nthreads);
  argv[k++] = nthreads;
  if (job->memory_limit > 0) {
    snprintf(mem, sizeof mem, "%lld", (long long)job->memory_limit);
    argv[k++] = "--memory-limit";
    argv[k++] = mem;
  }
  argv[k++] = "--job";
  argv[k++] = job->name;
  if (job->lifetime > 0) {
    snprintf(life, sizeof life, "%.3f", job->lifetime);
    argv[k++] = "--lifetime";
    argv[k++] = life;
    if (l->stagger > 0) {
      snprintf(stag, sizeof stag, "%.3f", l->stagger);
      argv[k++] = "--lifetime-stagger";
      argv[k++] = stag;
    }
  }
  for (int q = 0; q < job->npreload; q++) {
    argv[k++] = "--preload";
    argv[k++] = job->preload[q];
  }
  const char *tls_flags[3] = {"--tls-ca-file", "--tls-cert", "--tls-key"};
  const char *tls_paths[3] = {job->tls_ca_file, job->tls_cert, job->tls_key};
  for (int q = 0; q < 3; q++)
    if (tls_paths[q]) {
      argv[k++] = tls_flags[q];
      argv[k++] = tls_paths[q];
    }
  argv[k] = NULL;
  uv_stdio_container_t stdio[3] = {{.flags = UV_IGNORE},
                                   {.flags = UV_INHERIT_FD, .data.fd = 2},
                                   {.flags = UV_INHERIT_FD, .data.fd = 2}};
  uv_process_options_t po = {0};
  po.exit_cb = on_exit_cb;
  po.file = l->exe;
  po.args = (char **)argv;
  po.stdio = stdio;
  po.stdio_count = 3;
  int rc = uv_spawn(tide_cluster_loop(l->c), &p->h, &po);
  free(argv);
  if (rc < 0)
    return tide_errprintf(err, TIDE_EBACKEND, "cannot start worker %s (%s): %s", job->workers[i],
                          l->exe, uv_strerror(rc));
  return 0;
}

static void stop_job(ljob *j)
{
  if (j->stopping)
    return;
  j->stopping = true;
  for (int i = 0; i < j->n; i++)
    if (j->procs[i].alive)
      uv_process_kill(&j->procs[i].h, SIGTERM);
  uv_timer_start(&j->kill, on_kill, (uint64_t)(j->l->grace * 1000), 0);
}

static int local_scale_up(void *self, tide_cluster *c, tide_job *const *jobs, size_t n,
                          tide_error *err)
{
  local *l = self;
  l->c = c;
  for (size_t k = 0; k < n; k++) {
    const tide_job *job = jobs[k];
    ljob *j = tide__xcalloc(1, sizeof *j);
    j->name = tide__xstrdup(job->name);
    j->l = l;
    j->n = job->nworkers;
    j->procs = tide__xcalloc((size_t)j->n, sizeof *j->procs);
    uv_timer_init(tide_cluster_loop(c), &j->kill);
    j->kill.data = j;
    j->nopen = 1;
    int rc = 0;
    for (int i = 0; i < j->n && rc == 0; i++) {
      j->procs[i].job = j;
      rc = spawn_one(l, job, i, &j->procs[i], err);
      j->procs[i].h.data = j;
      if (rc < 0) {
        j->nopen++; /* initialised even on failure: close it */
        uv_close((uv_handle_t *)&j->procs[i].h, on_handle_closed);
      } else {
        j->procs[i].alive = true;
        j->procs[i].h.data = j;
        j->nalive++;
        j->nopen++;
      }
    }
    HASH_ADD_KEYPTR(hh, l->jobs, j->name, strlen(j->name), j);
    jobs[k]->backend_id = tide__xasprintf("%d", j->n ? j->procs[0].h.pid : 0);
    if (rc < 0) {
      /* a job starts whole or not at all: stop what did start */
      if (j->nalive) {
        stop_job(j);
      } else {
        HASH_DEL(l->jobs, j);
        uv_close((uv_handle_t *)&j->kill, on_handle_closed);
      }
      /* earlier jobs of this call did start: they stay submitted */
      for (size_t q = 0; q < k; q++)
        tide_cluster_job_state(c, jobs[q]->name, TIDE_JOB_PENDING);
      return rc;
    }
  }
  for (size_t k = 0; k < n; k++)
    tide_cluster_job_state(c, jobs[k]->name, TIDE_JOB_PENDING);
  return 0;
}

static int local_scale_down(void *self, tide_cluster *c, tide_job *const *jobs, size_t n,
                            tide_error *err)
{
  local *l = self;
  for (size_t k = 0; k < n; k++) {
    ljob *j = NULL;
    HASH_FIND_STR(l->jobs, jobs[k]->name, j);
    if (j)
      stop_job(j);
  }
  return 0;
}

static void local_destroy(void *self)
{
  local *l = self;
  ljob *j, *tmp;
  /* the cluster is going away: no process may outlive it */
  HASH_ITER (hh, l->jobs, j, tmp) {
    for (int i = 0; i < j->n; i++)
      if (j->procs[i].alive)
        uv_process_kill(&j->procs[i].h, SIGKILL);
    HASH_DEL(l->jobs, j);
  }
  free(l->exe);
  free(l);
}

static int local_create(const tide__backend_args *a, const tide_backend_ops **ops, void **self,
                        tide_error *err)
{
  local *l = tide__xcalloc(1, sizeof *l);
  const char *exe = a->tide_path && *a->tide_path ? a->tide_path : "/proc/self/exe";
  char buf[4096];
  ssize_t len = strcmp(exe, "/proc/self/exe") == 0 ? readlink(exe, buf, sizeof buf - 1) : -1;
  if (len > 0) {
    buf[len] = '\0';
    exe = buf; /* stable even if the binary is rebuilt while we run */
  }
  l->exe = tide__xstrdup(exe);
  l->grace = a->kill_grace > 0 ? a->kill_grace : 2.0;
  l->stagger = a->opts ? a->opts->lifetime_stagger : 0;
  l->ops.kind = "LocalCluster";
  l->ops.scale_up = local_scale_up;
  l->ops.scale_down = local_scale_down;
  l->ops.destroy = local_destroy;
  *ops = &l->ops;
  *self = l;
  return 0;
}

const tide__backend_def tide__backend_local = {
    .name = "local",
    .flags = NULL,
    .help = "worker processes on this machine",
    .create = local_create,
};
