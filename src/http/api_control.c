/* The routes that change the cluster: POST adapt, scale and retire_workers.
 * Bodies are validated field by field; a wrong type answers 400 naming the
 * field, before anything is changed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"
#include "common/util.h"
#include "http/internal.h"
#include "tide/adaptive.h"

/* A count: a non-negative integer (or integral number), or "inf" when
 * allow_inf. Returns false after answering 400. */
static bool get_count(tide__req *r, const char *field, json_t *v, bool allow_inf, double *out)
{
  if (json_is_string(v)) {
    tide_error err;
    if (allow_inf && tide__parse_count(json_string_value(v), true, out, &err) == 0)
      return true;
  } else if (json_is_number(v)) {
    double d = json_number_value(v);
    if (d >= 0 && d == floor(d) && d < 1e9) {
      *out = d;
      return true;
    }
  }
  tide__req_error(r, 400, "%s: expected a non-negative integer%s", field,
                  allow_inf ? " or \"inf\"" : "");
  return false;
}

/* A duration: seconds as a number, or a string like "500ms" / "1.5s". */
static bool get_duration(tide__req *r, const char *field, json_t *v, double *out)
{
  if (json_is_number(v) && json_number_value(v) >= 0 && isfinite(json_number_value(v))) {
    *out = json_number_value(v);
    return true;
  }
  if (json_is_string(v)) {
    tide_error err;
    if (tide__parse_duration(json_string_value(v), false, out, &err) == 0)
      return true;
    tide__req_error(r, 400, "%s: %s", field, err.text);
    return false;
  }
  tide__req_error(r, 400, "%s: expected seconds as a number or a duration like \"500ms\"", field);
  return false;
}

/* Field names as in the body; "target-duration" is accepted as well. */
static bool field_is(const char *key, const char *name)
{
  for (; *key && *name; key++, name++)
    if (*key != *name && !(*key == '-' && *name == '_'))
      return false;
  return *key == *name;
}

static bool parse_adapt(tide__req *r, tide_adapt_opts *o, bool *stop)
{
  const char *key;
  json_t *v;
  json_object_foreach(r->body, key, v)
  {
    double d;
    if (field_is(key, "stop")) {
      if (!json_is_boolean(v)) {
        tide__req_error(r, 400, "stop: expected true or false");
        return false;
      }
      *stop = json_is_true(v);
    } else if (field_is(key, "minimum")) {
      if (!get_count(r, "minimum", v, false, &o->minimum))
        return false;
      o->set |= TIDE_ADAPT_MINIMUM;
    } else if (field_is(key, "maximum")) {
      if (!get_count(r, "maximum", v, true, &o->maximum))
        return false;
      o->set |= TIDE_ADAPT_MAXIMUM;
    } else if (field_is(key, "interval")) {
      if (!get_duration(r, "interval", v, &o->interval))
        return false;
      o->set |= TIDE_ADAPT_INTERVAL;
    } else if (field_is(key, "target_duration")) {
      if (!get_duration(r, "target_duration", v, &o->target_duration))
        return false;
      o->set |= TIDE_ADAPT_TARGET_DURATION;
    } else if (field_is(key, "wait_count")) {
      if (!get_count(r, "wait_count", v, false, &d))
        return false;
      o->wait_count = (int)d;
      o->set |= TIDE_ADAPT_WAIT_COUNT;
    } else if (field_is(key, "max_pending")) {
      if (!get_count(r, "max_pending", v, false, &d))
        return false;
      o->max_pending = (int)d;
      o->set |= TIDE_ADAPT_MAX_PENDING;
    } else if (field_is(key, "arrival_aware")) {
      if (!json_is_boolean(v)) {
        tide__req_error(r, 400, "arrival_aware: expected true or false");
        return false;
      }
      o->arrival_aware = json_is_true(v);
      o->set |= TIDE_ADAPT_ARRIVAL_AWARE;
    } else if (field_is(key, "worker_key")) {
      if (!json_is_string(v)) {
        tide__req_error(r, 400, "worker_key: expected \"none\", \"job\" or \"host\"");
        return false;
      }
      o->worker_key = json_string_value(v); /* borrowed from r->body for the call */
      o->set |= TIDE_ADAPT_WORKER_KEY;
    } else {
      tide__req_error(r, 400,
                      "unknown field \"%s\" (known: minimum, maximum, interval, "
                      "wait_count, target_duration, worker_key, max_pending, arrival_aware, "
                      "stop)",
                      key);
      return false;
    }
  }
  return true;
}

static void no_manager(tide__req *r)
{
  tide__req_error(r, 400,
                  "no cluster manager: this is a bare `tide scheduler`; "
                  "scale and adapt need `tide cluster`");
}

static int err_status(int rc)
{
  return rc == TIDE_EUSAGE || rc == TIDE_ENOSCALE || rc == TIDE_ENOTFOUND ? 400 : 500;
}

void tide__h_adapt(tide__req *r)
{
  tide_adapt_opts o;
  memset(&o, 0, sizeof o);
  bool stop = false;
  if (!parse_adapt(r, &o, &stop))
    return;
  if (stop && o.set) {
    tide__req_error(r, 400, "stop: cannot be combined with other options");
    return;
  }
  const tide__api_ops *ops = r->api->ops;
  if (!ops->adapt || !ops->adapt_stop || !ops->adaptive_json) {
    no_manager(r);
    return;
  }
  if (stop) {
    ops->adapt_stop(r->api->self);
  } else {
    tide_error err = {{0}};
    int rc = ops->adapt(r->api->self, &o, &err);
    if (rc < 0) {
      tide__req_error(r, err_status(rc), "%s", err.text[0] ? err.text : tide_strerror(rc));
      return;
    }
  }
  tide__req_json(r, 200, ops->adaptive_json(r->api->self));
}

void tide__h_scale(tide__req *r)
{
  json_t *v = json_object_get(r->body, "n");
  const char *key;
  json_t *x;
  json_object_foreach(r->body, key, x)
  {
    if (strcmp(key, "n") != 0 && strcmp(key, "pool") != 0) {
      tide__req_error(r, 400, "unknown field \"%s\" (expected {\"n\": N, \"pool\": NAME})", key);
      return;
    }
  }
  /* docs/adaptive.md "Pools": a cluster with pools scales one by name */
  json_t *pv = json_object_get(r->body, "pool");
  if (pv && !json_is_string(pv)) {
    tide__req_error(r, 400, "pool: expected a pool's name");
    return;
  }
  const char *pool = pv ? json_string_value(pv) : NULL;
  double d;
  if (!v) {
    tide__req_error(r, 400, "n: missing (expected {\"n\": N})");
    return;
  }
  if (!get_count(r, "n", v, false, &d))
    return;
  const tide__api_ops *ops = r->api->ops;
  if (!ops->scale) {
    no_manager(r);
    return;
  }
  tide_error err = {{0}};
  int rc = ops->scale(r->api->self, pool, (int)d, &err);
  if (rc < 0) {
    tide__req_error(r, rc == TIDE_ENOTFOUND && pool ? 404 : err_status(rc), "%s",
                    err.text[0] ? err.text : tide_strerror(rc));
    return;
  }
  tide__api_figures m = {.requested = (int)d, .target = -1};
  if (ops->figures)
    ops->figures(r->api->self, &m);
  json_decref(m.startup);
  json_t *ans = json_pack("{s:i, s:i}", "n", (int)d, "requested", m.requested);
  if (pool)
    json_object_set_new(ans, "pool", json_string(pool));
  tide__req_json(r, 200, ans);
}

static void retire_done(tide__sched *s, const tide__retire_result *res, void *arg)
{
  tide__req *r = arg;
  json_t *retired = json_array();
  json_t *not = json_object();
  for (size_t i = 0; i < res->nretired; i++)
    json_array_append_new(retired, json_string(res->retired[i]));
  for (size_t i = 0; i < res->nnot_retired; i++)
    json_object_set_new(not, res->not_retired[i],
                        json_string(res->reasons && res->reasons[i] ? res->reasons[i] : "unknown"));
  tide__req_json(r, 200, json_pack("{s:o, s:o}", "retired", retired, "not_retired", not ));
}

void tide__h_retire_workers(tide__req *r)
{
  json_t *ws = json_object_get(r->body, "workers");
  if (!ws)
    ws = json_object_get(r->body, "names"); /* Dask's retire_workers(names=...) */
  if (!json_is_array(ws)) {
    tide__req_error(r, 400, "workers: expected an array of worker names");
    return;
  }
  size_t n = json_array_size(ws);
  for (size_t i = 0; i < n; i++) {
    if (!json_is_string(json_array_get(ws, i))) {
      tide__req_error(r, 400, "workers: element %zu is not a string", i);
      return;
    }
  }
  if (n == 0) {
    tide__req_json(r, 200, json_pack("{s:[], s:{}}", "retired", "not_retired"));
    return;
  }
  char **names = tide__xcalloc(n, sizeof *names);
  for (size_t i = 0; i < n; i++)
    names[i] = (char *)json_string_value(json_array_get(ws, i));
  tide_error err = {{0}};
  int rc;
  if (r->api->ops->retire)
    rc = r->api->ops->retire(r->api->self, names, n, retire_done, r, &err);
  else
    rc = tide__sched_retire_workers(r->api->sched, names, n, retire_done, r, &err);
  free(names);
  if (rc < 0)
    tide__req_error(r, err_status(rc), "%s", err.text[0] ? err.text : tide_strerror(rc));
}
