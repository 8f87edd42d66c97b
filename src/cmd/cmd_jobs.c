/* `tide jobs`, `tide job JOB` and `tide cancel JOB`: the submissions of
 * `tide submit`. A job's tasks share the prefix "tide-submit-JOB", so the
 * scheduler's per-prefix state counts (GET /api/v1/tasks) are its state and
 * its tasks are those of the prefix (?prefix=); a job submitted without
 * --wait lives as the dataset of that name. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/client_opts.h"
#include "cmd/cmd.h"
#include "cmd/submit.h"
#include "common/util.h"
#include "worker/builtins.h"

#define JOB_PREFIX "tide-submit-"

static json_int_t count(json_t *states, const char *name)
{
  return json_integer_value(json_object_get(states, name));
}

int tide__cmd_jobs(int argc, char **argv)
{
  static const char usage[] = "tide jobs";
  tide__copts o;
  tide_client *c = NULL;
  json_t *j = NULL;
  int st = tide__copts_parse(argc, argv, usage, NULL, &o);
  if (st == 0)
    st = tide__copts_npos(&o, "jobs", usage, 0, 0);
  if (st == 0)
    st = tide__copts_connect(&o, &c);
  if (st == 0)
    st = tide__copts_api(c, "GET", "/api/v1/tasks", NULL, &j);
  if (st == 0) {
    const char *name;
    json_t *p;
    bool header = false;
    json_object_foreach(json_object_get(j, "prefixes"), name, p)
    {
      json_t *s = json_object_get(p, "states");
      if (strncmp(name, JOB_PREFIX, strlen(JOB_PREFIX)) != 0 || json_object_size(s) == 0)
        continue; /* not a job, or one with nothing left in the scheduler */
      if (!header)
        printf("%-10s %8s %8s %8s %8s\n", "JOB", "WAITING", "RUNNING", "DONE", "FAILED");
      header = true;
      printf("%-10s %8lld %8lld %8lld %8lld\n", name + strlen(JOB_PREFIX),
             (long long)(count(s, "waiting") + count(s, "queued") + count(s, "no-worker")),
             (long long)count(s, "processing"), (long long)count(s, "memory"),
             (long long)count(s, "erred"));
    }
    if (fflush(stdout) != 0)
      st = tide__cmd_fail(1, "cannot write the output");
  }
  json_decref(j);
  tide_client_destroy(c);
  tide__copts_free(&o);
  return st < 0 ? 0 : st;
}

/* What a scheduler state is to a job's user. */
static const char *job_state(const char *st)
{
  if (strcmp(st, "memory") == 0)
    return "done";
  if (strcmp(st, "erred") == 0)
    return "failed";
  if (strcmp(st, "processing") == 0)
    return "running";
  if (strcmp(st, "released") == 0)
    return "cancelled";
  return "waiting";
}

/* Where one output of an element goes: its pattern (or the array default)
 * expanded as the worker does, relative to its cwd; NULL when the output
 * comes back as bytes. */
static char *output_path(json_t *opts, const char *which, const char *dflt, const char *key,
                         int64_t index, const char *job)
{
  const char *pat = json_string_value(json_object_get(opts, which));
  if (!pat && json_is_true(json_object_get(opts, "array")))
    pat = dflt;
  if (!pat)
    return NULL;
  char *p = tide__exec_expand(pat, strlen(pat), key, index, job, strlen(job));
  const char *cwd = json_string_value(json_object_get(opts, "cwd"));
  if (cwd && p[0] != '/') {
    char *abs = tide__xasprintf("%s/%s", cwd, p);
    free(p);
    p = abs;
  }
  return p;
}

static int64_t key_index(const char *key)
{
  const char *dash = strrchr(key, '-');
  return dash ? strtoll(dash + 1, NULL, 10) : 0;
}

static int by_index(const void *a, const void *b)
{
  int64_t x = json_integer_value(json_object_get(*(json_t *const *)a, "index"));
  int64_t y = json_integer_value(json_object_get(*(json_t *const *)b, "index"));
  return (x > y) - (x < y);
}

/* The scheduler's tasks of the job as tide job's rows, sorted by index. */
static json_t *job_rows(json_t *tasks, const char *job)
{
  size_t n = json_array_size(tasks), i;
  json_t **rows = tide__xcalloc(n + 1, sizeof *rows), *t;
  json_array_foreach(tasks, i, t)
  {
    const char *key = json_string_value(json_object_get(t, "key"));
    const char *err = json_string_value(json_object_get(t, "error"));
    const char *st = job_state(json_string_value(json_object_get(t, "state")));
    json_t *opts = json_array_get(json_object_get(t, "args"), 2);
    int64_t index = key_index(key);
    int rc = strcmp(st, "done") == 0            ? 0
             : strcmp(st, "failed") == 0 && err ? tide__submit_exit_code(err)
                                                : -1;
    char *out = output_path(opts, "stdout", TIDE_EXEC_ARRAY_STDOUT, key, index, job);
    char *errp = output_path(opts, "stderr", TIDE_EXEC_ARRAY_STDERR, key, index, job);
    rows[i] =
        json_pack("{s:I, s:s, s:s, s:o, s:O, s:O, s:o, s:O, s:o, s:o}", "index", (json_int_t)index,
                  "key", key, "state", st, "rc", rc >= 0 ? json_integer(rc) : json_null(), "worker",
                  json_object_get(t, "worker"), "duration", json_object_get(t, "duration"), "error",
                  err && strcmp(st, "failed") == 0 ? json_string(err) : json_null(), "retries_left",
                  json_object_get(t, "retries"), "stdout", out ? json_string(out) : json_null(),
                  "stderr", errp ? json_string(errp) : json_null());
    free(out);
    free(errp);
  }
  qsort(rows, n, sizeof *rows, by_index);
  json_t *a = json_array();
  for (i = 0; i < n; i++)
    json_array_append_new(a, rows[i]);
  free(rows);
  return a;
}

static void print_rows(const char *job, json_t *rows)
{
  size_t i, nstate[5] = {0};
  static const char *const names[5] = {"done", "failed", "running", "waiting", "cancelled"};
  json_t *r;
  json_array_foreach(rows, i, r)
  {
    const char *st = json_string_value(json_object_get(r, "state"));
    for (int k = 0; k < 5; k++)
      nstate[k] += strcmp(st, names[k]) == 0;
  }
  printf("job %s: %zu tasks, %zu done, %zu failed, %zu running, %zu waiting\n", job,
         json_array_size(rows), nstate[0], nstate[1], nstate[2], nstate[3]);
  printf("%-8s %-9s %4s %-16s %9s  %s\n", "INDEX", "STATE", "RC", "WORKER", "DURATION",
         "STDOUT / STDERR");
  json_array_foreach(rows, i, r)
  {
    json_t *rc = json_object_get(r, "rc"), *d = json_object_get(r, "duration");
    const char *w = json_string_value(json_object_get(r, "worker"));
    const char *out = json_string_value(json_object_get(r, "stdout"));
    const char *err = json_string_value(json_object_get(r, "stderr"));
    char rcs[16] = "-", ds[32] = "-";
    if (json_is_integer(rc))
      snprintf(rcs, sizeof rcs, "%" JSON_INTEGER_FORMAT, json_integer_value(rc));
    if (json_is_number(d))
      snprintf(ds, sizeof ds, "%.3fs", json_number_value(d));
    printf("%-8" JSON_INTEGER_FORMAT " %-9s %4s %-16s %9s  %s%s%s\n",
           json_integer_value(json_object_get(r, "index")),
           json_string_value(json_object_get(r, "state")), rcs, w ? w : "-", ds,
           out ? out : "(bytes)", " ", err ? err : "(bytes)");
    const char *e = json_string_value(json_object_get(r, "error"));
    if (e)
      printf("         error: %s\n", e);
  }
}

int tide__cmd_job(int argc, char **argv)
{
  static const char usage[] = "tide job JOB [--json]";
  bool as_json = false;
  tide__cflag flags[] = {{"--json", NULL, &as_json}, {NULL, NULL, NULL}};
  tide__copts o;
  tide_client *c = NULL;
  json_t *j = NULL;
  int st = tide__copts_parse(argc, argv, usage, flags, &o);
  if (st == 0)
    st = tide__copts_npos(&o, "job", usage, 1, 1);
  if (st == 0 && (!*o.pos[0] || strspn(o.pos[0], "0123456789abcdef") != strlen(o.pos[0])))
    st = tide__cmd_fail(2, "job: \"%s\" is not a job id (the hex id tide submit prints)", o.pos[0]);
  if (st == 0)
    st = tide__copts_connect(&o, &c);
  if (st == 0) {
    char *path = tide__xasprintf("/api/v1/tasks?prefix=" JOB_PREFIX "%s", o.pos[0]);
    st = tide__copts_api(c, "GET", path, NULL, &j);
    free(path);
  }
  if (st == 0 && json_array_size(json_object_get(j, "tasks")) == 0)
    st = tide__cmd_fail(2,
                        "job: no job %s in the scheduler (a --wait job's tasks go when its tide "
                        "submit ends)",
                        o.pos[0]);
  if (st == 0) {
    json_t *rows = job_rows(json_object_get(j, "tasks"), o.pos[0]);
    if (as_json) {
      json_t *doc = json_pack("{s:s, s:o}", "job", o.pos[0], "tasks", rows);
      json_dumpf(doc, stdout, JSON_INDENT(2));
      putchar('\n');
      json_decref(doc);
    } else {
      print_rows(o.pos[0], rows);
      json_decref(rows);
    }
    if (fflush(stdout) != 0)
      st = tide__cmd_fail(1, "cannot write the output");
  }
  json_decref(j);
  tide_client_destroy(c);
  tide__copts_free(&o);
  return st < 0 ? 0 : st;
}

int tide__cmd_cancel(int argc, char **argv)
{
  static const char usage[] = "tide cancel JOB";
  tide__copts o;
  tide_client *c = NULL;
  tide_error err = {{0}};
  int st = tide__copts_parse(argc, argv, usage, NULL, &o), rc;
  if (st == 0)
    st = tide__copts_npos(&o, "cancel", usage, 1, 1);
  if (st == 0 && !*o.pos[0])
    st = tide__cmd_fail(2, "cancel: the job id must not be empty");
  if (st == 0)
    st = tide__copts_connect(&o, &c);
  if (st == 0) {
    char *name = tide__xasprintf(JOB_PREFIX "%s", o.pos[0]);
    if ((rc = tide_client_unpublish(c, name, &err)) < 0)
      st = tide__cmd_fail(2,
                          "cancel: no job %s running without --wait (a --wait "
                          "submission ends with its tide submit)",
                          o.pos[0]);
    free(name);
  }
  tide_client_destroy(c);
  tide__copts_free(&o);
  return st < 0 ? 0 : st;
}
