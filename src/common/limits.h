/* The connection limits table (docs/security.md): one set of numbers that
 * every process applies to the connections it accepts, configurable as the
 * limits.* keys (docs/design.md §9). Pure data. */
#ifndef TIDE_COMMON_LIMITS_H
#define TIDE_COMMON_LIMITS_H

#include <stdint.h>

typedef struct tide__limits {
  /* seconds an accepted connection has to finish hello (and the token
   * proof when authentication is on); default 10 */
  double handshake_timeout;
  /* seconds a connection still in its handshake may stay silent; default 5 */
  double idle_timeout;
  /* connections one source address may hold open at once; default 2048
   * (a local cluster's 1,000 workers all come from 127.0.0.1) */
  int connections_per_source;
  /* largest frame accepted before the handshake is done; default 1 MiB */
  int64_t handshake_frame;
  /* bytes all connections still in their handshake may hold buffered
   * (received, not yet a whole frame) together; default 64 MiB */
  int64_t handshake_memory;
} tide__limits;

#define TIDE__LIMITS_DEFAULT                                                                       \
  {                                                                                                \
    .handshake_timeout = 10, .idle_timeout = 5, .connections_per_source = 2048,                    \
    .handshake_frame = 1 << 20, .handshake_memory = 64 << 20                                       \
  }

#endif
