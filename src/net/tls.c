/* The tls transport: OpenSSL over a libuv tcp stream through two BIOs of
 * our own. The read BIO hands OpenSSL the ciphertext libuv just read, where
 * it lies; the write BIO appends records to a buffer that goes to the
 * socket as it is (no memory BIO in between, which would cost a copy each
 * way and a pass through BUF_MEM per record). Plaintext is decrypted
 * straight into the framer's buffer, so conn.c sees the same byte stream as
 * over tcp. Application writes made before the handshake ends wait in a
 * queue. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/log.h"
#include "common/schedfile.h"
#include "common/util.h"
#include "common/vec.h"
#include "net/conn_int.h"
#include "net/tls.h"

enum {
  CIPHER_CHUNK = 64 * 1024,          /* ciphertext read from the socket at once */
  PLAIN_CHUNK = 64 * 1024,           /* plaintext decrypted into the framer at once */
  WRITE_SLICE = 1024 * 1024,         /* a large frame is encrypted and sent in slices */
  RECORD = SSL3_RT_MAX_PLAIN_LENGTH, /* plaintext of the largest TLS record */
};

/* A write that waits for the handshake; bufs point into w. */
typedef struct pending {
  struct pending *next;
  tide__wreq *w;
  unsigned n;
  uv_buf_t bufs[];
} pending;

struct tide__tls {
  SSL *ssl;
  BIO *rbio, *wbio; /* owned by ssl */
  char rbuf[CIPHER_CHUNK];
  const char *in; /* ciphertext read, not yet taken by OpenSSL */
  size_t in_len;
  tide__text out; /* records sealed, not yet handed to the socket */
  bool server, started, handshaken;
  pending *head, *tail;
  uint64_t records; /* sealed so far */
  char why[200];    /* the failure, for tide__conn_tls_error */
};

/* Ciphertext handed to uv_write; w (may be NULL) completes with it. */
typedef struct out {
  uv_write_t req;
  tide__conn *c;
  tide__wreq *w;
  char data[];
} out;

/* --- process credentials -------------------------------------------------- */

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static SSL_CTX *g_server, *g_client;
static bool g_set;

/* The first OpenSSL error queued, as text (the queue is cleared). */
static const char *ssl_why(char *buf, size_t len)
{
  unsigned long e = ERR_get_error();
  if (!e) {
    snprintf(buf, len, "unknown TLS error");
    return buf;
  }
  const char *r = ERR_reason_error_string(e);
  snprintf(buf, len, "%s", r ? r : "TLS error");
  ERR_clear_error();
  return buf;
}

static bool given(const char *s)
{
  return s && *s;
}

static int ctx_fail(SSL_CTX *ctx, tide_error *err, const char *what, const char *file)
{
  char why[160];
  ssl_why(why, sizeof why);
  SSL_CTX_free(ctx);
  return tide_errprintf(err, TIDE_EUSAGE, "TLS %s %s: %s", what, file, why);
}

static int make_ctx(const tide__tls_files *f, bool server, SSL_CTX **out, tide_error *err)
{
  SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (!ctx)
    return ctx_fail(NULL, err, "context", "");
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  /* OpenSSL's three TLS 1.3 suites, AES-128-GCM first: with AES
   * instructions it seals and opens a small record fastest of the three
   * (docs/benchmarks.md, "TLS against plain TCP"), and tide's frames are
   * mostly small. The server's order decides. */
  if (SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                                    "TLS_CHACHA20_POLY1305_SHA256") != 1)
    return ctx_fail(ctx, err, "cipher suites", "");
  if (server)
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (given(f->cert)) {
    if (SSL_CTX_use_certificate_chain_file(ctx, f->cert) != 1)
      return ctx_fail(ctx, err, "certificate", f->cert);
    if (SSL_CTX_use_PrivateKey_file(ctx, f->key, SSL_FILETYPE_PEM) != 1)
      return ctx_fail(ctx, err, "key", f->key);
    if (SSL_CTX_check_private_key(ctx) != 1)
      return ctx_fail(ctx, err, "key does not match certificate:", f->key);
  }
  if (given(f->ca_file)) {
    if (SSL_CTX_load_verify_locations(ctx, f->ca_file, NULL) != 1)
      return ctx_fail(ctx, err, "CA file", f->ca_file);
    /* Mutual authentication: a server refuses a peer without a certificate
     * signed by the CA, a client a server without one. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
  }
  *out = ctx;
  return 0;
}

int tide__tls_configure(const tide__tls_files *f, tide_error *err)
{
  SSL_CTX *srv = NULL, *cli = NULL;
  bool any = f && (given(f->ca_file) || given(f->cert) || given(f->key));
  if (any) {
    if (given(f->cert) != given(f->key))
      return tide_errprintf(err, TIDE_EUSAGE, "TLS: a certificate needs its key (%s missing)",
                            given(f->cert) ? "key" : "certificate");
    int rc = make_ctx(f, false, &cli, err);
    if (rc < 0)
      return rc;
    if (given(f->cert) && (rc = make_ctx(f, true, &srv, err)) < 0) {
      SSL_CTX_free(cli);
      return rc;
    }
  }
  pthread_mutex_lock(&g_lock);
  SSL_CTX_free(g_server);
  SSL_CTX_free(g_client);
  g_server = srv;
  g_client = cli;
  g_set = any;
  pthread_mutex_unlock(&g_lock);
  return 0;
}

bool tide__tls_serving(void)
{
  pthread_mutex_lock(&g_lock);
  bool r = g_server != NULL;
  pthread_mutex_unlock(&g_lock);
  return r;
}

bool tide__tls_unset(void)
{
  pthread_mutex_lock(&g_lock);
  bool r = !g_set;
  pthread_mutex_unlock(&g_lock);
  return r;
}

int tide__tls_adopt_schedfile(const char *path, tide_error *err)
{
  char *ca, *cert, *key;
  if (!path || !tide__tls_unset() || !tide__schedfile_read_tls(path, &ca, &cert, &key))
    return 0;
  tide__tls_files f = {ca, cert, key};
  int rc = tide__tls_configure(&f, err);
  free(ca);
  free(cert);
  free(key);
  return rc;
}

SSL_CTX *tide__tls_server_ctx(void)
{
  pthread_mutex_lock(&g_lock);
  SSL_CTX *ctx = g_server;
  if (ctx)
    SSL_CTX_up_ref(ctx);
  pthread_mutex_unlock(&g_lock);
  return ctx;
}

SSL_CTX *tide__tls_client_ctx(void)
{
  pthread_mutex_lock(&g_lock);
  if (!g_client) {
    /* tls:// with nothing configured: encrypted, nobody verified. */
    tide__tls_files none = {0};
    make_ctx(&none, false, &g_client, NULL);
  }
  SSL_CTX *ctx = g_client;
  if (ctx)
    SSL_CTX_up_ref(ctx);
  pthread_mutex_unlock(&g_lock);
  return ctx;
}

void tide__tls_ctx_free(SSL_CTX *ctx)
{
  SSL_CTX_free(ctx);
}

/* --- the BIOs --------------------------------------------------------------- */

static pthread_once_t g_bio_once = PTHREAD_ONCE_INIT;
static BIO_METHOD *g_bio_in, *g_bio_out;

/* OpenSSL takes ciphertext from what libuv just read; nothing left: retry
 * once more arrives. */
static int bio_in_read(BIO *b, char *into, int len)
{
  struct tide__tls *t = BIO_get_data(b);
  BIO_clear_retry_flags(b);
  if (t->in_len == 0) {
    BIO_set_retry_read(b);
    return -1;
  }
  size_t k = (size_t)len < t->in_len ? (size_t)len : t->in_len;
  memcpy(into, t->in, k);
  t->in += k;
  t->in_len -= k;
  return (int)k;
}

/* Records OpenSSL seals go to the end of the send buffer. */
static int bio_out_write(BIO *b, const char *data, int len)
{
  struct tide__tls *t = BIO_get_data(b);
  BIO_clear_retry_flags(b);
  tide__text_put(&t->out, data, (size_t)len);
  return len;
}

/* Only what OpenSSL asks of a stream BIO: pending bytes, and a flush
 * (which flush_out does in its own time). */
static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
  struct tide__tls *t = BIO_get_data(b);
  switch (cmd) {
  case BIO_CTRL_PENDING: return b == t->rbio ? (long)t->in_len : 0;
  case BIO_CTRL_WPENDING: return b == t->wbio ? (long)t->out.n : 0;
  case BIO_CTRL_FLUSH: return 1;
  default: return 0;
  }
}

static void bio_methods_init(void)
{
  g_bio_in = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "tide tls in");
  g_bio_out = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "tide tls out");
  if (!g_bio_in || !g_bio_out)
    abort(); /* out of memory, as tide__xmalloc */
  BIO_meth_set_read(g_bio_in, bio_in_read);
  BIO_meth_set_ctrl(g_bio_in, bio_ctrl);
  BIO_meth_set_write(g_bio_out, bio_out_write);
  BIO_meth_set_ctrl(g_bio_out, bio_ctrl);
}

/* --- sending -------------------------------------------------------------- */

static void out_done(uv_write_t *req, int status)
{
  out *o = (out *)req;
  tide__conn *c = o->c;
  if (o->w)
    tide__conn_write_done(c, o->w, status);
  else if (status < 0 && status != UV_ECANCELED && !c->closing) {
    tide__warn("net", "write to %s failed: %s", c->peer, uv_strerror(status));
    tide__conn_abort(c, status);
  }
  free(o);
}

/* Send the records sealed so far; w completes when they are written. When
 * nothing is queued the kernel usually takes them all at once, as over
 * tcp: no request, no callback. On an error w is left to the caller. */
static int flush_out(tide__conn *c, tide__wreq *w)
{
  tide__text *o = &c->tls->out;
  size_t n = o->n, done = 0;
  if (n > 0 && c->tcp.write_queue_size == 0) {
    uv_buf_t b = uv_buf_init(o->v, (unsigned)n);
    int k = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (k < 0 && k != UV_EAGAIN)
      return k;
    done = k > 0 ? (size_t)k : 0;
  }
  o->n = 0;
  if (done == n) {
    if (w)
      tide__conn_write_done(c, w, 0);
    return 0;
  }
  size_t left = n - done;
  out *q = tide__xmalloc(sizeof *q + left);
  q->c = c;
  q->w = w;
  memcpy(q->data, o->v + done, left);
  uv_buf_t b = uv_buf_init(q->data, (unsigned)left);
  int r = uv_write(&q->req, (uv_stream_t *)&c->tcp, &b, 1, out_done);
  if (r < 0)
    free(q);
  return r;
}

/* Seal len bytes into records (16 KiB of plaintext each at most). What
 * earlier calls sealed goes to the socket first once it reaches a slice, so
 * a large frame is not held twice in memory. */
static int seal(tide__conn *c, const char *p, size_t len)
{
  struct tide__tls *t = c->tls;
  if (t->out.n >= WRITE_SLICE) {
    int r = flush_out(c, NULL);
    if (r < 0)
      return r;
  }
  size_t done = 0;
  if (SSL_write_ex(t->ssl, p, len, &done) != 1 || done != len) {
    char why[160];
    tide__warn("net", "TLS write to %s failed: %s", c->peer, ssl_why(why, sizeof why));
    return UV_EPROTO;
  }
  t->records += (len + RECORD - 1) / RECORD;
  return 0;
}

/* Encrypt bufs (a frame's header and body) as whole records: pieces shorter
 * than a record are gathered into one, so a small frame is one record, not
 * one for its header and one for its body. A record costs about as much to
 * seal and to open as 4 KiB of its data does, whatever its size
 * (docs/benchmarks.md, "TLS against plain TCP"). */
static int encrypt_write(tide__conn *c, tide__wreq *w, const uv_buf_t *bufs, unsigned n)
{
  char stage[RECORD];
  size_t staged = 0;
  for (unsigned i = 0; i < n; i++) {
    const char *p = bufs[i].base;
    size_t left = bufs[i].len;
    while (left > 0) {
      size_t k;
      int r = 0;
      if (staged == 0 && left >= RECORD) {
        /* whole records straight from the buffer, the tail staged */
        k = left - left % RECORD;
        if (k > WRITE_SLICE)
          k = WRITE_SLICE;
        r = seal(c, p, k);
      } else {
        k = left < RECORD - staged ? left : RECORD - staged;
        memcpy(stage + staged, p, k);
        staged += k;
        if (staged == RECORD) {
          r = seal(c, stage, staged);
          staged = 0;
        }
      }
      if (r < 0)
        return r;
      p += k;
      left -= k;
    }
  }
  if (staged > 0) {
    int r = seal(c, stage, staged);
    if (r < 0)
      return r;
  }
  return flush_out(c, w);
}

static int tls_write(tide__conn *c, tide__wreq *w, const uv_buf_t *bufs, unsigned n)
{
  struct tide__tls *t = c->tls;
  if (t->handshaken)
    return encrypt_write(c, w, bufs, n);
  pending *p = tide__xmalloc(sizeof *p + n * sizeof *bufs);
  p->next = NULL;
  p->w = w;
  p->n = n;
  memcpy(p->bufs, bufs, n * sizeof *bufs);
  if (t->tail)
    t->tail->next = p;
  else
    t->head = p;
  t->tail = p;
  return 0;
}

/* The handshake is done: send what waited for it, in order. */
static void send_pending(tide__conn *c)
{
  struct tide__tls *t = c->tls;
  while (t->head && !c->closing) {
    pending *p = t->head;
    t->head = p->next;
    if (!t->head)
      t->tail = NULL;
    int r = encrypt_write(c, p->w, p->bufs, p->n);
    if (r < 0) {
      tide__conn_write_done(c, p->w, UV_ECANCELED);
      tide__conn_abort(c, r);
    }
    free(p);
  }
}

/* --- receiving ------------------------------------------------------------ */

static void tls_fail(tide__conn *c, const char *what)
{
  char why[160];
  ssl_why(why, sizeof why);
  long v = SSL_get_verify_result(c->tls->ssl);
  if (v != X509_V_OK && (SSL_get_verify_mode(c->tls->ssl) & SSL_VERIFY_PEER))
    snprintf(why, sizeof why, "%s", X509_verify_cert_error_string(v));
  tide__warn("net", "TLS %s with %s failed: %s", what, c->peer, why);
  snprintf(c->tls->why, sizeof c->tls->why, "TLS %s failed: %s", what, why);
  flush_out(c, NULL); /* the alert tells the peer why */
  tide__conn_abort(c, TIDE_EPROTO);
}

/* Drive the handshake, then decrypt everything buffered into the framer. */
static void pump(tide__conn *c)
{
  struct tide__tls *t = c->tls;
  if (!t->handshaken) {
    int r = SSL_do_handshake(t->ssl);
    if (r != 1) {
      int e = SSL_get_error(t->ssl, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (flush_out(c, NULL) < 0)
          tide__conn_abort(c, UV_EPIPE);
        return;
      }
      tls_fail(c, "handshake");
      return;
    }
    t->handshaken = true;
    tide__debug("net", "TLS with %s: %s, %s", c->peer, SSL_get_version(t->ssl),
                SSL_get_cipher_name(t->ssl));
    if (flush_out(c, NULL) < 0) {
      tide__conn_abort(c, UV_EPIPE);
      return;
    }
    send_pending(c);
  }
  while (!c->closing) {
    char *p;
    size_t avail, got = 0;
    tide__framer_reserve(&c->fr, PLAIN_CHUNK, &p, &avail);
    if (SSL_read_ex(t->ssl, p, avail, &got) == 1) {
      tide__conn_received(c, (ssize_t)got);
      /* Nothing buffered on either side of OpenSSL: the next read could
       * only say so, at the cost of a pass through its record layer. */
      if (!SSL_has_pending(t->ssl) && t->in_len == 0)
        break;
      continue;
    }
    int e = SSL_get_error(t->ssl, 0);
    if (e == SSL_ERROR_ZERO_RETURN)
      tide__conn_received(c, UV_EOF); /* close_notify */
    else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
      tls_fail(c, "session"); /* TLS 1.3 refuses a client certificate here */
    break;
  }
  /* reading may have produced records to send (a key update's answer) */
  if (!c->closing && flush_out(c, NULL) < 0)
    tide__conn_abort(c, UV_EPIPE);
}

static void tls_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  tide__conn *c = h->data;
  *buf = uv_buf_init(c->tls->rbuf, sizeof c->tls->rbuf);
}

static void tls_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
  tide__conn *c = s->data;
  if (nread < 0) {
    tide__conn_received(c, nread);
    return;
  }
  if (nread == 0 || c->closing)
    return;
  struct tide__tls *t = c->tls;
  t->in = buf->base;
  t->in_len = (size_t)nread;
  pump(c);
  /* OpenSSL reads until it wants more, so only a connection closed on the
   * way leaves bytes: they are dropped with it (rbuf is read into next). */
  t->in_len = 0;
}

static int tls_read_start(tide__conn *c)
{
  struct tide__tls *t = c->tls;
  int r = uv_read_start((uv_stream_t *)&c->tcp, tls_alloc, tls_read);
  if (r < 0 || t->started)
    return r;
  t->started = true;
  if (!t->server)
    pump(c); /* the client speaks first */
  return 0;
}

/* --- closing -------------------------------------------------------------- */

static int tls_shutdown(tide__conn *c)
{
  if (c->tls->handshaken) {
    SSL_shutdown(c->tls->ssl); /* queues close_notify */
    if (flush_out(c, NULL) < 0)
      return UV_EPIPE;
  }
  return tide__tcp_transport.shutdown(c);
}

static void tls_read_stop(tide__conn *c)
{
  tide__tcp_transport.read_stop(c);
}

static void tls_close(tide__conn *c)
{
  tide__tcp_transport.close(c);
}

static void tls_destroy(tide__conn *c)
{
  struct tide__tls *t = c->tls;
  while (t->head) {
    pending *p = t->head;
    t->head = p->next;
    tide__conn_write_done(c, p->w, UV_ECANCELED);
    free(p);
  }
  SSL_free(t->ssl);
  tide__vec_free(&t->out);
  free(t);
  c->tls = NULL;
}

static const tide__transport tls_transport = {
    .scheme = "tls",
    .read_start = tls_read_start,
    .read_stop = tls_read_stop,
    .write = tls_write,
    .try_write = NULL, /* every byte goes through OpenSSL first */
    .shutdown = tls_shutdown,
    .close = tls_close,
    .destroy = tls_destroy,
};

uint64_t tide__conn_tls_records(const tide__conn *c)
{
  return c->tls ? c->tls->records : 0;
}

const char *tide__conn_tls_error(const tide__conn *c)
{
  return c->tls && c->tls->why[0] ? c->tls->why : NULL;
}

void tide__tls_attach(tide__conn *c, SSL_CTX *ctx, bool server)
{
  struct tide__tls *t = tide__xcalloc(1, sizeof *t);
  t->server = server;
  t->ssl = SSL_new(ctx);
  pthread_once(&g_bio_once, bio_methods_init);
  t->rbio = BIO_new(g_bio_in);
  t->wbio = BIO_new(g_bio_out);
  if (!t->ssl || !t->rbio || !t->wbio)
    abort(); /* out of memory, as tide__xmalloc */
  BIO_set_data(t->rbio, t);
  BIO_set_data(t->wbio, t);
  BIO_set_init(t->rbio, 1);
  BIO_set_init(t->wbio, 1);
  SSL_set_bio(t->ssl, t->rbio, t->wbio);
  if (server)
    SSL_set_accept_state(t->ssl);
  else
    SSL_set_connect_state(t->ssl);
  c->tls = t;
  c->tp = &tls_transport;
}
