/* SGE job scripts and the qstat -xml reader: pure functions, no I/O. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/backends/sge.h"
#include "common/util.h"

static void set_from(char **dst, const char *cfg_value)
{
  free(*dst);
  *dst = cfg_value && *cfg_value ? tide__xstrdup(cfg_value) : NULL;
}

void tide__sge_opts_init(tide__slurm_opts *o, const tide__config *cfg)
{
  tide__slurm_opts_init(o, NULL);
  if (!cfg)
    return;
  set_from(&o->partition, cfg->sge.queue);
  set_from(&o->account, cfg->sge.project);
  set_from(&o->pe, cfg->sge.pe);
  set_from(&o->log_directory, cfg->sge.log_directory);
  o->walltime = cfg->sge.walltime;
  o->cores = cfg->sge.cores > 1 ? cfg->sge.cores : 0;
  o->memory = cfg->sge.memory;
  if (cfg->sge.max_pending > 0)
    o->max_pending = cfg->sge.max_pending;
}

void tide__sge_format_walltime(double seconds, char *buf, size_t len)
{
  long s = (long)ceil(seconds);
  snprintf(buf, len, "%02ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
}

#define directive(f, o, ...) tide__batch_directive(f, o, "#$", __VA_ARGS__)

char *tide__sge_job_script(const tide__slurm_opts *o, const tide_job *job)
{
  char *text = NULL, wt[32];
  size_t len = 0;
  FILE *f = tide__batch_script_open(&text, &len);
  tide__batch_shape sh = tide__batch_job_shape(o, job);

  directive(f, o, "-N %s", job->name);
  if (o->partition)
    directive(f, o, "-q %s", o->partition);
  if (o->account)
    directive(f, o, "-P %s", o->account);
  /* slots come from a parallel environment; without one the job has one */
  if (o->pe)
    directive(f, o, "-pe %s %d", o->pe, sh.cores);
  if (o->walltime > 0) {
    tide__sge_format_walltime(o->walltime, wt, sizeof wt);
    directive(f, o, "-l h_rt=%s", wt);
  }
  if (sh.memory > 0)
    directive(f, o, "-l mem_free=%lldM", (long long)((sh.memory + 1048575) / 1048576));
  /* $JOB_ID is expanded by qsub: the same NAME-ID file names as SLURM's */
  directive(f, o, "-o %s/%s-$JOB_ID.out", sh.logdir, job->name);
  directive(f, o, "-e %s/%s-$JOB_ID.err", sh.logdir, job->name);
  for (size_t i = 0; i < o->extra.n; i++)
    directive(f, o, "%s", o->extra.v[i]);
  tide__batch_write_body(f, o, job);
  fclose(f);
  return text;
}

tide_job_state tide__sge_state(const char *code)
{
  if (strpbrk(code, "dE"))
    return TIDE_JOB_GONE;
  if (strpbrk(code, "sST"))
    return TIDE_JOB_PENDING; /* suspended: its workers do not run */
  if (strpbrk(code, "rt"))
    return TIDE_JOB_RUNNING;
  return TIDE_JOB_PENDING; /* qw, hqw, ... */
}

/* The text of <tag>...</tag> between p and end, into buf; false if absent. */
static bool element(const char *p, const char *end, const char *tag, char *buf, size_t len)
{
  char open[64], close[64];
  const char *a, *b;

  snprintf(open, sizeof open, "<%s>", tag);
  snprintf(close, sizeof close, "</%s>", tag);
  a = strstr(p, open);
  if (!a || a >= end)
    return false;
  a += strlen(open);
  b = strstr(a, close);
  if (!b || b > end || (size_t)(b - a) >= len)
    return false;
  memcpy(buf, a, (size_t)(b - a));
  buf[b - a] = '\0';
  return true;
}

void tide__sge_parse_qstat(char *xml, void (*seen)(void *arg, long id, tide_job_state st),
                           void *arg)
{
  const char *p = xml;

  while ((p = strstr(p, "<job_list"))) {
    const char *end = strstr(p, "</job_list>");
    char num[32], state[32], *e;
    long id;

    if (!end)
      return;
    if (element(p, end, "JB_job_number", num, sizeof num) &&
        element(p, end, "state", state, sizeof state)) {
      id = strtol(num, &e, 10);
      if (e != num && id > 0)
        seen(arg, id, tide__sge_state(state));
    }
    p = end + strlen("</job_list>");
  }
}
