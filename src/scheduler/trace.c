/* scheduler.record-trace: the scheduler appends its own workload as the
 * JSON lines `tide simulate` replays (docs/simulate.md). A submission is
 * written when it is accepted (its tasks, prefixes and deps); a task's
 * measured duration and size follow as a "done" line when it finishes, so
 * the file is a valid trace at every moment, even after a crash. */
#include <jansson.h>
#include <string.h>

#include "common/util.h"
#include "scheduler/internal.h"

int tide__trace_open(tide__sched *s, tide_error *err)
{
  s->trace_t0 = -1;
  if (!s->cfg.scheduler.record_trace[0])
    return 0;
  s->trace = fopen(s->cfg.scheduler.record_trace, "a");
  if (!s->trace)
    return tide_errprintf(err, TIDE_ECONFIG, "scheduler.record-trace: cannot open %s for writing",
                          s->cfg.scheduler.record_trace);
  return 0;
}

void tide__trace_close(tide__sched *s)
{
  if (s->trace)
    fclose(s->trace);
  s->trace = NULL;
}

static void put(tide__sched *s, json_t *line)
{
  json_dumpf(line, s->trace, JSON_COMPACT);
  fputc('\n', s->trace);
  fflush(s->trace);
  json_decref(line);
}

void tide__trace_submit(tide__sched *s, stask *const *tasks, size_t n)
{
  if (!s->trace || n == 0)
    return;
  double now = tide__now();
  if (s->trace_t0 < 0)
    s->trace_t0 = now;
  json_t *ts = json_array();
  for (size_t i = 0; i < n; i++) {
    const stask *t = tasks[i];
    json_t *deps = json_array();
    for (uint32_t d = 0; d < t->ndeps; d++)
      json_array_append_new(deps, json_string(t->deps[d].t->key));
    json_array_append_new(ts, json_pack("{s:s, s:s, s:o}", "key", t->key, "prefix",
                                        t->pfx ? t->pfx->name : t->fn, "deps", deps));
  }
  put(s, json_pack("{s:f, s:o}", "t", now - s->trace_t0, "tasks", ts));
}

void tide__trace_done(tide__sched *s, const stask *t, int64_t nbytes, double duration)
{
  if (!s->trace)
    return;
  put(s, json_pack("{s:s, s:f, s:I}", "done", t->key, "duration", duration > 0 ? duration : 0,
                   "nbytes", (json_int_t)nbytes));
}
