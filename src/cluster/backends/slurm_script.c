/* SLURM backend options and job scripts: pure functions, no I/O. */
#include <limits.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster/backends/slurm.h"
#include "cluster/worker_argv.h"
#include "common/parse.h"
#include "common/util.h"

static char *dup_or_null(const char *s)
{
  return s && *s ? tide__xstrdup(s) : NULL;
}

void tide__slurm_opts_init(tide__slurm_opts *o, const tide__config *cfg)
{
  char buf[PATH_MAX];
  ssize_t n;

  memset(o, 0, sizeof *o);
  o->walltime = 3600;
  o->max_pending = 8;
  if (cfg) {
    o->partition = dup_or_null(cfg->slurm.partition);
    o->account = dup_or_null(cfg->slurm.account);
    o->walltime = cfg->slurm.walltime;
    o->cores = cfg->slurm.cores > 1 ? cfg->slurm.cores : 0;
    o->memory = cfg->slurm.memory;
    o->log_directory = dup_or_null(cfg->slurm.log_directory);
    if (cfg->slurm.max_pending > 0)
      o->max_pending = cfg->slurm.max_pending;
  }
  n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    buf[n] = '\0';
    o->tide_bin = tide__xstrdup(buf);
  } else {
    o->tide_bin = tide__xstrdup("tide");
  }
}

void tide__slurm_opts_free(tide__slurm_opts *o)
{
  if (!o)
    return;
  free(o->partition);
  free(o->account);
  free(o->log_directory);
  free(o->pe);
  free(o->tide_bin);
  free(o->token_file);
  tide__strvec_free(&o->extra);
  tide__strvec_free(&o->skip);
  tide__strvec_free(&o->prologue);
  memset(o, 0, sizeof *o);
}

static const struct {
  const char *name;
  bool value;
} flags[] = {
    {"partition", true},
    {"account", true},
    {"walltime", true},
    {"cores", true},
    {"memory", true},
    {"processes-memory", true},
    {"log-directory", true},
    {"max-pending", true},
    {"job-extra-directive", true},
    {"job-directives-skip", true},
    {"job-script-prologue", true},
    {"dry-run", false},
    /* SGE's names for the same fields, and its parallel environment */
    {"queue", true},
    {"project", true},
    {"pe", true},
};

static const char *bare(const char *flag)
{
  while (*flag == '-')
    flag++;
  return flag;
}

bool tide__slurm_is_flag(const char *flag, bool *takes_value)
{
  const char *f = bare(flag);
  for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
    if (strcmp(f, flags[i].name) == 0) {
      if (takes_value)
        *takes_value = flags[i].value;
      return true;
    }
  }
  return false;
}

static int set_string(char **dst, const char *value)
{
  free(*dst);
  *dst = dup_or_null(value);
  return 1;
}

int tide__slurm_opts_set(tide__slurm_opts *o, const char *flag, const char *value, tide_error *err)
{
  const char *f = bare(flag);
  bool takes;
  double d;
  int rc;

  if (!tide__slurm_is_flag(f, &takes))
    return 0;
  if (takes && !value)
    return tide_errprintf(err, TIDE_EUSAGE, "--%s needs a value", f);
  if (strcmp(f, "dry-run") == 0) {
    o->dry_run = true;
    return 1;
  }
  if (strcmp(f, "partition") == 0 || strcmp(f, "queue") == 0)
    return set_string(&o->partition, value);
  if (strcmp(f, "account") == 0 || strcmp(f, "project") == 0)
    return set_string(&o->account, value);
  if (strcmp(f, "pe") == 0)
    return set_string(&o->pe, value);
  if (strcmp(f, "log-directory") == 0) {
    if (value[0] != '/' && value[0]) {
      char cwd[PATH_MAX];
      if (getcwd(cwd, sizeof cwd)) {
        free(o->log_directory);
        o->log_directory = tide__xasprintf("%s/%s", cwd, value);
        return 1;
      }
    }
    return set_string(&o->log_directory, value);
  }
  if (strcmp(f, "walltime") == 0) {
    if ((rc = tide__parse_walltime(value, &d, err)) < 0)
      return tide_errprintf(err, TIDE_EUSAGE,
                            "bad --walltime \"%s\" (use " TIDE__WALLTIME_FORMS ")", value);
    o->walltime = d;
    return 1;
  }
  if (strcmp(f, "cores") == 0 || strcmp(f, "max-pending") == 0) {
    if (tide__parse_count(value, false, &d, err) < 0 || d < 1 || d > 1e6)
      return tide_errprintf(err, TIDE_EUSAGE, "bad --%s \"%s\" (a positive integer)", f, value);
    if (f[0] == 'c')
      o->cores = (int)d;
    else
      o->max_pending = (int)d;
    return 1;
  }
  if (strcmp(f, "memory") == 0 || strcmp(f, "processes-memory") == 0) {
    int64_t b;
    if (tide__parse_size(value, &b, err) < 0 || b < 0)
      return tide_errprintf(err, TIDE_EUSAGE, "bad --memory \"%s\" (use 4GiB, 512MiB)", value);
    o->memory = b;
    return 1;
  }
  if (strcmp(f, "job-extra-directive") == 0)
    tide__vec_push(&o->extra, tide__xstrdup(value));
  else if (strcmp(f, "job-directives-skip") == 0)
    tide__vec_push(&o->skip, tide__xstrdup(value));
  else if (strcmp(f, "job-script-prologue") == 0)
    tide__vec_push(&o->prologue, tide__xstrdup(value));
  return 1;
}

void tide__slurm_lifetime(double walltime, double *lifetime, double *stagger)
{
  double margin;

  if (!(walltime > 0) || !isfinite(walltime)) {
    *lifetime = 0;
    *stagger = 0;
    return;
  }
  margin = walltime >= 240 ? fmax(60, 0.1 * walltime) : walltime / 4;
  *lifetime = walltime - margin;
  /* the stagger spreads departures over +-stagger; keep lifetime+stagger
   * well inside the margin so draining still has time */
  *stagger = fmin(margin / 4, 300);
}

void tide__slurm_format_walltime(double seconds, char *buf, size_t len)
{
  long s = (long)ceil(seconds);
  long d = s / 86400, h = (s / 3600) % 24, m = (s / 60) % 60, sec = s % 60;
  if (d > 0)
    snprintf(buf, len, "%ld-%02ld:%02ld:%02ld", d, h, m, sec);
  else
    snprintf(buf, len, "%02ld:%02ld:%02ld", h, m, sec);
}

void tide__batch_directive(FILE *f, const tide__slurm_opts *o, const char *prefix, const char *fmt,
                           ...)
{
  char line[1024];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  for (size_t i = 0; i < o->skip.n; i++)
    if (strstr(line, o->skip.v[i]))
      return;
  fprintf(f, "%s %s\n", prefix, line);
}

#define directive(f, o, ...) tide__batch_directive(f, o, "#SBATCH", __VA_ARGS__)

void tide__batch_write_body(FILE *f, const tide__slurm_opts *o, const tide_job *job)
{
  int p = job->nworkers > 0 ? job->nworkers : 1;
  int t = job->nthreads > 0 ? job->nthreads : 1;
  int64_t wmem = job->memory_limit > 0 ? job->memory_limit : (o->memory > 0 ? o->memory / p : 0);
  double lifetime, stagger;

  fputc('\n', f);
  for (size_t i = 0; i < o->prologue.n; i++)
    fprintf(f, "%s\n", o->prologue.v[i]);
  if (o->prologue.n)
    fputc('\n', f);
  if (o->token_file) {
    char *q = tide__shell_quote(o->token_file);
    fprintf(f, "export TIDE_AUTH__TOKEN_FILE=%s\n\n", q);
    free(q);
  }

  tide__slurm_lifetime(o->walltime, &lifetime, &stagger);
  if (job->lifetime > 0 && (lifetime == 0 || job->lifetime < lifetime)) {
    lifetime = job->lifetime;
    stagger = fmin(stagger, lifetime / 8);
  }
  /* whole seconds, as the job's walltime is */
  tide_job shape = *job;
  shape.nthreads = t;
  shape.memory_limit = wmem;
  shape.lifetime = round(lifetime);
  /* a worker whose scheduler is gone (cluster killed) leaves the queue */
  tide__worker_opts wo = {.exe = o->tide_bin, .stagger = round(stagger), .death_timeout = 60};
  for (int i = 0; i < p; i++) {
    tide__strvec argv = {0};
    tide__text line = {0};
    tide__worker_argv(&argv, &shape, i, &wo);
    tide__shell_join(&line, &argv);
    fprintf(f, "%s &\n", line.v);
    tide__vec_free(&line);
    tide__strvec_free(&argv);
  }
  fprintf(f, "wait\n");
}

FILE *tide__batch_script_open(char **text, size_t *len)
{
  FILE *f = open_memstream(text, len);
  if (!f)
    abort();
  fprintf(f, "#!/usr/bin/env bash\n\n");
  return f;
}

tide__batch_shape tide__batch_job_shape(const tide__slurm_opts *o, const tide_job *job)
{
  int p = job->nworkers > 0 ? job->nworkers : 1;
  int t = job->nthreads > 0 ? job->nthreads : 1;
  tide__batch_shape sh = {
      .cores = o->cores > 0 ? o->cores : p * t,
      .memory = o->memory > 0 ? o->memory : (int64_t)p * job->memory_limit,
      .logdir = o->log_directory ? o->log_directory : ".",
  };
  return sh;
}

char *tide__slurm_job_script(const tide__slurm_opts *o, const tide_job *job)
{
  char *text = NULL, wt[32];
  size_t len = 0;
  FILE *f = tide__batch_script_open(&text, &len);
  tide__batch_shape sh = tide__batch_job_shape(o, job);

  directive(f, o, "-J %s", job->name);
  if (o->partition)
    directive(f, o, "-p %s", o->partition);
  if (o->account)
    directive(f, o, "-A %s", o->account);
  directive(f, o, "-n 1");
  directive(f, o, "--cpus-per-task=%d", sh.cores);
  if (sh.memory > 0)
    directive(f, o, "--mem=%lldM", (long long)((sh.memory + 1048575) / 1048576));
  if (o->walltime > 0) {
    tide__slurm_format_walltime(o->walltime, wt, sizeof wt);
    directive(f, o, "-t %s", wt);
  }
  directive(f, o, "-o %s/%s-%%j.out", sh.logdir, job->name);
  directive(f, o, "-e %s/%s-%%j.err", sh.logdir, job->name);
  for (size_t i = 0; i < o->extra.n; i++)
    directive(f, o, "%s", o->extra.v[i]);
  tide__batch_write_body(f, o, job);
  fclose(f);
  return text;
}

tide_job_state tide__slurm_state(const char *name)
{
  static const char *const pending[] = {
      "PENDING",   "CONFIGURING", "REQUEUED",      "REQUEUE_FED", "REQUEUE_HOLD", "RESIZING",
      "SUSPENDED", "STOPPED",     "RESV_DEL_HOLD", "SIGNALING",   "STAGE_OUT",
  };
  if (strcmp(name, "RUNNING") == 0)
    return TIDE_JOB_RUNNING;
  for (size_t i = 0; i < sizeof pending / sizeof pending[0]; i++)
    if (strcmp(name, pending[i]) == 0)
      return TIDE_JOB_PENDING;
  /* COMPLETING, COMPLETED, CANCELLED, FAILED, TIMEOUT, NODE_FAIL,
   * PREEMPTED, OUT_OF_MEMORY, BOOT_FAIL, DEADLINE, SPECIAL_EXIT, ... */
  return TIDE_JOB_GONE;
}

void tide__slurm_parse_squeue(char *out, void (*seen)(void *arg, long id, tide_job_state st),
                              void *arg)
{
  char *save = NULL;
  for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    char st[64];
    long id;
    if (sscanf(l, "%ld %63s", &id, st) == 2)
      seen(arg, id, tide__slurm_state(st));
  }
}
