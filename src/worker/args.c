/* Argument substitution of compute-task (args.h). */
#include "worker/args.h"

#include "proto/msg.h"

const msgpack_object *tide__args_get(const msgpack_object *msg)
{
  static const msgpack_object empty = {.type = MSGPACK_OBJECT_ARRAY};
  const msgpack_object *args = tide__mp_get(msg, "args");
  return args && args->type == MSGPACK_OBJECT_ARRAY ? args : &empty;
}

/* A reference is a map of exactly one entry, "ref" to a string key. */
static const msgpack_object *ref_key(const msgpack_object *o)
{
  if (o->type != MSGPACK_OBJECT_MAP || o->via.map.size != 1)
    return NULL;
  const msgpack_object_kv *kv = &o->via.map.ptr[0];
  if (!tide__mp_streq(&kv->key, "ref") || kv->val.type != MSGPACK_OBJECT_STR)
    return NULL;
  return &kv->val;
}

bool tide__args_subst(msgpack_sbuffer *sb, msgpack_packer *pk, const msgpack_object *o,
                      tide__args_lookup lookup, void *ctx, const msgpack_object **missing)
{
  const msgpack_object *key = ref_key(o);
  if (key) {
    const char *data;
    size_t n;
    if (!lookup(ctx, key->via.str.ptr, key->via.str.size, &data, &n)) {
      *missing = key;
      return false;
    }
    msgpack_sbuffer_write(sb, data, n);
    return true;
  }
  if (o->type == MSGPACK_OBJECT_ARRAY) {
    msgpack_pack_array(pk, o->via.array.size);
    for (uint32_t i = 0; i < o->via.array.size; i++)
      if (!tide__args_subst(sb, pk, &o->via.array.ptr[i], lookup, ctx, missing))
        return false;
    return true;
  }
  if (o->type == MSGPACK_OBJECT_MAP) {
    msgpack_pack_map(pk, o->via.map.size);
    for (uint32_t i = 0; i < o->via.map.size; i++) {
      msgpack_pack_object(pk, o->via.map.ptr[i].key);
      if (!tide__args_subst(sb, pk, &o->via.map.ptr[i].val, lookup, ctx, missing))
        return false;
    }
    return true;
  }
  msgpack_pack_object(pk, *o);
  return true;
}
