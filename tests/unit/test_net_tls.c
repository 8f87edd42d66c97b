/* The tls transport over a real loop on 127.0.0.1 with throwaway
 * certificates: handshake, messages both ways in order, a 3 MiB frame,
 * the refusals of mutual authentication (no certificate, another CA,
 * plain tcp), and the token's challenge-response running over TLS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util.h"
#include "net/certs.h"
#include "net/conn.h"
#include "net/tls.h"
#include "proto/frame.h"
#include "proto/msg.h"

enum { BIG = 3 * 1024 * 1024, NSMALL = 1000 };

typedef struct end {
  tide__conn *c;
  int hellos, msgs, bigs, closed, close_status;
  int64_t next_seq;
  bool order_ok, big_ok;
  bool answer_hello; /* accepted with a token: hello only in reply (protocol.md) */
} end;

typedef struct world {
  uv_loop_t loop;
  tide__server *srv;
  end server; /* the one accepted connection (or the last) */
  int accepted;
  end client;
  bool connect_done;
  int connect_status;
  uv_timer_t tick;
  tide__auth sauth, cauth; /* tokens of the server and the client (len 0: none) */
} world;

static char dir_a[64], dir_b[64];

static void fill(char *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    p[i] = (char)(i * 7 + i / 4096);
}

static void send_hello(tide__conn *c)
{
  msgpack_packer *pk = tide__conn_begin(c, TIDE_OP_HELLO, 1);
  tide__pk_kint(pk, "proto", TIDE_PROTO_VERSION);
  tide__conn_end(c);
}

static void send_seq(tide__conn *c, int64_t seq)
{
  msgpack_packer *pk = tide__conn_begin(c, TIDE_OP_HEARTBEAT, 1);
  tide__pk_kint(pk, "seq", seq);
  tide__conn_end(c);
}

static void send_big(tide__conn *c)
{
  char *p = tide__xmalloc(BIG);
  fill(p, BIG);
  msgpack_packer *pk = tide__conn_begin(c, TIDE_OP_HEARTBEAT, 1);
  tide__pk_str(pk, "data");
  tide__pk_bin(pk, p, BIG);
  tide__conn_end(c);
  free(p);
}

static void on_msg(tide__conn *c, const msgpack_object *m, void *arg)
{
  end *e = arg;
  const char *p;
  size_t n;
  int64_t seq;
  if (tide__mp_op(m) == TIDE_OP_HELLO) {
    e->hellos++;
    if (e->answer_hello)
      send_hello(c);
  } else if (tide__mp_bin(m, "data", &p, &n)) {
    char *want = tide__xmalloc(BIG);
    fill(want, BIG);
    e->big_ok = n == BIG && memcmp(p, want, BIG) == 0;
    free(want);
    e->bigs++;
  } else if (tide__mp_int(m, "seq", &seq)) {
    if (seq != e->next_seq)
      e->order_ok = false;
    e->next_seq = seq + 1;
    e->msgs++;
  }
}

static void on_closed(tide__conn *c, int status, void *arg)
{
  end *e = arg;
  e->closed++;
  e->close_status = status;
  e->c = NULL;
}

static const tide__conn_ops ops = {on_msg, on_closed};

static void on_accept(tide__server *s, tide__conn *c, void *sarg, const tide__conn_ops **o,
                      void **arg)
{
  world *w = sarg;
  memset(&w->server, 0, sizeof w->server);
  w->server.c = c;
  w->server.order_ok = true;
  w->accepted++;
  /* Without a token the server may speak first: its hello is queued until
   * the TLS handshake is done. With one, the accepting side answers only
   * after the peer's hello, once the token is proven (docs/protocol.md). */
  if (w->sauth.len)
    w->server.answer_hello = true;
  else
    send_hello(c);
  *o = &ops;
  *arg = &w->server;
}

static void on_connected(tide__conn *c, int status, void *arg)
{
  world *w = arg;
  w->connect_done = true;
  w->connect_status = status;
  w->client.c = c;
  if (c) {
    tide__conn_set_arg(c, &w->client);
    send_hello(c);
  }
}

#define RUN_UNTIL(w, cond)                                                                         \
  do {                                                                                             \
    double end_ = tide__now() + 10;                                                                \
    while (!(cond) && tide__now() < end_)                                                          \
      uv_run(&(w)->loop, UV_RUN_ONCE);                                                             \
    assert_true(cond);                                                                             \
  } while (0)

static void tick_cb(uv_timer_t *t)
{
}

static void configure(const char *dir, bool with_ca, bool with_cert)
{
  char ca[128], cert[128], key[128];
  snprintf(ca, sizeof ca, "%s/ca.pem", dir);
  snprintf(cert, sizeof cert, "%s/cert.pem", dir);
  snprintf(key, sizeof key, "%s/key.pem", dir);
  tide__tls_files f = {with_ca ? ca : NULL, with_cert ? cert : NULL, with_cert ? key : NULL};
  tide_error err = {{0}};
  assert_int_equal(tide__tls_configure(&f, &err), 0);
}

/* A server with the credentials of dir_a (mutual authentication). */
static void world_init(world *w)
{
  tide_error err;
  memset(w, 0, sizeof *w);
  assert_int_equal(uv_loop_init(&w->loop), 0);
  uv_timer_init(&w->loop, &w->tick);
  uv_timer_start(&w->tick, tick_cb, 50, 50);
  uv_unref((uv_handle_t *)&w->tick);
  configure(dir_a, true, true);
  assert_true(tide__tls_serving());
  assert_int_equal(tide__server_listen(&w->loop, "127.0.0.1", 0, on_accept, w, &w->srv, &err), 0);
  char want[64];
  snprintf(want, sizeof want, "tls://127.0.0.1:%d", tide__server_port(w->srv));
  assert_string_equal(tide__server_address(w->srv), want);
  w->client.order_ok = true;
}

static void world_connect(world *w, const char *scheme)
{
  tide_error err;
  char addr[64];
  snprintf(addr, sizeof addr, "%s://127.0.0.1:%d", scheme, tide__server_port(w->srv));
  tide__server_set_auth(w->srv, &w->sauth);
  assert_int_equal(tide__conn_connect(&w->loop, addr, &w->cauth, &ops, w, on_connected, &err), 0);
  RUN_UNTIL(w, w->connect_done);
  assert_int_equal(w->connect_status, 0); /* tcp connected; TLS comes next */
}

static void world_finish(world *w)
{
  tide__server_close(w->srv);
  uv_close((uv_handle_t *)&w->tick, NULL);
  assert_int_equal(uv_run(&w->loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&w->loop), 0);
}

static void test_mutual_tls(void **state)
{
  world w;
  world_init(&w);
  world_connect(&w, "tls");
  RUN_UNTIL(&w, w.server.hellos == 1 && w.client.hellos == 1);
  assert_true(tide__conn_ready(w.server.c) && tide__conn_ready(w.client.c));
  for (int i = 0; i < NSMALL; i++)
    send_seq(w.client.c, i);
  send_big(w.client.c);
  RUN_UNTIL(&w, w.server.bigs == 1 && w.server.msgs == NSMALL);
  assert_true(w.server.order_ok);
  assert_true(w.server.big_ok);
  send_big(w.server.c);
  for (int i = 0; i < NSMALL; i++)
    send_seq(w.server.c, i);
  RUN_UNTIL(&w, w.client.bigs == 1 && w.client.msgs == NSMALL);
  assert_true(w.client.order_ok);
  assert_true(w.client.big_ok);
  RUN_UNTIL(&w, tide__conn_pending_bytes(w.client.c) == 0);
  /* a clean close (close_notify, then EOF) is status 0 on both ends */
  tide__conn_close(w.client.c, 0, NULL);
  RUN_UNTIL(&w, w.client.closed == 1 && w.server.closed == 1);
  assert_int_equal(w.client.close_status, 0);
  assert_int_equal(w.server.close_status, 0);
  world_finish(&w);
}

/* A frame is sealed as whole records: a small frame (header and body) is
 * one record, a 3 MiB frame the fewest records of 16 KiB that hold it, not
 * one more for its header and one for each slice's tail. */
static void test_records_per_frame(void **state)
{
  world w;
  world_init(&w);
  world_connect(&w, "tls");
  RUN_UNTIL(&w, w.server.hellos == 1 && w.client.hellos == 1);
  uint64_t r0 = tide__conn_tls_records(w.client.c), f0 = tide__conn_frames_sent(w.client.c);
  for (int i = 0; i < 10; i++) {
    send_seq(w.client.c, i);
    RUN_UNTIL(&w, w.server.msgs == i + 1);
  }
  assert_int_equal(tide__conn_frames_sent(w.client.c) - f0, 10);
  assert_int_equal(tide__conn_tls_records(w.client.c) - r0, 10);
  /* 3 MiB of data and a few bytes of frame header and msgpack: 193 records
   * (the old way sealed 194: the header alone, then 1 MiB slices with a
   * short record after the third) */
  r0 = tide__conn_tls_records(w.client.c);
  send_big(w.client.c);
  RUN_UNTIL(&w, w.server.bigs == 1);
  assert_true(w.server.big_ok);
  assert_int_equal(tide__conn_tls_records(w.client.c) - r0, BIG / 16384 + 1);
  tide__conn_close(w.client.c, 0, NULL);
  RUN_UNTIL(&w, w.client.closed == 1 && w.server.closed == 1);
  world_finish(&w);
}

/* The client as given; the server (mutual authentication) must refuse it:
 * no hello crosses either way and both ends close with an error. */
static void refused_tokens(const char *client_dir, bool ca, bool cert, const char *scheme,
                           const char *stoken, const char *ctoken)
{
  world w;
  world_init(&w);
  if (stoken)
    assert_int_equal(tide__auth_set(&w.sauth, stoken, strlen(stoken), NULL), 0);
  if (ctoken)
    assert_int_equal(tide__auth_set(&w.cauth, ctoken, strlen(ctoken), NULL), 0);
  configure(client_dir, ca, cert);
  world_connect(&w, scheme);
  RUN_UNTIL(&w, w.client.closed == 1 && w.accepted == 1 && w.server.closed == 1);
  assert_int_equal(w.server.hellos, 0);
  assert_int_equal(w.client.hellos, 0);
  assert_int_equal(w.server.msgs, 0);
  assert_true(w.server.close_status < 0);
  world_finish(&w);
}

static void refused(const char *client_dir, bool ca, bool cert, const char *scheme)
{
  refused_tokens(client_dir, ca, cert, scheme, NULL, NULL);
}

static void test_no_certificate_refused(void **state)
{
  refused(dir_a, true, false, "tls");
}

static void test_other_ca_refused(void **state)
{
  refused(dir_b, true, true, "tls");
}

static void test_plain_tcp_refused(void **state)
{
  refused(dir_a, true, true, "tcp");
}

/* A client trusting another CA refuses our server as well. */
static void test_client_verifies_server(void **state)
{
  refused(dir_b, true, false, "tls");
}

/* Token and TLS together: the challenge-response runs inside the TLS
 * stream, then hellos and 1000 messages cross in order. */
static void test_token_over_tls(void **state)
{
  world w;
  world_init(&w);
  assert_int_equal(tide__auth_set(&w.sauth, "s3cret", 6, NULL), 0);
  assert_int_equal(tide__auth_set(&w.cauth, "s3cret", 6, NULL), 0);
  world_connect(&w, "tls");
  RUN_UNTIL(&w, w.server.hellos == 1 && w.client.hellos == 1);
  for (int i = 0; i < NSMALL; i++)
    send_seq(w.client.c, i);
  RUN_UNTIL(&w, w.server.msgs == NSMALL);
  assert_true(w.server.order_ok);
  tide__conn_close(w.client.c, 0, NULL);
  RUN_UNTIL(&w, w.client.closed == 1 && w.server.closed == 1);
  assert_int_equal(w.server.close_status, 0);
  world_finish(&w);
}

/* The right certificate is not enough: a wrong or missing token is still
 * refused, with no hello either way. */
static void test_wrong_token_over_tls_refused(void **state)
{
  refused_tokens(dir_a, true, true, "tls", "s3cret", "other");
  refused_tokens(dir_a, true, true, "tls", "s3cret", NULL);
}

static int setup(void **state)
{
  tide_error err;
  const char *dirs[2] = {dir_a, dir_b};
  for (int i = 0; i < 2; i++) {
    tide__certs certs;
    snprintf((char *)dirs[i], 64, "/tmp/tide-tls-test-%d-%c", (int)getpid(), 'a' + i);
    assert_int_equal(mkdir(dirs[i], 0700), 0);
    assert_int_equal(tide__certs_generate("tide test", 1, &certs, &err), 0);
    assert_int_equal(tide__certs_write(&certs, dirs[i], &err), 0);
    tide__certs_free(&certs);
  }
  return 0;
}

static int teardown(void **state)
{
  const char *files[3] = {"ca.pem", "cert.pem", "key.pem"};
  const char *dirs[2] = {dir_a, dir_b};
  for (int i = 0; i < 2; i++) {
    for (int j = 0; j < 3; j++) {
      char p[128];
      snprintf(p, sizeof p, "%s/%s", dirs[i], files[j]);
      unlink(p);
    }
    rmdir(dirs[i]);
  }
  tide__tls_configure(NULL, NULL);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mutual_tls),
      cmocka_unit_test(test_records_per_frame),
      cmocka_unit_test(test_no_certificate_refused),
      cmocka_unit_test(test_other_ca_refused),
      cmocka_unit_test(test_plain_tcp_refused),
      cmocka_unit_test(test_client_verifies_server),
      cmocka_unit_test(test_token_over_tls),
      cmocka_unit_test(test_wrong_token_over_tls_refused),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
