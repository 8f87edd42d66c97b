/* Listening sockets: accept connections and hand them to the application. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "net/conn_int.h"

struct tide__server {
  uv_tcp_t tcp;
  uv_loop_t *loop;
  tide__accept_fn on_accept;
  void *arg;
  struct ssl_ctx_st *tls; /* NULL: plain tcp */
  int port;
  bool closing;
  const tide__auth *auth;
  char host[256];
  char address[300];
};

static void server_closed(uv_handle_t *h)
{
  tide__server *s = h->data;
  tide__tls_ctx_free(s->tls);
  free(s);
}

static void on_connection(uv_stream_t *ls, int status)
{
  tide__server *s = ls->data;
  if (status < 0) {
    tide__warn("net", "accept on %s failed: %s", s->address, uv_strerror(status));
    return;
  }
  tide__conn *c = tide__conn_new(s->loop);
  int r = uv_accept(ls, (uv_stream_t *)&c->tcp);
  if (r < 0) {
    tide__warn("net", "accept on %s failed: %s", s->address, uv_strerror(r));
    tide__conn_abort(c, r);
    return;
  }
  tide__conn_setup(c);
  if (s->tls)
    tide__tls_attach(c, s->tls, true);
  if (tide__conn_accepted(c, s->auth) < 0) {
    tide__conn_abort(c, UV_ECONNREFUSED);
    return;
  }
  const tide__conn_ops *ops = NULL;
  void *arg = NULL;
  s->on_accept(s, c, s->arg, &ops, &arg);
  if (ops && ops->on_msg)
    tide__conn_set_ops(c, ops, arg ? arg : c->arg); /* on_closed runs even if closed already */
  if (c->closing)
    return;
  if (!ops || !ops->on_msg) {
    tide__conn_abort(c, UV_ECONNABORTED);
    return;
  }
  r = tide__conn_start(c);
  if (r < 0)
    tide__conn_abort(c, r);
}

/* host as a socket address: numeric, else resolved (blocking, at startup). */
static int resolve(uv_loop_t *loop, const char *host, int port, struct sockaddr_storage *ss,
                   tide_error *err)
{
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0)
    return 0;
  if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0)
    return 0;
  uv_getaddrinfo_t req;
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  int r = uv_getaddrinfo(loop, &req, NULL, host, NULL, &hints);
  if (r < 0)
    return tide_errprintf(err, r, "cannot resolve host \"%s\": %s", host, uv_strerror(r));
  struct addrinfo *pick = req.addrinfo;
  for (struct addrinfo *a = req.addrinfo; a; a = a->ai_next)
    if (a->ai_family == AF_INET) {
      pick = a;
      break;
    }
  memcpy(ss, pick->ai_addr, pick->ai_addrlen);
  if (ss->ss_family == AF_INET6)
    ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
  else
    ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
  uv_freeaddrinfo(req.addrinfo);
  return 0;
}

static int listen_error(tide__server *s, int r, tide_error *err)
{
  if (r == UV_EADDRINUSE)
    tide_errprintf(err, r, "port %d is in use (%s:%d)", s->port, s->host, s->port);
  else if (r == UV_EADDRNOTAVAIL)
    tide_errprintf(err, r, "cannot listen on %s:%d: address not available on this machine", s->host,
                   s->port);
  else
    tide_errprintf(err, r, "cannot listen on %s:%d: %s", s->host, s->port, uv_strerror(r));
  uv_close((uv_handle_t *)&s->tcp, server_closed);
  return r;
}

int tide__server_listen(uv_loop_t *loop, const char *host, int port, tide__accept_fn on_accept,
                        void *arg, tide__server **out, tide_error *err)
{
  struct sockaddr_storage ss;

  if (!host || !*host)
    host = "0.0.0.0";
  if (port < 0 || port > 65535)
    return tide_errprintf(err, TIDE_EUSAGE, "bad port %d", port);
  if (strlen(host) >= sizeof((tide__server *)0)->host)
    return tide_errprintf(err, TIDE_EUSAGE, "host name too long");
  int r = resolve(loop, host, port, &ss, err);
  if (r < 0)
    return r;
  tide__server *s = tide__xcalloc(1, sizeof *s);
  s->loop = loop;
  s->on_accept = on_accept;
  s->arg = arg;
  s->port = port;
  snprintf(s->host, sizeof s->host, "%s", host);
  s->tls = tide__tls_server_ctx(); /* docs/security.md "TLS": configured means TLS only */
  uv_tcp_init(loop, &s->tcp);
  s->tcp.data = s;
  r = uv_tcp_bind(&s->tcp, (struct sockaddr *)&ss, 0);
  if (r < 0)
    return listen_error(s, r, err);
  r = uv_listen((uv_stream_t *)&s->tcp, 1024, on_connection);
  if (r < 0)
    return listen_error(s, r, err);
  int len = sizeof ss;
  if (uv_tcp_getsockname(&s->tcp, (struct sockaddr *)&ss, &len) == 0)
    s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
  const char *scheme = s->tls ? "tls" : "tcp";
  if (strchr(s->host, ':'))
    snprintf(s->address, sizeof s->address, "%s://[%s]:%d", scheme, s->host, s->port);
  else
    snprintf(s->address, sizeof s->address, "%s://%s:%d", scheme, s->host, s->port);
  *out = s;
  return 0;
}

int tide__server_port(const tide__server *s)
{
  return s->port;
}

const char *tide__server_address(const tide__server *s)
{
  return s->address;
}

void tide__server_set_auth(tide__server *s, const tide__auth *auth)
{
  s->auth = auth; /* its length is read at each accept */
}

void tide__server_close(tide__server *s)
{
  if (!s || s->closing)
    return;
  s->closing = true;
  uv_close((uv_handle_t *)&s->tcp, server_closed);
}
