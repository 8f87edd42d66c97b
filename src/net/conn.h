/* Connections over libuv: framed msgpack batches with batched send (many
 * messages written in one loop iteration go out as one frame, like Dask's
 * BatchedSend) and the protocol-version handshake.
 *
 * Handshake: the first message each side receives must be {"op": "hello",
 * "proto": TIDE_PROTO_VERSION, ...}. Anything else (or garbage bytes, a
 * malformed or oversized frame) closes that one connection with a logged
 * reason; the process keeps serving others. The hello message itself is
 * delivered to on_msg, so the application reads its other fields (role,
 * name, ...). The application sends its own hello with tide__conn_begin.
 * An "error" message received before the hello is delivered too (the peer
 * refusing us, e.g. a duplicate worker name), so the application can print
 * it; on a bad handshake this side sends such an "error" before closing.
 *
 * Authentication (docs/security.md) runs before the hello rule, in this
 * layer, so it is the same over any transport: every accepted connection
 * first gets {"op": "challenge", "nonce", "auth"}; when the server has a
 * token, nothing reaches its application until the peer answered
 * {"op": "auth", "nonce", "mac"} with the right MAC, and the server proves
 * the token back with {"op": "auth-ok", "mac"}. A connecting side given a
 * token holds everything it sends until the server proved the token, and
 * refuses a server that does not. None of these messages reach on_msg.
 *
 * Accepted connections obey the limits table (common/limits.h): the
 * handshake must finish within a timeout and may not go silent, frames
 * before it are small, and one source address may hold only so many.
 *
 * The byte stream sits behind a small transport table (tcp now; TLS later)
 * so that encryption slots in without touching users of this header. */
#ifndef TIDE_NET_CONN_H
#define TIDE_NET_CONN_H

#include <msgpack.h>
#include <stdbool.h>
#include <uv.h>

#include "common/limits.h"
#include "proto/auth.h"
#include "proto/msg.h"
#include "tide/error.h"

typedef struct tide__conn tide__conn;
typedef struct tide__server tide__server;

/* Called for each message received, in order, on the loop thread. msg is a
 * map valid only during the call. */
typedef void (*tide__msg_fn)(tide__conn *c, const msgpack_object *msg, void *arg);
/* Called once when the connection is closed for any reason (peer closed,
 * error, tide__conn_close); status 0 for a clean close (including the peer
 * closing its end), a negative libuv code for a socket error (UV_ECONNRESET),
 * TIDE_EPROTO for garbage or a bad handshake, else the status given to
 * tide__conn_close. After it returns the conn pointer is invalid. */
typedef void (*tide__closed_fn)(tide__conn *c, int status, void *arg);

typedef struct tide__conn_ops {
  tide__msg_fn on_msg;       /* required */
  tide__closed_fn on_closed; /* may be NULL */
} tide__conn_ops;

/* A new accepted connection: return the ops and arg for it through *ops and
 * *arg (arg may also be set later with tide__conn_set_arg). */
typedef void (*tide__accept_fn)(tide__server *s, tide__conn *c, void *server_arg,
                                const tide__conn_ops **ops, void **arg);

/* Listen on host:port (port 0 picks one). */
int tide__server_listen(uv_loop_t *loop, const char *host, int port, tide__accept_fn on_accept,
                        void *arg, tide__server **out, tide_error *err);
/* The bound port (useful after port 0) and "tcp://host:port". */
int tide__server_port(const tide__server *s);
const char *tide__server_address(const tide__server *s);
/* Require the token of auth (borrowed; must outlive the server) from every
 * connection accepted later; NULL or an empty token (read at each accept,
 * so it may be filled in later): no authentication. */
void tide__server_set_auth(tide__server *s, const tide__auth *auth);
/* Stop listening and close the listening handle (accepted conns stay). */
void tide__server_close(tide__server *s);

/* Called when an outgoing connection is established (status 0, c usable) or
 * failed (status < 0, c NULL). */
typedef void (*tide__connect_fn)(tide__conn *c, int status, void *arg);
/* Connect to "tcp://host:port", proving the token of auth (borrowed; must
 * outlive the connection; NULL or empty: none). If this returns an error,
 * cb never runs. */
int tide__conn_connect(uv_loop_t *loop, const char *address, const tide__auth *auth,
                       const tide__conn_ops *ops, void *arg, tide__connect_fn cb, tide_error *err);

/* Queue a message: returns a packer into this connection's pending batch
 * after packing the map header and "op"; pack exactly nfields key/value
 * pairs, then call tide__conn_end. The batch is flushed as one frame at the
 * end of the loop iteration. Must be called on the loop thread. */
msgpack_packer *tide__conn_begin(tide__conn *c, tide__op op, uint32_t nfields);
void tide__conn_end(tide__conn *c);
/* Like tide__conn_end for news that may wait a little (progress to a
 * client): if this connection sent a frame less than delay_ms ago, the batch
 * goes out delay_ms after that frame (or with the next tide__conn_end),
 * so a busy peer is woken once per delay_ms, not once per loop iteration.
 * An idle connection still sends at the end of the iteration. */
void tide__conn_end_deferred(tide__conn *c, unsigned delay_ms);
/* Flush now (normally not needed). */
void tide__conn_flush(tide__conn *c);

/* Close gracefully: pending messages are flushed first; on_closed runs later
 * with status. reason (may be NULL) is logged. Idempotent. */
void tide__conn_close(tide__conn *c, int status, const char *reason);

void tide__conn_set_arg(tide__conn *c, void *arg);
/* "ip:port" of the remote end. */
const char *tide__conn_peer(const tide__conn *c);
/* Bytes queued but not yet written to the socket (for back-pressure). */
size_t tide__conn_pending_bytes(const tide__conn *c);
/* Why TLS failed on this connection ("TLS handshake failed: unknown ca"),
 * or NULL; meant for on_closed, where the application reports it. */
const char *tide__conn_tls_error(const tide__conn *c);
/* True once the peer's hello has been accepted. */
bool tide__conn_ready(const tide__conn *c);

/* Frames written to / read from the socket so far (tests check batching). */
uint64_t tide__conn_frames_sent(const tide__conn *c);
uint64_t tide__conn_frames_received(const tide__conn *c);
/* TLS records sealed so far (0 over tcp): tests check that a small frame
 * is one record. */
uint64_t tide__conn_tls_records(const tide__conn *c);

/* The limits (frame size, frame memory, the handshake's) are the process's
 * table, common/limits.h: tide__limits_set before serving. */
/* Process-wide counts for /metrics: connections refused for a missing or
 * wrong token, closed for not finishing the handshake in time (or going
 * silent in it), refused by the per-source or total cap, and closed for
 * taking frame memory beyond limits.frame-memory. */
typedef struct tide__net_counters {
  uint64_t auth_refused;
  uint64_t handshake_timeouts;
  uint64_t source_refused;
  uint64_t frame_memory_refused;
} tide__net_counters;
void tide__net_counters_get(tide__net_counters *out);

#endif
