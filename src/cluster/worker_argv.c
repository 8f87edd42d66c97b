/* The worker command line, built once for every backend (worker_argv.h). */
#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "cluster/worker_argv.h"
#include "common/util.h"

static void push(tide__strvec *argv, const char *s)
{
  tide__vec_push(argv, tide__xstrdup(s));
}

static void push2(tide__strvec *argv, const char *flag, const char *value)
{
  push(argv, flag);
  push(argv, value);
}

/* Seconds as a duration the worker parses: whole seconds as "Ns". */
static char *duration(double s)
{
  return s == floor(s) ? tide__xasprintf("%.0fs", s) : tide__xasprintf("%.3fs", s);
}

void tide__worker_flags_append(tide__strvec *argv, const tide_job *job, unsigned which)
{
  if (which & TIDE__WORKER_PRELOAD)
    for (int q = 0; q < job->npreload; q++)
      push2(argv, "--preload", job->preload[q]);
  if ((which & TIDE__WORKER_ALLOW_EXEC) && job->allow_exec)
    push(argv, "--allow-exec");
  if (which & TIDE__WORKER_POOL) {
    if (job->pool) /* docs/adaptive.md "Pools" */
      push2(argv, "--pool", job->pool);
    /* always given with a pool, so worker.resources cannot add to the pool's */
    if (job->pool || job->resources)
      push2(argv, "--resources", job->resources ? job->resources : "");
  }
  if (which & TIDE__WORKER_TLS) {
    /* TLS files by path, like the token: never the key itself */
    const char *flags[3] = {"--tls-ca-file", "--tls-cert", "--tls-key"};
    const char *paths[3] = {job->tls_ca_file, job->tls_cert, job->tls_key};
    for (int q = 0; q < 3; q++)
      if (paths[q])
        push2(argv, flags[q], paths[q]);
  }
}

void tide__worker_argv(tide__strvec *argv, const tide_job *job, int i, const tide__worker_opts *o)
{
  push(argv, o->exe);
  push(argv, "worker");
  push(argv, job->scheduler);
  push2(argv, "--name", job->workers && job->workers[i] ? job->workers[i] : job->name);
  push(argv, "--nthreads");
  tide__vec_push(argv, tide__xasprintf("%d", job->nthreads));
  if (job->memory_limit > 0) {
    push(argv, "--memory-limit");
    tide__vec_push(argv, tide__xasprintf("%lld", (long long)job->memory_limit));
  }
  if (job->lifetime > 0) {
    push(argv, "--lifetime");
    tide__vec_push(argv, duration(job->lifetime));
    if (o->stagger > 0) {
      push(argv, "--lifetime-stagger");
      tide__vec_push(argv, duration(o->stagger));
    }
  }
  tide__worker_flags_append(argv, job, TIDE__WORKER_ALL_FLAGS);
  if (o->death_timeout > 0) {
    push(argv, "--death-timeout");
    tide__vec_push(argv, duration(o->death_timeout));
  }
  push2(argv, "--job", job->name);
}

char *tide__shell_quote(const char *s)
{
  tide__text b = {0};
  tide__text_put(&b, "'", 1);
  for (const char *p = s; *p; p++)
    tide__text_put(&b, *p == '\'' ? "'\\''" : p, *p == '\'' ? 4 : 1);
  tide__text_put(&b, "'", 1);
  return b.v;
}

/* A word tide writes itself: the subcommand, an option name, a number or
 * a duration in seconds. Such words hold nothing a shell interprets. */
static bool own_word(const char *w)
{
  if (strcmp(w, "worker") == 0)
    return true;
  if (w[0] == '-' && w[1] == '-' && w[2]) {
    for (const char *p = w + 2; *p; p++)
      if (!islower((unsigned char)*p) && *p != '-')
        return false;
    return true;
  }
  const char *p = w;
  while (isdigit((unsigned char)*p) || *p == '.')
    p++;
  return p > w && (*p == '\0' || (p[0] == 's' && p[1] == '\0'));
}

void tide__shell_join(tide__text *b, const tide__strvec *argv)
{
  for (size_t i = 0; i < argv->n; i++) {
    if (i)
      tide__text_put(b, " ", 1);
    if (own_word(argv->v[i])) {
      tide__text_put(b, argv->v[i], strlen(argv->v[i]));
      continue;
    }
    char *q = tide__shell_quote(argv->v[i]);
    tide__text_put(b, q, strlen(q));
    free(q);
  }
}
