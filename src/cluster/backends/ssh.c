/* The ssh backend (docs/backends.md): a job is one ssh session to a host
 * running the job's P workers (tide__ssh_remote_command). ssh runs through
 * libuv's process API, so the loop never waits on it. Stopping a job
 * closes the session's standard input, which ends its workers on the far
 * side; ssh is killed if the session outlives the grace period. An ssh
 * that exits 255 (cannot connect, refused, connection lost) is a
 * resource-manager failure (docs/design.md §7) and the host is left alone
 * for a while (tide__ssh_host_backoff); jobs go to the other hosts. */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netdb.h>
#include <unistd.h>
#include <uthash.h>
#include <uv.h>

#include "cluster/backend.h"
#include "cluster/backends/ssh.h"
#include "cluster/worker_argv.h"
#include "common/log.h"
#include "common/util.h"
#include "common/vec.h"

typedef struct sjob {
  char *name;
  struct sshb *b;
  int host;
  int nworkers;
  uv_process_t proc;
  uv_pipe_t in, err;
  char tail[1024]; /* the last stderr line (for failures) */
  char line[1024]; /* the stderr line being read */
  size_t linelen;
  int nopen;
  bool exited, stopping, err_eof, ended;
  int64_t status;
  int sig;
  uv_timer_t kill; /* SIGKILL after a stop; after exit, the stderr linger */
  UT_hash_handle hh;
} sjob;

typedef struct sshb {
  tide_backend_ops ops;
  tide__ssh_host *hosts;
  size_t nhosts;
  tide__strvec ssh_args; /* -F/-o arguments before the host */
  tide__strvec env;      /* "K=V" the remote shell exports */
  char *remote_tide;
  double grace, stagger;
  tide_cluster *c;
  sjob *jobs;
} sshb;

static void sjob_closed(uv_handle_t *h)
{
  sjob *j = h->data;
  if (--j->nopen == 0) {
    free(j->name);
    free(j);
  }
}

static void job_end(sjob *j, int64_t status, int sig)
{
  sshb *b = j->b;
  tide__ssh_host *h = &b->hosts[j->host];
  h->used -= j->nworkers;
  HASH_DEL(b->jobs, j);
  if (status == 255) {
    /* ssh itself failed: the host did not answer, let us in, or went
     * away; even a session being stopped says the host is unreachable */
    h->failures++;
    double d = tide__ssh_host_backoff(h->failures);
    h->retry_at = tide__now() + d;
    char why[1400];
    snprintf(why, sizeof why, "ssh to %s failed (not used for %.0f s)%s%s", h->name, d,
             j->tail[0] ? ": " : "", j->tail);
    if (!j->stopping) {
      tide_cluster_job_failed(b->c, j->name, why);
      return;
    }
    tide__log(TIDE_LOG_WARNING, "backend", "job %s: %s", j->name, why);
    tide_cluster_job_state(b->c, j->name, TIDE_JOB_GONE);
    return;
  }
  if (!j->stopping && (status != 0 || sig))
    tide__log(TIDE_LOG_WARNING, "backend", "ssh session of job %s on %s ended (status %d%s%s)%s%s",
              j->name, h->name, (int)status, sig ? ", signal " : "", sig ? strsignal(sig) : "",
              j->tail[0] ? ": " : "", j->tail);
  tide_cluster_job_state(b->c, j->name, TIDE_JOB_GONE);
}

/* Once ssh exited and its stderr is read to the end (or has lingered),
 * so that a failure carries ssh's own message. */
static void maybe_end(sjob *j, bool lingered)
{
  if (!j->exited || j->ended || (!j->err_eof && !lingered))
    return;
  j->ended = true;
  job_end(j, j->status, j->sig);
  if (!uv_is_closing((uv_handle_t *)&j->in))
    uv_close((uv_handle_t *)&j->in, sjob_closed);
  if (!uv_is_closing((uv_handle_t *)&j->err))
    uv_close((uv_handle_t *)&j->err, sjob_closed);
  uv_close((uv_handle_t *)&j->kill, sjob_closed);
  uv_close((uv_handle_t *)&j->proc, sjob_closed);
}

static void on_linger(uv_timer_t *t)
{
  maybe_end(t->data, true);
}

static void on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
  sjob *j = p->data;
  j->exited = true;
  j->status = status;
  j->sig = sig;
  uv_timer_start(&j->kill, on_linger, 200, 0);
  maybe_end(j, false);
}

static void alloc_cb(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
  static char slab[4096];
  b->base = slab;
  b->len = sizeof slab;
}

/* The session's stderr: the workers' log lines (logged with the host's
 * name) and ssh's own errors (the last line is kept for a failure). */
static void on_err(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
  sjob *j = s->data;
  if (n < 0) {
    uv_read_stop(s);
    j->err_eof = true;
    maybe_end(j, false);
    return;
  }
  for (ssize_t i = 0; i < n; i++) {
    char ch = buf->base[i];
    if (ch != '\n' && j->linelen < sizeof j->line - 1) {
      j->line[j->linelen++] = ch;
      continue;
    }
    if (ch != '\n')
      continue;
    j->line[j->linelen] = '\0';
    while (j->linelen > 0 && isspace((unsigned char)j->line[j->linelen - 1]))
      j->line[--j->linelen] = '\0';
    if (j->linelen > 0) {
      tide__log(TIDE_LOG_INFO, "backend", "[%s %s] %s", j->b->hosts[j->host].name, j->name,
                j->line);
      snprintf(j->tail, sizeof j->tail, "%s", j->line);
    }
    j->linelen = 0;
  }
}

static void on_kill(uv_timer_t *t)
{
  sjob *j = t->data;
  tide__log(TIDE_LOG_WARNING, "backend", "ssh session of job %s outlived its stop: SIGKILL",
            j->name);
  uv_process_kill(&j->proc, SIGKILL);
}

static void stop_job(sjob *j)
{
  if (j->stopping || j->exited)
    return;
  j->stopping = true;
  /* EOF on the session's input ends its workers on the far side */
  if (!uv_is_closing((uv_handle_t *)&j->in))
    uv_close((uv_handle_t *)&j->in, sjob_closed);
  uv_timer_start(&j->kill, on_kill, (uint64_t)((j->b->grace + 10) * 1000), 0);
}

static int start_job(sshb *b, tide_job *job, int hi, tide_error *err)
{
  uv_loop_t *loop = tide_cluster_loop(b->c);
  tide__ssh_host *h = &b->hosts[hi];
  char *remote = tide__ssh_remote_command(job, b->remote_tide, (const char *const *)b->env.v,
                                          b->env.n, b->stagger, b->grace);
  tide__strvec argv = {0};
  tide__vec_push(&argv, tide__xstrdup("ssh"));
  for (size_t i = 0; i < b->ssh_args.n; i++)
    tide__vec_push(&argv, tide__xstrdup(b->ssh_args.v[i]));
  /* after the user's options, which ssh lets win: fail rather than prompt,
   * and notice a peer that went away */
  const char *fixed[] = {"-o",   "BatchMode=yes",         "-o", "ServerAliveInterval=5",
                         "-o",   "ServerAliveCountMax=3", "-T", "--",
                         h->name};
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
    tide__vec_push(&argv, tide__xstrdup(fixed[i]));
  tide__vec_push(&argv, remote); /* freed with argv */
  tide__vec_push(&argv, NULL);   /* execvp's terminator */

  sjob *j = tide__xcalloc(1, sizeof *j);
  j->name = tide__xstrdup(job->name);
  j->b = b;
  j->host = hi;
  j->nworkers = job->nworkers;
  uv_pipe_init(loop, &j->in, 0);
  uv_pipe_init(loop, &j->err, 0);
  uv_timer_init(loop, &j->kill);
  j->in.data = j->err.data = j->proc.data = j->kill.data = j;
  uv_stdio_container_t stdio[3] = {
      {.flags = UV_CREATE_PIPE | UV_READABLE_PIPE, .data.stream = (uv_stream_t *)&j->in},
      {.flags = UV_INHERIT_FD, .data.fd = 2},
      {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&j->err}};
  uv_process_options_t po = {0};
  po.exit_cb = on_exit_cb;
  po.file = "ssh";
  po.args = argv.v;
  po.stdio = stdio;
  po.stdio_count = 3;
  tide__log(TIDE_LOG_DEBUG, "backend", "job %s on %s: ssh %s", job->name, h->name, remote);
  int rc = uv_spawn(loop, &j->proc, &po);
  tide__strvec_free(&argv);
  j->nopen = 4;
  if (rc < 0) {
    uv_close((uv_handle_t *)&j->proc, sjob_closed);
    uv_close((uv_handle_t *)&j->in, sjob_closed);
    uv_close((uv_handle_t *)&j->err, sjob_closed);
    uv_close((uv_handle_t *)&j->kill, sjob_closed);
    return tide_errprintf(err, TIDE_EBACKEND, "cannot run ssh: %s", uv_strerror(rc));
  }
  uv_read_start((uv_stream_t *)&j->err, alloc_cb, on_err);
  h->used += job->nworkers;
  HASH_ADD_KEYPTR(hh, b->jobs, j->name, strlen(j->name), j);
  job->backend_id = tide__xasprintf("%s:%d", h->name, j->proc.pid);
  tide__log(TIDE_LOG_INFO, "backend", "job %s: ssh session to %s (pid %d)", job->name, h->name,
            j->proc.pid);
  return 0;
}

static int ssh_scale_up(void *self, tide_cluster *c, tide_job *const *jobs, size_t n,
                        tide_error *err)
{
  sshb *b = self;
  b->c = c;
  double now = tide__now();
  for (size_t k = 0; k < n; k++) {
    int hi = tide__ssh_place(b->hosts, b->nhosts, jobs[k]->nworkers, now);
    int rc = hi < 0 ? tide_errprintf(err, TIDE_EBACKEND,
                                     "no host has room for %d more worker(s) (%zu host(s); those "
                                     "that failed are retried later)",
                                     jobs[k]->nworkers, b->nhosts)
                    : start_job(b, jobs[k], hi, err);
    if (rc < 0) {
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

static int ssh_scale_down(void *self, tide_cluster *c, tide_job *const *jobs, size_t n,
                          tide_error *err)
{
  sshb *b = self;
  for (size_t k = 0; k < n; k++) {
    sjob *j = NULL;
    HASH_FIND_STR(b->jobs, jobs[k]->name, j);
    if (j)
      stop_job(j);
    else
      tide_cluster_job_state(c, jobs[k]->name, TIDE_JOB_GONE);
  }
  return 0;
}

/* A host that answers again after a failure is in good standing. The
 * cluster's poll runs every second; a session alive past its first poll
 * means ssh got through. */
static int ssh_poll(void *self, tide_cluster *c, tide_error *err)
{
  sshb *b = self;
  sjob *j, *tmp;
  HASH_ITER (hh, b->jobs, j, tmp)
    if (!j->exited && !j->stopping)
      b->hosts[j->host].failures = 0;
  return 0;
}

static void ssh_destroy(void *self)
{
  sshb *b = self;
  sjob *j, *tmp;
  /* the cluster is going away: ssh sessions end, and with them their
   * workers on the far side */
  HASH_ITER (hh, b->jobs, j, tmp) {
    if (!j->exited)
      uv_process_kill(&j->proc, SIGKILL);
    HASH_DEL(b->jobs, j);
    /* no callback may reach b from here on: the job's handles close now and
     * the last close frees it (the cluster runs the loop once more) */
    j->ended = true;
    uv_handle_t *hs[] = {(uv_handle_t *)&j->in, (uv_handle_t *)&j->err, (uv_handle_t *)&j->kill,
                         (uv_handle_t *)&j->proc};
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
      if (!uv_is_closing(hs[i]))
        uv_close(hs[i], sjob_closed);
  }
  tide__ssh_free_hosts(b->hosts, b->nhosts);
  tide__strvec_free(&b->ssh_args);
  tide__strvec_free(&b->env);
  free(b->remote_tide);
  free(b);
}

static int read_file(const char *path, char **out, tide_error *err)
{
  FILE *f = fopen(path, "r");
  if (!f)
    return tide_errprintf(err, TIDE_EUSAGE, "--hosts-file: cannot read %s", path);
  char *s = NULL;
  size_t len = 0, got;
  char buf[4096];
  while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
    s = tide__xrealloc(s, len + got + 1);
    memcpy(s + len, buf, got);
    len += got;
  }
  fclose(f);
  if (!s)
    s = tide__xstrdup("");
  s[len] = '\0';
  *out = s;
  return 0;
}

/* The address ssh would dial for host (`ssh -G`, which applies the config
 * files and options), checked to resolve: a misspelt host is a usage error
 * up front rather than a backoff later. Runs once, before the loop. */
static int check_host(const sshb *b, const char *host, tide_error *err)
{
  tide__strvec argv = {0};
  tide__vec_push(&argv, tide__xstrdup("ssh"));
  tide__vec_push(&argv, tide__xstrdup("-G"));
  for (size_t i = 0; i < b->ssh_args.n; i++)
    tide__vec_push(&argv, tide__xstrdup(b->ssh_args.v[i]));
  tide__vec_push(&argv, tide__xstrdup("--"));
  tide__vec_push(&argv, tide__xstrdup(host));
  tide__text line_text = {0};
  tide__shell_join(&line_text, &argv);
  tide__strvec_free(&argv);
  char *full = tide__xasprintf("%s 2>/dev/null", line_text.v);
  tide__vec_free(&line_text);
  FILE *p = popen(full, "r");
  free(full);
  char line[1024], name[1024] = "";
  while (p && fgets(line, sizeof line, p))
    if (strncmp(line, "hostname ", 9) == 0)
      sscanf(line + 9, "%1023s", name);
  int st = p ? pclose(p) : -1;
  if (st != 0 || !name[0])
    return tide_errprintf(err, TIDE_EUSAGE, "--hosts: ssh does not accept host \"%s\"", host);
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
  if (getaddrinfo(name, NULL, &hints, &ai) != 0)
    return tide_errprintf(err, TIDE_EUSAGE, "--hosts: unknown host \"%s\"%s%s%s", host,
                          strcmp(name, host) ? " (ssh dials \"" : "",
                          strcmp(name, host) ? name : "", strcmp(name, host) ? "\")" : "");
  freeaddrinfo(ai);
  return 0;
}

static bool env_ok(const char *kv)
{
  const char *eq = strchr(kv, '=');
  if (!eq || eq == kv || isdigit((unsigned char)kv[0]))
    return false;
  for (const char *p = kv; p < eq; p++)
    if (!isalnum((unsigned char)*p) && *p != '_')
      return false;
  return true;
}

static int ssh_create(const tide__backend_args *a, const tide_backend_ops **ops, void **self,
                      tide_error *err)
{
  sshb *b = tide__xcalloc(1, sizeof *b);
  int rc = 0;
  bool any_hosts = false;
  for (size_t i = 0; i < a->n && rc == 0; i++) {
    const char *k = a->keys[i], *v = a->values[i];
    if (strcmp(k, "hosts") == 0) {
      rc = tide__ssh_parse_hosts(v, &b->hosts, &b->nhosts, err);
      any_hosts = true;
    } else if (strcmp(k, "hosts-file") == 0) {
      char *text = NULL;
      rc = read_file(v, &text, err);
      if (rc == 0) {
        rc = tide__ssh_parse_hosts(text, &b->hosts, &b->nhosts, err);
        if (rc < 0) {
          char why[sizeof err->text];
          snprintf(why, sizeof why, "%s", err->text);
          tide_errprintf(err, TIDE_EUSAGE, "--hosts-file %s: %s", v, why);
        }
      }
      free(text);
      any_hosts = true;
    } else if (strcmp(k, "ssh-option") == 0) {
      if (!*v || v[0] == '-')
        rc = tide_errprintf(err, TIDE_EUSAGE,
                            "--ssh-option: \"%s\" is not an ssh option (give Key=Value)", v);
      tide__vec_push(&b->ssh_args, tide__xstrdup("-o"));
      tide__vec_push(&b->ssh_args, tide__xstrdup(v));
    } else if (strcmp(k, "ssh-config") == 0) {
      if (access(v, R_OK) != 0)
        rc = tide_errprintf(err, TIDE_EUSAGE, "--ssh-config: cannot read %s", v);
      tide__vec_push(&b->ssh_args, tide__xstrdup("-F"));
      tide__vec_push(&b->ssh_args, tide__xstrdup(v));
    } else if (strcmp(k, "remote-env") == 0) {
      if (!env_ok(v))
        rc = tide_errprintf(err, TIDE_EUSAGE, "--remote-env: \"%s\" is not NAME=VALUE", v);
      tide__vec_push(&b->env, tide__xstrdup(v));
    } else if (strcmp(k, "remote-tide") == 0) {
      if (!*v)
        rc = tide_errprintf(err, TIDE_EUSAGE, "--remote-tide: empty path");
      free(b->remote_tide);
      b->remote_tide = tide__xstrdup(v);
    }
  }
  if (rc == 0 && !any_hosts)
    rc = tide_errprintf(err, TIDE_EUSAGE, "--backend ssh needs --hosts or --hosts-file");
  for (size_t i = 0; rc == 0 && i < b->nhosts; i++)
    rc = check_host(b, b->hosts[i].name, err);
  if (rc < 0) {
    ssh_destroy(b);
    return rc;
  }
  if (!b->remote_tide) {
    /* the same path as this binary: a shared file system, or the same
     * install on every host */
    char buf[4096];
    ssize_t len = readlink("/proc/self/exe", buf, sizeof buf - 1);
    buf[len > 0 ? len : 0] = '\0';
    b->remote_tide = tide__xstrdup(len > 0 ? buf : "tide");
  }
  /* where this cluster's token is (docs/security.md): a path, never the
   * token itself; the hosts share the file system, as for --remote-tide */
  const char *tf = getenv("TIDE_AUTH__TOKEN_FILE");
  if (tf && *tf)
    tide__vec_push(&b->env, tide__xasprintf("TIDE_AUTH__TOKEN_FILE=%s", tf));
  b->grace = a->kill_grace > 0 ? a->kill_grace : 2.0;
  b->stagger = a->opts ? a->opts->lifetime_stagger : 0;
  b->ops.kind = "SSHCluster";
  b->ops.scale_up = ssh_scale_up;
  b->ops.scale_down = ssh_scale_down;
  b->ops.poll = ssh_poll;
  b->ops.poll_interval = 1;
  b->ops.destroy = ssh_destroy;
  *ops = &b->ops;
  *self = b;
  return 0;
}

const tide__backend_def tide__backend_ssh = {
    .name = "ssh",
    .flags = (const char *const[]){"hosts", "hosts-file", "ssh-option", "ssh-config", "remote-tide",
                                   "remote-env", NULL},
    .help = "workers over ssh on other hosts (--hosts h1,h2:4, --ssh-option, --remote-tide)",
    .create = ssh_create,
};
