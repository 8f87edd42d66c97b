/* Private declarations shared by the files of src/http: the request context
 * handlers answer through, the route handlers, metrics and the embedded
 * dashboard assets. */
#ifndef TIDE_HTTP_INTERNAL_H
#define TIDE_HTTP_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "http/api.h"

struct tide__api {
  tide__sched *sched;
  const tide__api_ops *ops; /* never NULL: an all-NULL table for a bare scheduler */
  void *self;               /* the ops' argument */
};

/* How a caller of the dispatcher wants the answer. Raw answers carry bytes
 * and a content type (HTTP server); JSON answers carry a json_t (TCP op). */
typedef void (*tide__api_raw_fn)(void *rctx, int status, const char *ctype, char *body /* owned */,
                                 size_t len);

/* One request in flight: handlers answer it exactly once with
 * tide__req_json() or tide__req_text(), which free it. */
typedef struct tide__req {
  tide__api *api;
  tide__api_reply_fn json_reply; /* one of the two is set */
  tide__api_raw_fn raw_reply;
  void *rctx;
  const char *query; /* after '?', "" if none; valid during the handler only */
  json_t *body;      /* parsed object for POST routes, borrowed */
} tide__req;

/* Answer with a JSON body (stolen; NULL answers 500). */
void tide__req_json(tide__req *r, int status, json_t *body);
/* Answer {"error": MESSAGE} with status. */
void tide__req_error(tide__req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Answer with text (owned, malloc'd) of a content type. */
void tide__req_text(tide__req *r, int status, const char *ctype, char *text, size_t len);

/* Dispatch with a raw reply (the HTTP server's path). */
void tide__api_dispatch_raw(tide__api *a, const char *method, const char *path, const char *body,
                            size_t len, tide__api_raw_fn reply, void *rctx);

/* The methods a path answers, for the Allow header of a 405 ("GET",
 * "POST", "GET, HEAD"), or NULL for no such path. Pure: any thread. */
const char *tide__api_allow(const char *path);

/* Value of a query parameter into buf; false if absent. */
bool tide__req_query(const tide__req *r, const char *name, char *buf, size_t len);

/* Route handlers (api_read.c, api_control.c, metrics.c). */
void tide__h_identity(tide__req *r);
void tide__h_get_workers(tide__req *r);
void tide__h_adaptive_target(tide__req *r);
void tide__h_adaptive(tide__req *r);
void tide__h_tasks(tide__req *r);
void tide__h_task_stream(tide__req *r);
void tide__h_cluster(tide__req *r);
void tide__h_pools(tide__req *r);
void tide__h_logs(tide__req *r);
void tide__h_adapt(tide__req *r);
void tide__h_scale(tide__req *r);
void tide__h_retire_workers(tide__req *r);
void tide__h_metrics(tide__req *r);

/* The adaptive target_duration in force: the cluster manager's if there is
 * one, else the config's adaptive.target-duration. */
double tide__api_target_duration(tide__api *a);

/* Prometheus text exposition of the scheduler and of what manages its
 * workers (a's ops). Returns a malloc'd string, length in *len. */
char *tide__metrics_text(tide__api *a, size_t *len);
/* Escape a label value (\\, \", \n) into a malloc'd string. */
char *tide__prom_escape(const char *s);

/* The names a dashboard answers to besides IP literals and "localhost":
 * the host it was bound to, the machine's name, and configured extra names
 * (dashboard.hosts, comma-separated). Any field may be NULL. */
typedef struct tide__http_names {
  const char *bind, *hostname, *extra;
} tide__http_names;
/* True when a Host header value ("name[:port]", "[v6][:port]"; NULL for an
 * HTTP/1.0 request without one) names this dashboard. */
bool tide__http_host_ok(const char *host_header, const tide__http_names *n);
/* Check a request's Host, Origin (NULL: none) and, for a POST to a route
 * that takes POST (post_route; others get their 404/405), Content-Type
 * (NULL: none). Returns 0, or the status to refuse it with (403, 415) and
 * *why, a static message. guard.c; pure. */
int tide__http_guard(const char *method, bool post_route, const char *host, const char *origin,
                     const char *ctype, const tide__http_names *n, const char **why);

/* Embedded dashboard files (generated at build time into the build dir). */
typedef struct tide__asset {
  const char *path; /* "/", "/static/app.js", ... */
  const char *ctype;
  const unsigned char *data;
  size_t len;
} tide__asset;
extern const tide__asset tide__assets[];
extern const size_t tide__nassets;
/* The asset served at path, or NULL. */
const tide__asset *tide__asset_find(const char *path);

#endif
