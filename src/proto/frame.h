/* Framing: a frame is a 4-byte big-endian payload length, then the payload,
 * a msgpack array of messages (a batch). Pure: no I/O. */
#ifndef TIDE_PROTO_FRAME_H
#define TIDE_PROTO_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/vec.h"
#include "tide/error.h"

enum {
  TIDE_FRAME_HEADER = 4,
  TIDE_PROTO_VERSION = 1,
};

/* Incremental frame reader: feed bytes as they arrive, take whole frames. */
typedef struct tide__framer {
  TIDE__VEC(char) buf; /* n: bytes buffered */
  size_t off;          /* start of the unconsumed part */
  size_t max;          /* largest payload accepted (limits.frame-size) */
} tide__framer;

/* max_payload 0: the process's limits.frame-size (common/limits.h). */
void tide__framer_init(tide__framer *f, size_t max_payload);
void tide__framer_free(tide__framer *f);

/* Append n bytes. Returns 0. */
int tide__framer_feed(tide__framer *f, const char *data, size_t n);

/* Take the next whole frame: returns 1 and sets *payload and *len (valid until
 * the next feed or reserve), 0 when more bytes are needed, or TIDE_EPROTO
 * (with err naming the length) when the declared length exceeds max. */
int tide__framer_next(tide__framer *f, const char **payload, size_t *len, tide_error *err);

/* Zero-copy feeding (for socket reads): get at least want writable bytes at
 * *space (*avail >= want; more when the pending frame needs it), read into
 * them, then commit the count actually written. Returns 0. */
int tide__framer_reserve(tide__framer *f, size_t want, char **space, size_t *avail);
void tide__framer_commit(tide__framer *f, size_t n);
/* Bytes buffered and not yet taken as frames. */
size_t tide__framer_buffered(const tide__framer *f);

/* Write the 4-byte header for a payload of len bytes. */
void tide__frame_header(uint32_t len, char out[TIDE_FRAME_HEADER]);

#endif
