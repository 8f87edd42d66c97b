/* The handshake's guard over a real loop on 127.0.0.1: the token
 * challenge-response (right, wrong and missing tokens on either side), the
 * handshake and idle timeouts, the small frame limit before the handshake
 * and the per-source cap. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util.h"
#include "net/conn.h"
#include "proto/frame.h"

typedef struct side {
  tide__conn *c;
  int hellos, errors, closed, close_status, others;
  char last_error[256];
  bool is_server;
} side;

typedef struct world {
  uv_loop_t loop;
  tide__server *srv;
  tide__auth auth;
  side server[8];
  int nserver;
  side client;
} world;

static void on_msg(tide__conn *c, const msgpack_object *m, void *arg)
{
  side *p = arg;
  switch (tide__mp_op(m)) {
  case TIDE_OP_HELLO:
    p->hellos++;
    if (p->is_server) {
      msgpack_packer *pk = tide__conn_begin(c, TIDE_OP_HELLO, 1);
      tide__pk_kint(pk, "proto", TIDE_PROTO_VERSION);
      tide__conn_end(c);
    }
    break;
  case TIDE_OP_ERROR: {
    const char *s;
    size_t n;
    p->errors++;
    if (tide__mp_str(m, "message", &s, &n))
      snprintf(p->last_error, sizeof p->last_error, "%.*s", (int)n, s);
    break;
  }
  default: p->others++; break;
  }
}

static void on_closed(tide__conn *c, int status, void *arg)
{
  side *p = arg;
  p->closed++;
  p->close_status = status;
  p->c = NULL;
}

static const tide__conn_ops ops = {on_msg, on_closed};

static void on_accept(tide__server *s, tide__conn *c, void *sarg, const tide__conn_ops **o,
                      void **arg)
{
  world *w = sarg;
  side *p = &w->server[w->nserver++ % 8];
  memset(p, 0, sizeof *p);
  p->is_server = true;
  p->c = c;
  *o = &ops;
  *arg = p;
}

/* arg is the connection's own arg: the client's side */
static void on_connected(tide__conn *c, int status, void *arg)
{
  side *p = arg;
  if (status < 0)
    return;
  p->c = c;
  msgpack_packer *pk = tide__conn_begin(c, TIDE_OP_HELLO, 1);
  tide__pk_kint(pk, "proto", TIDE_PROTO_VERSION);
  tide__conn_end(c);
}

#define RUN_UNTIL(w, cond)                                                                         \
  do {                                                                                             \
    double end_ = tide__now() + 10;                                                                \
    while (!(cond) && tide__now() < end_)                                                          \
      uv_run(&(w)->loop, UV_RUN_NOWAIT);                                                           \
    assert_true(cond);                                                                             \
  } while (0)

static void world_init(world *w, const char *server_token)
{
  tide_error err;
  memset(w, 0, sizeof *w);
  assert_int_equal(uv_loop_init(&w->loop), 0);
  assert_int_equal(tide__server_listen(&w->loop, "127.0.0.1", 0, on_accept, w, &w->srv, &err), 0);
  if (server_token)
    assert_int_equal(tide__auth_set(&w->auth, server_token, strlen(server_token), NULL), 0);
  tide__server_set_auth(w->srv, &w->auth);
}

static void world_finish(world *w)
{
  if (w->client.c)
    tide__conn_close(w->client.c, 0, NULL);
  for (int i = 0; i < w->nserver && i < 8; i++)
    if (w->server[i].c)
      tide__conn_close(w->server[i].c, 0, NULL);
  tide__server_close(w->srv);
  uv_run(&w->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&w->loop), 0);
  tide__limits_set(NULL);
}

/* Connect with client_token (NULL: none) and run until the client is
 * either greeted or closed. */
static void connect_with(world *w, const char *client_token, tide__auth *ca)
{
  tide_error err;
  memset(ca, 0, sizeof *ca);
  if (client_token)
    assert_int_equal(tide__auth_set(ca, client_token, strlen(client_token), NULL), 0);
  assert_int_equal(tide__conn_connect(&w->loop, tide__server_address(w->srv), ca, &ops, &w->client,
                                      on_connected, &err),
                   0);
  RUN_UNTIL(w, w->client.hellos == 1 || w->client.closed == 1);
}

static void test_right_token(void **state)
{
  world w;
  tide__auth ca;
  tide__net_counters before, after;
  tide__net_counters_get(&before);
  world_init(&w, "shared-secret");
  connect_with(&w, "shared-secret", &ca);
  assert_int_equal(w.client.hellos, 1);
  assert_int_equal(w.server[0].hellos, 1);
  assert_int_equal(w.client.others + w.server[0].others, 0); /* auth ops never reach on_msg */
  assert_int_equal(w.client.errors, 0);
  tide__net_counters_get(&after);
  assert_int_equal(after.auth_refused, before.auth_refused);
  world_finish(&w);
}

static void test_wrong_token(void **state)
{
  world w;
  tide__auth ca;
  tide__net_counters before, after;
  tide__net_counters_get(&before);
  world_init(&w, "shared-secret");
  connect_with(&w, "guessed", &ca);
  RUN_UNTIL(&w, w.client.closed == 1);
  assert_int_equal(w.server[0].hellos, 0); /* nothing reached the application */
  assert_int_equal(w.client.hellos, 0);
  assert_int_equal(w.client.errors, 1);
  assert_string_equal(w.client.last_error, "authentication failed: wrong token");
  tide__net_counters_get(&after);
  assert_int_equal(after.auth_refused, before.auth_refused + 1);
  world_finish(&w);
}

static void test_no_token(void **state)
{
  world w;
  tide__auth ca;
  tide__net_counters before, after;
  tide__net_counters_get(&before);
  world_init(&w, "shared-secret");
  connect_with(&w, NULL, &ca);
  RUN_UNTIL(&w, w.client.closed == 1);
  assert_int_equal(w.server[0].hellos, 0);
  assert_int_equal(w.client.hellos, 0);
  assert_non_null(strstr(w.client.last_error, "authentication required"));
  tide__net_counters_get(&after);
  assert_int_equal(after.auth_refused, before.auth_refused + 1);
  world_finish(&w);
}

/* A side given a token does not trust a server without one: its hello
 * (held until the server proves the token) never leaves. */
static void test_server_without_token(void **state)
{
  world w;
  tide__auth ca;
  world_init(&w, NULL);
  connect_with(&w, "shared-secret", &ca);
  RUN_UNTIL(&w, w.client.closed == 1 && w.server[0].closed == 1);
  assert_int_equal(w.server[0].hellos, 0);
  assert_int_equal(w.client.hellos, 0);
  assert_non_null(strstr(w.client.last_error, "does not authenticate"));
  world_finish(&w);
}

/* Without tokens on either side the handshake is as before. */
static void test_no_auth_anywhere(void **state)
{
  world w;
  tide__auth ca;
  world_init(&w, NULL);
  connect_with(&w, NULL, &ca);
  assert_int_equal(w.client.hellos, 1);
  assert_int_equal(w.server[0].hellos, 1);
  assert_int_equal(w.client.others, 0); /* the challenge is swallowed */
  world_finish(&w);
}

static int raw_connect(world *w)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(tide__server_port(w->srv))};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  return fd;
}

/* Drain fd without blocking: 1 once the server closed it (EOF or reset). */
static int raw_closed(int fd)
{
  char buf[4096];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
      return 1;
    if (n < 0)
      return 0;
  }
}

/* Three connections that never say hello are closed once the handshake
 * timeout passes (and not before); one that talks too slowly by the idle
 * timeout. */
static void test_handshake_timeout(void **state)
{
  world w;
  tide__limits l = TIDE__LIMITS_DEFAULT;
  l.handshake_timeout = 0.6;
  l.idle_timeout = 10;
  tide__limits_set(&l);
  tide__net_counters before, after;
  tide__net_counters_get(&before);
  world_init(&w, "shared-secret");
  int fd[3];
  double t0 = tide__now();
  for (int i = 0; i < 3; i++)
    fd[i] = raw_connect(&w);
  RUN_UNTIL(&w, w.nserver == 3);
  double end = tide__now() + 0.3;
  while (tide__now() < end)
    uv_run(&w.loop, UV_RUN_NOWAIT);
  for (int i = 0; i < 3; i++)
    assert_int_equal(raw_closed(fd[i]), 0); /* still open at 0.3 s */
  RUN_UNTIL(&w, raw_closed(fd[0]) && raw_closed(fd[1]) && raw_closed(fd[2]));
  double took = tide__now() - t0;
  assert_true(took >= 0.55);
  assert_true(took < 3);
  tide__net_counters_get(&after);
  assert_int_equal(after.handshake_timeouts, before.handshake_timeouts + 3);
  for (int i = 0; i < 3; i++)
    close(fd[i]);

  /* idle: a byte now and then is not a handshake */
  l.handshake_timeout = 30;
  l.idle_timeout = 0.4;
  tide__limits_set(&l);
  int s = raw_connect(&w);
  t0 = tide__now();
  RUN_UNTIL(&w, raw_closed(s));
  took = tide__now() - t0;
  assert_true(took >= 0.35 && took < 3);
  close(s);
  world_finish(&w);
}

static size_t rss_bytes(void)
{
  long pages = 0, rss = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  assert_non_null(f);
  assert_int_equal(fscanf(f, "%ld %ld", &pages, &rss), 2);
  fclose(f);
  return (size_t)rss * (size_t)sysconf(_SC_PAGESIZE);
}

/* An unauthenticated peer announcing a 1 GiB frame is closed at once: the
 * frame is above the 1 MiB handshake limit, so nothing is reserved for it. */
static void test_huge_frame_before_handshake(void **state)
{
  world w;
  world_init(&w, "shared-secret");
  size_t rss0 = rss_bytes();
  int fd[3];
  for (int i = 0; i < 3; i++) {
    fd[i] = raw_connect(&w);
    char hdr[TIDE_FRAME_HEADER + 4096];
    memset(hdr, 0x90, sizeof hdr);
    tide__frame_header((uint32_t)1 << 30, hdr);
    assert_int_equal(send(fd[i], hdr, sizeof hdr, 0), (ssize_t)sizeof hdr);
  }
  RUN_UNTIL(&w, raw_closed(fd[0]) && raw_closed(fd[1]) && raw_closed(fd[2]));
  assert_int_equal(w.nserver, 3);
  size_t rss1 = rss_bytes();
  assert_true(rss1 < rss0 + 16 * 1024 * 1024); /* not 3 GiB, not 1 */
  for (int i = 0; i < 3; i++)
    close(fd[i]);
  world_finish(&w);
}

/* Partial frames held by connections in their handshake count against one
 * total: with 100 KiB for all, the second 60 KiB partial frame is refused
 * and the first kept. */
static void test_handshake_memory_total(void **state)
{
  world w;
  tide__limits l = TIDE__LIMITS_DEFAULT;
  l.handshake_memory = 100 * 1024;
  tide__limits_set(&l);
  tide__net_counters before, after;
  tide__net_counters_get(&before);
  world_init(&w, "shared-secret");
  static char part[TIDE_FRAME_HEADER + 60 * 1024];
  memset(part, 0x90, sizeof part);
  tide__frame_header(512 * 1024, part); /* announced 512 KiB, 60 KiB sent */
  int a = raw_connect(&w);
  assert_int_equal(send(a, part, sizeof part, 0), (ssize_t)sizeof part);
  RUN_UNTIL(&w, w.nserver == 1);
  double end = tide__now() + 0.2;
  while (tide__now() < end)
    uv_run(&w.loop, UV_RUN_NOWAIT);
  int b = raw_connect(&w);
  assert_int_equal(send(b, part, sizeof part, 0), (ssize_t)sizeof part);
  RUN_UNTIL(&w, raw_closed(b));
  assert_int_equal(raw_closed(a), 0);
  tide__net_counters_get(&after);
  assert_int_equal(after.handshake_timeouts, before.handshake_timeouts + 1);
  close(a);
  close(b);
  world_finish(&w);
}

/* The third connection over a cap of 2 (from one address, or in all) is
 * refused before the application sees it; a closed one frees its slot. */
static void cap_of_two(bool per_source)
{
  world w;
  tide__limits l = TIDE__LIMITS_DEFAULT;
  if (per_source)
    l.connections_per_source = 2;
  else
    l.connections = 2;
  tide__limits_set(&l);
  tide__net_counters before, after;
  tide__net_counters_get(&before);
  world_init(&w, NULL);
  int a = raw_connect(&w), b = raw_connect(&w);
  RUN_UNTIL(&w, w.nserver == 2);
  int c = raw_connect(&w);
  RUN_UNTIL(&w, raw_closed(c));
  assert_int_equal(w.nserver, 2);
  tide__net_counters_get(&after);
  assert_int_equal(after.source_refused, before.source_refused + 1);
  close(c);
  close(a);
  RUN_UNTIL(&w, w.server[0].closed == 1);
  int d = raw_connect(&w);
  RUN_UNTIL(&w, w.nserver == 3);
  assert_int_equal(raw_closed(d), 0);
  close(b);
  close(d);
  world_finish(&w);
  tide__limits_set(NULL);
}

static void test_per_source_cap(void **state)
{
  cap_of_two(true);
}

static void test_total_cap(void **state)
{
  cap_of_two(false);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_right_token),
      cmocka_unit_test(test_wrong_token),
      cmocka_unit_test(test_no_token),
      cmocka_unit_test(test_server_without_token),
      cmocka_unit_test(test_no_auth_anywhere),
      cmocka_unit_test(test_handshake_timeout),
      cmocka_unit_test(test_huge_frame_before_handshake),
      cmocka_unit_test(test_handshake_memory_total),
      cmocka_unit_test(test_per_source_cap),
      cmocka_unit_test(test_total_cap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
