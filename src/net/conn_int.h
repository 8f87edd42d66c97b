/* Internals of net/: the connection struct and the transport table shared
 * by conn.c (framing, batching), server.c and connect.c. */
#ifndef TIDE_NET_CONN_INT_H
#define TIDE_NET_CONN_INT_H

#include <stdint.h>

#include "net/conn.h"
#include "proto/frame.h"
#include "proto/msg.h"

/* One frame being written: header bytes, and the batch buffer it owns. */
typedef struct tide__wreq {
  uv_write_t req;
  tide__conn *conn;
  char hdr[16];
  char *body; /* malloc'd; recycled as the conn's spare buffer */
  size_t cap;
  size_t nbytes;
  struct tide__wreq *next;
} tide__wreq;

/* The byte stream under a connection (tcp, or tls over tcp in tls.c).
 * Every member is required unless marked optional, and non-blocking; they
 * run on the loop thread. */
typedef struct tide__transport {
  const char *scheme;
  /* Start delivering received bytes to the conn (via the framer). */
  int (*read_start)(tide__conn *c);
  void (*read_stop)(tide__conn *c);
  /* Queue bufs; the transport calls back with the wreq when written. */
  int (*write)(tide__conn *c, tide__wreq *w, const uv_buf_t *bufs, unsigned n);
  /* Optional: write what the kernel takes now, without a request (bytes
   * written or a negative code); only tried when nothing is queued. */
  int (*try_write)(tide__conn *c, const uv_buf_t *bufs, unsigned n);
  /* Finish pending writes, half-close, then close (calls the hard close). */
  int (*shutdown)(tide__conn *c);
  /* Close the stream handle now; its close callback counts down handles. */
  void (*close)(tide__conn *c);
  /* Optional: free the transport's state once every handle is closed. */
  void (*destroy)(tide__conn *c);
} tide__transport;

/* The plain transport; tls.c runs its handles through it. */
extern const tide__transport tide__tcp_transport;

struct tide__tls;  /* a connection's TLS session (tls.c) */
struct ssl_ctx_st; /* OpenSSL's SSL_CTX */

/* An outgoing connection being set up. */
typedef struct tide__connecting {
  uv_getaddrinfo_t gai;
  uv_connect_t creq;
  tide__connect_fn cb;
  void *arg;
  bool silent; /* failed synchronously: the callback must not run */
  bool sync;   /* inside tide__conn_connect */
  int port;
} tide__connecting;

/* Where a connection is in the authentication step of conn.h. */
typedef enum tide__auth_state {
  TIDE_AUTH_DONE = 0,       /* authenticated, or no token on either side */
  TIDE_AUTH_WAIT_PROOF,     /* accepted: waiting for the peer's "auth" */
  TIDE_AUTH_WAIT_CHALLENGE, /* connecting with a token: for "challenge" */
  TIDE_AUTH_WAIT_SERVER,    /* connecting with a token: for "auth-ok" */
} tide__auth_state;

struct tide__conn {
  uv_tcp_t tcp;
  uv_prepare_t prep; /* flushes the batch once per loop iteration */
  uv_timer_t timer;  /* bounds a graceful close; else a deferred flush */
  uv_timer_t guard;  /* handshake and idle timeouts of accepted conns */
  uv_shutdown_t shut;
  uv_loop_t *loop;
  const tide__transport *tp;
  struct tide__tls *tls; /* NULL on a plain tcp connection */
  const tide__conn_ops *ops;
  void *arg;
  tide__connecting *connecting; /* non-NULL until connected */
  tide__framer fr;
  msgpack_zone zone;
  size_t zone_chunk;
  size_t read_chunk; /* bytes the next tcp read asks the framer for */
  size_t read_avail; /* bytes the last tcp read was given */
  tide__batch batch;
  size_t msg_start; /* where the message being packed begins in batch */
  tide__wreq *free_reqs;
  char *spare; /* a send buffer ready for the next batch */
  size_t spare_cap;
  size_t inflight; /* bytes handed to the transport, not yet written */
  uint64_t frames_sent, frames_received, msgs_received;
  int status;
  int handles_open;
  bool ready, closing, handles_closing, prep_active, defer_active;
  uint64_t last_flush_ms; /* loop time of the last frame sent */
  char peer[80];
  char source[64]; /* remote IP, the key of the per-source cap */
  /* authentication and the limits of the handshake */
  const tide__auth *auth;
  tide__auth_state auth_state;
  bool accepted;     /* by a server: the limits apply until ready */
  bool held;         /* connecting with a token: batch waits for auth-ok */
  bool counted;      /* holds a slot of the per-source cap */
  size_t hs_mem;     /* frame buffer counted in the handshake memory total */
  size_t fr_mem;     /* frame buffer counted in the frame memory total */
  uint64_t hs_start; /* loop time the connection was accepted */
  uint64_t last_rx;  /* loop time bytes last arrived */
  unsigned char snonce[TIDE_AUTH_NONCE], cnonce[TIDE_AUTH_NONCE];
};

/* A conn with its handles initialised (not connected). */
tide__conn *tide__conn_new(uv_loop_t *loop);
/* Socket options and peer name once connected/accepted. */
void tide__conn_setup(tide__conn *c);
/* Begin reading. */
int tide__conn_start(tide__conn *c);
/* Close at once with status (no flush). */
void tide__conn_abort(tide__conn *c, int status);
/* An accepted connection (after setup, before start): count it against its
 * source, send the challenge, arm the handshake timeout. Returns 0, or
 * TIDE_EREFUSED when its source holds too many connections already. */
int tide__conn_accepted(tide__conn *c, const tide__auth *auth);
/* A connecting one: prove auth's token before anything else goes out. */
void tide__conn_connecting_auth(tide__conn *c, const tide__auth *auth);
/* handshake.c, for conn.c: take a message of the authentication step
 * (true: consumed, not for the application); account bytes just received
 * against the frame memory total, and the handshake's while in it
 * (false: the connection was refused); the handshake finished; the
 * connection is gone (frees its slot of the per-source cap). */
bool tide__conn_auth_msg(tide__conn *c, const msgpack_object *m);
bool tide__conn_hs_bytes(tide__conn *c);
void tide__conn_hs_done(tide__conn *c);
void tide__conn_hs_release(tide__conn *c);
/* Set ops and arg (NULL ops: ignore messages). */
void tide__conn_set_ops(tide__conn *c, const tide__conn_ops *ops, void *arg);
/* What a transport reports: nread plaintext bytes written into the
 * framer's reserved space (tide__framer_reserve), or UV_EOF / an error;
 * and a write request done (status 0 or a negative libuv code). */
void tide__conn_received(tide__conn *c, ssize_t nread);
void tide__conn_write_done(tide__conn *c, tide__wreq *w, int status);

/* The process's TLS contexts (tls.c): for accepting (NULL unless a
 * certificate and key are configured) and for connecting (NULL until TLS
 * is configured: a tls:// address then gets one that verifies nothing).
 * Each returns a new reference; tide__tls_ctx_free drops one. */
struct ssl_ctx_st *tide__tls_server_ctx(void);
struct ssl_ctx_st *tide__tls_client_ctx(void);
void tide__tls_ctx_free(struct ssl_ctx_st *ctx);
/* Run c over TLS with ctx (server: the accepting side). Call before
 * tide__conn_start; the handshake starts with the first read. */
void tide__tls_attach(tide__conn *c, struct ssl_ctx_st *ctx, bool server);

#endif
