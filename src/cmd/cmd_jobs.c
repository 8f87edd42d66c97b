/* `tide jobs` and `tide cancel JOB`: the submissions of `tide submit`.
 * A job's tasks share the prefix "tide-submit-JOB", so the scheduler's
 * per-prefix state counts (GET /api/v1/tasks) are its state; a job
 * submitted without --wait lives as the dataset of that name. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/client_opts.h"
#include "cmd/cmd.h"
#include "common/util.h"

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
