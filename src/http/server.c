/* The HTTP server: libmicrohttpd in its own threads (one per connection),
 * bridged to the libuv loop. Slow or idle connections cannot hold it down:
 * each is closed after limits.http-timeout without a byte, there are at most
 * limits.http-connections and limits.http-connections-per-source from one
 * address (the limits table, common/limits.h), so a
 * client that sends a header line now and then (slowloris) holds a thread
 * for seconds, not forever, and leaves room for everyone else. Requests
 * pass the cross-site checks of guard.c before anything else. A request is queued under a mutex and handed
 * to the loop with uv_async; the connection thread waits (30 s at most, then
 * 503) for the loop to produce the answer. Scheduler state is only touched
 * on the loop thread; dashboard files are served from the MHD thread. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/limits.h"
#include "common/log.h"
#include "common/util.h"
#include "common/vec.h"
#include "http/internal.h"
#include "scheduler/scheduler.h"

enum {
  BODY_LIMIT = 1 << 20,
  WAIT_SECONDS = 30,
};

/* One request between a connection thread and the loop. refs: the
 * connection thread and the loop side each hold one (under h->mu). */
typedef struct hreq {
  struct hreq *next;
  int refs;
  bool done;
  char *method, *path, *upload;
  size_t upload_len;
  int status;
  const char *ctype; /* static strings only (handlers pass literals/assets) */
  char *body;
  size_t len;
} hreq;

struct tide__http {
  tide__api *api;
  uv_loop_t *loop;
  uv_async_t async;
  struct MHD_Daemon *daemon;
  int port;
  double timeout; /* seconds a connection waits for the loop (30) */
  pthread_mutex_t mu;
  pthread_cond_t cv; /* broadcast when any request is answered or on stop */
  hreq *head, *tail; /* queued for the loop */
  bool stopping;
  int refs;              /* 1 for the owner until the async closes + live hreqs */
  char *bind, *hostname; /* names the Host header may carry (guard.c) */
  char extra[1024];      /* dashboard.hosts, under mu */
};

/* Per-connection upload state (MHD's con_cls). */
typedef struct conn_state {
  tide__text body;
  bool too_large;
} conn_state;

static void http_unref_locked(tide__http *h, bool *free_h)
{
  *free_h = --h->refs == 0;
}

static void http_free(tide__http *h)
{
  free(h->bind);
  free(h->hostname);
  pthread_mutex_destroy(&h->mu);
  pthread_cond_destroy(&h->cv);
  free(h);
}

/* Drop one reference of q; frees q (and maybe h) when it was the last. */
static void hreq_release(tide__http *h, hreq *q)
{
  bool free_q, free_h = false;
  pthread_mutex_lock(&h->mu);
  free_q = --q->refs == 0;
  if (free_q)
    http_unref_locked(h, &free_h);
  pthread_mutex_unlock(&h->mu);
  if (free_q) {
    free(q->method);
    free(q->path);
    free(q->upload);
    free(q->body);
    free(q);
  }
  if (free_h)
    http_free(h);
}

typedef struct reply_ctx {
  tide__http *h;
  hreq *q;
} reply_ctx;

/* Loop thread: the dispatcher's answer. */
static void on_reply(void *rctx, int status, const char *ctype, char *body, size_t len)
{
  reply_ctx *rc = rctx;
  tide__http *h = rc->h;
  hreq *q = rc->q;
  free(rc);
  pthread_mutex_lock(&h->mu);
  if (!q->done) {
    q->done = true;
    q->status = status;
    q->ctype = ctype;
    q->body = body;
    q->len = len;
    body = NULL;
  }
  pthread_cond_broadcast(&h->cv);
  pthread_mutex_unlock(&h->mu);
  free(body);
  hreq_release(h, q);
}

/* Loop thread: dispatch everything queued. */
static void on_async(uv_async_t *as)
{
  tide__http *h = as->data;
  pthread_mutex_lock(&h->mu);
  hreq *q = h->head;
  h->head = h->tail = NULL;
  pthread_mutex_unlock(&h->mu);
  while (q) {
    hreq *next = q->next;
    pthread_mutex_lock(&h->mu);
    bool abandoned = q->refs == 1; /* the connection gave up waiting */
    pthread_mutex_unlock(&h->mu);
    if (abandoned) {
      hreq_release(h, q);
    } else {
      reply_ctx *rc = tide__xmalloc(sizeof *rc);
      rc->h = h;
      rc->q = q;
      tide__api_dispatch_raw(h->api, q->method, q->path, q->upload, q->upload_len, on_reply, rc);
    }
    q = next;
  }
}

static enum MHD_Result send_buf_allow(struct MHD_Connection *conn, int status, const char *ctype,
                                      char *body, size_t len, enum MHD_ResponseMemoryMode mode,
                                      const char *allow)
{
  struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, mode);
  if (!resp)
    return MHD_NO;
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  if (allow)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow); /* RFC 9110: 405 */
  enum MHD_Result r = MHD_queue_response(conn, (unsigned)status, resp);
  MHD_destroy_response(resp);
  return r;
}

static enum MHD_Result send_buf(struct MHD_Connection *conn, int status, const char *ctype,
                                char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
  return send_buf_allow(conn, status, ctype, body, len, mode, NULL);
}

static enum MHD_Result send_error(struct MHD_Connection *conn, int status, const char *msg)
{
  char *body = tide__xasprintf("{\"error\": \"%s\"}", msg);
  return send_buf(conn, status, "application/json", body, strlen(body), MHD_RESPMEM_MUST_FREE);
}

/* Rebuild "?k=v&..." from MHD's decoded arguments, percent-encoding again
 * so the dispatcher sees the query as sent. */
typedef struct qbuild {
  tide__text t;
  bool first;
} qbuild;

static void qb_add(qbuild *b, const char *v, bool encode)
{
  static const char hex[] = "0123456789ABCDEF";
  for (; v && *v; v++) {
    unsigned char c = (unsigned char)*v;
    if (!encode || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        c == '-' || c == '.' || c == '_' || c == '~') {
      tide__text_put(&b->t, v, 1);
    } else {
      char pct[3] = {'%', hex[c >> 4], hex[c & 15]};
      tide__text_put(&b->t, pct, 3);
    }
  }
}

static enum MHD_Result on_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                              const char *value)
{
  qbuild *b = cls;
  qb_add(b, b->first ? "?" : "&", false);
  b->first = false;
  qb_add(b, key, true);
  if (value) {
    qb_add(b, "=", false);
    qb_add(b, value, true);
  }
  return MHD_YES;
}

static char *full_path(struct MHD_Connection *conn, const char *url)
{
  qbuild b = {{0}, true};
  tide__text_put(&b.t, url, strlen(url));
  MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, on_arg, &b);
  return b.t.v;
}

/* Connection thread: hand the request to the loop and wait for the answer. */
static enum MHD_Result forward(tide__http *h, struct MHD_Connection *conn, const char *url,
                               const char *method, conn_state *cs)
{
  hreq *q = tide__xcalloc(1, sizeof *q);
  q->refs = 2;
  q->method = tide__xstrdup(method);
  q->path = full_path(conn, url);
  q->upload = cs->body.v;
  q->upload_len = cs->body.n;
  cs->body = (tide__text){0};
  pthread_mutex_lock(&h->mu);
  if (h->stopping) {
    pthread_mutex_unlock(&h->mu);
    free(q->method);
    free(q->path);
    free(q->upload);
    free(q);
    return send_error(conn, 503, "the scheduler is shutting down");
  }
  h->refs++;
  if (h->tail)
    h->tail->next = q;
  else
    h->head = q;
  h->tail = q;
  pthread_mutex_unlock(&h->mu);
  uv_async_send(&h->async);

  pthread_mutex_lock(&h->mu);
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  double secs = h->timeout;
  deadline.tv_sec += (time_t)secs;
  deadline.tv_nsec += (long)((secs - (double)(time_t)secs) * 1e9);
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000L;
  }
  while (!q->done && !h->stopping) {
    if (pthread_cond_timedwait(&h->cv, &h->mu, &deadline) == ETIMEDOUT)
      break;
  }
  bool done = q->done;
  int status = q->status;
  const char *ctype = q->ctype;
  char *body = q->body;
  size_t len = q->len;
  q->body = NULL;
  q->done = true; /* a late answer is dropped */
  pthread_mutex_unlock(&h->mu);
  hreq_release(h, q);
  if (!done) {
    char msg[96];
    snprintf(msg, sizeof msg, "the scheduler did not answer within %g s", secs);
    return send_error(conn, 503, h->stopping ? "the scheduler is shutting down" : msg);
  }
  return send_buf_allow(conn, status, ctype ? ctype : "application/json",
                        body ? body : tide__xstrdup(""), body ? len : 0, MHD_RESPMEM_MUST_FREE,
                        status == 405 ? tide__api_allow(url) : NULL);
}

/* With a token (docs/security.md), POST routes need "Authorization: Bearer
 * TOKEN", and GET routes too under auth.dashboard; the page's own files do
 * not (they hold no data). Compared in constant time. */
static bool authorized(tide__http *h, struct MHD_Connection *conn, const char *method, bool asset)
{
  const tide__auth *a = tide__sched_auth(h->api->sched);
  if (!a)
    return true;
  bool read = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
  if (read && (asset || !tide__sched_config(h->api->sched)->auth.dashboard))
    return true;
  const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
  if (!v || strncasecmp(v, "Bearer ", 7) != 0)
    return false;
  v += 7;
  return strlen(v) == a->len && CRYPTO_memcmp(v, a->key, a->len) == 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
  tide__http *h = cls;
  conn_state *cs = *con_cls;
  if (!cs) {
    *con_cls = tide__xcalloc(1, sizeof *cs);
    /* refused before any body is read */
    char extra[sizeof h->extra];
    pthread_mutex_lock(&h->mu);
    memcpy(extra, h->extra, sizeof extra);
    pthread_mutex_unlock(&h->mu);
    tide__http_names names = {h->bind, h->hostname, extra};
    const char *why = NULL;
    const char *allow = tide__api_allow(url);
    int status = tide__http_guard(
        method, allow && strstr(allow, "POST"),
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST),
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin"),
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE), &names,
        &why);
    if (status) {
      tide__debug("http", "refused %s %s: %s", method, url, why);
      return send_error(conn, status, why);
    }
    return MHD_YES;
  }
  if (*upload_data_size) {
    size_t n = *upload_data_size;
    *upload_data_size = 0;
    if (cs->too_large || cs->body.n + n > BODY_LIMIT) {
      cs->too_large = true;
      return MHD_YES;
    }
    tide__text_put(&cs->body, upload_data, n);
    return MHD_YES;
  }
  if (cs->too_large)
    return send_error(conn, 413, "request body larger than 1 MiB");
  const tide__asset *as = tide__asset_find(url);
  if (!authorized(h, conn, method, as != NULL))
    return send_error(conn, 401,
                      "this cluster needs its token: send the header Authorization: Bearer "
                      "TOKEN (the token is in the scheduler file)");
  if (as && (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)) {
    return send_buf(conn, 200, as->ctype, (char *)as->data, as->len, MHD_RESPMEM_PERSISTENT);
  }
  return forward(h, conn, url, method, cs);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
  conn_state *cs = *con_cls;
  if (cs) {
    tide__vec_free(&cs->body);
    free(cs);
    *con_cls = NULL;
  }
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
  char line[512];
  vsnprintf(line, sizeof line, fmt, ap);
  line[strcspn(line, "\n")] = '\0';
  tide__debug("http", "microhttpd: %s", line);
}

/* Bind the listening socket ourselves so a port in use gets a clear error. */
static int listen_on(const char *host, int port, int *fd_out, int *family, tide_error *err)
{
  struct addrinfo hints = {
      .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
  struct addrinfo *res = NULL;
  char pbuf[16];
  snprintf(pbuf, sizeof pbuf, "%d", port);
  int rc = getaddrinfo(host, pbuf, &hints, &res);
  if (rc != 0 || !res)
    return tide_errprintf(err, -EINVAL, "dashboard host \"%s\": %s", host, gai_strerror(rc));
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    rc = -errno;
    freeaddrinfo(res);
    return tide_errprintf(err, rc, "dashboard socket: %s", strerror(-rc));
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 128) < 0) {
    rc = -errno;
    close(fd);
    freeaddrinfo(res);
    if (rc == -EADDRINUSE)
      return tide_errprintf(err, rc, "dashboard port %d on %s is already in use", port, host);
    return tide_errprintf(err, rc, "dashboard port %d on %s: %s", port, host, strerror(-rc));
  }
  *family = res->ai_family;
  freeaddrinfo(res);
  *fd_out = fd;
  return 0;
}

int tide__http_start(tide__api *a, uv_loop_t *loop, const char *host, int port, tide__http **out,
                     tide_error *err)
{
  *out = NULL;
  if (!host || !*host)
    host = "127.0.0.1";
  if (port < 0 || port > 65535)
    return tide_errprintf(err, TIDE_EUSAGE, "dashboard port %d is out of range", port);
  int fd = -1, family = AF_UNSPEC;
  int rc = listen_on(host, port, &fd, &family, err);
  if (rc < 0)
    return rc;
  tide__http *h = tide__xcalloc(1, sizeof *h);
  h->api = a;
  h->loop = loop;
  h->refs = 1;
  h->timeout = WAIT_SECONDS;
  h->bind = tide__xstrdup(host);
  h->hostname = tide__xstrdup(tide__hostname());
  pthread_mutex_init(&h->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&h->cv, &ca);
  pthread_condattr_destroy(&ca);
  if ((rc = uv_async_init(loop, &h->async, on_async)) < 0) {
    close(fd);
    http_free(h);
    return tide_errprintf(err, rc, "dashboard: %s", uv_strerror(rc));
  }
  h->async.data = h;
  /* poll(), not select(): select() cannot watch descriptors past 1023, which
   * a cluster of about a thousand workers reaches. Thread-per-connection
   * works with poll but not with epoll. */
  const tide__limits *lim = tide__limits_get();
  unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
  if (family == AF_INET6)
    flags |= MHD_USE_IPv6;
  h->daemon = MHD_start_daemon(
      flags, 0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET, fd,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned)lim->http_timeout, MHD_OPTION_CONNECTION_LIMIT, (unsigned)lim->http_connections,
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)lim->http_connections_per_source,
      MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
  if (!h->daemon) {
    close(fd);
    h->stopping = true;
    *out = NULL;
    tide__http_stop(h);
    return tide_errprintf(err, -EIO, "dashboard: cannot start the HTTP server on %s:%d", host,
                          port);
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
  h->port = info ? info->port : 0;
  if (h->port == 0) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
      h->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
  }
  tide__info("http", "dashboard at http://%s:%d/", host, h->port);
  *out = h;
  return 0;
}

int tide__http_port(const tide__http *h)
{
  return h ? h->port : 0;
}

void tide__http_set_timeout(tide__http *h, double seconds)
{
  pthread_mutex_lock(&h->mu);
  h->timeout = seconds > 0 ? seconds : WAIT_SECONDS;
  pthread_mutex_unlock(&h->mu);
}

void tide__http_set_hosts(tide__http *h, const char *names)
{
  pthread_mutex_lock(&h->mu);
  snprintf(h->extra, sizeof h->extra, "%s", names ? names : "");
  pthread_mutex_unlock(&h->mu);
}

static void on_async_closed(uv_handle_t *hd)
{
  tide__http *h = hd->data;
  bool free_h;
  pthread_mutex_lock(&h->mu);
  http_unref_locked(h, &free_h);
  pthread_mutex_unlock(&h->mu);
  if (free_h)
    http_free(h);
}

void tide__http_stop(tide__http *h)
{
  if (!h)
    return;
  pthread_mutex_lock(&h->mu);
  h->stopping = true;
  pthread_cond_broadcast(&h->cv);
  pthread_mutex_unlock(&h->mu);
  if (h->daemon)
    MHD_stop_daemon(h->daemon); /* joins every connection thread */
  h->daemon = NULL;
  pthread_mutex_lock(&h->mu);
  hreq *q = h->head;
  h->head = h->tail = NULL;
  pthread_mutex_unlock(&h->mu);
  while (q) { /* never dispatched: drop the loop's reference */
    hreq *next = q->next;
    hreq_release(h, q);
    q = next;
  }
  uv_close((uv_handle_t *)&h->async, on_async_closed);
}
