/* Message codecs: op table, batch building and decoding, typed getters. */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "proto/frame.h"
#include "proto/msg.h"

static const struct {
  const char *name;
  size_t len;
} ops[TIDE_OP__COUNT] = {
#define OP(e, s) [e] = {s, sizeof(s) - 1}
    OP(TIDE_OP_UNKNOWN, "unknown"),
    OP(TIDE_OP_HELLO, "hello"),
    OP(TIDE_OP_ERROR, "error"),
    OP(TIDE_OP_HEARTBEAT, "heartbeat"),
    OP(TIDE_OP_TASK_FINISHED, "task-finished"),
    OP(TIDE_OP_TASK_ERRED, "task-erred"),
    OP(TIDE_OP_ADD_KEYS, "add-keys"),
    OP(TIDE_OP_MISSING_DATA, "missing-data"),
    OP(TIDE_OP_RETIRE_ME, "retire-me"),
    OP(TIDE_OP_RELEASED, "released"),
    OP(TIDE_OP_COMPUTE_TASK, "compute-task"),
    OP(TIDE_OP_FREE_KEYS, "free-keys"),
    OP(TIDE_OP_ACQUIRE_REPLICAS, "acquire-replicas"),
    OP(TIDE_OP_CLOSE, "close"),
    OP(TIDE_OP_GET_LOGS, "get-logs"),
    OP(TIDE_OP_GET_DATA, "get-data"),
    OP(TIDE_OP_DATA, "data"),
    OP(TIDE_OP_UPDATE_GRAPH, "update-graph"),
    OP(TIDE_OP_GRAPH_ACCEPTED, "graph-accepted"),
    OP(TIDE_OP_KEY_DONE, "key-done"),
    OP(TIDE_OP_GATHER, "gather"),
    OP(TIDE_OP_RELEASE_KEYS, "release-keys"),
    OP(TIDE_OP_PUBLISH, "publish"),
    OP(TIDE_OP_UNPUBLISH, "unpublish"),
    OP(TIDE_OP_GET_DATASET, "get-dataset"),
    OP(TIDE_OP_LIST_DATASETS, "list-datasets"),
    OP(TIDE_OP_REPLY, "reply"),
    OP(TIDE_OP_API, "api"),
    OP(TIDE_OP_CHALLENGE, "challenge"),
    OP(TIDE_OP_AUTH, "auth"),
    OP(TIDE_OP_AUTH_OK, "auth-ok"),
#undef OP
};

tide__op tide__op_parse(const char *s, size_t len)
{
  /* The length test rejects almost every candidate before memcmp. */
  for (int i = 1; i < TIDE_OP__COUNT; i++)
    if (ops[i].len == len && memcmp(ops[i].name, s, len) == 0)
      return (tide__op)i;
  return TIDE_OP_UNKNOWN;
}

const char *tide__op_name(tide__op op)
{
  if ((int)op < 0 || op >= TIDE_OP__COUNT)
    return "unknown";
  return ops[op].name;
}

/* --- batch building ----------------------------------------------------- */

void tide__batch_init(tide__batch *b)
{
  msgpack_sbuffer_init(&b->sbuf);
  msgpack_packer_init(&b->pk, &b->sbuf, msgpack_sbuffer_write);
  b->count = 0;
}

void tide__batch_destroy(tide__batch *b)
{
  msgpack_sbuffer_destroy(&b->sbuf);
  b->count = 0;
}

msgpack_packer *tide__batch_begin(tide__batch *b, tide__op op, uint32_t nfields)
{
  msgpack_pack_map(&b->pk, nfields + 1);
  tide__pk_strn(&b->pk, "op", 2);
  if ((int)op <= 0 || op >= TIDE_OP__COUNT)
    op = TIDE_OP_UNKNOWN;
  tide__pk_strn(&b->pk, ops[op].name, ops[op].len);
  return &b->pk;
}

void tide__batch_end(tide__batch *b)
{
  b->count++;
}

void tide__batch_header(const tide__batch *b, char header[16], size_t *hlen)
{
  unsigned char *h = (unsigned char *)header + TIDE_FRAME_HEADER;
  size_t ah;
  uint32_t n = b->count;

  if (n < 16) {
    h[0] = (unsigned char)(0x90 | n);
    ah = 1;
  } else if (n < 65536) {
    h[0] = 0xdc;
    h[1] = (unsigned char)(n >> 8);
    h[2] = (unsigned char)n;
    ah = 3;
  } else {
    h[0] = 0xdd;
    h[1] = (unsigned char)(n >> 24);
    h[2] = (unsigned char)(n >> 16);
    h[3] = (unsigned char)(n >> 8);
    h[4] = (unsigned char)n;
    ah = 5;
  }
  tide__frame_header((uint32_t)(ah + b->sbuf.size), header);
  *hlen = TIDE_FRAME_HEADER + ah;
}

void tide__batch_reset(tide__batch *b)
{
  b->sbuf.size = 0;
  b->count = 0;
}

/* --- decoding ------------------------------------------------------------ */

static uint64_t be(const unsigned char *p, int n)
{
  uint64_t v = 0;
  for (int i = 0; i < n; i++)
    v = (v << 8) | p[i];
  return v;
}

/* Walk the msgpack encoding once without building objects: checks the
 * payload is exactly one value and that no container declares more elements
 * than there are bytes left, so a hostile 5-byte payload cannot make the
 * unpacker allocate gigabytes. */
static int prescan(const unsigned char *p, size_t len)
{
  size_t i = 0;
  uint64_t need = 1; /* values still to read */

  while (need > 0) {
    if (i >= len)
      return -1;
    unsigned c = p[i++];
    uint64_t skip = 0, add = 0;
    size_t rem = len - i;
    need--;
    if (c <= 0x7f || c >= 0xe0 || (c >= 0xc0 && c <= 0xc3)) {
      if (c == 0xc1)
        return -1; /* never used */
    } else if (c >= 0x80 && c <= 0x8f) {
      add = 2 * (uint64_t)(c & 0x0f);
    } else if (c >= 0x90 && c <= 0x9f) {
      add = c & 0x0f;
    } else if (c >= 0xa0 && c <= 0xbf) {
      skip = c & 0x1f;
    } else {
      int ln;
      switch (c) {
      case 0xc4:
      case 0xc7:
      case 0xd9: ln = 1; break;
      case 0xc5:
      case 0xc8:
      case 0xda:
      case 0xdc:
      case 0xde: ln = 2; break;
      case 0xc6:
      case 0xc9:
      case 0xdb:
      case 0xdd:
      case 0xdf: ln = 4; break;
      case 0xca:
        skip = 4;
        ln = 0;
        break;
      case 0xcb:
        skip = 8;
        ln = 0;
        break;
      case 0xcc:
      case 0xd0:
        skip = 1;
        ln = 0;
        break;
      case 0xcd:
      case 0xd1:
        skip = 2;
        ln = 0;
        break;
      case 0xce:
      case 0xd2:
        skip = 4;
        ln = 0;
        break;
      case 0xcf:
      case 0xd3:
        skip = 8;
        ln = 0;
        break;
      case 0xd4:
        skip = 2;
        ln = 0;
        break; /* fixext: type + data */
      case 0xd5:
        skip = 3;
        ln = 0;
        break;
      case 0xd6:
        skip = 5;
        ln = 0;
        break;
      case 0xd7:
        skip = 9;
        ln = 0;
        break;
      case 0xd8:
        skip = 17;
        ln = 0;
        break;
      default: return -1;
      }
      if (ln) {
        if (rem < (size_t)ln)
          return -1;
        uint64_t v = be(p + i, ln);
        i += ln;
        rem -= ln;
        if (c == 0xdc || c == 0xdd)
          add = v;
        else if (c == 0xde || c == 0xdf)
          add = 2 * v;
        else
          skip = v + ((c >= 0xc7 && c <= 0xc9) ? 1 : 0); /* ext has a type byte */
      }
    }
    if (skip > rem)
      return -1;
    i += skip;
    need += add;
    if (need > len - i)
      return -1; /* each value takes at least one byte */
  }
  return i == len ? 0 : -1;
}

int tide__batch_decode(const char *payload, size_t len, msgpack_zone *zone,
                       msgpack_object_array *msgs, tide_error *err)
{
  msgpack_object obj;
  size_t off = 0;

  if (prescan((const unsigned char *)payload, len) < 0)
    return tide_errprintf(err, TIDE_EPROTO, "malformed msgpack payload (%zu bytes)", len);
  msgpack_unpack_return r = msgpack_unpack(payload, len, &off, zone, &obj);
  if (r != MSGPACK_UNPACK_SUCCESS || off != len)
    return tide_errprintf(err, TIDE_EPROTO, "malformed msgpack payload (%zu bytes)", len);
  if (obj.type != MSGPACK_OBJECT_ARRAY)
    return tide_errprintf(err, TIDE_EPROTO, "frame payload is not an array of messages");
  for (uint32_t i = 0; i < obj.via.array.size; i++) {
    const msgpack_object *m = &obj.via.array.ptr[i];
    if (m->type != MSGPACK_OBJECT_MAP)
      return tide_errprintf(err, TIDE_EPROTO, "message %u of the batch is not a map", i);
    const msgpack_object *op = tide__mp_get(m, "op");
    if (!op || op->type != MSGPACK_OBJECT_STR)
      return tide_errprintf(err, TIDE_EPROTO, "message %u of the batch has no string \"op\"", i);
  }
  *msgs = obj.via.array;
  return 0;
}

/* --- getters ------------------------------------------------------------- */

bool tide__mp_streq(const msgpack_object *o, const char *s)
{
  if (!o || o->type != MSGPACK_OBJECT_STR)
    return false;
  size_t n = strlen(s);
  return o->via.str.size == n && memcmp(o->via.str.ptr, s, n) == 0;
}

const msgpack_object *tide__mp_get(const msgpack_object *map, const char *key)
{
  if (!map || map->type != MSGPACK_OBJECT_MAP)
    return NULL;
  size_t n = strlen(key);
  const msgpack_object_kv *kv = map->via.map.ptr;
  for (uint32_t i = 0; i < map->via.map.size; i++) {
    const msgpack_object *k = &kv[i].key;
    if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
        memcmp(k->via.str.ptr, key, n) == 0)
      return &kv[i].val;
  }
  return NULL;
}

tide__op tide__mp_op(const msgpack_object *msg)
{
  const char *s;
  size_t n;
  if (!tide__mp_str(msg, "op", &s, &n))
    return TIDE_OP_UNKNOWN;
  return tide__op_parse(s, n);
}

bool tide__mp_str(const msgpack_object *map, const char *key, const char **s, size_t *len)
{
  const msgpack_object *o = tide__mp_get(map, key);
  if (!o || o->type != MSGPACK_OBJECT_STR)
    return false;
  *s = o->via.str.ptr;
  if (len)
    *len = o->via.str.size;
  return true;
}

char *tide__mp_strdup(const msgpack_object *map, const char *key)
{
  const char *s;
  size_t n;
  if (!tide__mp_str(map, key, &s, &n))
    return NULL;
  return tide__xstrndup(s, n);
}

bool tide__mp_int(const msgpack_object *map, const char *key, int64_t *out)
{
  const msgpack_object *o = tide__mp_get(map, key);
  if (!o)
    return false;
  if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
    if (o->via.u64 > (uint64_t)INT64_MAX)
      return false;
    *out = (int64_t)o->via.u64;
    return true;
  }
  if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
    *out = o->via.i64;
    return true;
  }
  return false;
}

bool tide__mp_num(const msgpack_object *map, const char *key, double *out)
{
  const msgpack_object *o = tide__mp_get(map, key);
  if (!o)
    return false;
  switch (o->type) {
  case MSGPACK_OBJECT_POSITIVE_INTEGER: *out = (double)o->via.u64; return true;
  case MSGPACK_OBJECT_NEGATIVE_INTEGER: *out = (double)o->via.i64; return true;
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64: *out = o->via.f64; return true;
  default: return false;
  }
}

bool tide__mp_bool(const msgpack_object *map, const char *key, bool *out)
{
  const msgpack_object *o = tide__mp_get(map, key);
  if (!o || o->type != MSGPACK_OBJECT_BOOLEAN)
    return false;
  *out = o->via.boolean;
  return true;
}

bool tide__mp_bin(const msgpack_object *map, const char *key, const char **p, size_t *len)
{
  const msgpack_object *o = tide__mp_get(map, key);
  if (!o || o->type != MSGPACK_OBJECT_BIN)
    return false;
  *p = o->via.bin.ptr;
  *len = o->via.bin.size;
  return true;
}

const msgpack_object_array *tide__mp_array(const msgpack_object *map, const char *key)
{
  const msgpack_object *o = tide__mp_get(map, key);
  if (!o || o->type != MSGPACK_OBJECT_ARRAY)
    return NULL;
  return &o->via.array;
}

const msgpack_object_map *tide__mp_map(const msgpack_object *map, const char *key)
{
  const msgpack_object *o = tide__mp_get(map, key);
  if (!o || o->type != MSGPACK_OBJECT_MAP)
    return NULL;
  return &o->via.map;
}

/* --- packing ------------------------------------------------------------- */

void tide__pk_strn(msgpack_packer *pk, const char *s, size_t n)
{
  msgpack_pack_str_with_body(pk, s, n);
}

void tide__pk_str(msgpack_packer *pk, const char *s)
{
  if (!s) {
    msgpack_pack_nil(pk);
    return;
  }
  tide__pk_strn(pk, s, strlen(s));
}

void tide__pk_bin(msgpack_packer *pk, const void *p, size_t n)
{
  msgpack_pack_bin_with_body(pk, p, n);
}

void tide__pk_kstr(msgpack_packer *pk, const char *key, const char *val)
{
  tide__pk_str(pk, key);
  tide__pk_str(pk, val);
}

void tide__pk_kint(msgpack_packer *pk, const char *key, int64_t val)
{
  tide__pk_str(pk, key);
  msgpack_pack_int64(pk, val);
}

void tide__pk_knum(msgpack_packer *pk, const char *key, double val)
{
  tide__pk_str(pk, key);
  msgpack_pack_double(pk, val);
}

void tide__pk_kbool(msgpack_packer *pk, const char *key, bool val)
{
  tide__pk_str(pk, key);
  if (val)
    msgpack_pack_true(pk);
  else
    msgpack_pack_false(pk);
}

void tide__pk_object(msgpack_packer *pk, const msgpack_object *o)
{
  msgpack_pack_object(pk, *o);
}
