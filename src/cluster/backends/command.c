/* The command backend (docs/design.md §8): two shell templates start and stop
 * a job on a resource manager tide does not know. `--start-cmd` runs with
 * /bin/sh -c and prints the job id on stdout; `--stop-cmd` later gets it as
 * {job_id}. Placeholders: {name} (the job name, which is the worker name
 * when P = 1), {job}, {workers} (space-separated worker names),
 * {scheduler}, {scheduler_file}, {nthreads}, {memory_limit}, {processes},
 * {lifetime}, {job_id}, {pool} (`--pool NAME --resources R` of a pool's
 * job, or nothing), {preload} (`--preload PATH` for each plugin, or
 * nothing), {allow_exec} (`--allow-exec` when `tide cluster --allow-exec`,
 * else nothing), {tls} (`--tls-ca-file P --tls-cert P --tls-key P` when the
 * cluster runs TLS, or nothing). Values are single-quoted for the shell. A
 * start command that exits non-zero (or cannot be run) is a resource-manager
 * failure: the core backs off. Commands are started off the adaptive round
 * through the start queue (pump.h). */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <uv.h>

#include "cluster/backend.h"
#include "cluster/backends/pump.h"
#include "cluster/worker_argv.h"
#include "common/log.h"
#include "common/util.h"
#include "common/vec.h"

typedef struct command {
  tide_backend_ops ops;
  char *start, *stop;
  tide_cluster *c;
  double grace;
  struct run *runs; /* commands in flight */
  tide__pump *pump; /* commands not started yet; NULL until the first */
} command;

/* A command expanded and queued, not started yet. */
typedef struct queued {
  command *cmd;
  bool is_start;
  char *job, *line;
} queued;

/* One /bin/sh -c run with its stdout and stderr collected. */
typedef struct run {
  command *cmd;
  bool is_start;
  char *job; /* job name */
  uv_process_t proc;
  uv_pipe_t out, err;
  tide__text out_text, err_text;
  int nopen;
  bool exited;
  int64_t status;
  int sig;
  uv_timer_t timeout; /* a start/stop command gets 60 s */
  struct run *next, *prev;
} run;

/* Text stops growing past 64 KiB. */
static void append(tide__text *b, const char *s, size_t n)
{
  if (b->n > 65536)
    return;
  tide__text_put(b, s, n);
}

/* A value as is when it is plainly safe for the shell, else single-quoted. */
static void append_value(tide__text *b, const char *v)
{
  bool safe = true;
  for (const char *p = v; *p; p++)
    if (!isalnum((unsigned char)*p) && !strchr("._:/@%+=,-", *p))
      safe = false;
  if (safe) {
    append(b, v, strlen(v));
    return;
  }
  char *q = tide__shell_quote(v);
  append(b, q, strlen(q));
  free(q);
}

/* The worker flags of `which` groups (worker_argv.h), space-separated. */
static void append_flags(tide__text *b, const tide_job *job, unsigned which)
{
  tide__strvec argv = {0};
  tide__worker_flags_append(&argv, job, which);
  for (size_t i = 0; i < argv.n; i++) {
    if (i)
      append(b, " ", 1);
    append_value(b, argv.v[i]);
  }
  tide__strvec_free(&argv);
}

/* Expand {placeholders} of tmpl for job. Unknown ones are kept as is. */
char *tide__command_expand(const char *tmpl, const tide_job *job, const char *job_id)
{
  tide__text out = {0};
  tide__text_put(&out, "", 0); /* "" for an empty template, never NULL */
  char num[64];
  for (const char *p = tmpl; *p;) {
    const char *close = *p == '{' ? strchr(p, '}') : NULL;
    if (!close) {
      append(&out, p, 1);
      p++;
      continue;
    }
    size_t klen = (size_t)(close - p - 1);
    const char *k = p + 1;
#define IS(s) (klen == strlen(s) && strncmp(k, s, klen) == 0)
    if (IS("name") || IS("job")) {
      append_value(&out, job->name);
    } else if (IS("workers")) {
      for (int i = 0; i < job->nworkers; i++) {
        if (i)
          append(&out, " ", 1);
        append_value(&out, job->workers[i]);
      }
    } else if (IS("scheduler")) {
      append_value(&out, job->scheduler);
    } else if (IS("scheduler_file")) {
      append_value(&out, job->scheduler_file ? job->scheduler_file : "");
    } else if (IS("nthreads")) {
      snprintf(num, sizeof num, "%d", job->nthreads);
      append(&out, num, strlen(num));
    } else if (IS("memory_limit")) {
      snprintf(num, sizeof num, "%lld", (long long)job->memory_limit);
      append(&out, num, strlen(num));
    } else if (IS("processes")) {
      snprintf(num, sizeof num, "%d", job->nworkers);
      append(&out, num, strlen(num));
    } else if (IS("lifetime")) {
      snprintf(num, sizeof num, "%g", job->lifetime);
      append(&out, num, strlen(num));
    } else if (IS("job_id")) {
      append_value(&out, job_id ? job_id : "");
    } else if (IS("preload")) {
      append_flags(&out, job, TIDE__WORKER_PRELOAD);
    } else if (IS("allow_exec")) {
      append_flags(&out, job, TIDE__WORKER_ALLOW_EXEC);
    } else if (IS("pool")) { /* `--pool NAME --resources R` of a pool's job, else nothing */
      if (job->pool)
        append_flags(&out, job, TIDE__WORKER_POOL);
    } else if (IS("tls")) {
      if (job->tls_ca_file || job->tls_cert || job->tls_key) {
        if (out.n && out.v[out.n - 1] != ' ')
          append(&out, " ", 1);
        append_flags(&out, job, TIDE__WORKER_TLS);
      }
    } else {
      append(&out, p, klen + 2);
    }
#undef IS
    p = close + 1;
  }
  return out.v;
}

static void run_free(uv_handle_t *h)
{
  run *r = h->data;
  if (--r->nopen > 0)
    return;
  tide__vec_free(&r->out_text);
  tide__vec_free(&r->err_text);
  free(r->job);
  free(r);
}

static void alloc_cb(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
  static char slab[4096];
  b->base = slab;
  b->len = sizeof slab;
}

/* Last non-empty line of s (for error messages), trimmed. */
static void last_line(const char *s, char *out, size_t n)
{
  out[0] = '\0';
  if (!s)
    return;
  const char *end = s + strlen(s);
  while (end > s && isspace((unsigned char)end[-1]))
    end--;
  const char *start = end;
  while (start > s && start[-1] != '\n')
    start--;
  snprintf(out, n, "%.*s", (int)(end - start), start);
}

static void first_line(const char *s, char *out, size_t n)
{
  out[0] = '\0';
  if (!s)
    return;
  while (isspace((unsigned char)*s))
    s++;
  size_t k = strcspn(s, "\r\n");
  while (k > 0 && isspace((unsigned char)s[k - 1]))
    k--;
  snprintf(out, n, "%.*s", (int)k, s);
}

static void run_done(run *r)
{
  command *cmd = r->cmd;
  char line[300];
  if (r->is_start) {
    if (r->status == 0 && !r->sig) {
      char id[256];
      first_line(r->out_text.v, id, sizeof id);
      tide__log(TIDE_LOG_INFO, "backend", "job %s started: job id \"%s\"", r->job, id);
      tide_cluster_job_set_id(cmd->c, r->job, id);
      tide_cluster_job_state(cmd->c, r->job, TIDE_JOB_PENDING);
    } else {
      char why[512];
      last_line(r->err_text.v, line, sizeof line);
      if (r->sig)
        snprintf(why, sizeof why, "start command killed by signal %d%s%s", r->sig,
                 line[0] ? ": " : "", line);
      else
        snprintf(why, sizeof why, "start command exited with status %d%s%s", (int)r->status,
                 line[0] ? ": " : "", line);
      tide_cluster_job_failed(cmd->c, r->job, why);
    }
  } else {
    if (r->status != 0 || r->sig) {
      last_line(r->err_text.v, line, sizeof line);
      tide__log(TIDE_LOG_WARNING, "backend", "stop command for job %s exited with status %d%s%s",
                r->job, (int)r->status, line[0] ? ": " : "", line);
    }
    tide_cluster_job_state(cmd->c, r->job, TIDE_JOB_GONE);
  }
}

static void maybe_done(run *r)
{
  /* the process exited and both pipes are at EOF (or were closed because a
   * background child kept them open after the shell exited) */
  if (!r->exited || !uv_is_closing((uv_handle_t *)&r->out) ||
      !uv_is_closing((uv_handle_t *)&r->err))
    return;
  if (uv_is_closing((uv_handle_t *)&r->timeout))
    return;
  uv_close((uv_handle_t *)&r->timeout, run_free);
  command *cmd = r->cmd;
  if (r->prev)
    r->prev->next = r->next;
  else
    cmd->runs = r->next;
  if (r->next)
    r->next->prev = r->prev;
  run_done(r);
  uv_close((uv_handle_t *)&r->proc, run_free);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
  run *r = s->data;
  bool is_out = s == (uv_stream_t *)&r->out;
  if (n > 0) {
    if (is_out)
      append(&r->out_text, b->base, (size_t)n);
    else
      append(&r->err_text, b->base, (size_t)n);
    return;
  }
  if (n < 0) {
    uv_close((uv_handle_t *)s, run_free);
    maybe_done(r);
  }
}

static void on_linger(uv_timer_t *t)
{
  run *r = t->data;
  if (!uv_is_closing((uv_handle_t *)&r->out))
    uv_close((uv_handle_t *)&r->out, run_free);
  if (!uv_is_closing((uv_handle_t *)&r->err))
    uv_close((uv_handle_t *)&r->err, run_free);
  maybe_done(r);
}

static void on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
  run *r = p->data;
  r->exited = true;
  r->status = status;
  r->sig = sig;
  /* a worker started in the background may hold our pipes: give the
   * output 200 ms to arrive, then stop reading */
  uv_timer_start(&r->timeout, on_linger, 200, 0);
  maybe_done(r);
}

static void on_timeout(uv_timer_t *t)
{
  run *r = t->data;
  tide__log(TIDE_LOG_WARNING, "backend", "%s command for job %s takes too long: killing it",
            r->is_start ? "start" : "stop", r->job);
  uv_process_kill(&r->proc, SIGKILL);
}

static int start_run(command *cmd, const char *job, bool is_start, char *line, tide_error *err)
{
  uv_loop_t *loop = tide_cluster_loop(cmd->c);
  run *r = tide__xcalloc(1, sizeof *r);
  r->cmd = cmd;
  r->is_start = is_start;
  r->job = tide__xstrdup(job);
  uv_pipe_init(loop, &r->out, 0);
  uv_pipe_init(loop, &r->err, 0);
  r->out.data = r->err.data = r->proc.data = r;
  uv_stdio_container_t stdio[3] = {
      {.flags = UV_IGNORE},
      {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&r->out},
      {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&r->err}};
  char *argv[] = {"/bin/sh", "-c", line, NULL};
  uv_process_options_t po = {0};
  po.exit_cb = on_exit_cb;
  po.file = "/bin/sh";
  po.args = argv;
  po.stdio = stdio;
  po.stdio_count = 3;
  tide__log(TIDE_LOG_DEBUG, "backend", "%s job %s: %s", is_start ? "start" : "stop", job, line);
  int rc = uv_spawn(loop, &r->proc, &po);
  free(line);
  r->nopen = 3;
  if (rc < 0) {
    /* the handle is initialised even when spawning fails: close it too */
    uv_close((uv_handle_t *)&r->proc, run_free);
    uv_close((uv_handle_t *)&r->out, run_free);
    uv_close((uv_handle_t *)&r->err, run_free);
    return tide_errprintf(err, TIDE_EBACKEND, "cannot run /bin/sh: %s", uv_strerror(rc));
  }
  r->nopen = 4;
  uv_timer_init(loop, &r->timeout);
  r->timeout.data = r;
  uv_timer_start(&r->timeout, on_timeout, 60000, 0);
  uv_read_start((uv_stream_t *)&r->out, alloc_cb, on_read);
  uv_read_start((uv_stream_t *)&r->err, alloc_cb, on_read);
  r->next = cmd->runs;
  if (cmd->runs)
    cmd->runs->prev = r;
  cmd->runs = r;
  return 0;
}

static void queued_free(void *arg)
{
  queued *q = arg;
  free(q->job);
  free(q->line);
  free(q);
}

/* A queued command's turn (pump.h). One that cannot be started fails its
 * job (start) or leaves it to go away by itself (stop). */
static void run_queued(void *arg)
{
  queued *q = arg;
  tide_error err = {{0}};
  char *line = q->line;
  q->line = NULL; /* start_run frees it */
  if (start_run(q->cmd, q->job, q->is_start, line, &err) < 0) {
    if (q->is_start) {
      tide_cluster_job_failed(q->cmd->c, q->job, err.text);
    } else {
      tide__log(TIDE_LOG_WARNING, "backend", "stop command for job %s: %s", q->job, err.text);
      tide_cluster_job_state(q->cmd->c, q->job, TIDE_JOB_GONE);
    }
  }
  queued_free(q);
}

static void enqueue(command *cmd, const tide_job *job, bool is_start, const char *tmpl)
{
  if (!cmd->pump)
    cmd->pump = tide__pump_create(tide_cluster_loop(cmd->c), "backend command(s)");
  queued *q = tide__xcalloc(1, sizeof *q);
  q->cmd = cmd;
  q->is_start = is_start;
  q->job = tide__xstrdup(job->name);
  /* expanded now: the job may be gone by the time the command starts */
  q->line = tide__command_expand(tmpl, job, job->backend_id);
  tide__pump_push(cmd->pump, run_queued, queued_free, q);
}

static int cmd_scale_up(void *self, tide_cluster *c, tide_job *const *jobs, size_t n,
                        tide_error *err)
{
  command *cmd = self;
  cmd->c = c;
  for (size_t i = 0; i < n; i++)
    enqueue(cmd, jobs[i], true, cmd->start);
  return 0;
}

static int cmd_scale_down(void *self, tide_cluster *c, tide_job *const *jobs, size_t n,
                          tide_error *err)
{
  command *cmd = self;
  cmd->c = c;
  for (size_t i = 0; i < n; i++) {
    if (!cmd->stop) {
      /* nothing to run: retired workers close themselves */
      tide_cluster_job_state(c, jobs[i]->name, TIDE_JOB_GONE);
      continue;
    }
    enqueue(cmd, jobs[i], false, cmd->stop);
  }
  return 0;
}

static void cmd_destroy(void *self)
{
  command *cmd = self;
  for (run *r = cmd->runs; r; r = r->next)
    if (!r->exited)
      uv_process_kill(&r->proc, SIGKILL);
  tide__pump_destroy(cmd->pump);
  free(cmd->start);
  free(cmd->stop);
  free(cmd);
}

static int cmd_create(const tide__backend_args *a, const tide_backend_ops **ops, void **self,
                      tide_error *err)
{
  const char *start = tide__backend_arg(a, "start-cmd");
  const char *stop = tide__backend_arg(a, "stop-cmd");
  if (!start || !*start)
    return tide_errprintf(err, TIDE_EUSAGE, "--backend command needs --start-cmd");
  /* plugins the start command would silently not load: refused up front */
  if (a->opts && a->opts->npreload > 0 && !strstr(start, "{preload}"))
    return tide_errprintf(err, TIDE_EUSAGE,
                          "--start-cmd: plugins are to be preloaded (--preload or worker.preload) "
                          "but the command has no {preload} placeholder");
  if (a->opts && a->opts->allow_exec && !strstr(start, "{allow_exec}"))
    return tide_errprintf(err, TIDE_EUSAGE,
                          "--start-cmd: workers are to allow tide.exec (--allow-exec) but the "
                          "command has no {allow_exec} placeholder");
  if (a->opts && a->opts->tls_cert && !strstr(start, "{tls}"))
    return tide_errprintf(err, TIDE_EUSAGE,
                          "--start-cmd: the cluster runs TLS but the command has no {tls} "
                          "placeholder for the workers' certificate flags");
  command *cmd = tide__xcalloc(1, sizeof *cmd);
  cmd->start = tide__xstrdup(start);
  cmd->stop = stop && *stop ? tide__xstrdup(stop) : NULL;
  cmd->grace = a->kill_grace;
  cmd->ops.kind = "CommandCluster";
  cmd->ops.scale_up = cmd_scale_up;
  cmd->ops.scale_down = cmd_scale_down;
  cmd->ops.destroy = cmd_destroy;
  *ops = &cmd->ops;
  *self = cmd;
  return 0;
}

const tide__backend_def tide__backend_command = {
    .name = "command",
    .flags = (const char *const[]){"start-cmd", "stop-cmd", NULL},
    .help = "your own start/stop shell commands (--start-cmd, --stop-cmd)",
    .create = cmd_create,
};
