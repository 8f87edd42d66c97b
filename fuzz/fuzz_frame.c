/* Fuzz target: frame decoding (src/proto/frame.c) and the batch decoder
 * behind it (src/proto/msg.c), the first code any connection's bytes reach.
 * The input is a byte stream as it would arrive on a socket; its first byte
 * picks the read sizes, so frames split across reads are covered too. Every
 * decoded message goes through the typed getters the handlers use. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto/frame.h"
#include "proto/msg.h"

/* A small frame limit, so the "too large" path is reachable. */
enum { FUZZ_FRAME_MAX = 1 << 16 };

static void look(const msgpack_object *m)
{
  const char *s;
  size_t n;
  int64_t i;
  double d;
  bool b;
  (void)tide__mp_op(m);
  (void)tide__mp_str(m, "key", &s, &n);
  (void)tide__mp_int(m, "id", &i);
  (void)tide__mp_num(m, "start", &d);
  (void)tide__mp_bool(m, "ok", &b);
  (void)tide__mp_bin(m, "data", &s, &n);
  (void)tide__mp_array(m, "keys");
  (void)tide__mp_map(m, "keys");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  size_t chunk = (size_t)data[0] + 1; /* 1..256 bytes a read */
  data++;
  size--;
  tide__framer f;
  tide__framer_init(&f, FUZZ_FRAME_MAX);
  msgpack_zone zone;
  msgpack_zone_init(&zone, 4096);
  bool broken = false;
  for (size_t off = 0; off < size && !broken; off += chunk) {
    size_t n = size - off < chunk ? size - off : chunk;
    if (off & 1) { /* both ways of feeding: copy, and zero-copy reserve/commit */
      tide__framer_feed(&f, (const char *)data + off, n);
    } else {
      char *space;
      size_t avail;
      tide__framer_reserve(&f, n, &space, &avail);
      memcpy(space, data + off, n);
      tide__framer_commit(&f, n);
    }
    for (;;) {
      const char *p;
      size_t len;
      tide_error err;
      int rc = tide__framer_next(&f, &p, &len, &err);
      if (rc < 0) {
        broken = true; /* a connection closes here */
        break;
      }
      if (rc == 0)
        break;
      msgpack_object_array msgs;
      if (tide__batch_decode(p, len, &zone, &msgs, &err) == 0)
        for (uint32_t i = 0; i < msgs.size; i++)
          look(&msgs.ptr[i]);
      msgpack_zone_clear(&zone);
    }
  }
  (void)tide__framer_buffered(&f);
  msgpack_zone_destroy(&zone);
  tide__framer_free(&f);
  return 0;
}
