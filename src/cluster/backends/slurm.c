/* The SLURM backend: sbatch to submit (script on stdin), scancel to stop,
 * one squeue per poll for every job's state. Every command runs through
 * uv_spawn on the cluster's loop and never blocks it. At most max-pending
 * jobs are submitted and not yet running; the rest wait here, in order. */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <uthash.h>
#include <uv.h>

#include "cluster/backend.h"
#include "cluster/backends/slurm.h"
#include "common/log.h"
#include "common/util.h"

extern char **environ;

typedef enum sjob_state {
  SJ_QUEUED = 0, /* waiting here for a max-pending slot */
  SJ_SUBMITTING, /* sbatch running */
  SJ_PENDING,    /* in SLURM's queue */
  SJ_RUNNING,
} sjob_state;

typedef struct sjob {
  char *name;
  tide_job *job; /* the core's job: valid until we report it GONE */
  long id;       /* SLURM job id, 0 until sbatch answered */
  sjob_state state;
  bool cancel;        /* scale_down came while sbatch ran */
  bool stopping;      /* scancel sent; GONE is reported once squeue agrees */
  bool unseen;        /* not (or as finished) in the current squeue answer */
  double submitted;   /* tide__now() when sbatch answered */
  struct sjob *qnext; /* local queue */
  UT_hash_handle hh;  /* by name */
  UT_hash_handle hid; /* by id, once known */
} sjob;

typedef struct slurm {
  tide_backend_ops ops; /* slurm_ops with this cluster's max_pending */
  tide__slurm_opts o;
  tide_cluster *c;
  uv_loop_t *loop;
  sjob *by_name;
  sjob *by_id;
  sjob *qhead, *qtail;
  int npending; /* SUBMITTING + PENDING */
  int nprocs;   /* subprocesses running */
  bool polling;
  bool destroyed;
  bool failing;   /* the last sbatch failed: submit one probe at a time */
  sjob *probe;    /* the job whose sbatch decides, while failing */
  bool may_probe; /* scale_up came (after the core's backoff): try one */
  char **gone;    /* job names to report GONE at the next poll (never */
  size_t ngone;   /* from inside scale_down: the core is iterating) */
} slurm;

/* ---- subprocesses ------------------------------------------------------ */

typedef void (*proc_done_fn)(slurm *s, int64_t status, char *out, char *errtext, void *arg);

typedef struct proc {
  uv_process_t p;
  uv_pipe_t in, out, err;
  uv_write_t w;
  char *input;
  char *obuf, *ebuf;
  size_t olen, elen;
  int64_t status;
  int open;   /* handles not yet closed */
  int events; /* exit + two EOFs */
  proc_done_fn done;
  void *arg;
  slurm *s;
} proc;

static void slurm_free(slurm *s);

static void proc_closed(uv_handle_t *h)
{
  proc *p = h->data;
  if (--p->open > 0)
    return;
  slurm *s = p->s;
  free(p->input);
  free(p->obuf);
  free(p->ebuf);
  free(p);
  if (--s->nprocs == 0 && s->destroyed)
    slurm_free(s);
}

static void close_one(proc *p, uv_handle_t *h)
{
  (void)p;
  if (!uv_is_closing(h))
    uv_close(h, proc_closed);
}

static void proc_close_all(proc *p)
{
  close_one(p, (uv_handle_t *)&p->p);
  close_one(p, (uv_handle_t *)&p->in);
  close_one(p, (uv_handle_t *)&p->out);
  close_one(p, (uv_handle_t *)&p->err);
}

static void proc_event(proc *p)
{
  if (++p->events < 3)
    return;
  if (!p->s->destroyed)
    p->done(p->s, p->status, p->obuf ? p->obuf : "", p->ebuf ? p->ebuf : "", p->arg);
  proc_close_all(p);
}

static void on_exit_cb(uv_process_t *h, int64_t status, int sig)
{
  proc *p = h->data;
  p->status = sig ? 128 + sig : status;
  proc_event(p);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
  static char chunk[4096];
  (void)h;
  (void)hint;
  *buf = uv_buf_init(chunk, sizeof chunk);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
  proc *p = st->data;
  bool is_out = st == (uv_stream_t *)&p->out;
  char **b = is_out ? &p->obuf : &p->ebuf;
  size_t *len = is_out ? &p->olen : &p->elen;

  if (n > 0) {
    if (*len < 65536) {
      *b = tide__xrealloc(*b, *len + (size_t)n + 1);
      memcpy(*b + *len, buf->base, (size_t)n);
      *len += (size_t)n;
      (*b)[*len] = '\0';
    }
  } else if (n < 0) {
    uv_read_stop(st);
    proc_event(p);
  }
}

static void on_written(uv_write_t *w, int status)
{
  proc *p = w->data;
  (void)status; /* a command that exits without reading its stdin is fine */
  close_one(p, (uv_handle_t *)&p->in);
}

/* Run argv with input on stdin (may be NULL); done gets the exit status
 * and the captured stdout/stderr. Returns < 0 if the spawn failed (then
 * done never runs). */
static int proc_run(slurm *s, char **argv, const char *input, proc_done_fn done, void *arg,
                    tide_error *err)
{
  proc *p = tide__xcalloc(1, sizeof *p);
  uv_process_options_t po;
  uv_stdio_container_t io[3];
  int rc;

  p->s = s;
  p->done = done;
  p->arg = arg;
  uv_pipe_init(s->loop, &p->in, 0);
  uv_pipe_init(s->loop, &p->out, 0);
  uv_pipe_init(s->loop, &p->err, 0);
  p->in.data = p->out.data = p->err.data = p->p.data = p;
  io[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
  io[0].data.stream = (uv_stream_t *)&p->in;
  io[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  io[1].data.stream = (uv_stream_t *)&p->out;
  io[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  io[2].data.stream = (uv_stream_t *)&p->err;
  memset(&po, 0, sizeof po);
  po.file = argv[0];
  po.args = argv;
  po.exit_cb = on_exit_cb;
  po.stdio = io;
  po.stdio_count = 3;
  s->nprocs++;
  p->open = 4;
  rc = uv_spawn(s->loop, &p->p, &po);
  if (rc < 0) {
    proc_close_all(p);
    return tide_errprintf(err, TIDE_EBACKEND, "cannot run %s: %s", argv[0], uv_strerror(rc));
  }
  uv_read_start((uv_stream_t *)&p->out, on_alloc, on_read);
  uv_read_start((uv_stream_t *)&p->err, on_alloc, on_read);
  if (input && *input) {
    p->input = tide__xstrdup(input);
    uv_buf_t b = uv_buf_init(p->input, (unsigned)strlen(p->input));
    p->w.data = p;
    if (uv_write(&p->w, (uv_stream_t *)&p->in, &b, 1, on_written) < 0)
      close_one(p, (uv_handle_t *)&p->in);
  } else {
    close_one(p, (uv_handle_t *)&p->in);
  }
  return 0;
}

/* ---- jobs -------------------------------------------------------------- */

static void sjob_remove(slurm *s, sjob *j)
{
  if (j->state == SJ_SUBMITTING || j->state == SJ_PENDING)
    s->npending--;
  HASH_DELETE(hh, s->by_name, j);
  if (j->id)
    HASH_DELETE(hid, s->by_id, j);
  free(j->name);
  free(j);
}

static void report(slurm *s, sjob *j, tide_job_state st)
{
  if (j->job)
    tide_cluster_job_state(s->c, j->name, st);
}

/* Report GONE at the next poll and forget the job now. */
static void gone_later(slurm *s, sjob *j)
{
  if (j->job) {
    s->gone = tide__xrealloc(s->gone, (s->ngone + 1) * sizeof *s->gone);
    s->gone[s->ngone++] = tide__xstrdup(j->name);
  }
  sjob_remove(s, j);
}

static void flush_gone(slurm *s)
{
  size_t n = s->ngone;
  char **names = s->gone;
  s->gone = NULL;
  s->ngone = 0;
  for (size_t i = 0; i < n; i++) {
    tide_cluster_job_state(s->c, names[i], TIDE_JOB_GONE);
    free(names[i]);
  }
  free(names);
}

/* Last non-empty line of text, trimmed, into buf. */
static void last_line(const char *text, char *buf, size_t len)
{
  const char *end = text + strlen(text), *start;
  while (end > text && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
    end--;
  start = end;
  while (start > text && start[-1] != '\n')
    start--;
  snprintf(buf, len, "%.*s", (int)(end - start), start);
}

static void drain(slurm *s);
static void scancel_ids(slurm *s, long *ids, size_t n);

static void queue_front(slurm *s, sjob *j)
{
  j->state = SJ_QUEUED;
  j->qnext = s->qhead;
  s->qhead = j;
  if (!s->qtail)
    s->qtail = j;
}

/* A submission failed: the core backs off (docs/design.md §7 "Resource-manager faults").
 * One failure per attempt: sbatch calls that were already running when the
 * first failed go back to the queue instead of counting too. */
static void submit_failed(slurm *s, sjob *j, const char *why)
{
  tide__warn("slurm", "job %s: %s", j->name, why);
  s->npending--;
  if (j->cancel) {
    j->state = SJ_QUEUED;
    gone_later(s, j);
    return;
  }
  if (s->failing && j != s->probe) {
    queue_front(s, j);
    return;
  }
  s->failing = true;
  s->probe = NULL;
  /* forget it before telling the core, which may call us back */
  char *name = tide__xstrdup(j->name);
  j->state = SJ_QUEUED; /* not counted in npending any more */
  sjob_remove(s, j);
  tide_cluster_job_failed(s->c, name, why);
  free(name);
}

static void sbatch_done(slurm *s, int64_t status, char *out, char *errtext, void *arg)
{
  sjob *j = arg;
  long id = strtol(out, NULL, 10);

  if (status != 0 || id <= 0) {
    char line[300], why[400];
    last_line(errtext[0] ? errtext : out, line, sizeof line);
    snprintf(why, sizeof why, "sbatch failed (exit %lld): %s", (long long)status,
             line[0] ? line : "no output");
    submit_failed(s, j, why);
    return;
  }
  if (s->failing)
    tide__info("slurm", "sbatch works again");
  s->failing = false;
  s->probe = NULL;
  j->id = id;
  j->state = SJ_PENDING;
  j->submitted = tide__now();
  HASH_ADD(hid, s->by_id, id, sizeof j->id, j);
  tide__info("slurm", "job %s submitted as SLURM job %ld", j->name, id);
  free(j->job->backend_id);
  j->job->backend_id = tide__xasprintf("%ld", id);
  if (j->cancel) {
    scancel_ids(s, &id, 1);
    j->stopping = true;
  } else {
    report(s, j, TIDE_JOB_PENDING);
  }
  drain(s);
}

static int submit(slurm *s, sjob *j, tide_error *err)
{
  char *argv[] = {"sbatch", "--parsable", NULL};
  char *script = tide__slurm_job_script(&s->o, j->job);
  int rc;

  j->state = SJ_SUBMITTING;
  s->npending++;
  rc = proc_run(s, argv, script, sbatch_done, j, err);
  free(script);
  if (rc < 0) {
    j->state = SJ_QUEUED;
    s->npending--;
  }
  return rc;
}

static void drain(slurm *s)
{
  tide_error err;
  while (s->qhead && s->npending < s->o.max_pending) {
    sjob *j = s->qhead;
    if (s->failing && (s->probe || !s->may_probe))
      break;
    s->qhead = j->qnext;
    if (!s->qhead)
      s->qtail = NULL;
    j->qnext = NULL;
    if (s->failing) {
      s->probe = j;
      s->may_probe = false;
    }
    if (submit(s, j, &err) < 0) {
      s->npending++; /* submit_failed takes it back */
      j->state = SJ_SUBMITTING;
      submit_failed(s, j, err.text);
      s->probe = NULL;
      if (s->failing)
        break;
    }
  }
}

static void scancel_done(slurm *s, int64_t status, char *out, char *errtext, void *arg)
{
  char line[300];
  (void)arg;
  if (status != 0) {
    last_line(errtext, line, sizeof line);
    tide__warn("slurm", "scancel failed (exit %lld): %s", (long long)status, line);
  }
}

static void scancel_ids(slurm *s, long *ids, size_t n)
{
  char **argv;
  tide_error err;

  if (n == 0)
    return;
  argv = tide__xcalloc(n + 2, sizeof *argv);
  argv[0] = "scancel";
  for (size_t i = 0; i < n; i++)
    argv[i + 1] = tide__xasprintf("%ld", ids[i]);
  if (proc_run(s, argv, NULL, scancel_done, NULL, &err) < 0)
    tide__warn("slurm", "%s", err.text);
  for (size_t i = 0; i < n; i++)
    free(argv[i + 1]);
  free(argv);
}

/* ---- the backend operations -------------------------------------------- */

static void ensure_logdir(const char *dir)
{
  char path[4096];
  snprintf(path, sizeof path, "%s", dir);
  for (char *p = path + 1; *p; p++) {
    if (*p == '/') {
      *p = '\0';
      mkdir(path, 0755);
      *p = '/';
    }
  }
  mkdir(path, 0755);
}

static int slurm_scale_up(void *self, tide_cluster *c, tide_job *const *jobs, size_t n,
                          tide_error *err)
{
  slurm *s = self;

  s->c = c;
  if (!s->loop)
    s->loop = tide_cluster_loop(c);
  for (size_t i = 0; i < n; i++) {
    sjob *j;
    HASH_FIND(hh, s->by_name, jobs[i]->name, strlen(jobs[i]->name), j);
    if (j)
      continue; /* already ours */
    j = tide__xcalloc(1, sizeof *j);
    j->name = tide__xstrdup(jobs[i]->name);
    j->job = jobs[i];
    j->state = SJ_QUEUED;
    HASH_ADD_KEYPTR(hh, s->by_name, j->name, strlen(j->name), j);
    if (s->qtail)
      s->qtail->qnext = j;
    else
      s->qhead = j;
    s->qtail = j;
  }
  s->may_probe = true;
  drain(s);
  return 0;
}

static int slurm_scale_down(void *self, tide_cluster *c, tide_job *const *jobs, size_t n,
                            tide_error *err)
{
  slurm *s = self;
  long *ids = tide__xcalloc(n + 1, sizeof *ids);
  size_t nids = 0;

  (void)c;
  (void)err;
  for (size_t i = 0; i < n; i++) {
    sjob *j, **pp;
    HASH_FIND(hh, s->by_name, jobs[i]->name, strlen(jobs[i]->name), j);
    if (!j) {
      /* not ours (any more): tell the core it is gone, or it waits */
      s->gone = tide__xrealloc(s->gone, (s->ngone + 1) * sizeof *s->gone);
      s->gone[s->ngone++] = tide__xstrdup(jobs[i]->name);
      continue;
    }
    if (j->stopping || j->cancel)
      continue;
    switch (j->state) {
    case SJ_QUEUED:
      for (pp = &s->qhead; *pp; pp = &(*pp)->qnext) {
        if (*pp == j) {
          *pp = j->qnext;
          break;
        }
      }
      s->qtail = NULL;
      for (sjob *q = s->qhead; q; q = q->qnext)
        s->qtail = q;
      gone_later(s, j);
      break;
    case SJ_SUBMITTING:
      j->cancel = true; /* scancel once sbatch tells the id */
      break;
    default:
      ids[nids++] = j->id;
      j->stopping = true; /* GONE once squeue no longer lists it */
      break;
    }
  }
  scancel_ids(s, ids, nids);
  free(ids);
  drain(s);
  return 0;
}

static void squeue_done(slurm *s, int64_t status, char *out, char *errtext, void *arg)
{
  sjob *j, *tmp;
  double started = *(double *)arg;
  char *save = NULL;

  free(arg);
  s->polling = false;
  if (status != 0) {
    char line[300];
    last_line(errtext, line, sizeof line);
    tide__warn("slurm", "squeue failed (exit %lld): %s", (long long)status, line);
    return;
  }
  /* mark every job unseen, then read "ID STATE" lines */
  HASH_ITER (hh, s->by_name, j, tmp)
    j->unseen = j->state >= SJ_PENDING;
  for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    char st[64];
    long id;
    if (sscanf(l, "%ld %63s", &id, st) != 2)
      continue;
    HASH_FIND(hid, s->by_id, &id, sizeof id, j);
    if (!j || j->state < SJ_PENDING)
      continue;
    j->unseen = false;
    tide_job_state ts = tide__slurm_state(st);
    if (ts == TIDE_JOB_RUNNING && j->state == SJ_PENDING && !j->stopping) {
      j->state = SJ_RUNNING;
      s->npending--;
      report(s, j, TIDE_JOB_RUNNING);
    } else if (ts == TIDE_JOB_GONE) {
      j->unseen = true; /* finished: treated like absent below */
    }
  }
  HASH_ITER (hh, s->by_name, j, tmp) {
    if (j->state < SJ_PENDING || !j->unseen)
      continue;
    if (j->submitted >= started)
      continue; /* submitted after squeue started: not in its answer yet */
    tide__info("slurm", "job %s (SLURM %ld) is gone", j->name, j->id);
    gone_later(s, j);
  }
  /* report after the walk: the core may call scale_up/scale_down back */
  flush_gone(s);
  drain(s);
}

static int slurm_poll(void *self, tide_cluster *c, tide_error *err)
{
  slurm *s = self;
  char *argv[] = {"squeue", "--me", "-h", "-o", "%i %T", NULL};
  double *started;
  sjob *j, *tmp;
  bool any = false;

  s->c = c;
  if (!s->loop)
    s->loop = tide_cluster_loop(c);
  flush_gone(s);
  if (s->polling)
    return 0;
  HASH_ITER (hh, s->by_name, j, tmp) {
    if (j->state >= SJ_PENDING) {
      any = true;
      break;
    }
  }
  if (!any)
    return 0;
  started = tide__xmalloc(sizeof *started);
  *started = tide__now();
  if (proc_run(s, argv, NULL, squeue_done, started, err) < 0) {
    free(started);
    return TIDE_EBACKEND;
  }
  s->polling = true;
  return 0;
}

/* Append the lines of path (the last max of them) to *lines. */
static void append_file(const char *path, char ***lines, size_t max)
{
  FILE *f = fopen(path, "r");
  char buf[2048];
  size_t n = 0, start;
  char **ring;

  if (!f)
    return;
  ring = tide__xcalloc(max, sizeof *ring);
  while (fgets(buf, sizeof buf, f)) {
    buf[strcspn(buf, "\n")] = '\0';
    free(ring[n % max]);
    ring[n % max] = tide__xstrdup(buf);
    n++;
  }
  fclose(f);
  size_t have = 0;
  if (*lines)
    while ((*lines)[have])
      have++;
  size_t take = n < max ? n : max;
  *lines = tide__xrealloc(*lines, (have + take + 1) * sizeof **lines);
  start = n < max ? 0 : n % max;
  for (size_t i = 0; i < take; i++)
    (*lines)[have + i] = ring[(start + i) % max];
  (*lines)[have + take] = NULL;
  free(ring);
}

static int slurm_logs(void *self, tide_cluster *c, const tide_job *job, char ***lines)
{
  slurm *s = self;
  const char *dir = s->o.log_directory ? s->o.log_directory : ".";
  char path[4096];

  (void)c;
  if (!job->backend_id)
    return 0;
  snprintf(path, sizeof path, "%s/%s-%s.out", dir, job->name, job->backend_id);
  append_file(path, lines, 200);
  snprintf(path, sizeof path, "%s/%s-%s.err", dir, job->name, job->backend_id);
  append_file(path, lines, 200);
  return 0;
}

static void slurm_free(slurm *s)
{
  sjob *j, *tmp;
  HASH_ITER (hh, s->by_name, j, tmp)
    sjob_remove(s, j);
  for (size_t i = 0; i < s->ngone; i++)
    free(s->gone[i]);
  free(s->gone);
  tide__slurm_opts_free(&s->o);
  free(s);
}

/* At exit, cancel what is still in SLURM synchronously: the loop may not
 * run again, and leaving jobs behind would hold the site's nodes. */
static void slurm_destroy(void *self)
{
  slurm *s = self;
  sjob *j, *tmp;
  char **argv;
  size_t n = 0;
  pid_t pid;

  if (!s)
    return;
  argv = tide__xcalloc(HASH_CNT(hh, s->by_name) + 2, sizeof *argv);
  argv[n++] = "scancel";
  HASH_ITER (hh, s->by_name, j, tmp)
    if (j->id)
      argv[n++] = tide__xasprintf("%ld", j->id);
  if (n > 1 && posix_spawnp(&pid, "scancel", NULL, NULL, argv, environ) == 0)
    waitpid(pid, NULL, 0);
  for (size_t i = 1; i < n; i++)
    free(argv[i]);
  free(argv);
  s->destroyed = true;
  if (s->nprocs == 0)
    slurm_free(s);
}

static const tide_backend_ops slurm_ops = {
    .kind = "SLURMCluster",
    .scale_up = slurm_scale_up,
    .scale_down = slurm_scale_down,
    .poll = slurm_poll,
    .poll_interval = 1.0,
    .logs = slurm_logs,
    .destroy = slurm_destroy,
};

int tide__slurm_backend_create(tide__slurm_opts *o, const tide_backend_ops **ops, void **self,
                               tide_error *err)
{
  slurm *s;
  char cwd[4096];

  if (o->max_pending < 1)
    return tide_errprintf(err, TIDE_EUSAGE, "--max-pending must be at least 1");
  /* sbatch may exit before reading its script: no SIGPIPE for that */
  signal(SIGPIPE, SIG_IGN);
  s = tide__xcalloc(1, sizeof *s);
  s->ops = slurm_ops;
  s->ops.max_pending = o->max_pending; /* the controller's default (docs/design.md §7) */
  s->o = *o;
  memset(o, 0, sizeof *o);
  if (!s->o.log_directory && getcwd(cwd, sizeof cwd))
    s->o.log_directory = tide__xstrdup(cwd);
  if (s->o.log_directory && !s->o.dry_run)
    ensure_logdir(s->o.log_directory);
  *ops = &s->ops;
  *self = s;
  return 0;
}

/* --dry-run: the script of the first job, as `tide cluster` would submit
 * it (malloc'd); the command prints it and ends (exit 0) without starting
 * anything. */
static char *dry_run(const tide__slurm_opts *o, const tide__backend_args *a)
{
  const tide_cluster_opts *co = a->opts;
  int p = co && co->processes > 0 ? co->processes : 1;
  const char *name = co && co->name ? co->name : "tide";
  char job_name[256], addr[300];
  char **workers = tide__xcalloc((size_t)p + 1, sizeof *workers);
  tide_job job;
  char *text;

  snprintf(job_name, sizeof job_name, "%s-0", name);
  for (int i = 0; i < p; i++)
    workers[i] = p > 1 ? tide__xasprintf("%s-%d", job_name, i) : tide__xstrdup(job_name);
  snprintf(addr, sizeof addr, "%s://%s:%d", co && co->tls_cert ? "tls" : "tcp",
           co && co->host ? co->host : "127.0.0.1", co ? co->port : 8786);
  memset(&job, 0, sizeof job);
  job.name = job_name;
  job.workers = (const char *const *)workers;
  job.nworkers = p;
  job.nthreads = co && co->nthreads > 0 ? co->nthreads : 1;
  job.memory_limit = co ? co->memory_limit : 0;
  job.lifetime = co ? co->lifetime : 0;
  job.preload = co ? co->preload : NULL;
  job.npreload = co ? co->npreload : 0;
  job.tls_ca_file = co ? co->tls_ca_file : NULL;
  job.tls_cert = co ? co->tls_cert : NULL;
  job.tls_key = co ? co->tls_key : NULL;
  job.scheduler = addr;
  text = tide__slurm_job_script(o, &job);
  for (int i = 0; i < p; i++)
    free(workers[i]);
  free(workers);
  return text;
}

static int slurm_create(const tide__backend_args *a, const tide_backend_ops **ops, void **self,
                        tide_error *err)
{
  tide__slurm_opts o;
  int rc;

  tide__slurm_opts_init(&o, a->cfg);
  if (a->tide_path) {
    /* resolve "/proc/self/exe": the job runs elsewhere, as another process */
    char *real = realpath(a->tide_path, NULL);
    free(o.tide_bin);
    o.tide_bin = real ? real : tide__xstrdup(a->tide_path);
  }
  for (size_t i = 0; i < a->n; i++) {
    const char *v = a->values[i];
    if (strcmp(a->keys[i], "dry-run") == 0) {
      o.dry_run = !v || !(strcmp(v, "0") == 0 || strcmp(v, "false") == 0 || strcmp(v, "no") == 0);
      continue;
    }
    rc = tide__slurm_opts_set(&o, a->keys[i], v, err);
    if (rc < 0) {
      tide__slurm_opts_free(&o);
      return rc;
    }
    if (rc == 0) {
      tide__slurm_opts_free(&o);
      return tide_errprintf(err, TIDE_EUSAGE, "unknown slurm flag --%s", a->keys[i]);
    }
  }
  if (o.dry_run) {
    char *text = dry_run(&o, a);
    tide__slurm_opts_free(&o);
    if (a->output)
      *a->output = text;
    else
      free(text);
    return TIDE__BACKEND_DONE;
  }
  rc = tide__slurm_backend_create(&o, ops, self, err);
  if (rc < 0)
    tide__slurm_opts_free(&o);
  return rc;
}

const tide__backend_def tide__backend_slurm = {
    .name = "slurm",
    .flags = (const char *const[]){"partition", "account", "walltime", "cores", "memory",
                                   "log-directory", "max-pending", "job-extra-directive",
                                   "job-directives-skip", "job-script-prologue", NULL},
    .help = "SLURM jobs through sbatch/squeue/scancel (--partition, --account, --walltime, "
            "--cores, --memory, --log-directory, --max-pending, --job-extra-directive, "
            "--job-directives-skip, --job-script-prologue, --dry-run)",
    .create = slurm_create,
    .switches = (const char *const[]){"dry-run", NULL},
};
