/* msgpack <-> JSON value conversion for graphs and `tide run` output. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "client/graph.h"
#include "client/value.h"
#include "common/util.h"

static json_t *bytes_json(const void *p, size_t n)
{
  char hex[65];
  tide__sha256_hex(p, n, hex);
  return json_pack("{s:I, s:s}", "bytes", (json_int_t)n, "sha256", hex);
}

static json_t *real_json(double d)
{
  if (isnan(d) || isinf(d))
    return json_null();
  return json_real(d);
}

/* A map key as a JSON object key: strings as they are, other values as
 * their compact JSON text. Returns a malloc'd string. */
static char *key_text(const msgpack_object *k)
{
  if (k->type == MSGPACK_OBJECT_STR)
    return tide__xstrndup(k->via.str.ptr, k->via.str.size);
  json_t *j = tide__value_to_json(k);
  char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
  json_decref(j);
  return s ? s : tide__xstrdup("?");
}

json_t *tide__value_to_json(const msgpack_object *o)
{
  json_t *j = NULL;
  switch (o->type) {
  case MSGPACK_OBJECT_NIL: return json_null();
  case MSGPACK_OBJECT_BOOLEAN: return json_boolean(o->via.boolean);
  case MSGPACK_OBJECT_POSITIVE_INTEGER:
    if (o->via.u64 > (uint64_t)INT64_MAX)
      return json_real((double)o->via.u64);
    return json_integer((json_int_t)o->via.u64);
  case MSGPACK_OBJECT_NEGATIVE_INTEGER: return json_integer((json_int_t)o->via.i64);
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64: return real_json(o->via.f64);
  case MSGPACK_OBJECT_STR:
    /* Not UTF-8: shown like bytes, so the output stays valid JSON. */
    j = json_stringn(o->via.str.ptr, o->via.str.size);
    return j ? j : bytes_json(o->via.str.ptr, o->via.str.size);
  case MSGPACK_OBJECT_BIN: return bytes_json(o->via.bin.ptr, o->via.bin.size);
  case MSGPACK_OBJECT_EXT: return bytes_json(o->via.ext.ptr, o->via.ext.size);
  case MSGPACK_OBJECT_ARRAY:
    j = json_array();
    for (uint32_t i = 0; i < o->via.array.size; i++)
      json_array_append_new(j, tide__value_to_json(&o->via.array.ptr[i]));
    return j;
  case MSGPACK_OBJECT_MAP:
    j = json_object();
    for (uint32_t i = 0; i < o->via.map.size; i++) {
      char *k = key_text(&o->via.map.ptr[i].key);
      json_t *v = tide__value_to_json(&o->via.map.ptr[i].val);
      json_incref(v);
      if (json_object_set_new(j, k, v) < 0) {
        /* a key that is not UTF-8: keep its ASCII, mark the rest */
        for (char *p = k; *p; p++)
          if ((unsigned char)*p >= 0x80)
            *p = '?';
        json_object_set(j, k, v);
      }
      json_decref(v);
      free(k);
    }
    return j;
  }
  return json_null();
}

json_t *tide__values_to_json(const char *data, size_t len)
{
  msgpack_unpacked u;
  size_t off = 0;
  json_t *j = NULL;

  msgpack_unpacked_init(&u);
  if (msgpack_unpack_next(&u, data, len, &off) == MSGPACK_UNPACK_SUCCESS &&
      u.data.type == MSGPACK_OBJECT_MAP)
    j = tide__value_to_json(&u.data);
  msgpack_unpacked_destroy(&u);
  return j;
}

void tide__value_pack_json(msgpack_packer *pk, const json_t *j, const char *ref_prefix)
{
  const char *key, *ref;
  json_t *v;
  size_t i;

  switch (json_typeof(j)) {
  case JSON_NULL: msgpack_pack_nil(pk); return;
  case JSON_TRUE: msgpack_pack_true(pk); return;
  case JSON_FALSE: msgpack_pack_false(pk); return;
  case JSON_INTEGER: msgpack_pack_int64(pk, json_integer_value(j)); return;
  case JSON_REAL: msgpack_pack_double(pk, json_real_value(j)); return;
  case JSON_STRING:
    msgpack_pack_str_with_body(pk, json_string_value(j), json_string_length(j));
    return;
  case JSON_ARRAY:
    msgpack_pack_array(pk, (uint32_t)json_array_size(j));
    json_array_foreach(j, i, v) tide__value_pack_json(pk, v, ref_prefix);
    return;
  case JSON_OBJECT:
    if (ref_prefix && tide__json_is_ref(j, &ref)) {
      size_t pl = strlen(ref_prefix), rl = strlen(ref);
      msgpack_pack_map(pk, 1);
      msgpack_pack_str_with_body(pk, "ref", 3);
      msgpack_pack_str(pk, pl + rl);
      msgpack_pack_str_body(pk, ref_prefix, pl);
      msgpack_pack_str_body(pk, ref, rl);
      return;
    }
    msgpack_pack_map(pk, (uint32_t)json_object_size(j));
    json_object_foreach((json_t *)j, key, v)
    {
      msgpack_pack_str_with_body(pk, key, strlen(key));
      tide__value_pack_json(pk, v, ref_prefix);
    }
    return;
  }
}
