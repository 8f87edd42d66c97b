/* Graph rules shared by the client and the scheduler (see graphcheck.h). */
#include <stdbool.h>
#include <string.h>

#include "proto/graphcheck.h"
#include "proto/msg.h"
#include "proto/resources.h"

#include <msgpack/unpack_define.h>

_Static_assert(TIDE_LIMITS_DEPTH_CEILING + 5 <= MSGPACK_EMBED_STACK_SIZE,
               "arguments must fit in the msgpack unpacker's stack");

const char *tide__key_problem(const char *k, size_t n, size_t max)
{
  if (n == 0)
    return "is empty";
  if (memchr(k, '\0', n))
    return "holds a NUL byte";
  if (n > max)
    return "is longer than the limit";
  return NULL;
}

int tide__key_check(const char *k, size_t n, size_t room, const char *what, tide_error *err)
{
  int lim = tide__limits_get()->key_length;
  const char *why = tide__key_problem(k, n, (size_t)lim > room ? (size_t)lim - room : 0);
  if (!why)
    return 0;
  if (n && !memchr(k, '\0', n))
    return tide_errprintf(err, TIDE_EGRAPH,
                          "%s is longer than limits.key-length (%d bytes on the wire, %d in a "
                          "graph)",
                          what, lim, lim > TIDE_KEY_TOKEN_ROOM ? lim - TIDE_KEY_TOKEN_ROOM : 0);
  return tide_errprintf(err, TIDE_EGRAPH, "%s %s", what, why);
}

int tide__graph_size_check(size_t n, tide_error *err)
{
  int lim = tide__limits_get()->graph_tasks;
  if (n <= (size_t)lim)
    return 0;
  return tide_errprintf(err, TIDE_EGRAPH,
                        "the graph has %zu tasks, more than limits.graph-tasks (%d)", n, lim);
}

int tide__arg_depth_check(int depth, tide_error *err)
{
  int lim = tide__limits_get()->arg_depth;
  if (depth <= lim)
    return 0;
  return tide_errprintf(err, TIDE_EGRAPH, "arguments nest deeper than %d levels", lim);
}

static bool is_str(const msgpack_object *o)
{
  return o->type == MSGPACK_OBJECT_STR;
}

static bool has_dep(const msgpack_object *deps, const msgpack_object *k)
{
  for (uint32_t i = 0; deps && i < deps->via.array.size; i++) {
    const msgpack_object *d = &deps->via.array.ptr[i];
    if (d->via.str.size == k->via.str.size &&
        memcmp(d->via.str.ptr, k->via.str.ptr, k->via.str.size) == 0)
      return true;
  }
  return false;
}

/* Walk an argument value: depth and references. depth counts the
 * containers around o. */
static int check_value(const msgpack_object *o, const msgpack_object *deps, unsigned depth,
                       tide_error *err)
{
  if (o->type != MSGPACK_OBJECT_ARRAY && o->type != MSGPACK_OBJECT_MAP)
    return 0;
  if (tide__arg_depth_check((int)depth + 1, err) < 0)
    return TIDE_EGRAPH;
  if (o->type == MSGPACK_OBJECT_ARRAY) {
    for (uint32_t i = 0; i < o->via.array.size; i++)
      if (check_value(&o->via.array.ptr[i], deps, depth + 1, err) < 0)
        return TIDE_EGRAPH;
    return 0;
  }
  for (uint32_t i = 0; i < o->via.map.size; i++) {
    const msgpack_object_kv *kv = &o->via.map.ptr[i];
    if (tide__mp_streq(&kv->key, "ref")) {
      if (o->via.map.size != 1 || !is_str(&kv->val))
        return tide_errprintf(err, TIDE_EGRAPH, "a reference must be exactly {\"ref\": \"KEY\"}");
      if (!has_dep(deps, &kv->val))
        return tide_errprintf(err, TIDE_EGRAPH, "refers to \"%.*s\", which is not one of its deps",
                              (int)kv->val.via.str.size, kv->val.via.str.ptr);
      continue;
    }
    if (check_value(&kv->key, deps, depth + 1, err) < 0 ||
        check_value(&kv->val, deps, depth + 1, err) < 0)
      return TIDE_EGRAPH;
  }
  return 0;
}

int tide__wire_task_check(const msgpack_object *t, tide_error *err)
{
  const msgpack_object *key = NULL, *fn = NULL, *args = NULL, *deps = NULL, *prefix = NULL,
                       *retries = NULL, *resources = NULL;

  if (t->type != MSGPACK_OBJECT_MAP)
    return tide_errprintf(err, TIDE_EGRAPH, "a task must be a map");
  for (uint32_t i = 0; i < t->via.map.size; i++) {
    const msgpack_object_kv *kv = &t->via.map.ptr[i];
    const msgpack_object **slot = tide__mp_streq(&kv->key, "key")         ? &key
                                  : tide__mp_streq(&kv->key, "fn")        ? &fn
                                  : tide__mp_streq(&kv->key, "args")      ? &args
                                  : tide__mp_streq(&kv->key, "deps")      ? &deps
                                  : tide__mp_streq(&kv->key, "prefix")    ? &prefix
                                  : tide__mp_streq(&kv->key, "retries")   ? &retries
                                  : tide__mp_streq(&kv->key, "resources") ? &resources
                                                                          : NULL;
    if (!slot)
      return tide_errprintf(err, TIDE_EGRAPH,
                            "unknown field (key, fn, args, deps, prefix, retries, resources)");
    if (*slot)
      return tide_errprintf(err, TIDE_EGRAPH, "a field appears twice");
    *slot = &kv->val;
  }
  if (!key || !is_str(key))
    return tide_errprintf(err, TIDE_EGRAPH, "\"key\" must be a string");
  if (tide__key_check(key->via.str.ptr, key->via.str.size, 0, "the key", err) < 0)
    return TIDE_EGRAPH;
  if (!fn || !is_str(fn) || fn->via.str.size == 0 ||
      memchr(fn->via.str.ptr, '\0', fn->via.str.size))
    return tide_errprintf(err, TIDE_EGRAPH, "\"fn\" must be a function name");
  if (prefix && (!is_str(prefix) || prefix->via.str.size == 0 ||
                 memchr(prefix->via.str.ptr, '\0', prefix->via.str.size)))
    return tide_errprintf(err, TIDE_EGRAPH, "\"prefix\" must be a non-empty string");
  if (retries &&
      (retries->type != MSGPACK_OBJECT_POSITIVE_INTEGER || retries->via.u64 > TIDE_RETRIES_MAX))
    return tide_errprintf(err, TIDE_EGRAPH, "\"retries\" must be an integer from 0 to %d",
                          TIDE_RETRIES_MAX);
  if (resources) {
    tide__res res;
    tide_error why;
    if (tide__res_from_mp(resources, &res, &why) < 0)
      return tide_errprintf(err, TIDE_EGRAPH, "%s", why.text);
  }
  if (deps && deps->type != MSGPACK_OBJECT_ARRAY)
    return tide_errprintf(err, TIDE_EGRAPH, "\"deps\" must be an array of keys");
  for (uint32_t i = 0; deps && i < deps->via.array.size; i++) {
    const msgpack_object *d = &deps->via.array.ptr[i];
    if (!is_str(d))
      return tide_errprintf(err, TIDE_EGRAPH, "a dep is not a string");
    if (tide__key_check(d->via.str.ptr, d->via.str.size, 0, "a dep key", err) < 0)
      return TIDE_EGRAPH;
  }
  if (args && args->type != MSGPACK_OBJECT_ARRAY)
    return tide_errprintf(err, TIDE_EGRAPH, "\"args\" must be an array");
  if (args)
    for (uint32_t i = 0; i < args->via.array.size; i++)
      if (check_value(&args->via.array.ptr[i], deps, 0, err) < 0)
        return TIDE_EGRAPH;
  return 0;
}
