/* Duration learning per task prefix (docs/design.md §4) and string interning. */
#include <string.h>

#include "common/util.h"
#include "scheduler/internal.h"

const char *tide__sched_intern(tide__sched *s, const char *str, size_t len)
{
  sintern *e;
  HASH_FIND(hh, s->interned, str, len, e);
  if (e)
    return e->s;
  e = tide__xmalloc(sizeof *e + len + 1);
  memcpy(e->s, str, len);
  e->s[len] = 0;
  HASH_ADD_KEYPTR(hh, s->interned, e->s, len, e);
  return e->s;
}

sprefix *tide__prefix_get(tide__sched *s, const char *name, size_t len)
{
  sprefix *p;
  HASH_FIND(hh, s->prefixes, name, len, p);
  if (p)
    return p;
  p = tide__xcalloc(1, sizeof *p + len + 1);
  memcpy(p->name, name, len);
  p->avg = -1;
  p->out_avg = -1;
  HASH_ADD_KEYPTR(hh, s->prefixes, p->name, len, p);
  return p;
}

/* Expected duration: the average, else 2 * longest running once the average
 * was dropped, else unknown-task-duration. */
double tide__prefix_expected(const tide__sched *s, const sprefix *p)
{
  double unknown = s->cfg.scheduler.unknown_task_duration;
  if (!p)
    return unknown;
  if (p->avg >= 0)
    return p->avg;
  if (p->count == 0) /* never seen: unknown, unless one already runs longer */
    return 2 * p->max_exec > unknown ? 2 * p->max_exec : unknown;
  return p->max_exec > 0 ? 2 * p->max_exec : unknown;
}

/* A finished task took d seconds and left nbytes: first sample d, then
 * 0.5*d + 0.5*old; the result size likewise. */
void tide__prefix_sample(sprefix *p, double d, int64_t nbytes)
{
  double b = nbytes > 0 ? (double)nbytes : 0;
  p->out_avg = p->out_avg < 0 ? b : 0.5 * b + 0.5 * p->out_avg;
  if (d < 0)
    d = 0;
  if (p->avg < 0)
    p->avg = d;
  else
    p->avg = 0.5 * d + 0.5 * p->avg;
  p->max_exec = 0;
  p->count++;
}

/* A heartbeat says a task of this prefix has been running for elapsed s:
 * beyond twice the average the average is dropped and 2 * longest counts. */
void tide__prefix_running(sprefix *p, double elapsed)
{
  if (p->avg >= 0 && elapsed > 2 * p->avg) {
    p->avg = -1;
    p->max_exec = 0;
  }
  if (p->avg < 0 && elapsed > p->max_exec)
    p->max_exec = elapsed;
}
