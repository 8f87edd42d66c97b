/* The API dispatcher: a static route table, method and body checks, and the
 * request context through which every handler answers exactly once. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "http/internal.h"

typedef void (*route_fn)(tide__req *r);

/* Every route of docs/design.md §11; the dashboard files come from the
 * asset table. POST routes get a parsed JSON object in r->body. */
static const struct route {
  const char *method;
  const char *path;
  route_fn fn;
} routes[] = {
    {"GET", "/api/v1/identity", tide__h_identity},
    {"GET", "/api/v1/get_workers", tide__h_get_workers},
    {"GET", "/api/v1/adaptive_target", tide__h_adaptive_target},
    {"GET", "/api/v1/adaptive", tide__h_adaptive},
    {"POST", "/api/v1/adapt", tide__h_adapt},
    {"POST", "/api/v1/scale", tide__h_scale},
    {"POST", "/api/v1/retire_workers", tide__h_retire_workers},
    {"GET", "/api/v1/tasks", tide__h_tasks},
    {"GET", "/api/v1/task_stream", tide__h_task_stream},
    {"GET", "/api/v1/logs", tide__h_logs},
    {"GET", "/api/v1/cluster", tide__h_cluster},
    {"GET", "/api/v1/pools", tide__h_pools},
    {"GET", "/metrics", tide__h_metrics},
};
enum { NROUTES = sizeof routes / sizeof routes[0] };

static void api_tcp(void *arg, const char *method, const char *path, const char *body, size_t len,
                    tide__api_reply_fn reply, void *rctx)
{
  tide__api_dispatch(arg, method, path, body, len, reply, rctx);
}

int tide__api_create(tide__sched *s, const tide__api_ops *ops, void *self, tide__api **out)
{
  static const tide__api_ops none;
  tide__api *a = tide__xcalloc(1, sizeof *a);
  a->sched = s;
  a->ops = ops ? ops : &none;
  a->self = self;
  if (s)
    tide__sched_set_api(s, api_tcp, a);
  *out = a;
  return 0;
}

void tide__api_destroy(tide__api *a)
{
  /* The scheduler is not touched: owners may destroy it first. */
  free(a);
}

static char *dump(json_t *j, size_t *len)
{
  char *s = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15) | JSON_ENCODE_ANY) : NULL;
  *len = s ? strlen(s) : 0;
  return s;
}

void tide__req_json(tide__req *r, int status, json_t *body)
{
  if (!body) {
    status = 500;
    body = json_pack("{s:s}", "error", "internal error building the answer");
  }
  if (r->json_reply) {
    r->json_reply(r->rctx, status, body);
  } else {
    size_t len;
    char *text = dump(body, &len);
    json_decref(body);
    if (!text) {
      status = 500;
      text = tide__xstrdup("{\"error\": \"cannot encode the answer\"}");
      len = strlen(text);
    }
    r->raw_reply(r->rctx, status, "application/json", text, len);
  }
  free(r);
}

void tide__req_error(tide__req *r, int status, const char *fmt, ...)
{
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  tide__req_json(r, status, json_pack("{s:s}", "error", msg));
}

void tide__req_text(tide__req *r, int status, const char *ctype, char *text, size_t len)
{
  if (r->raw_reply) {
    r->raw_reply(r->rctx, status, ctype, text, len);
  } else {
    json_t *j = json_stringn_nocheck(text, len);
    free(text);
    r->json_reply(r->rctx, status, j);
  }
  free(r);
}

static int hexval(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Percent-decode [s, s+n) into buf. */
static void urldecode(const char *s, size_t n, char *buf, size_t len)
{
  size_t o = 0;
  for (size_t i = 0; i < n && o + 1 < len; i++) {
    if (s[i] == '+') {
      buf[o++] = ' ';
    } else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      buf[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    } else {
      buf[o++] = s[i];
    }
  }
  buf[o] = '\0';
}

bool tide__req_query(const tide__req *r, const char *name, char *buf, size_t len)
{
  size_t nl = strlen(name);
  const char *p = r->query;
  while (p && *p) {
    const char *amp = strchr(p, '&');
    size_t seg = amp ? (size_t)(amp - p) : strlen(p);
    if (seg >= nl && strncmp(p, name, nl) == 0 && (seg == nl || p[nl] == '=')) {
      const char *v = seg == nl ? p + nl : p + nl + 1;
      urldecode(v, seg - (size_t)(v - p), buf, len);
      return true;
    }
    p = amp ? amp + 1 : NULL;
  }
  return false;
}

static void serve_asset(tide__req *r, const tide__asset *as)
{
  char *copy = tide__xmalloc(as->len + 1);
  memcpy(copy, as->data, as->len);
  copy[as->len] = '\0';
  tide__req_text(r, 200, as->ctype, copy, as->len);
}

/* POST bodies: a JSON object, else 400 naming what is wrong. */
static json_t *parse_body(tide__req *r, const char *body, size_t len)
{
  if (!body || len == 0) {
    tide__req_error(r, 400, "the request body must be a JSON object");
    return NULL;
  }
  json_error_t je;
  json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
  if (!j) {
    tide__req_error(r, 400, "malformed JSON body: %s (line %d, column %d)", je.text, je.line,
                    je.column);
    return NULL;
  }
  if (!json_is_object(j)) {
    json_decref(j);
    tide__req_error(r, 400, "the request body must be a JSON object");
    return NULL;
  }
  return j;
}

static void dispatch(tide__req *r, const char *method, const char *path, const char *body,
                     size_t len)
{
  const char *q = strchr(path, '?');
  size_t plen = q ? (size_t)(q - path) : strlen(path);
  char p[256];
  if (plen >= sizeof p) {
    tide__req_error(r, 404, "no route for a path this long");
    return;
  }
  memcpy(p, path, plen);
  p[plen] = '\0';
  r->query = q ? q + 1 : "";
  const struct route *known = NULL;
  for (size_t i = 0; i < NROUTES; i++) {
    if (strcmp(routes[i].path, p) != 0)
      continue;
    known = &routes[i];
    if (strcmp(routes[i].method, method) != 0)
      continue;
    if (strcmp(method, "POST") == 0) {
      json_t *j = parse_body(r, body, len);
      if (!j)
        return;
      r->body = j;
      routes[i].fn(r); /* may free r: use only j after */
      json_decref(j);
    } else {
      routes[i].fn(r);
    }
    return;
  }
  if (known) {
    tide__req_error(r, 405, "method %s not allowed on %s (use %s)", method, p, known->method);
    return;
  }
  const tide__asset *as = tide__asset_find(p);
  if (as) {
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
      serve_asset(r, as);
    else
      tide__req_error(r, 405, "method %s not allowed on %s (use GET)", method, p);
    return;
  }
  tide__req_error(r, 404, "no route %s %s", method, p);
}

/* Both entry points: exactly one of json_reply and raw_reply is set. */
static void dispatch_new(tide__api *a, const char *method, const char *path, const char *body,
                         size_t len, tide__api_reply_fn json_reply, tide__api_raw_fn raw_reply,
                         void *rctx)
{
  tide__req *r = tide__xcalloc(1, sizeof *r);
  r->api = a;
  r->json_reply = json_reply;
  r->raw_reply = raw_reply;
  r->rctx = rctx;
  dispatch(r, method ? method : "GET", path ? path : "/", body, len);
}

void tide__api_dispatch(tide__api *a, const char *method, const char *path, const char *body,
                        size_t len, tide__api_reply_fn reply, void *rctx)
{
  dispatch_new(a, method, path, body, len, reply, NULL, rctx);
}

void tide__api_dispatch_raw(tide__api *a, const char *method, const char *path, const char *body,
                            size_t len, tide__api_raw_fn reply, void *rctx)
{
  dispatch_new(a, method, path, body, len, NULL, reply, rctx);
}

const char *tide__api_allow(const char *path)
{
  const char *q = strchr(path, '?');
  size_t plen = q ? (size_t)(q - path) : strlen(path);
  for (size_t i = 0; i < NROUTES; i++)
    if (strlen(routes[i].path) == plen && strncmp(routes[i].path, path, plen) == 0)
      return routes[i].method;
  char p[256];
  if (plen < sizeof p) {
    memcpy(p, path, plen);
    p[plen] = '\0';
    if (tide__asset_find(p))
      return "GET, HEAD";
  }
  return NULL;
}

const tide__asset *tide__asset_find(const char *path)
{
  for (size_t i = 0; i < tide__nassets; i++)
    if (strcmp(tide__assets[i].path, path) == 0)
      return &tide__assets[i];
  if (strcmp(path, "/index.html") == 0)
    return tide__asset_find("/");
  return NULL;
}
