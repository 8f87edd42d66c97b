/* Outgoing connections: resolve "tcp://host:port" (or "tls://"), connect,
 * report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/parse.h"
#include "common/util.h"
#include "net/conn_int.h"

/* A failure after tide__conn_connect returned: the callback reports it from
 * the close callback; before: the caller gets the error, no callback. */
static int fail(tide__conn *c, int status)
{
  tide__connecting *p = c->connecting;
  if (p->sync)
    p->silent = true;
  tide__conn_abort(c, status);
  return status;
}

static void on_connect(uv_connect_t *req, int status)
{
  tide__conn *c = req->data;
  tide__connecting *p = c->connecting;
  if (status < 0) {
    fail(c, status);
    return;
  }
  tide__conn_setup(c);
  int r = tide__conn_start(c);
  if (r < 0) {
    fail(c, r);
    return;
  }
  c->connecting = NULL;
  tide__connect_fn cb = p->cb;
  void *arg = p->arg;
  free(p);
  cb(c, 0, arg);
}

static int start_connect(tide__conn *c, const struct sockaddr *sa)
{
  c->connecting->creq.data = c;
  int r = uv_tcp_connect(&c->connecting->creq, &c->tcp, sa, on_connect);
  if (r < 0)
    return fail(c, r);
  return 0;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
  tide__conn *c = req->data;
  if (status < 0) {
    fail(c, status);
    return;
  }
  struct addrinfo *pick = res;
  for (struct addrinfo *a = res; a; a = a->ai_next)
    if (a->ai_family == AF_INET) {
      pick = a;
      break;
    }
  start_connect(c, pick->ai_addr);
  uv_freeaddrinfo(res);
}

int tide__conn_connect(uv_loop_t *loop, const char *address, const tide__auth *auth,
                       const tide__conn_ops *ops, void *arg, tide__connect_fn cb, tide_error *err)
{
  char host[256], port_s[16];
  int port, r;
  struct sockaddr_storage ss;

  r = tide__parse_address(address, host, sizeof host, &port, err);
  if (r < 0)
    return r;
  if (port == 0)
    return tide_errprintf(err, TIDE_EUSAGE, "bad address \"%s\": port 0", address);
  tide__conn *c = tide__conn_new(loop);
  tide__connecting *p = tide__xcalloc(1, sizeof *p);
  p->cb = cb;
  p->arg = arg;
  p->port = port;
  p->sync = true;
  c->connecting = p;
  tide__conn_set_ops(c, ops, arg);
  if (strncmp(address, "tls://", 6) == 0) {
    struct ssl_ctx_st *ctx = tide__tls_client_ctx();
    if (!ctx) {
      fail(c, UV_ENOMEM);
      return tide_errprintf(err, UV_ENOMEM, "cannot connect to %s: no TLS context", address);
    }
    tide__tls_attach(c, ctx, false);
    tide__tls_ctx_free(ctx); /* the session holds its own reference */
  }
  tide__conn_connecting_auth(c, auth);
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) == 0 ||
      uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) == 0) {
    r = start_connect(c, (struct sockaddr *)&ss);
  } else {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    snprintf(port_s, sizeof port_s, "%d", port);
    p->gai.data = c;
    r = uv_getaddrinfo(loop, &p->gai, on_resolved, host, port_s, &hints);
    if (r < 0)
      fail(c, r);
  }
  p->sync = false;
  if (r < 0)
    return tide_errprintf(err, r, "cannot connect to %s: %s", address, uv_strerror(r));
  return 0;
}
