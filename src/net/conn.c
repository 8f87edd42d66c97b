/* Connections: libuv streams carrying framed msgpack batches, with batched
 * send (one frame per loop iteration) and the hello handshake. */
#include <pthread.h>
#include <signal.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "net/conn_int.h"
#include "proto/frame.h"

enum {
  /* Buffers start small and grow with what passes: reads double while
   * they fill what they were given, up to READ_CHUNK; the decode zone grows
   * by 4x when a frame needs more than one chunk (a worker's hello fits
   * the first); a batch's send buffer doubles as msgpack fills it. An idle
   * worker's connection (heartbeats) keeps about 1 KiB of each, a transfer
   * reads 64 KiB at a time. At 10,000 connected workers every KiB per
   * connection is 10 MB of the scheduler (docs/benchmarks.md "Scale"). */
  READ_CHUNK_MIN = 1024,
  READ_CHUNK = 64 * 1024,
  ZONE_CHUNK_MIN = 2 * 1024,
  SEND_CHUNK_MIN = 1024,
  ZONE_CHUNK_MAX = 16 * 1024 * 1024,
  TRIM_AFTER_FRAME = 1024 * 1024,
  FLUSH_AT = 8 * 1024 * 1024,  /* flush early when a batch gets this big */
  SPARE_MAX = 8 * 1024 * 1024, /* keep send buffers up to this size */
  CLOSE_TIMEOUT_MS = 5000,     /* graceful close gives up after this */
};

static void noop_msg(tide__conn *c, const msgpack_object *msg, void *arg)
{
}
static const tide__conn_ops noop_ops = {.on_msg = noop_msg};

static void conn_hard_close(tide__conn *c);

/* --- tcp transport -------------------------------------------------------- */

static void tcp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  tide__conn *c = h->data;
  char *p;
  size_t avail;
  tide__framer_reserve(&c->fr, c->read_chunk, &p, &avail);
  if (avail > UINT32_MAX)
    avail = UINT32_MAX;
  c->read_avail = avail;
  *buf = uv_buf_init(p, (unsigned)avail);
}

static void tcp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
  tide__conn *c = s->data;
  if (nread > 0 && (size_t)nread == c->read_avail && c->read_chunk < READ_CHUNK)
    c->read_chunk *= 2;
  tide__conn_received(c, nread);
}

static int tcp_read_start(tide__conn *c)
{
  return uv_read_start((uv_stream_t *)&c->tcp, tcp_alloc, tcp_read);
}

static void tcp_read_stop(tide__conn *c)
{
  uv_read_stop((uv_stream_t *)&c->tcp);
}

static void tcp_write_cb(uv_write_t *req, int status)
{
  tide__wreq *w = (tide__wreq *)req;
  tide__conn_write_done(w->conn, w, status);
}

static int tcp_write(tide__conn *c, tide__wreq *w, const uv_buf_t *bufs, unsigned n)
{
  return uv_write(&w->req, (uv_stream_t *)&c->tcp, bufs, n, tcp_write_cb);
}

static int tcp_try_write(tide__conn *c, const uv_buf_t *bufs, unsigned n)
{
  return uv_try_write((uv_stream_t *)&c->tcp, bufs, n);
}

static void tcp_shutdown_cb(uv_shutdown_t *req, int status)
{
  conn_hard_close(req->data);
}

static int tcp_shutdown(tide__conn *c)
{
  c->shut.data = c;
  return uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, tcp_shutdown_cb);
}

static void handle_closed(uv_handle_t *h);

/* Close h unless someone already did (an application walking its loop at
 * exit may close our handles itself: then our memory is leaked, not freed
 * twice). */
static void close_once(uv_handle_t *h)
{
  if (!uv_is_closing(h))
    uv_close(h, handle_closed);
}

static void tcp_close(tide__conn *c)
{
  close_once((uv_handle_t *)&c->tcp);
}

const tide__transport tide__tcp_transport = {
    .scheme = "tcp",
    .read_start = tcp_read_start,
    .read_stop = tcp_read_stop,
    .write = tcp_write,
    .try_write = tcp_try_write,
    .shutdown = tcp_shutdown,
    .close = tcp_close,
};

/* --- lifetime ------------------------------------------------------------- */

static void on_prepare(uv_prepare_t *p);

/* Writing to a peer that went away raises SIGPIPE, whose default action
 * kills the process; libuv leaves that to the application. Ignore it once
 * (unless the application installed its own handler) and take EPIPE. */
static void ignore_sigpipe(void)
{
  struct sigaction sa;
  if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
    signal(SIGPIPE, SIG_IGN);
}

tide__conn *tide__conn_new(uv_loop_t *loop)
{
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, ignore_sigpipe);
  tide__conn *c = tide__xcalloc(1, sizeof *c);
  c->loop = loop;
  c->tp = &tide__tcp_transport;
  c->ops = &noop_ops;
  uv_tcp_init(loop, &c->tcp);
  uv_prepare_init(loop, &c->prep);
  uv_timer_init(loop, &c->timer);
  uv_timer_init(loop, &c->guard);
  c->tcp.data = c->prep.data = c->timer.data = c->guard.data = c;
  c->handles_open = 4;
  tide__framer_init(&c->fr, (size_t)tide__limits_get()->frame_size);
  c->read_chunk = READ_CHUNK_MIN;
  c->zone_chunk = ZONE_CHUNK_MIN;
  msgpack_zone_init(&c->zone, c->zone_chunk);
  tide__batch_init(&c->batch);
  snprintf(c->peer, sizeof c->peer, "?");
  return c;
}

static void conn_free(tide__conn *c)
{
  tide__conn_hs_release(c);
  if (c->tp->destroy)
    c->tp->destroy(c); /* may hand back queued write requests */
  tide__framer_free(&c->fr);
  msgpack_zone_destroy(&c->zone);
  tide__batch_destroy(&c->batch);
  free(c->spare);
  while (c->free_reqs) {
    tide__wreq *w = c->free_reqs;
    c->free_reqs = w->next;
    free(w);
  }
  free(c->connecting);
  free(c);
}

static void handle_closed(uv_handle_t *h)
{
  tide__conn *c = h->data;
  if (--c->handles_open > 0)
    return;
  if (c->connecting) {
    tide__connecting *p = c->connecting;
    if (!p->silent && p->cb)
      p->cb(NULL, c->status < 0 ? c->status : UV_ECONNABORTED, p->arg);
  } else if (c->ops->on_closed) {
    c->ops->on_closed(c, c->status, c->arg);
  }
  conn_free(c);
}

/* Close every handle now; memory goes in the last close callback. */
static void conn_hard_close(tide__conn *c)
{
  if (c->handles_closing)
    return;
  c->handles_closing = true;
  c->closing = true;
  c->tp->close(c);
  close_once((uv_handle_t *)&c->prep);
  close_once((uv_handle_t *)&c->timer);
  close_once((uv_handle_t *)&c->guard);
}

void tide__conn_abort(tide__conn *c, int status)
{
  if (!c->closing)
    c->status = status;
  c->closing = true;
  conn_hard_close(c);
}

static void close_timeout(uv_timer_t *t)
{
  tide__conn *c = t->data;
  tide__warn("net", "connection with %s: close timed out, dropping unsent data", c->peer);
  conn_hard_close(c);
}

void tide__conn_close(tide__conn *c, int status, const char *reason)
{
  if (!c || c->closing)
    return;
  if (reason) {
    if (status < 0)
      tide__warn("net", "closing connection with %s: %s", c->peer, reason);
    else
      tide__info("net", "closing connection with %s: %s", c->peer, reason);
  }
  c->status = status;
  c->tp->read_stop(c);
  /* Errors on the socket itself leave nothing worth flushing. */
  bool graceful =
      status == 0 || status == TIDE_EPROTO || status == TIDE_ECLOSED || status == TIDE_EAUTH;
  if (graceful && !c->connecting) {
    tide__conn_flush(c);
    c->closing = true;
    if (c->tp->shutdown(c) == 0) {
      uv_timer_start(&c->timer, close_timeout, CLOSE_TIMEOUT_MS, 0);
      return;
    }
  }
  c->closing = true;
  conn_hard_close(c);
}

/* --- sending -------------------------------------------------------------- */

msgpack_packer *tide__conn_begin(tide__conn *c, tide__op op, uint32_t nfields)
{
  c->msg_start = c->batch.sbuf.size;
  if (c->batch.sbuf.alloc == 0) { /* else msgpack starts every buffer at 8 KiB */
    c->batch.sbuf.data = tide__xmalloc(SEND_CHUNK_MIN);
    c->batch.sbuf.alloc = SEND_CHUNK_MIN;
  }
  return tide__batch_begin(&c->batch, op, nfields);
}

/* A message just packed that would take the batch past limits.frame-size
 * goes out in a frame of its own: the messages before it are flushed first
 * (a frame the peer would refuse would lose them all). A single message
 * over the limit is the producer's to avoid (results are capped by
 * limits.result-size, replies split by it). */
static void keep_frame_in_limit(tide__conn *c)
{
  size_t frame = (size_t)tide__limits_get()->frame_size;
  if (c->batch.count == 0 || c->held || c->closing ||
      c->batch.sbuf.size + TIDE_FRAME_HEADER + 5 <= frame)
    return;
  size_t mlen = c->batch.sbuf.size - c->msg_start;
  char *m = tide__xmalloc(mlen ? mlen : 1);
  memcpy(m, c->batch.sbuf.data + c->msg_start, mlen);
  c->batch.sbuf.size = c->msg_start;
  tide__conn_flush(c);
  msgpack_sbuffer_write(&c->batch.sbuf, m, mlen);
  free(m);
}

void tide__conn_end(tide__conn *c)
{
  keep_frame_in_limit(c);
  tide__batch_end(&c->batch);
  if (c->closing) {
    tide__batch_reset(&c->batch); /* nobody will read it */
    return;
  }
  if (c->batch.sbuf.size >= FLUSH_AT) {
    tide__conn_flush(c);
    return;
  }
  if (!c->prep_active) {
    uv_prepare_start(&c->prep, on_prepare);
    c->prep_active = true;
  }
}

static void on_prepare(uv_prepare_t *p)
{
  tide__conn_flush(p->data);
}

static void on_defer(uv_timer_t *t)
{
  tide__conn *c = t->data;
  c->defer_active = false;
  tide__conn_flush(c);
}

void tide__conn_end_deferred(tide__conn *c, unsigned delay_ms)
{
  uint64_t now = uv_now(c->loop), due = c->last_flush_ms + delay_ms;
  if (c->closing || c->prep_active || now >= due || c->batch.sbuf.size >= FLUSH_AT) {
    tide__conn_end(c);
    return;
  }
  keep_frame_in_limit(c);
  tide__batch_end(&c->batch);
  if (!c->defer_active) {
    uv_timer_start(&c->timer, on_defer, due - now, 0);
    c->defer_active = true;
  }
}

void tide__conn_flush(tide__conn *c)
{
  if (c->prep_active) {
    uv_prepare_stop(&c->prep);
    c->prep_active = false;
  }
  if (c->defer_active) {
    uv_timer_stop(&c->timer);
    c->defer_active = false;
  }
  if (c->batch.count == 0 || c->closing || c->held)
    return;
  c->last_flush_ms = uv_now(c->loop);
  tide__wreq *w = c->free_reqs;
  if (w)
    c->free_reqs = w->next;
  else
    w = tide__xmalloc(sizeof *w);
  w->conn = c;
  size_t hlen;
  tide__batch_header(&c->batch, w->hdr, &hlen);
  /* Hand the batch's buffer to the write; the batch takes the spare. */
  w->body = c->batch.sbuf.data;
  w->cap = c->batch.sbuf.alloc;
  size_t blen = c->batch.sbuf.size;
  w->nbytes = hlen + blen;
  c->batch.sbuf.data = c->spare;
  c->batch.sbuf.alloc = c->spare ? c->spare_cap : 0;
  c->batch.sbuf.size = 0;
  c->batch.count = 0;
  c->spare = NULL;
  c->spare_cap = 0;
  c->inflight += w->nbytes;
  c->frames_sent++;
  uv_buf_t bufs[2] = {uv_buf_init(w->hdr, (unsigned)hlen), uv_buf_init(w->body, (unsigned)blen)};
  uv_buf_t *b = bufs;
  unsigned nb = 2;
  if (c->tp->try_write && c->inflight == w->nbytes) {
    /* Nothing queued: write at once. A frame the kernel takes whole needs
     * no write request, no completion callback and no extra loop turn
     * (the common case for small frames). */
    int n = c->tp->try_write(c, bufs, 2);
    if (n >= 0 && (size_t)n == w->nbytes) {
      tide__conn_write_done(c, w, 0);
      return;
    }
    if (n > 0) {
      size_t done = (size_t)n;
      if (done >= hlen) {
        done -= hlen;
        b++;
        nb--;
      } else {
        b[0] = uv_buf_init(w->hdr + done, (unsigned)(hlen - done));
        done = 0;
      }
      b[nb - 1].base += done;
      b[nb - 1].len -= done;
    }
  }
  int r = c->tp->write(c, w, b, nb);
  if (r < 0) {
    tide__conn_write_done(c, w, UV_ECANCELED);
    tide__conn_abort(c, r);
  }
}

void tide__conn_write_done(tide__conn *c, tide__wreq *w, int status)
{
  c->inflight -= w->nbytes;
  /* A buffer that never grew is not worth keeping: an idle connection then
   * holds none, and a busy one keeps the bigger buffers it grew. */
  if (!c->spare && !c->closing && w->cap > SEND_CHUNK_MIN && w->cap <= SPARE_MAX) {
    c->spare = w->body;
    c->spare_cap = w->cap;
  } else {
    free(w->body);
  }
  w->body = NULL;
  w->next = c->free_reqs;
  c->free_reqs = w;
  if (status < 0 && status != UV_ECANCELED && !c->closing) {
    tide__warn("net", "write to %s failed: %s", c->peer, uv_strerror(status));
    tide__conn_abort(c, status);
  }
}

/* --- receiving ------------------------------------------------------------ */

static void send_error(tide__conn *c, const char *text)
{
  msgpack_packer *pk = tide__conn_begin(c, TIDE_OP_ERROR, 1);
  tide__pk_kstr(pk, "message", text);
  tide__conn_end(c);
}

/* Handshake rule of conn.h, then delivery. */
static void deliver(tide__conn *c, const msgpack_object *m)
{
  if (tide__conn_auth_msg(c, m))
    return;
  if (!c->ready) {
    tide__op op = tide__mp_op(m);
    int64_t proto = -1;
    if (op == TIDE_OP_HELLO && tide__mp_int(m, "proto", &proto) && proto == TIDE_PROTO_VERSION) {
      c->ready = true;
      tide__conn_hs_done(c);
    } else if (op == TIDE_OP_ERROR) {
      /* The peer refuses us: let the application print why. */
    } else {
      char why[160];
      if (op == TIDE_OP_HELLO)
        snprintf(why, sizeof why, "bad handshake: protocol version %lld, this side speaks %d",
                 (long long)proto, TIDE_PROTO_VERSION);
      else
        snprintf(why, sizeof why, "bad handshake: first message is \"%s\", not hello",
                 tide__op_name(op));
      send_error(c, why);
      tide__conn_close(c, TIDE_EPROTO, why);
      return;
    }
  }
  c->msgs_received++;
  c->ops->on_msg(c, m, c->arg);
}

/* Tell the peer why before closing, so a client that sent what cannot be
 * decoded (a frame over limits.frame-size, malformed msgpack) prints the
 * reason rather than a lost connection. */
static void protocol_error(tide__conn *c, const char *why)
{
  send_error(c, why);
  tide__conn_close(c, TIDE_EPROTO, why);
}

void tide__conn_received(tide__conn *c, ssize_t nread)
{
  if (nread == 0)
    return;
  if (nread < 0) {
    if (nread == UV_EOF) {
      tide__debug("net", "connection with %s closed by peer", c->peer);
      tide__conn_close(c, 0, NULL);
    } else {
      tide__info("net", "connection with %s lost: %s", c->peer, uv_strerror((int)nread));
      tide__conn_abort(c, (int)nread);
    }
    return;
  }
  tide__framer_commit(&c->fr, (size_t)nread);
  if (!tide__conn_hs_bytes(c))
    return;
  while (!c->closing) {
    const char *payload;
    size_t len;
    tide_error err;
    int r = tide__framer_next(&c->fr, &payload, &len, &err);
    if (r == 0)
      break;
    if (r < 0) {
      protocol_error(c, err.text);
      break;
    }
    c->frames_received++;
    msgpack_object_array msgs;
    void *head = c->zone.chunk_list.head;
    r = tide__batch_decode(payload, len, &c->zone, &msgs, &err);
    if (r < 0) {
      protocol_error(c, err.text);
    } else {
      for (uint32_t i = 0; i < msgs.size && !c->closing; i++)
        deliver(c, &msgs.ptr[i]);
    }
    /* A frame that needed more than one zone chunk: use bigger chunks so
     * the steady state allocates nothing per frame. */
    if (c->zone.chunk_list.head != head && c->zone_chunk < ZONE_CHUNK_MAX) {
      msgpack_zone_destroy(&c->zone);
      c->zone_chunk *= 4;
      msgpack_zone_init(&c->zone, c->zone_chunk);
    } else {
      msgpack_zone_clear(&c->zone);
    }
    /* A large frame (a big graph, a data transfer) leaves its decoded
     * objects freed but held by malloc: hand the pages back, so a scheduler
     * holding 100,000 pending tasks costs their records only. */
    if (len >= TRIM_AFTER_FRAME)
      malloc_trim(0);
  }
}

/* Peer name, TCP_NODELAY, keep-alive. */
void tide__conn_setup(tide__conn *c)
{
  struct sockaddr_storage ss;
  int len = sizeof ss;
  char ip[64];

  uv_tcp_nodelay(&c->tcp, 1);
  uv_tcp_keepalive(&c->tcp, 1, 60);
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
    if (ss.ss_family == AF_INET6) {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
      uv_ip6_name(a, ip, sizeof ip);
      snprintf(c->peer, sizeof c->peer, "[%s]:%d", ip, ntohs(a->sin6_port));
      snprintf(c->source, sizeof c->source, "%s", ip);
    } else {
      struct sockaddr_in *a = (struct sockaddr_in *)&ss;
      uv_ip4_name(a, ip, sizeof ip);
      snprintf(c->peer, sizeof c->peer, "%s:%d", ip, ntohs(a->sin_port));
      snprintf(c->source, sizeof c->source, "%s", ip);
    }
  }
}

int tide__conn_start(tide__conn *c)
{
  return c->tp->read_start(c);
}

/* --- accessors ------------------------------------------------------------ */

void tide__conn_set_arg(tide__conn *c, void *arg)
{
  c->arg = arg;
}

const char *tide__conn_peer(const tide__conn *c)
{
  return c->peer;
}

size_t tide__conn_pending_bytes(const tide__conn *c)
{
  return c->batch.sbuf.size + c->inflight;
}

bool tide__conn_ready(const tide__conn *c)
{
  return c->ready;
}

uint64_t tide__conn_frames_sent(const tide__conn *c)
{
  return c->frames_sent;
}

uint64_t tide__conn_frames_received(const tide__conn *c)
{
  return c->frames_received;
}

void tide__conn_set_ops(tide__conn *c, const tide__conn_ops *ops, void *arg)
{
  c->ops = ops ? ops : &noop_ops;
  c->arg = arg;
}
