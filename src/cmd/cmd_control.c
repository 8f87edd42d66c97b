/* `tide scale N`, `tide adapt [...] | --stop`, `tide retire NAME...`: the
 * control routes of the HTTP API, called over the scheduler connection. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/client_opts.h"
#include "cmd/cmd.h"
#include "common/parse.h"

/* POST body to path, print the JSON answer on one line. Takes body. */
static int post(const tide__copts *o, const char *path, json_t *body, json_t **answer)
{
  tide_client *c = NULL;
  json_t *j = NULL;
  char *text = json_dumps(body, JSON_COMPACT);
  int st;

  json_decref(body);
  if ((st = tide__copts_connect(o, &c)) == 0 &&
      (st = tide__copts_api(c, "POST", path, text, &j)) == 0) {
    if (json_is_object(j))
      json_object_del(j, "history"); /* the dashboard's samples: noise here */
    char *s = json_dumps(j, JSON_ENCODE_ANY);
    if (s)
      puts(s);
    free(s);
    fflush(stdout);
  }
  free(text);
  tide_client_destroy(c);
  if (answer)
    *answer = j;
  else
    json_decref(j);
  return st;
}

int tide__cmd_scale(int argc, char **argv)
{
  static const char usage[] = "tide scale N [--pool NAME]";
  const char *pool = NULL;
  tide__cflag flags[] = {{"--pool", &pool, NULL}, {NULL, NULL, NULL}};
  tide__copts o;
  tide_error err;
  double n;
  int st = tide__copts_parse(argc, argv, usage, flags, &o);

  if (st == 0)
    st = tide__copts_npos(&o, "scale", usage, 1, 1);
  if (st == 0 && tide__parse_count(o.pos[0], false, &n, &err) < 0)
    st = tide__cmd_fail(2, "scale: %s", err.text);
  if (st == 0 && pool && !*pool)
    st = tide__cmd_fail(2, "--pool: expected a pool's name");
  if (st == 0) {
    /* docs/adaptive.md "Pools": on a cluster with pools, the one named */
    json_t *body = json_pack("{s:I}", "n", (json_int_t)n);
    if (pool)
      json_object_set_new(body, "pool", json_string(pool));
    st = post(&o, "/api/v1/scale", body, NULL);
  }
  tide__copts_free(&o);
  return st < 0 ? 0 : st;
}

/* Add a count flag's value to body as an integer (or "inf"). */
static int add_count(json_t *body, const char *flag, const char *key, const char *v, bool inf)
{
  tide_error err;
  double d;
  if (!v)
    return 0;
  if (tide__parse_count(v, inf, &d, &err) < 0)
    return tide__cmd_fail(2, "%s: %s", flag, err.text);
  json_object_set_new(body, key, isinf(d) ? json_string("inf") : json_integer((json_int_t)d));
  return 0;
}

static int add_duration(json_t *body, const char *flag, const char *key, const char *v)
{
  tide_error err;
  double d;
  if (!v)
    return 0;
  if (tide__parse_duration(v, false, &d, &err) < 0)
    return tide__cmd_fail(2, "%s: %s", flag, err.text);
  if (d <= 0)
    return tide__cmd_fail(2, "%s: must be more than 0, got \"%s\"", flag, v);
  json_object_set_new(body, key, json_real(d));
  return 0;
}

int tide__cmd_adapt(int argc, char **argv)
{
  static const char usage[] =
      "tide adapt [--minimum N] [--maximum N] [--interval D] [--wait-count N]"
      " [--target-duration D] [--worker-key none|job|host] | tide adapt --stop";
  const char *minimum = NULL, *maximum = NULL, *interval = NULL, *wait_count = NULL, *target = NULL,
             *worker_key = NULL;
  bool stop = false;
  tide__cflag flags[] = {
      {"--minimum", &minimum, NULL},
      {"--maximum", &maximum, NULL},
      {"--interval", &interval, NULL},
      {"--wait-count", &wait_count, NULL},
      {"--target-duration", &target, NULL},
      {"--worker-key", &worker_key, NULL},
      {"--stop", NULL, &stop},
      {NULL, NULL, NULL},
  };
  tide__copts o;
  json_t *body = json_object();
  int st = tide__copts_parse(argc, argv, usage, flags, &o);

  if (st == 0)
    st = tide__copts_npos(&o, "adapt", usage, 0, 0);
  if (st == 0)
    st = add_count(body, "--minimum", "minimum", minimum, false);
  if (st == 0)
    st = add_count(body, "--maximum", "maximum", maximum, true);
  if (st == 0)
    st = add_count(body, "--wait-count", "wait_count", wait_count, false);
  if (st == 0 && wait_count && json_integer_value(json_object_get(body, "wait_count")) < 1)
    st = tide__cmd_fail(2, "--wait-count: must be at least 1, got \"%s\"", wait_count);
  if (st == 0)
    st = add_duration(body, "--interval", "interval", interval);
  if (st == 0)
    st = add_duration(body, "--target-duration", "target_duration", target);
  if (st == 0 && worker_key) {
    if (strcmp(worker_key, "none") && strcmp(worker_key, "job") && strcmp(worker_key, "host"))
      st = tide__cmd_fail(2, "--worker-key: expected none, job or host, got \"%s\"", worker_key);
    else
      json_object_set_new(body, "worker_key", json_string(worker_key));
  }
  if (st == 0 && stop && json_object_size(body) > 0)
    st = tide__cmd_fail(2, "adapt: --stop cannot be combined with other options");
  if (st == 0) {
    if (stop)
      json_object_set_new(body, "stop", json_true());
    st = post(&o, "/api/v1/adapt", body, NULL);
    body = NULL;
  }
  json_decref(body);
  tide__copts_free(&o);
  return st < 0 ? 0 : st;
}

int tide__cmd_retire(int argc, char **argv)
{
  static const char usage[] = "tide retire NAME...";
  tide__copts o;
  json_t *answer = NULL;
  int st = tide__copts_parse(argc, argv, usage, NULL, &o);

  if (st == 0)
    st = tide__copts_npos(&o, "retire", usage, 1, -1);
  if (st == 0) {
    json_t *names = json_array();
    for (int i = 0; i < o.npos; i++)
      json_array_append_new(names, json_string(o.pos[i]));
    st = post(&o, "/api/v1/retire_workers", json_pack("{s:o}", "workers", names), &answer);
  }
  if (st == 0) {
    /* Workers that could not be retired make the command fail (one line). */
    json_t *nr = json_object_get(answer, "not_retired");
    if (json_is_object(nr) && json_object_size(nr) > 0) {
      const char *name;
      json_t *why;
      json_object_foreach(nr, name, why)
      {
        st = tide__cmd_fail(1, "could not retire \"%s\": %s%s", name,
                            json_is_string(why) ? json_string_value(why) : "unknown reason",
                            json_object_size(nr) > 1 ? " (and others, see the output)" : "");
        break;
      }
    }
  }
  json_decref(answer);
  tide__copts_free(&o);
  return st < 0 ? 0 : st;
}
