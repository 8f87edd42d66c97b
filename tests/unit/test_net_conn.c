/* Connections over a real loop on 127.0.0.1: handshake, batching, closing,
 * garbage and oversized frames, connect and listen errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/log.h"
#include "common/util.h"
#include "net/conn.h"
#include "proto/frame.h"

#define NMSG 10000

typedef struct peer {
  struct world *w;
  tide__conn *c;
  int hellos, msgs, errors, closed, close_status;
  int64_t next_seq;
  bool order_ok;
  bool is_server;
  bool close_on_msg; /* server: answer then close from inside on_msg */
  char last_error[256];
} peer;

typedef struct world {
  uv_loop_t loop;
  tide__server *srv;
  peer speers[8];
  int nspeers;
  int server_closed_conns;
  int connect_status;
  bool connect_done;
  bool close_in_accept;
  uv_timer_t tick; /* wakes the loop so RUN_UNTIL can give up */
} world;

static void send_hello(tide__conn *c, const char *role)
{
  msgpack_packer *pk = tide__conn_begin(c, TIDE_OP_HELLO, 2);
  tide__pk_kint(pk, "proto", TIDE_PROTO_VERSION);
  tide__pk_kstr(pk, "role", role);
  tide__conn_end(c);
}

static void send_seq(tide__conn *c, int64_t seq)
{
  msgpack_packer *pk = tide__conn_begin(c, TIDE_OP_HEARTBEAT, 1);
  tide__pk_kint(pk, "seq", seq);
  tide__conn_end(c);
}

static void peer_msg(tide__conn *c, const msgpack_object *m, void *arg)
{
  peer *p = arg;
  switch (tide__mp_op(m)) {
  case TIDE_OP_HELLO:
    p->hellos++;
    if (p->is_server)
      send_hello(c, "scheduler");
    break;
  case TIDE_OP_ERROR: {
    const char *s;
    size_t n;
    p->errors++;
    if (tide__mp_str(m, "message", &s, &n))
      snprintf(p->last_error, sizeof p->last_error, "%.*s", (int)n, s);
    break;
  }
  case TIDE_OP_HEARTBEAT: {
    int64_t seq = -1;
    tide__mp_int(m, "seq", &seq);
    if (seq != p->next_seq)
      p->order_ok = false;
    p->next_seq = seq + 1;
    p->msgs++;
    if (p->is_server && p->close_on_msg) {
      send_seq(c, 42); /* must still reach the client: close flushes */
      tide__conn_close(c, 0, "test closes");
      tide__conn_close(c, 0, "twice is fine");
    }
    break;
  }
  default: break;
  }
}

static void peer_closed(tide__conn *c, int status, void *arg)
{
  peer *p = arg;
  p->closed++;
  p->close_status = status;
  p->c = NULL;
  if (p->is_server)
    p->w->server_closed_conns++;
}

static const tide__conn_ops peer_ops = {peer_msg, peer_closed};

static void on_accept(tide__server *s, tide__conn *c, void *sarg, const tide__conn_ops **ops,
                      void **arg)
{
  world *w = sarg;
  assert_true(w->nspeers < 8);
  peer *p = &w->speers[w->nspeers++];
  memset(p, 0, sizeof *p);
  p->w = w;
  p->c = c;
  p->is_server = true;
  p->order_ok = true;
  *ops = &peer_ops;
  *arg = p;
  if (w->close_in_accept)
    tide__conn_close(c, 0, "closing at accept");
}

static void tick_cb(uv_timer_t *t)
{
}

static void world_init(world *w)
{
  tide_error err;
  memset(w, 0, sizeof *w);
  assert_int_equal(uv_loop_init(&w->loop), 0);
  uv_timer_init(&w->loop, &w->tick);
  uv_timer_start(&w->tick, tick_cb, 50, 50);
  uv_unref((uv_handle_t *)&w->tick);
  assert_int_equal(tide__server_listen(&w->loop, "127.0.0.1", 0, on_accept, w, &w->srv, &err), 0);
  assert_true(tide__server_port(w->srv) > 0);
  char want[64];
  snprintf(want, sizeof want, "tcp://127.0.0.1:%d", tide__server_port(w->srv));
  assert_string_equal(tide__server_address(w->srv), want);
}

static void world_finish(world *w)
{
  tide__server_close(w->srv);
  uv_close((uv_handle_t *)&w->tick, NULL);
  assert_int_equal(uv_run(&w->loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&w->loop), 0);
}

/* Run until cond holds; fail after 10 s. */
#define RUN_UNTIL(w, cond)                                                                         \
  do {                                                                                             \
    double end_ = tide__now() + 10;                                                                \
    while (!(cond) && tide__now() < end_)                                                          \
      uv_run(&(w)->loop, UV_RUN_ONCE);                                                             \
    assert_true(cond);                                                                             \
  } while (0)

typedef struct client {
  peer p;
  int status;
  bool done;
  const char *first_op; /* "hello" or something else */
  int64_t proto;
} client;

static void client_connected(tide__conn *c, int status, void *arg)
{
  client *cl = arg;
  cl->done = true;
  cl->status = status;
  cl->p.c = c;
  if (status < 0)
    return;
  if (strcmp(cl->first_op, "hello") == 0) {
    msgpack_packer *pk = tide__conn_begin(c, TIDE_OP_HELLO, 1);
    tide__pk_kint(pk, "proto", cl->proto);
    tide__conn_end(c);
  } else {
    send_seq(c, 0);
  }
}

static void client_connect(world *w, client *cl, const char *first_op, int64_t proto)
{
  tide_error err;
  memset(cl, 0, sizeof *cl);
  cl->p.w = w;
  cl->p.order_ok = true;
  cl->first_op = first_op;
  cl->proto = proto;
  assert_int_equal(tide__conn_connect(&w->loop, tide__server_address(w->srv), NULL, &peer_ops, cl,
                                      client_connected, &err),
                   0);
  RUN_UNTIL(w, cl->done);
  assert_int_equal(cl->status, 0);
}

static void test_hello_and_batching(void **state)
{
  world w;
  client cl;
  world_init(&w);
  client_connect(&w, &cl, "hello", TIDE_PROTO_VERSION);
  /* 10,000 messages queued in one iteration. */
  for (int i = 0; i < NMSG; i++)
    send_seq(cl.p.c, i);
  assert_true(tide__conn_pending_bytes(cl.p.c) > NMSG);
  RUN_UNTIL(&w, w.nspeers == 1 && w.speers[0].msgs == NMSG && cl.p.hellos == 1);
  peer *sp = &w.speers[0];
  assert_int_equal(sp->hellos, 1);
  assert_true(sp->order_ok);
  assert_true(tide__conn_ready(sp->c));
  assert_true(tide__conn_ready(cl.p.c));
  /* hello + 10,000 messages went out in very few frames. */
  uint64_t frames = tide__conn_frames_sent(cl.p.c);
  assert_true(frames >= 1 && frames <= 3);
  assert_int_equal(tide__conn_frames_received(sp->c), frames);
  RUN_UNTIL(&w, tide__conn_pending_bytes(cl.p.c) == 0);
  /* Server replies in order too. */
  for (int i = 0; i < 100; i++)
    send_seq(sp->c, i);
  RUN_UNTIL(&w, cl.p.msgs == 100);
  assert_true(cl.p.order_ok);
  assert_non_null(strstr(tide__conn_peer(sp->c), "127.0.0.1:"));
  tide__conn_close(cl.p.c, 0, NULL);
  RUN_UNTIL(&w, cl.p.closed == 1 && sp->closed == 1);
  assert_int_equal(cl.p.close_status, 0);
  assert_int_equal(sp->close_status, 0);
  world_finish(&w);
}

static void send_seq_deferred(tide__conn *c, int64_t seq, unsigned ms)
{
  msgpack_packer *pk = tide__conn_begin(c, TIDE_OP_HEARTBEAT, 1);
  tide__pk_kint(pk, "seq", seq);
  tide__conn_end_deferred(c, ms);
}

/* tide__conn_end_deferred: held while the last frame is recent, then one
 * frame; sent at once by a normal end or on an idle connection. */
static void test_deferred_end(void **state)
{
  world w;
  client cl;
  world_init(&w);
  client_connect(&w, &cl, "hello", TIDE_PROTO_VERSION);
  RUN_UNTIL(&w, w.nspeers == 1 && cl.p.hellos == 1);
  peer *sp = &w.speers[0];
  send_seq(sp->c, 0);
  tide__conn_flush(sp->c); /* a frame just went out */
  uint64_t f0 = tide__conn_frames_sent(sp->c);
  for (int i = 1; i <= 5; i++)
    send_seq_deferred(sp->c, i, 60000);
  for (int i = 0; i < 5; i++)
    uv_run(&w.loop, UV_RUN_NOWAIT);
  assert_int_equal(tide__conn_frames_sent(sp->c), f0); /* held */
  RUN_UNTIL(&w, cl.p.msgs == 1);
  send_seq(sp->c, 6); /* a normal message takes the held ones along */
  RUN_UNTIL(&w, cl.p.msgs == 7);
  assert_true(cl.p.order_ok);
  assert_int_equal(tide__conn_frames_sent(sp->c), f0 + 1);
  /* held until delay_ms after the last frame, then one frame */
  for (int i = 7; i < 10; i++)
    send_seq_deferred(sp->c, i, 30);
  assert_int_equal(tide__conn_frames_sent(sp->c), f0 + 1);
  RUN_UNTIL(&w, cl.p.msgs == 10);
  assert_int_equal(tide__conn_frames_sent(sp->c), f0 + 2);
  /* an idle connection sends at the end of the iteration */
  uint64_t t = uv_now(&w.loop);
  RUN_UNTIL(&w, uv_now(&w.loop) >= t + 40);
  send_seq_deferred(sp->c, 10, 30);
  uv_run(&w.loop, UV_RUN_NOWAIT);
  assert_int_equal(tide__conn_frames_sent(sp->c), f0 + 3);
  RUN_UNTIL(&w, cl.p.msgs == 11);
  assert_true(cl.p.order_ok);
  /* closing flushes what is held */
  send_seq(sp->c, 11);
  tide__conn_flush(sp->c);
  send_seq_deferred(sp->c, 12, 60000);
  tide__conn_close(sp->c, 0, NULL);
  RUN_UNTIL(&w, cl.p.msgs == 13 && cl.p.closed == 1);
  assert_true(cl.p.order_ok);
  world_finish(&w);
}

static void test_bad_handshake(void **state)
{
  world w;
  client good, bad, oldproto;
  world_init(&w);
  client_connect(&w, &good, "hello", TIDE_PROTO_VERSION);
  client_connect(&w, &bad, "heartbeat", 0);
  client_connect(&w, &oldproto, "hello", 99);
  RUN_UNTIL(&w, bad.p.closed == 1 && oldproto.p.closed == 1 && good.p.hellos == 1);
  /* The refused clients were told why, and the server side of each closed. */
  assert_int_equal(bad.p.errors, 1);
  assert_non_null(strstr(bad.p.last_error, "bad handshake"));
  assert_non_null(strstr(oldproto.p.last_error, "protocol version 99"));
  assert_int_equal(w.server_closed_conns, 2);
  assert_int_equal(w.speers[1].close_status, TIDE_EPROTO);
  assert_int_equal(w.speers[1].msgs, 0); /* never delivered */
  /* The good one keeps working. */
  assert_int_equal(good.p.closed, 0);
  send_seq(good.p.c, 0);
  RUN_UNTIL(&w, w.speers[0].msgs == 1);
  tide__conn_close(good.p.c, 0, NULL);
  RUN_UNTIL(&w, good.p.closed == 1 && w.server_closed_conns == 3);
  world_finish(&w);
}

/* A raw socket writing arbitrary bytes. */
typedef struct raw {
  uv_tcp_t tcp;
  uv_connect_t creq;
  uv_write_t wreq;
  char bytes[64];
  size_t n;
  bool eof, closed;
} raw;

static void raw_alloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
  static char buf[4096];
  *b = uv_buf_init(buf, sizeof buf);
}

static void raw_closed(uv_handle_t *h)
{
  ((raw *)h->data)->closed = true;
}

static void raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
  raw *r = s->data;
  if (n < 0) {
    r->eof = true;
    uv_close((uv_handle_t *)s, raw_closed);
  }
}

static void raw_written(uv_write_t *req, int status)
{
}

static void raw_connected(uv_connect_t *req, int status)
{
  raw *r = req->data;
  assert_int_equal(status, 0);
  uv_buf_t b = uv_buf_init(r->bytes, (unsigned)r->n);
  uv_write(&r->wreq, (uv_stream_t *)&r->tcp, &b, 1, raw_written);
  uv_read_start((uv_stream_t *)&r->tcp, raw_alloc, raw_read);
}

static void raw_send_cb(world *w, raw *r, const void *bytes, size_t n, uv_connect_cb cb)
{
  struct sockaddr_in sa;
  memset(r, 0, sizeof *r);
  memcpy(r->bytes, bytes, n);
  r->n = n;
  uv_ip4_addr("127.0.0.1", tide__server_port(w->srv), &sa);
  uv_tcp_init(&w->loop, &r->tcp);
  r->tcp.data = r;
  r->creq.data = r;
  assert_int_equal(uv_tcp_connect(&r->creq, &r->tcp, (struct sockaddr *)&sa, cb), 0);
}

static void raw_send(world *w, raw *r, const void *bytes, size_t n)
{
  raw_send_cb(w, r, bytes, n, raw_connected);
}

static void test_garbage_and_oversize(void **state)
{
  world w;
  client good;
  raw g1, g2, g3;
  world_init(&w);
  client_connect(&w, &good, "hello", TIDE_PROTO_VERSION);
  /* Valid length, payload not msgpack (0xc1 is never used). */
  raw_send(&w, &g1, "\0\0\0\5\xc1\xc1\xc1\xc1\xc1", 9);
  /* Declares 4 GiB - 1. */
  raw_send(&w, &g2, "\xff\xff\xff\xff", 4);
  /* msgpack, but an array of a non-map. */
  raw_send(&w, &g3, "\0\0\0\2\x91\x01", 6);
  RUN_UNTIL(&w, g1.closed && g2.closed && g3.closed);
  assert_true(g1.eof && g2.eof && g3.eof);
  RUN_UNTIL(&w, w.server_closed_conns == 3);
  for (int i = 1; i < 4; i++)
    assert_int_equal(w.speers[i].close_status, TIDE_EPROTO);
  /* The good connection is unaffected. */
  send_seq(good.p.c, 0);
  send_seq(good.p.c, 1);
  RUN_UNTIL(&w, w.speers[0].msgs == 2);
  assert_int_equal(good.p.closed, 0);
  tide__conn_close(good.p.c, 0, NULL);
  RUN_UNTIL(&w, good.p.closed == 1 && w.server_closed_conns == 4);
  world_finish(&w);
}

static void raw_reset_written(uv_write_t *req, int status)
{
  raw *r = req->data;
  uv_tcp_close_reset(&r->tcp, raw_closed);
}

static void raw_hello_then_reset(uv_connect_t *req, int status)
{
  raw *r = req->data;
  assert_int_equal(status, 0);
  uv_buf_t b = uv_buf_init(r->bytes, (unsigned)r->n);
  r->wreq.data = r;
  uv_write(&r->wreq, (uv_stream_t *)&r->tcp, &b, 1, raw_reset_written);
}

static void test_peer_reset(void **state)
{
  world w;
  raw r;
  world_init(&w);
  /* A hello frame: [{"op": "hello", "proto": 1}], then a TCP reset. */
  static const char hello[] = "\0\0\0\x12\x91\x82\xa2op\xa5hello\xa5proto\x01";
  raw_send_cb(&w, &r, hello, sizeof hello - 1, raw_hello_then_reset);
  RUN_UNTIL(&w, w.nspeers == 1 && w.speers[0].hellos == 1);
  /* Keep writing to the dead peer: no crash (no SIGPIPE), one on_closed. */
  for (int i = 0; i < 50 && w.speers[0].closed == 0; i++) {
    if (w.speers[0].c)
      send_seq(w.speers[0].c, i);
    uv_run(&w.loop, UV_RUN_ONCE);
  }
  RUN_UNTIL(&w, w.speers[0].closed == 1 && r.closed);
  /* Linux reports the reset as EOF or ECONNRESET depending on timing. */
  int st = w.speers[0].close_status;
  if (st != 0 && st != UV_ECONNRESET && st != UV_EPIPE)
    fail_msg("status %d", st);
  assert_int_equal(w.speers[0].closed, 1);
  world_finish(&w);
}

static void test_lowered_max_frame(void **state)
{
  world w;
  client cl;
  tide__limits l = TIDE__LIMITS_DEFAULT;
  l.frame_size = 4096;
  tide__limits_set(&l);
  world_init(&w);
  client_connect(&w, &cl, "hello", TIDE_PROTO_VERSION);
  RUN_UNTIL(&w, cl.p.hellos == 1);
  /* A 10 KB message exceeds the 4 KB limit: the server drops the conn. */
  static char big[10000];
  msgpack_packer *pk = tide__conn_begin(cl.p.c, TIDE_OP_DATA, 1);
  tide__pk_str(pk, "blob");
  tide__pk_bin(pk, big, sizeof big);
  tide__conn_end(cl.p.c);
  RUN_UNTIL(&w, cl.p.closed == 1 && w.server_closed_conns == 1);
  assert_int_equal(w.speers[0].close_status, TIDE_EPROTO);
  tide__limits_set(NULL);
  world_finish(&w);
}

/* Messages that each fit the frame limit but not together (queued in one
 * loop turn) go out in separate frames, and the peer takes them all. */
static void test_batch_split_at_frame_limit(void **state)
{
  world w;
  client cl;
  tide__limits l = TIDE__LIMITS_DEFAULT;
  l.frame_size = l.handshake_frame = 65536;
  tide__limits_set(&l);
  world_init(&w);
  client_connect(&w, &cl, "hello", TIDE_PROTO_VERSION);
  RUN_UNTIL(&w, cl.p.hellos == 1 && w.nspeers == 1);
  uint64_t f0 = tide__conn_frames_sent(cl.p.c);
  static char blob[40000];
  for (int i = 0; i < 3; i++) {
    msgpack_packer *pk = tide__conn_begin(cl.p.c, TIDE_OP_HEARTBEAT, 2);
    tide__pk_kint(pk, "seq", i);
    tide__pk_str(pk, "blob");
    tide__pk_bin(pk, blob, sizeof blob);
    tide__conn_end(cl.p.c);
  }
  /* polled without blocking: nothing else is due to wake the loop */
  for (double e = tide__now() + 5; tide__now() < e && w.speers[0].msgs < 3;)
    uv_run(&w.loop, UV_RUN_NOWAIT);
  assert_int_equal(w.speers[0].msgs, 3);
  assert_true(w.speers[0].order_ok);
  assert_int_equal(tide__conn_frames_sent(cl.p.c), f0 + 3); /* 3 x 40 KB: one frame each */
  assert_int_equal(w.speers[0].closed, 0);
  tide__conn_close(cl.p.c, 0, NULL);
  RUN_UNTIL(&w, cl.p.closed == 1 && w.server_closed_conns == 1);
  tide__limits_set(NULL);
  world_finish(&w);
}

static void test_large_message_and_close_in_msg(void **state)
{
  world w;
  client cl;
  world_init(&w);
  client_connect(&w, &cl, "hello", TIDE_PROTO_VERSION);
  RUN_UNTIL(&w, cl.p.hellos == 1);
  /* 3 MB payload: the read buffer grows to hold it. */
  size_t n = 3u << 20;
  char *big = calloc(1, n);
  big[n - 1] = 7;
  msgpack_packer *pk = tide__conn_begin(cl.p.c, TIDE_OP_DATA, 1);
  tide__pk_str(pk, "blob");
  tide__pk_bin(pk, big, n);
  tide__conn_end(cl.p.c);
  free(big);
  w.speers[0].close_on_msg = true;
  send_seq(cl.p.c, 0);
  /* The server answers and closes from inside on_msg; the answer arrives. */
  RUN_UNTIL(&w, cl.p.closed == 1 && w.speers[0].closed == 1);
  assert_int_equal(w.speers[0].msgs, 1);
  assert_int_equal(cl.p.msgs, 1);
  assert_int_equal(cl.p.next_seq, 43);
  assert_int_equal(cl.p.close_status, 0);
  world_finish(&w);
}

static void test_close_in_accept(void **state)
{
  world w;
  client cl;
  world_init(&w);
  w.close_in_accept = true;
  client_connect(&w, &cl, "hello", TIDE_PROTO_VERSION);
  /* on_closed still runs for a conn closed inside on_accept. */
  RUN_UNTIL(&w, w.server_closed_conns == 1 && cl.p.closed == 1);
  assert_int_equal(w.speers[0].hellos, 0);
  world_finish(&w);
}

static void connect_cb(tide__conn *c, int status, void *arg)
{
  world *w = arg;
  w->connect_done = true;
  w->connect_status = status;
  assert_null(c);
}

static void test_connect_and_listen_errors(void **state)
{
  world w;
  tide_error err;
  tide__server *s2;
  world_init(&w);
  int port = tide__server_port(w.srv);
  /* The same port again. */
  assert_int_equal(tide__server_listen(&w.loop, "127.0.0.1", port, on_accept, &w, &s2, &err),
                   UV_EADDRINUSE);
  char want[64];
  snprintf(want, sizeof want, "port %d is in use", port);
  assert_non_null(strstr(err.text, want));
  /* Refused after the server closed. */
  char addr[64];
  snprintf(addr, sizeof addr, "%s", tide__server_address(w.srv));
  tide__server_close(w.srv);
  w.srv = NULL;
  uv_run(&w.loop, UV_RUN_NOWAIT);
  assert_int_equal(tide__conn_connect(&w.loop, addr, NULL, &peer_ops, &w, connect_cb, &err), 0);
  RUN_UNTIL(&w, w.connect_done);
  assert_int_equal(w.connect_status, UV_ECONNREFUSED);
  /* Bad addresses fail at once, without a callback. */
  w.connect_done = false;
  assert_int_equal(tide__conn_connect(&w.loop, "udp://x:1", NULL, &peer_ops, &w, connect_cb, &err),
                   TIDE_EUSAGE);
  assert_int_equal(tide__conn_connect(&w.loop, "nohost", NULL, &peer_ops, &w, connect_cb, &err),
                   TIDE_EUSAGE);
  /* A host name goes through the resolver. */
  world w2;
  world_init(&w2);
  snprintf(addr, sizeof addr, "tcp://localhost:%d", tide__server_port(w2.srv));
  client cl;
  memset(&cl, 0, sizeof cl);
  cl.first_op = "hello";
  cl.proto = 1;
  assert_int_equal(tide__conn_connect(&w2.loop, addr, NULL, &peer_ops, &cl, client_connected, &err),
                   0);
  RUN_UNTIL(&w2, cl.done);
  assert_int_equal(cl.status, 0);
  RUN_UNTIL(&w2, cl.p.hellos == 1);
  tide__conn_close(cl.p.c, 0, NULL);
  RUN_UNTIL(&w2, w2.server_closed_conns == 1);
  world_finish(&w2);
  uv_close((uv_handle_t *)&w.tick, NULL);
  assert_int_equal(uv_run(&w.loop, UV_RUN_DEFAULT), 0);
  assert_false(w.connect_done);
  assert_int_equal(uv_loop_close(&w.loop), 0);
}

int main(void)
{
  tide__log_init("test", TIDE_LOG_WARNING);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hello_and_batching),
      cmocka_unit_test(test_deferred_end),
      cmocka_unit_test(test_bad_handshake),
      cmocka_unit_test(test_garbage_and_oversize),
      cmocka_unit_test(test_peer_reset),
      cmocka_unit_test(test_lowered_max_frame),
      cmocka_unit_test(test_batch_split_at_frame_limit),
      cmocka_unit_test(test_large_message_and_close_in_msg),
      cmocka_unit_test(test_close_in_accept),
      cmocka_unit_test(test_connect_and_listen_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
