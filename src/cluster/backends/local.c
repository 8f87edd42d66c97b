/* The local backend: a job is P worker processes of the tide binary
 * (`tide worker ADDRESS --name N ... --job J`) started with uv_spawn; they
 * start and stop together. Stop = SIGTERM, then SIGKILL after a grace
 * period. A job whose processes all exit is reported gone.
 *
 * Processes are started off the adaptive round through the start queue
 * (pump.h): scale_up queues them and returns. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <unistd.h>
#include <uv.h>

#include "cluster/backend.h"
#include "cluster/backends/pump.h"
#include "cluster/worker_argv.h"
#include "common/log.h"
#include "common/util.h"
#include "common/vec.h"

typedef struct lproc {
  uv_process_t h;
  struct ljob *job;
  char **argv; /* until started: the command line (malloc'd strings) */
  bool alive;
} lproc;

typedef struct ljob {
  char *name;
  struct local *l;
  lproc *procs;
  int n, nalive, nopen;
  int nstarted; /* procs[0..nstarted) went through uv_spawn */
  bool stopping, gone;
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
  tide__pump *pump; /* starts queued processes; NULL until the first job */
} local;

static void argv_free(char **argv)
{
  for (size_t i = 0; argv && argv[i]; i++)
    free(argv[i]);
  free(argv);
}

static void ljob_free(ljob *j)
{
  for (int i = 0; i < j->n; i++)
    argv_free(j->procs[i].argv);
  free(j->procs);
  free(j->name);
  free(j);
}

/* nopen counts the job's open handles and its starts still queued. */
static void ljob_unref(ljob *j)
{
  if (--j->nopen == 0)
    ljob_free(j);
}

static void on_handle_closed(uv_handle_t *h)
{
  ljob_unref(h->data);
}

static void job_gone(ljob *j)
{
  if (j->gone)
    return;
  j->gone = true;
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
  /* a job still starting is not gone until its last process has started */
  if (--j->nalive == 0 && (j->stopping || j->nstarted == j->n))
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

/* The command line of worker i of job, kept until it is started. */
static char **worker_argv(const local *l, const tide_job *job, int i)
{
  tide__strvec argv = {0};
  tide__worker_argv(&argv, job, i, &(tide__worker_opts){.exe = l->exe, .stagger = l->stagger});
  tide__vec_push(&argv, NULL); /* execv's terminator */
  return argv.v;
}

static int spawn_one(local *l, lproc *p, tide_error *err)
{
  uv_stdio_container_t stdio[3] = {{.flags = UV_IGNORE},
                                   {.flags = UV_INHERIT_FD, .data.fd = 2},
                                   {.flags = UV_INHERIT_FD, .data.fd = 2}};
  uv_process_options_t po = {0};
  po.exit_cb = on_exit_cb;
  po.file = l->exe;
  po.args = p->argv;
  po.stdio = stdio;
  po.stdio_count = 3;
  int rc = uv_spawn(tide_cluster_loop(l->c), &p->h, &po);
  if (rc < 0)
    tide_errprintf(err, TIDE_EBACKEND, "cannot start worker %s (%s): %s", p->argv[4], l->exe,
                   uv_strerror(rc));
  argv_free(p->argv);
  p->argv = NULL;
  return rc < 0 ? TIDE_EBACKEND : 0;
}

static void stop_job(ljob *j)
{
  if (j->stopping || j->gone)
    return;
  j->stopping = true; /* its processes not started yet never will be */
  if (j->nalive == 0) {
    job_gone(j);
    return;
  }
  for (int i = 0; i < j->n; i++)
    if (j->procs[i].alive)
      uv_process_kill(&j->procs[i].h, SIGTERM);
  uv_timer_start(&j->kill, on_kill, (uint64_t)(j->l->grace * 1000), 0);
}

/* Start the next process of j. A job starts whole or not at all: a
 * failure stops what did start and reports the job failed (backoff). */
static void start_next(local *l, ljob *j)
{
  lproc *p = &j->procs[j->nstarted++];
  p->job = j;
  tide_error err = {{0}};
  int rc = spawn_one(l, p, &err);
  p->h.data = j;
  j->nopen++; /* initialised even on failure: closed either way */
  if (rc < 0) {
    uv_close((uv_handle_t *)&p->h, on_handle_closed);
    tide_cluster_job_failed(l->c, j->name, err.text); /* before GONE, so that it counts */
    stop_job(j);
    return;
  }
  p->alive = true;
  j->nalive++;
  if (j->nstarted == 1) {
    char id[32];
    snprintf(id, sizeof id, "%d", p->h.pid);
    tide_cluster_job_set_id(l->c, j->name, id);
  }
}

/* A queued start (pump.h): the job's next process, unless it was stopped. */
static void start_queued(void *arg)
{
  ljob *j = arg;
  if (!j->stopping && !j->gone && j->nstarted < j->n)
    start_next(j->l, j);
  ljob_unref(j);
}

static void drop_queued(void *arg)
{
  ljob_unref(arg);
}

static int local_scale_up(void *self, tide_cluster *c, tide_job *const *jobs, size_t n,
                          tide_error *err)
{
  local *l = self;
  l->c = c;
  /* the one failure worth a synchronous answer: no binary to start */
  if (access(l->exe, X_OK) != 0)
    return tide_errprintf(err, TIDE_EBACKEND, "cannot start workers with %s: %s", l->exe,
                          strerror(errno));
  if (!l->pump)
    l->pump = tide__pump_create(tide_cluster_loop(c), "worker process(es)");
  for (size_t k = 0; k < n; k++) {
    const tide_job *job = jobs[k];
    ljob *j = tide__xcalloc(1, sizeof *j);
    j->name = tide__xstrdup(job->name);
    j->l = l;
    j->n = job->nworkers;
    j->procs = tide__xcalloc((size_t)(j->n > 0 ? j->n : 1), sizeof *j->procs);
    for (int i = 0; i < j->n; i++)
      j->procs[i].argv = worker_argv(l, job, i);
    uv_timer_init(tide_cluster_loop(c), &j->kill);
    j->kill.data = j;
    j->nopen = 1 + j->n; /* the kill timer and each queued start */
    HASH_ADD_KEYPTR(hh, l->jobs, j->name, strlen(j->name), j);
    for (int i = 0; i < j->n; i++)
      tide__pump_push(l->pump, start_queued, drop_queued, j);
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
  /* the cluster is going away: no process may outlive it, and no callback
   * may reach l from here on (an exit would otherwise report a job of a
   * freed backend): a job still ending closes its handles now and the last
   * close frees it (the cluster runs the loop once more), as ssh.c does */
  HASH_ITER (hh, l->jobs, j, tmp) {
    HASH_DEL(l->jobs, j);
    j->gone = true;
    for (int i = 0; i < j->nstarted; i++)
      if (j->procs[i].alive) {
        uv_process_kill(&j->procs[i].h, SIGKILL);
        j->procs[i].alive = false;
        uv_close((uv_handle_t *)&j->procs[i].h, on_handle_closed);
      }
    uv_timer_stop(&j->kill);
    uv_close((uv_handle_t *)&j->kill, on_handle_closed);
  }
  tide__pump_destroy(l->pump); /* drops the queued starts' references */
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
