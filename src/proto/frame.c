/* Frame reader: 4-byte big-endian length + payload, buffered incrementally. */
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "common/util.h"
#include "common/vec.h"
#include "proto/frame.h"

enum { FRAMER_MIN_CAP = 1024, FRAMER_SHRINK_AT = 8 * 1024 * 1024 };

void tide__framer_init(tide__framer *f, size_t max_payload)
{
  memset(f, 0, sizeof *f);
  f->max = max_payload ? max_payload : (size_t)tide__limits_get()->frame_size;
}

void tide__framer_free(tide__framer *f)
{
  tide__vec_free(&f->buf);
  memset(f, 0, sizeof *f);
}

static uint32_t read_be32(const char *p)
{
  const unsigned char *u = (const unsigned char *)p;
  return ((uint32_t)u[0] << 24) | ((uint32_t)u[1] << 16) | ((uint32_t)u[2] << 8) | u[3];
}

void tide__frame_header(uint32_t len, char out[TIDE_FRAME_HEADER])
{
  out[0] = (char)(len >> 24);
  out[1] = (char)(len >> 16);
  out[2] = (char)(len >> 8);
  out[3] = (char)len;
}

/* Bytes the next frame needs in total (header + payload) when its header is
 * buffered and acceptable, else 0. */
static size_t next_frame_size(const tide__framer *f)
{
  if (f->buf.n - f->off < TIDE_FRAME_HEADER)
    return 0;
  size_t n = read_be32(f->buf.v + f->off);
  if (n > f->max)
    return 0;
  return TIDE_FRAME_HEADER + n;
}

int tide__framer_reserve(tide__framer *f, size_t want, char **space, size_t *avail)
{
  size_t unread = f->buf.n - f->off;

  if (unread == 0) {
    /* Everything consumed: restart at the front, no copy; give back the
     * memory of an earlier huge frame. */
    f->off = f->buf.n = 0;
    if (f->buf.cap > FRAMER_SHRINK_AT && want <= FRAMER_MIN_CAP)
      tide__vec_free(&f->buf);
  }
  size_t frame = next_frame_size(f);
  if (frame > unread && frame - unread > want)
    want = frame - unread; /* room for the whole pending frame at once */
  if (f->buf.cap - f->buf.n < want) {
    /* Slide the unread tail to the front (once per refill, not per frame),
     * then grow (doubling) if that is still not enough; never below
     * FRAMER_MIN_CAP, so small reads do not regrow the buffer step by step. */
    if (f->off > 0) {
      memmove(f->buf.v, f->buf.v + f->off, unread);
      f->buf.n = unread;
      f->off = 0;
    }
    size_t least = f->buf.cap ? 0 : FRAMER_MIN_CAP;
    (void)tide__vec_reserve(&f->buf, want > least ? want : least);
  }
  *space = f->buf.v + f->buf.n;
  *avail = f->buf.cap - f->buf.n;
  return 0;
}

void tide__framer_commit(tide__framer *f, size_t n)
{
  f->buf.n += n;
}

int tide__framer_feed(tide__framer *f, const char *data, size_t n)
{
  char *space;
  size_t avail;

  if (n == 0)
    return 0;
  tide__framer_reserve(f, n, &space, &avail);
  memcpy(space, data, n);
  tide__framer_commit(f, n);
  return 0;
}

int tide__framer_next(tide__framer *f, const char **payload, size_t *len, tide_error *err)
{
  size_t unread = f->buf.n - f->off;

  if (unread < TIDE_FRAME_HEADER)
    return 0;
  size_t n = read_be32(f->buf.v + f->off);
  if (n > f->max)
    return tide_errprintf(err, TIDE_EPROTO, "frame of %zu bytes exceeds the limit of %zu bytes", n,
                          f->max);
  if (unread - TIDE_FRAME_HEADER < n)
    return 0;
  *payload = f->buf.v + f->off + TIDE_FRAME_HEADER;
  *len = n;
  f->off += TIDE_FRAME_HEADER + n;
  return 1;
}

size_t tide__framer_buffered(const tide__framer *f)
{
  return f->buf.n - f->off;
}
