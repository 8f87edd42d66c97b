/* The limits table (docs/design.md §9, docs/security.md "Limits"): every
 * size, depth, count and timeout that bounds what a peer may make a process
 * hold, in one place, configurable as the limits.* keys. The client's
 * validator, the scheduler, the worker, the net layer and the HTTP server
 * all read the one table the process set (tide__limits_set), so what the
 * client accepts the scheduler accepts. */
#ifndef TIDE_COMMON_LIMITS_H
#define TIDE_COMMON_LIMITS_H

#include <stdint.h>

#include "tide/error.h"

enum {
  /* Room a message carrying one value needs besides the value: batch and
   * message headers, op and field names, and a key (at most
   * TIDE_LIMITS_KEY_CEILING bytes). A result may be at most the frame
   * size less this. */
  TIDE_LIMITS_ENVELOPE = 4096,
  /* Longest key limits.key-length may allow (the envelope holds one). */
  TIDE_LIMITS_KEY_CEILING = 1024,
  /* Deepest argument nesting limits.arg-depth may allow: msgpack-c's
   * unpacker nests at most 32 containers (MSGPACK_EMBED_STACK_SIZE) and an
   * update-graph's envelope (batch, message, tasks, task, args) takes 5. */
  TIDE_LIMITS_DEPTH_CEILING = 27,
};

typedef struct tide__limits {
  /* largest frame payload on any connection once its handshake is done;
   * default 1 GiB; at most 4 GiB - 1 (the 4-byte length) */
  int64_t frame_size;
  /* largest task result a worker keeps and sends; 0 (the default): the
   * largest that fits a frame, frame_size less TIDE_LIMITS_ENVELOPE, which
   * is also the most it may be (tide__limits_result_size) */
  int64_t result_size;
  /* bytes all connections of the process may hold buffered in frames still
   * arriving (received, not yet whole), together; default 4 GiB. One
   * connection holds at most one frame (frame_size) */
  int64_t frame_memory;
  /* tasks in one submitted graph (one update-graph); default 10,000,000 */
  int graph_tasks;
  /* bytes of a task key on the wire; default (and most) 1024 */
  int key_length;
  /* containers an argument may nest ([[1]] is 2); default 24, at most
   * TIDE_LIMITS_DEPTH_CEILING */
  int arg_depth;
  /* accepted connections the process holds open at once; default 16384 */
  int connections;
  /* ... of them from one source address; default 2048 (a local cluster's
   * 1,000 workers all come from 127.0.0.1) */
  int connections_per_source;
  /* seconds an accepted connection has to finish hello (and the token
   * proof when authentication is on); default 10 */
  double handshake_timeout;
  /* seconds a connection still in its handshake may stay silent; default 5 */
  double idle_timeout;
  /* largest frame accepted before the handshake is done; default 1 MiB */
  int64_t handshake_frame;
  /* bytes all connections still in their handshake may hold buffered
   * (received, not yet a whole frame) together; default 64 MiB */
  int64_t handshake_memory;
  /* HTTP connections open at once, and from one address; defaults 1024
   * and 256 */
  int http_connections;
  int http_connections_per_source;
  /* seconds an HTTP connection may stay silent (a header line or body
   * byte resets it) before it is closed; default 10 */
  double http_timeout;
} tide__limits;

#define TIDE__LIMITS_DEFAULT                                                                       \
  {                                                                                                \
    .frame_size = (int64_t)1 << 30, .result_size = 0, .frame_memory = (int64_t)4 << 30,            \
    .graph_tasks = 10 * 1000 * 1000, .key_length = 1024, .arg_depth = 24, .connections = 16384,    \
    .connections_per_source = 2048, .handshake_timeout = 10, .idle_timeout = 5,                    \
    .handshake_frame = 1 << 20, .handshake_memory = 64 << 20, .http_connections = 1024,            \
    .http_connections_per_source = 256, .http_timeout = 10                                         \
  }

/* 0 when the table is consistent (a result plus its envelope fits a frame,
 * the handshake frame is no larger than the frame, key length and depth
 * within their ceilings, every count positive), else TIDE_EUSAGE with err
 * naming the limits.* key at fault. */
int tide__limits_check(const tide__limits *l, tide_error *err);

/* The largest result allowed: result_size, or when 0 the frame size less
 * the envelope. */
int64_t tide__limits_result_size(const tide__limits *l);

/* The table the process applies from now on (NULL: the defaults), and the
 * one in effect. Set once at start-up, before any thread reads it. */
void tide__limits_set(const tide__limits *l);
const tide__limits *tide__limits_get(void);

#endif
