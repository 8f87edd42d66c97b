/* `tide status [--json]` (cluster repr, workers table, adaptive state) and
 * `tide logs [--json]` (cluster, scheduler and worker lines, grouped). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/client_opts.h"
#include "cmd/cmd.h"
#include "common/parse.h"

static const char *str_or(json_t *o, const char *key, const char *dflt)
{
  json_t *v = json_object_get(o, key);
  return json_is_string(v) && *json_string_value(v) ? json_string_value(v) : dflt;
}

static json_int_t int_or(json_t *o, const char *key)
{
  json_t *v = json_object_get(o, key);
  return json_is_number(v) ? (json_int_t)json_number_value(v) : 0;
}

static void print_json(json_t *j)
{
  char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY);
  if (s)
    puts(s);
  free(s);
}

/* "1.5s" / "inf" / "3" for a number or string field. */
static void field_text(json_t *v, const char *unit, char *buf, size_t len)
{
  if (json_is_string(v))
    snprintf(buf, len, "%s", json_string_value(v));
  else if (json_is_integer(v))
    snprintf(buf, len, "%lld%s", (long long)json_integer_value(v), unit);
  else if (json_is_real(v))
    snprintf(buf, len, "%g%s", json_real_value(v), unit);
  else
    snprintf(buf, len, "-");
}

static void print_workers(json_t *workers)
{
  const char *addr;
  json_t *w;
  printf("%-20s %-12s %-16s %7s %-23s %10s  %s\n", "NAME", "JOB", "HOST", "THREADS",
         "MEMORY (used / limit)", "PROCESSING", "STATUS");
  json_object_foreach(workers, addr, w)
  {
    char used[32], limit[32], mem[72];
    json_int_t lim = int_or(w, "memory_limit");
    tide__format_size(int_or(w, "nbytes"), used, sizeof used);
    if (lim > 0)
      tide__format_size(lim, limit, sizeof limit);
    else
      snprintf(limit, sizeof limit, "-");
    snprintf(mem, sizeof mem, "%s / %s", used, limit);
    printf("%-20s %-12s %-16s %7lld %-23s %10lld  %s\n", str_or(w, "name", addr),
           str_or(w, "job", "-"), str_or(w, "host", "-"), (long long)int_or(w, "nthreads"), mem,
           (long long)int_or(w, "processing"), str_or(w, "status", "-"));
  }
}

static void print_adaptive(json_t *a)
{
  char mn[32], mx[32], iv[32], td[32];
  field_text(json_object_get(a, "minimum"), "", mn, sizeof mn);
  field_text(json_object_get(a, "maximum"), "", mx, sizeof mx);
  field_text(json_object_get(a, "interval"), "s", iv, sizeof iv);
  field_text(json_object_get(a, "target_duration"), "s", td, sizeof td);
  printf(
      "adaptive: %s (minimum %s, maximum %s, interval %s, wait_count %lld, target_duration %s)\n",
      str_or(a, "state", "inactive"), mn, mx, iv, (long long)int_or(a, "wait_count"), td);
  static const char *lists[] = {"plan", "requested", "observed"};
  for (size_t i = 0; i < 3; i++) {
    json_t *l = json_object_get(a, lists[i]);
    if (json_is_array(l))
      printf("  %-9s %zu\n", lists[i], json_array_size(l));
  }
  json_t *aw = json_object_get(a, "arrival_aware");
  if (json_is_boolean(aw))
    printf("  arrival-aware %s (%lld request(s) capped)\n", json_is_true(aw) ? "on" : "off",
           (long long)int_or(a, "capped"));
  /* docs/design.md §7 "Arrival-aware requests": request -> registered */
  const char *key;
  json_t *s;
  json_object_foreach(json_object_get(a, "startup"), key, s)
  {
    json_t *sec = json_object_get(s, "seconds");
    printf("  startup   %s %.2fs (%lld worker(s), last %.2fs)\n", key,
           json_is_number(sec) ? json_number_value(sec) : 0.0, (long long)int_or(s, "samples"),
           json_number_value(json_object_get(s, "last")));
  }
}

/* docs/adaptive.md "Pools": one line per pool. */
static void print_pools(json_t *pools)
{
  if (!json_is_array(pools) || json_array_size(pools) == 0)
    return;
  printf("%-12s %-16s %7s %6s %7s %7s %8s %6s  %s\n", "pool", "resources", "workers", "target",
         "minimum", "maximum", "startup", "capped", "backend");
  size_t i;
  json_t *p;
  json_array_foreach(pools, i, p)
  {
    char mn[32], mx[32], tg[32];
    field_text(json_object_get(p, "minimum"), "", mn, sizeof mn);
    field_text(json_object_get(p, "maximum"), "", mx, sizeof mx);
    json_t *t = json_object_get(p, "target");
    if (json_is_integer(t))
      snprintf(tg, sizeof tg, "%lld", (long long)json_integer_value(t));
    else
      snprintf(tg, sizeof tg, "-");
    /* docs/design.md §7 "Arrival-aware requests": its learned latency */
    char su[32];
    json_t *sv = json_object_get(p, "startup");
    if (json_is_number(sv))
      snprintf(su, sizeof su, "%.2fs", json_number_value(sv));
    else
      snprintf(su, sizeof su, "-");
    const char *res = str_or(p, "resources", "");
    printf("%-12s %-16s %7lld %6s %7s %7s %8s %6lld  %s\n", str_or(p, "name", "?"),
           *res ? res : "-", (long long)int_or(p, "workers"), tg, mn, mx, su,
           (long long)int_or(p, "capped"), str_or(p, "backend", "-"));
  }
}

static void print_status(json_t *id, json_t *adaptive, json_t *cluster)
{
  json_t *workers = json_object_get(id, "workers"), *tasks = json_object_get(id, "tasks");
  const char *repr = str_or(cluster, "repr", NULL);
  if (repr)
    printf("%s\n", repr);
  else
    printf("Scheduler('%s', workers=%zu)\n", str_or(id, "address", "?"),
           json_is_object(workers) ? json_object_size(workers) : 0);
  if (json_is_object(tasks)) {
    const char *st;
    json_t *n;
    printf("tasks:");
    json_object_foreach(tasks, st, n) printf(" %s=%lld", st, (long long)json_integer_value(n));
    printf("\n");
  }
  if (json_is_object(workers))
    print_workers(workers);
  if (adaptive)
    print_adaptive(adaptive);
  print_pools(json_object_get(cluster, "pools"));
}

int tide__cmd_status(int argc, char **argv)
{
  static const char usage[] = "tide status [--json]";
  bool as_json = false;
  tide__cflag flags[] = {{"--json", NULL, &as_json}, {NULL, NULL, NULL}};
  tide__copts o;
  tide_client *c = NULL;
  json_t *id = NULL, *adaptive = NULL, *cluster = NULL;
  int st = tide__copts_parse(argc, argv, usage, flags, &o);

  if (st == 0)
    st = tide__copts_npos(&o, "status", usage, 0, 0);
  if (st == 0)
    st = tide__copts_connect(&o, &c);
  if (st == 0)
    st = tide__copts_api(c, "GET", "/api/v1/identity", NULL, &id);
  if (st == 0)
    st = tide__copts_api(c, "GET", "/api/v1/adaptive", NULL, &adaptive);
  if (st == 0)
    st = tide__copts_api(c, "GET", "/api/v1/cluster", NULL, &cluster);
  if (st == 0) {
    if (as_json) {
      json_t *all =
          json_pack("{s:O, s:O, s:O}", "identity", id, "adaptive", adaptive, "cluster", cluster);
      print_json(all);
      json_decref(all);
    } else {
      print_status(id, adaptive, cluster);
    }
    fflush(stdout);
  }
  json_decref(id);
  json_decref(adaptive);
  json_decref(cluster);
  tide_client_destroy(c);
  tide__copts_free(&o);
  return st < 0 ? 0 : st;
}

static void print_lines(const char *title, json_t *lines)
{
  size_t i;
  json_t *l;
  if (!json_is_array(lines) || json_array_size(lines) == 0)
    return;
  printf("== %s ==\n", title);
  json_array_foreach(lines, i, l) if (json_is_string(l)) puts(json_string_value(l));
}

int tide__cmd_logs(int argc, char **argv)
{
  static const char usage[] = "tide logs [--json]";
  bool as_json = false;
  tide__cflag flags[] = {{"--json", NULL, &as_json}, {NULL, NULL, NULL}};
  tide__copts o;
  tide_client *c = NULL;
  json_t *logs = NULL;
  int st = tide__copts_parse(argc, argv, usage, flags, &o);

  if (st == 0)
    st = tide__copts_npos(&o, "logs", usage, 0, 0);
  if (st == 0)
    st = tide__copts_connect(&o, &c);
  if (st == 0)
    st = tide__copts_api(c, "GET", "/api/v1/logs", NULL, &logs);
  if (st == 0) {
    if (as_json) {
      print_json(logs);
    } else {
      const char *name;
      json_t *lines;
      print_lines("cluster", json_object_get(logs, "cluster"));
      print_lines("scheduler", json_object_get(logs, "scheduler"));
      json_object_foreach(json_object_get(logs, "workers"), name, lines)
      {
        char title[300];
        snprintf(title, sizeof title, "worker %s", name);
        print_lines(title, lines);
      }
    }
    fflush(stdout);
  }
  json_decref(logs);
  tide_client_destroy(c);
  tide__copts_free(&o);
  return st < 0 ? 0 : st;
}
