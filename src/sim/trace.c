/* Traces (JSON lines of submissions), the trace generator, the startup
 * latency model and the Pareto front: the simulator's inputs and its one
 * summary. The only I/O of src/sim is reading a trace or a log here. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "common/parse.h"
#include "common/util.h"
#include "common/vec.h"
#include "sim/sim.h"

static void sub_free(tide__sim_sub *s)
{
  for (size_t i = 0; i < s->ntasks; i++) {
    tide__sim_task *t = &s->tasks[i];
    free(t->key);
    free(t->prefix);
    for (uint32_t d = 0; d < t->ndeps; d++)
      free(t->deps[d]);
    free(t->deps);
  }
  free(s->tasks);
}

void tide__sim_trace_free(tide__sim_trace *tr)
{
  for (size_t i = 0; i < tr->nsubs; i++)
    sub_free(&tr->subs[i]);
  free(tr->subs);
  memset(tr, 0, sizeof *tr);
}

static int num(json_t *o, const char *k, double dflt, double *out)
{
  json_t *v = json_object_get(o, k);
  if (!v) {
    *out = dflt;
    return 0;
  }
  if (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) < 0)
    return -1;
  *out = json_number_value(v);
  return 0;
}

static int task_from(json_t *j, tide__sim_task *t, tide_error *err)
{
  const char *key = json_string_value(json_object_get(j, "key"));
  if (!json_is_object(j) || !key || !*key)
    return tide_errprintf(err, TIDE_EUSAGE, "a task needs a non-empty \"key\"");
  json_t *p = json_object_get(j, "prefix");
  if (p && !json_is_string(p))
    return tide_errprintf(err, TIDE_EUSAGE, "task %s: \"prefix\" must be a string", key);
  double d, nb;
  /* no duration: a recorded submission, whose "done" lines follow */
  if (num(j, "duration", -1, &d) < 0)
    return tide_errprintf(err, TIDE_EUSAGE, "task %s: \"duration\" must be a number >= 0", key);
  if (num(j, "nbytes", 8, &nb) < 0)
    return tide_errprintf(err, TIDE_EUSAGE, "task %s: \"nbytes\" must be a number >= 0", key);
  json_t *deps = json_object_get(j, "deps");
  if (deps && !json_is_array(deps))
    return tide_errprintf(err, TIDE_EUSAGE, "task %s: \"deps\" must be an array of keys", key);
  t->key = tide__xstrdup(key);
  t->prefix = tide__xstrdup(p ? json_string_value(p) : "task");
  t->duration = d;
  t->nbytes = (int64_t)nb;
  t->ndeps = deps ? (uint32_t)json_array_size(deps) : 0;
  t->deps = tide__xcalloc(t->ndeps + 1, sizeof *t->deps);
  for (uint32_t i = 0; i < t->ndeps; i++) {
    const char *dk = json_string_value(json_array_get(deps, i));
    if (!dk)
      return tide_errprintf(err, TIDE_EUSAGE, "task %s: a dep is not a string", key);
    t->deps[i] = tide__xstrdup(dk);
  }
  return 0;
}

int tide__sim_trace_line(tide__sim_trace *tr, const char *line, size_t lineno, tide_error *err)
{
  json_error_t je;
  json_t *j = json_loads(line, 0, &je);
  if (!j)
    return tide_errprintf(err, TIDE_EUSAGE, "not JSON: %s", je.text);
  tide__sim_sub sub = {0};
  int rc = 0;
  if (!json_is_object(j) || num(j, "t", -1, &sub.t) < 0 || sub.t < 0) {
    rc = tide_errprintf(err, TIDE_EUSAGE, "a submission needs \"t\": seconds >= 0");
    goto out;
  }
  json_t *tasks = json_object_get(j, "tasks");
  if (tasks) {
    if (!json_is_array(tasks) || json_array_size(tasks) == 0) {
      rc = tide_errprintf(err, TIDE_EUSAGE, "\"tasks\" must be a non-empty array");
      goto out;
    }
    sub.tasks = tide__xcalloc(json_array_size(tasks), sizeof *sub.tasks);
    for (size_t i = 0; i < json_array_size(tasks); i++) {
      sub.ntasks++;
      if ((rc = task_from(json_array_get(tasks, i), &sub.tasks[i], err)) < 0)
        goto out;
    }
  } else {
    /* the compact form: n independent tasks of one prefix */
    const char *prefix = json_string_value(json_object_get(j, "prefix"));
    json_t *n = json_object_get(j, "n");
    double d, nb;
    if (!prefix || !*prefix || !json_is_integer(n) || json_integer_value(n) < 1 ||
        json_integer_value(n) > 100000000 || num(j, "duration", -1, &d) < 0 || d < 0 ||
        num(j, "nbytes", 8, &nb) < 0) {
      rc = tide_errprintf(err, TIDE_EUSAGE,
                          "a submission needs \"tasks\", or \"prefix\", \"n\" >= 1 and "
                          "\"duration\" >= 0");
      goto out;
    }
    sub.ntasks = (size_t)json_integer_value(n);
    sub.tasks = tide__xcalloc(sub.ntasks, sizeof *sub.tasks);
    for (size_t i = 0; i < sub.ntasks; i++) {
      sub.tasks[i].key = tide__xasprintf("%s-%zu-%zu", prefix, lineno, i);
      sub.tasks[i].prefix = tide__xstrdup(prefix);
      sub.tasks[i].duration = d;
      sub.tasks[i].nbytes = (int64_t)nb;
      sub.tasks[i].deps = tide__xcalloc(1, sizeof(char *));
    }
  }
out:
  json_decref(j);
  if (rc < 0) {
    sub_free(&sub);
    return rc;
  }
  if (tr->nsubs && sub.t < tr->subs[tr->nsubs - 1].t) {
    sub_free(&sub);
    return tide_errprintf(err, TIDE_EUSAGE, "submissions must come in time order");
  }
  tr->subs = tide__xrealloc(tr->subs, (tr->nsubs + 1) * sizeof *tr->subs);
  tr->subs[tr->nsubs++] = sub;
  tr->ntasks += sub.ntasks;
  return 0;
}

typedef struct kindex {
  UT_hash_handle hh;
  tide__sim_task *t;
} kindex;

/* {"done": KEY, "duration": S, "nbytes": N}: a recorded task finished. */
static int done_line(kindex **idx, const char *line, tide_error *err)
{
  json_t *j = json_loads(line, 0, NULL);
  const char *key = json_string_value(json_object_get(j, "done"));
  double d, nb;
  kindex *k = NULL;
  int rc = 0;
  if (!key || num(j, "duration", -1, &d) < 0 || d < 0 || num(j, "nbytes", 8, &nb) < 0)
    rc = tide_errprintf(err, TIDE_EUSAGE,
                        "a \"done\" line needs \"done\": KEY and "
                        "\"duration\" >= 0");
  else {
    HASH_FIND_STR(*idx, key, k);
    if (!k) {
      rc = tide_errprintf(err, TIDE_EUSAGE, "\"done\": task \"%s\" was not submitted before", key);
    } else {
      k->t->duration = d;
      k->t->nbytes = (int64_t)nb;
    }
  }
  json_decref(j);
  return rc;
}

int tide__sim_trace_read(FILE *f, const char *name, tide__sim_trace *tr, tide_error *err)
{
  char *line = NULL;
  size_t cap = 0, lineno = 0;
  ssize_t len;
  int rc = 0;
  kindex *idx = NULL, *k, *tmp;
  while ((len = getline(&line, &cap, f)) >= 0) {
    lineno++;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
      line[--len] = 0;
    if (len == 0 || line[0] == '#')
      continue;
    tide_error e = {{0}};
    json_t *probe = strstr(line, "\"done\"") ? json_loads(line, 0, NULL) : NULL;
    bool done = json_object_get(probe, "done") != NULL;
    json_decref(probe);
    if (done)
      rc = done_line(&idx, line, &e);
    else if ((rc = tide__sim_trace_line(tr, line, lineno, &e)) == 0) {
      tide__sim_sub *sub = &tr->subs[tr->nsubs - 1];
      for (size_t i = 0; i < sub->ntasks && rc == 0; i++) {
        HASH_FIND_STR(idx, sub->tasks[i].key, k);
        if (k)
          rc = tide_errprintf(&e, TIDE_EUSAGE, "task key \"%s\" appears twice", sub->tasks[i].key);
        else if (sub->ntasks < 1000000 || sub->tasks[i].duration < 0) {
          k = tide__xcalloc(1, sizeof *k); /* large compact lines need no index */
          k->t = &sub->tasks[i];
          HASH_ADD_KEYPTR(hh, idx, k->t->key, strlen(k->t->key), k);
        }
      }
    }
    if (rc < 0) {
      tide_errprintf(err, rc, "%s:%zu: %s", name, lineno, e.text);
      break;
    }
  }
  free(line);
  HASH_ITER (hh, idx, k, tmp) {
    HASH_DEL(idx, k);
    free(k);
  }
  /* a recorded task that never finished (erred, cancelled) costs nothing */
  for (size_t i = 0; i < tr->nsubs; i++)
    for (size_t j = 0; j < tr->subs[i].ntasks; j++)
      if (tr->subs[i].tasks[j].duration < 0)
        tr->subs[i].tasks[j].duration = 0;
  if (rc == 0 && tr->nsubs == 0)
    rc = tide_errprintf(err, TIDE_EUSAGE, "%s: no submission in the trace", name);
  return rc;
}

/* ---- the generator and the startup model share one seeded RNG */

static double uniform(uint64_t *s)
{
  /* splitmix64: small, seedable, good enough for a simulator */
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}

static double gauss(uint64_t *s)
{
  return sqrt(-2 * log(uniform(s))) * cos(2 * M_PI * uniform(s));
}

void tide__sim_generate(const tide__gen_opts *o, FILE *out)
{
  uint64_t rng = o->seed;
  static const char *const names[] = {"burst", "steady", "longtail"};
  for (int b = 0; b < o->count; b++) {
    double t = b * o->gap;
    if (o->shape != TIDE__GEN_LONGTAIL) {
      fprintf(out, "{\"t\": %.6g, \"prefix\": \"%s\", \"n\": %d, \"duration\": %.6g}\n", t,
              names[o->shape], o->n, o->duration);
      continue;
    }
    /* long tail: lognormal durations with the given mean (sigma 1) */
    fprintf(out, "{\"t\": %.6g, \"tasks\": [", t);
    for (int i = 0; i < o->n; i++) {
      double d = o->duration * exp(gauss(&rng) - 0.5);
      fprintf(out, "%s{\"key\": \"longtail-%d-%d\", \"prefix\": \"longtail\", \"duration\": %.4f}",
              i ? ", " : "", b, i, d);
    }
    fprintf(out, "]}\n");
  }
}

int tide__sim_dist_parse(const char *s, tide__sim_dist *d, tide_error *err)
{
  memset(d, 0, sizeof *d);
  if (strncmp(s, "lognormal:", 10) == 0) {
    d->kind = TIDE__DIST_LOGNORMAL;
    s += 10;
  }
  char buf[64];
  snprintf(buf, sizeof buf, "%s", s);
  char *pm = strstr(buf, "\xc2\xb1"); /* ± in UTF-8 */
  size_t skip = 2;
  if (!pm) {
    pm = strstr(buf, "+-");
    skip = 2;
  }
  if (pm) {
    *pm = 0;
    if (d->kind == TIDE__DIST_CONST)
      d->kind = TIDE__DIST_NORMAL;
    int rc = tide__parse_duration(pm + skip, false, &d->sd, err);
    if (rc < 0)
      return rc;
  }
  int rc = tide__parse_duration(buf, false, &d->mean, err);
  if (rc < 0)
    return rc;
  if (d->kind == TIDE__DIST_LOGNORMAL && d->mean <= 0)
    return tide_errprintf(err, TIDE_EUSAGE, "a lognormal startup needs a mean > 0");
  return 0;
}

int tide__sim_dist_learn(FILE *log, tide__sim_dist *d, size_t *n, tide_error *err)
{
  char *line = NULL;
  size_t cap = 0;
  double sum = 0, sum2 = 0;
  *n = 0;
  while (getline(&line, &cap, log) >= 0) {
    const char *p = strstr(line, " registered ");
    double v;
    if (!p || !strstr(p, "s after its request") || sscanf(p, " registered %lfs", &v) != 1)
      continue;
    sum += v;
    sum2 += v * v;
    (*n)++;
  }
  free(line);
  if (*n == 0)
    return tide_errprintf(err, TIDE_EUSAGE,
                          "no \"worker ... registered Ss after its request\" line in the log");
  d->mean = sum / (double)*n;
  double var = *n > 1 ? (sum2 - sum * sum / (double)*n) / (double)(*n - 1) : 0;
  d->sd = var > 0 ? sqrt(var) : 0;
  d->kind = d->sd > 0 ? TIDE__DIST_NORMAL : TIDE__DIST_CONST;
  return 0;
}

double tide__sim_dist_draw(const tide__sim_dist *d, uint64_t *rng)
{
  double v = d->mean;
  if (d->kind == TIDE__DIST_NORMAL) {
    v = d->mean + d->sd * gauss(rng);
  } else if (d->kind == TIDE__DIST_LOGNORMAL) {
    /* the lognormal with this mean and standard deviation */
    double s2 = log(1 + (d->sd * d->sd) / (d->mean * d->mean));
    v = exp(log(d->mean) - s2 / 2 + sqrt(s2) * gauss(rng));
  }
  return v > 0 ? v : 0;
}

size_t tide__sim_pareto(const double *cost, const double *latency, size_t n, bool *on_front)
{
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    on_front[i] = true;
    for (size_t j = 0; j < n && on_front[i]; j++)
      if (j != i && cost[j] <= cost[i] && latency[j] <= latency[i] &&
          (cost[j] < cost[i] || latency[j] < latency[i]))
        on_front[i] = false;
    k += on_front[i];
  }
  return k;
}
