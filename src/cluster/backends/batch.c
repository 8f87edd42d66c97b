/* The engine of the batch-queue backends (SLURM, SGE): a submit command
 * that reads the job script on stdin and prints the job id, a cancel
 * command, and one status command per poll for every job's state, as the
 * resource manager's table (batch.h) names them. Every command runs through
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
#include "cluster/backends/batch.h"
#include "common/log.h"
#include "common/util.h"
#include "common/vec.h"

extern char **environ;

typedef enum sjob_state {
  SJ_QUEUED = 0, /* waiting here for a max-pending slot */
  SJ_SUBMITTING, /* the submit command running */
  SJ_PENDING,    /* in the resource manager's queue */
  SJ_RUNNING,
} sjob_state;

typedef struct sjob {
  char *name;
  tide_job *job; /* the core's job: valid until we report it GONE */
  long id;       /* the resource manager's job id, 0 until submit answered */
  sjob_state state;
  bool cancel;        /* scale_down came while submit ran */
  bool stopping;      /* cancel sent; GONE is reported once the poll agrees */
  bool unseen;        /* not (or as finished) in the current poll answer */
  double submitted;   /* tide__now() when submit answered */
  struct sjob *qnext; /* local queue */
  UT_hash_handle hh;  /* by name */
  UT_hash_handle hid; /* by id, once known */
} sjob;

typedef struct batch {
  tide_backend_ops ops; /* batch_ops with this cluster's kind and max_pending */
  const tide__batch_rm *rm;
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
  bool failing;      /* the last submit failed: submit one probe at a time */
  sjob *probe;       /* the job whose submit decides, while failing */
  bool may_probe;    /* scale_up came (after the core's backoff): try one */
  tide__strvec gone; /* job names to report GONE at the next poll (never
                      * from inside scale_down: the core is iterating) */
} batch;

/* ---- subprocesses ------------------------------------------------------ */

typedef void (*proc_done_fn)(batch *s, int64_t status, char *out, char *errtext, void *arg);

typedef struct proc {
  uv_process_t p;
  uv_pipe_t in, out, err;
  uv_write_t w;
  char *input;
  tide__text out_text, err_text; /* the first 64 KiB of each */
  int64_t status;
  int open;   /* handles not yet closed */
  int events; /* exit + two EOFs */
  proc_done_fn done;
  void *arg;
  batch *s;
} proc;

static void batch_free(batch *s);

static void proc_closed(uv_handle_t *h)
{
  proc *p = h->data;
  if (--p->open > 0)
    return;
  batch *s = p->s;
  free(p->input);
  tide__vec_free(&p->out_text);
  tide__vec_free(&p->err_text);
  free(p);
  if (--s->nprocs == 0 && s->destroyed)
    batch_free(s);
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
    p->done(p->s, p->status, p->out_text.v ? p->out_text.v : "", p->err_text.v ? p->err_text.v : "",
            p->arg);
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
  tide__text *b = is_out ? &p->out_text : &p->err_text;

  if (n > 0) {
    if (b->n < 65536)
      tide__text_put(b, buf->base, (size_t)n);
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
static int proc_run(batch *s, char **argv, const char *input, proc_done_fn done, void *arg,
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

static void sjob_remove(batch *s, sjob *j)
{
  if (j->state == SJ_SUBMITTING || j->state == SJ_PENDING)
    s->npending--;
  HASH_DELETE(hh, s->by_name, j);
  if (j->id)
    HASH_DELETE(hid, s->by_id, j);
  free(j->name);
  free(j);
}

static void report(batch *s, sjob *j, tide_job_state st)
{
  if (j->job)
    tide_cluster_job_state(s->c, j->name, st);
}

/* Report GONE at the next poll and forget the job now. */
static void gone_later(batch *s, sjob *j)
{
  if (j->job) {
    tide__vec_push(&s->gone, tide__xstrdup(j->name));
  }
  sjob_remove(s, j);
}

static void flush_gone(batch *s)
{
  tide__strvec names = s->gone; /* reporting may queue more */
  s->gone = (tide__strvec){0};
  for (size_t i = 0; i < names.n; i++)
    tide_cluster_job_state(s->c, names.v[i], TIDE_JOB_GONE);
  tide__strvec_free(&names);
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

/* The non-empty lines of text joined by spaces into buf, the end kept when
 * it is too long: qsub ends its reason with a line of its own ("Exiting."). */
static void all_lines(const char *text, char *buf, size_t len)
{
  size_t n = 0, skip;
  char *joined = tide__xmalloc(strlen(text) + 1);

  for (const char *p = text; *p; p++) {
    char c = *p == '\n' || *p == '\r' ? ' ' : *p;
    if (c == ' ' && (n == 0 || joined[n - 1] == ' '))
      continue;
    joined[n++] = c;
  }
  while (n > 0 && joined[n - 1] == ' ')
    n--;
  skip = n >= len ? n - (len - 1) : 0;
  snprintf(buf, len, "%.*s", (int)(n - skip), joined + skip);
  free(joined);
}

static void drain(batch *s);
static void cancel_ids(batch *s, long *ids, size_t n);

static void queue_front(batch *s, sjob *j)
{
  j->state = SJ_QUEUED;
  j->qnext = s->qhead;
  s->qhead = j;
  if (!s->qtail)
    s->qtail = j;
}

/* A submission failed: the core backs off (docs/design.md §7 "Resource-manager faults").
 * One failure per attempt: submit calls that were already running when the
 * first failed go back to the queue instead of counting too. */
static void submit_failed(batch *s, sjob *j, const char *why)
{
  tide__warn(s->rm->tag, "job %s: %s", j->name, why);
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

static void submit_done(batch *s, int64_t status, char *out, char *errtext, void *arg)
{
  sjob *j = arg;
  long id = strtol(out, NULL, 10);

  if (status != 0 || id <= 0) {
    char line[300], why[400];
    all_lines(errtext[0] ? errtext : out, line, sizeof line);
    snprintf(why, sizeof why, "%s failed (exit %lld): %s", s->rm->submit[0], (long long)status,
             line[0] ? line : "no output");
    submit_failed(s, j, why);
    return;
  }
  if (s->failing)
    tide__info(s->rm->tag, "%s works again", s->rm->submit[0]);
  s->failing = false;
  s->probe = NULL;
  j->id = id;
  j->state = SJ_PENDING;
  j->submitted = tide__now();
  HASH_ADD(hid, s->by_id, id, sizeof j->id, j);
  tide__info(s->rm->tag, "job %s submitted as %s job %ld", j->name, s->rm->label, id);
  free(j->job->backend_id);
  j->job->backend_id = tide__xasprintf("%ld", id);
  if (j->cancel) {
    cancel_ids(s, &id, 1);
    j->stopping = true;
  } else {
    report(s, j, TIDE_JOB_PENDING);
  }
  drain(s);
}

static int submit(batch *s, sjob *j, tide_error *err)
{
  char *script = s->rm->script(&s->o, j->job);
  int rc;

  j->state = SJ_SUBMITTING;
  s->npending++;
  rc = proc_run(s, (char **)s->rm->submit, script, submit_done, j, err);
  free(script);
  if (rc < 0) {
    j->state = SJ_QUEUED;
    s->npending--;
  }
  return rc;
}

static void drain(batch *s)
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

static void cancel_done(batch *s, int64_t status, char *out, char *errtext, void *arg)
{
  char line[300];
  (void)arg;
  if (status != 0) {
    last_line(errtext, line, sizeof line);
    tide__warn(s->rm->tag, "%s failed (exit %lld): %s", s->rm->cancel, (long long)status, line);
  }
}

static void cancel_ids(batch *s, long *ids, size_t n)
{
  char **argv;
  tide_error err;

  if (n == 0)
    return;
  argv = tide__xcalloc(n + 2, sizeof *argv);
  argv[0] = (char *)s->rm->cancel;
  for (size_t i = 0; i < n; i++)
    argv[i + 1] = tide__xasprintf("%ld", ids[i]);
  if (proc_run(s, argv, NULL, cancel_done, NULL, &err) < 0)
    tide__warn(s->rm->tag, "%s", err.text);
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

static int batch_scale_up(void *self, tide_cluster *c, tide_job *const *jobs, size_t n,
                          tide_error *err)
{
  batch *s = self;

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

static int batch_scale_down(void *self, tide_cluster *c, tide_job *const *jobs, size_t n,
                            tide_error *err)
{
  batch *s = self;
  long *ids = tide__xcalloc(n + 1, sizeof *ids);
  size_t nids = 0;

  (void)c;
  (void)err;
  for (size_t i = 0; i < n; i++) {
    sjob *j, **pp;
    HASH_FIND(hh, s->by_name, jobs[i]->name, strlen(jobs[i]->name), j);
    if (!j) {
      /* not ours (any more): tell the core it is gone, or it waits */
      tide__vec_push(&s->gone, tide__xstrdup(jobs[i]->name));
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
      j->cancel = true; /* cancel once submit tells the id */
      break;
    default:
      ids[nids++] = j->id;
      j->stopping = true; /* GONE once the poll no longer lists it */
      break;
    }
  }
  cancel_ids(s, ids, nids);
  free(ids);
  drain(s);
  return 0;
}

/* One job of the poll's answer. */
static void seen(void *arg, long id, tide_job_state ts)
{
  batch *s = arg;
  sjob *j;

  HASH_FIND(hid, s->by_id, &id, sizeof id, j);
  if (!j || j->state < SJ_PENDING)
    return;
  j->unseen = false;
  if (ts == TIDE_JOB_RUNNING && j->state == SJ_PENDING && !j->stopping) {
    j->state = SJ_RUNNING;
    s->npending--;
    report(s, j, TIDE_JOB_RUNNING);
  } else if (ts == TIDE_JOB_GONE) {
    j->unseen = true; /* finished: treated like absent below */
  }
}

static void poll_done(batch *s, int64_t status, char *out, char *errtext, void *arg)
{
  sjob *j, *tmp;
  double started = *(double *)arg;

  free(arg);
  s->polling = false;
  if (status != 0) {
    char line[300];
    last_line(errtext, line, sizeof line);
    tide__warn(s->rm->tag, "%s failed (exit %lld): %s", s->rm->poll[0], (long long)status, line);
    return;
  }
  /* mark every job unseen; the parser names each job its answer lists */
  HASH_ITER (hh, s->by_name, j, tmp)
    j->unseen = j->state >= SJ_PENDING;
  s->rm->parse_poll(out, seen, s);
  HASH_ITER (hh, s->by_name, j, tmp) {
    if (j->state < SJ_PENDING || !j->unseen)
      continue;
    if (j->submitted >= started)
      continue; /* submitted after the poll started: not in its answer yet */
    tide__info(s->rm->tag, "job %s (%s %ld) is gone", j->name, s->rm->label, j->id);
    gone_later(s, j);
  }
  /* report after the walk: the core may call scale_up/scale_down back */
  flush_gone(s);
  drain(s);
}

static int batch_poll(void *self, tide_cluster *c, tide_error *err)
{
  batch *s = self;
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
  if (proc_run(s, (char **)s->rm->poll, NULL, poll_done, started, err) < 0) {
    free(started);
    return TIDE_EBACKEND;
  }
  s->polling = true;
  return 0;
}

/* Append the lines of path (the last max of them) to *lines. */
static void append_file(const char *path, tide__strvec *out, size_t max)
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
  size_t take = n < max ? n : max;
  (void)tide__vec_reserve(out, take + 1);
  start = n < max ? 0 : n % max;
  for (size_t i = 0; i < take; i++)
    tide__vec_push(out, ring[(start + i) % max]);
  free(ring);
}

static int batch_logs(void *self, tide_cluster *c, const tide_job *job, char ***lines)
{
  batch *s = self;
  const char *dir = s->o.log_directory ? s->o.log_directory : ".";
  char path[4096];

  (void)c;
  if (!job->backend_id)
    return 0;
  /* *lines is NULL-terminated: its allocation holds n + 1 pointers */
  tide__strvec v = {.v = *lines};
  while (v.v && v.v[v.n])
    v.n++;
  v.cap = v.v ? v.n + 1 : 0;
  snprintf(path, sizeof path, "%s/%s-%s.out", dir, job->name, job->backend_id);
  append_file(path, &v, 200);
  snprintf(path, sizeof path, "%s/%s-%s.err", dir, job->name, job->backend_id);
  append_file(path, &v, 200);
  if (v.v) {
    *tide__vec_reserve(&v, 1) = NULL;
    *lines = v.v;
  }
  return 0;
}

static void batch_free(batch *s)
{
  sjob *j, *tmp;
  HASH_ITER (hh, s->by_name, j, tmp)
    sjob_remove(s, j);
  tide__strvec_free(&s->gone);
  tide__slurm_opts_free(&s->o);
  free(s);
}

/* At exit, cancel what is still queued synchronously: the loop may not
 * run again, and leaving jobs behind would hold the site's nodes. */
static void batch_destroy(void *self)
{
  batch *s = self;
  sjob *j, *tmp;
  char **argv;
  size_t n = 0;
  pid_t pid;

  if (!s)
    return;
  argv = tide__xcalloc(HASH_CNT(hh, s->by_name) + 2, sizeof *argv);
  argv[n++] = (char *)s->rm->cancel;
  HASH_ITER (hh, s->by_name, j, tmp)
    if (j->id)
      argv[n++] = tide__xasprintf("%ld", j->id);
  if (n > 1 && posix_spawnp(&pid, s->rm->cancel, NULL, NULL, argv, environ) == 0)
    waitpid(pid, NULL, 0);
  for (size_t i = 1; i < n; i++)
    free(argv[i]);
  free(argv);
  s->destroyed = true;
  if (s->nprocs == 0)
    batch_free(s);
}

static const tide_backend_ops batch_ops = {
    .scale_up = batch_scale_up,
    .scale_down = batch_scale_down,
    .poll = batch_poll,
    .poll_interval = 1.0,
    .logs = batch_logs,
    .destroy = batch_destroy,
};

int tide__batch_backend_create(const tide__batch_rm *rm, tide__slurm_opts *o,
                               const tide_backend_ops **ops, void **self, tide_error *err)
{
  batch *s;
  char cwd[4096];

  if (o->max_pending < 1)
    return tide_errprintf(err, TIDE_EUSAGE, "--max-pending must be at least 1");
  /* a submit command may exit before reading its script: no SIGPIPE for that */
  signal(SIGPIPE, SIG_IGN);
  s = tide__xcalloc(1, sizeof *s);
  s->ops = batch_ops;
  s->ops.kind = rm->kind;
  s->rm = rm;
  s->ops.max_pending = o->max_pending; /* the controller's default (docs/design.md §7) */
  s->o = *o;
  memset(o, 0, sizeof *o);
  /* the workers prove the cluster's token (docs/security.md): the job
   * script exports where it is, whatever the resource manager passes on */
  const char *tf = getenv("TIDE_AUTH__TOKEN_FILE");
  if (!s->o.token_file && tf && *tf)
    s->o.token_file = tide__xstrdup(tf);
  if (!s->o.log_directory && getcwd(cwd, sizeof cwd))
    s->o.log_directory = tide__xstrdup(cwd);
  if (s->o.log_directory && !s->o.dry_run)
    ensure_logdir(s->o.log_directory);
  *ops = &s->ops;
  *self = s;
  return 0;
}

/* ---- creation from the command line ---------------------------------------- */

/* --dry-run: the script of the first job, as `tide cluster` would submit
 * it (malloc'd); the command prints it and ends (exit 0) without starting
 * anything. */
static char *dry_run(const tide__batch_rm *rm, const tide__slurm_opts *o,
                     const tide__backend_args *a)
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
  job.allow_exec = co ? co->allow_exec : 0;
  job.tls_ca_file = co ? co->tls_ca_file : NULL;
  job.tls_cert = co ? co->tls_cert : NULL;
  job.tls_key = co ? co->tls_key : NULL;
  job.scheduler = addr;
  text = rm->script(o, &job);
  for (int i = 0; i < p; i++)
    free(workers[i]);
  free(workers);
  return text;
}

int tide__batch_create(const tide__batch_rm *rm, const tide__backend_def *def, tide__slurm_opts *o,
                       const tide__backend_args *a, const tide_backend_ops **ops, void **self,
                       tide_error *err)
{
  int rc;

  if (a->tide_path) {
    /* resolve "/proc/self/exe": the job runs elsewhere, as another process */
    char *real = realpath(a->tide_path, NULL);
    free(o->tide_bin);
    o->tide_bin = real ? real : tide__xstrdup(a->tide_path);
  }
  for (size_t i = 0; i < a->n; i++) {
    const char *v = a->values[i];
    if (strcmp(a->keys[i], "dry-run") == 0) {
      o->dry_run = !v || !(strcmp(v, "0") == 0 || strcmp(v, "false") == 0 || strcmp(v, "no") == 0);
      continue;
    }
    /* the shared setter knows every batch system's names: only this one's */
    rc = tide__backend_has_flag(def, a->keys[i]) ? tide__slurm_opts_set(o, a->keys[i], v, err) : 0;
    if (rc <= 0) {
      tide__slurm_opts_free(o);
      return rc < 0
                 ? rc
                 : tide_errprintf(err, TIDE_EUSAGE, "unknown %s flag --%s", def->name, a->keys[i]);
    }
  }
  if (o->dry_run) {
    char *text = dry_run(rm, o, a);
    tide__slurm_opts_free(o);
    if (a->output)
      *a->output = text;
    else
      free(text);
    return TIDE__BACKEND_DONE;
  }
  rc = tide__batch_backend_create(rm, o, ops, self, err);
  if (rc < 0)
    tide__slurm_opts_free(o);
  return rc;
}
