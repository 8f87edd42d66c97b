/* Frame reader: 4-byte big-endian length + payload, buffered incrementally. */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "proto/frame.h"

enum { FRAMER_MIN_CAP = 64 * 1024, FRAMER_SHRINK_AT = 8 * 1024 * 1024 };

void tide__framer_init(tide__framer *f, size_t max_payload)
{
  memset(f, 0, sizeof *f);
  f->max = max_payload ? max_payload : TIDE_FRAME_MAX_DEFAULT;
}

void tide__framer_free(tide__framer *f)
{
  free(f->buf);
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
  if (f->len - f->off < TIDE_FRAME_HEADER)
    return 0;
  size_t n = read_be32(f->buf + f->off);
  if (n > f->max)
    return 0;
  return TIDE_FRAME_HEADER + n;
}

int tide__framer_reserve(tide__framer *f, size_t want, char **space, size_t *avail)
{
  size_t unread = f->len - f->off;

  if (unread == 0) {
    /* Everything consumed: restart at the front, no copy; give back the
     * memory of an earlier huge frame. */
    f->off = f->len = 0;
    if (f->cap > FRAMER_SHRINK_AT && want <= FRAMER_MIN_CAP) {
      free(f->buf);
      f->buf = NULL;
      f->cap = 0;
    }
  }
  size_t frame = next_frame_size(f);
  if (frame > unread && frame - unread > want)
    want = frame - unread; /* room for the whole pending frame at once */
  if (f->cap - f->len < want) {
    /* Slide the unread tail to the front (once per refill, not per frame),
     * then grow geometrically if that is still not enough. */
    if (f->off > 0) {
      memmove(f->buf, f->buf + f->off, unread);
      f->len = unread;
      f->off = 0;
    }
    if (f->cap - f->len < want) {
      size_t cap = f->cap ? f->cap : FRAMER_MIN_CAP;
      while (cap - f->len < want)
        cap *= 2;
      f->buf = tide__xrealloc(f->buf, cap);
      f->cap = cap;
    }
  }
  *space = f->buf + f->len;
  *avail = f->cap - f->len;
  return 0;
}

void tide__framer_commit(tide__framer *f, size_t n)
{
  f->len += n;
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
  size_t unread = f->len - f->off;

  if (unread < TIDE_FRAME_HEADER)
    return 0;
  size_t n = read_be32(f->buf + f->off);
  if (n > f->max)
    return tide_errprintf(err, TIDE_EPROTO, "frame of %zu bytes exceeds the limit of %zu bytes", n,
                          f->max);
  if (unread - TIDE_FRAME_HEADER < n)
    return 0;
  *payload = f->buf + f->off + TIDE_FRAME_HEADER;
  *len = n;
  f->off += TIDE_FRAME_HEADER + n;
  return 1;
}

bool tide__frame_value_fits(size_t n, size_t max)
{
  if (!max)
    max = TIDE_FRAME_MAX_DEFAULT;
  return max > TIDE_FRAME_VALUE_ROOM && n <= max - TIDE_FRAME_VALUE_ROOM;
}

size_t tide__framer_buffered(const tide__framer *f)
{
  return f->len - f->off;
}
