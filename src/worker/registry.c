/* Function registry (uthash by name) and the plugin-facing task API. */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "common/util.h"
#include "common/vec.h"
#include "worker/registry.h"

typedef struct entry {
  char *name;
  tide_task_fn fn;
  unsigned flags;
  UT_hash_handle hh;
} entry;

struct tide_registry {
  entry *byname;
  TIDE__VEC(entry *) order; /* registration order, for the hello's function list */
  TIDE__VEC(void *) handles;
};

int tide__registry_create(tide_registry **out)
{
  *out = tide__xcalloc(1, sizeof **out);
  return 0;
}

void tide__registry_destroy(tide_registry *reg)
{
  if (!reg)
    return;
  entry *e, *tmp;
  HASH_ITER (hh, reg->byname, e, tmp) {
    HASH_DEL(reg->byname, e);
    free(e->name);
    free(e);
  }
  for (size_t i = 0; i < reg->handles.n; i++)
    dlclose(reg->handles.v[i]);
  tide__vec_free(&reg->handles);
  tide__vec_free(&reg->order);
  free(reg);
}

int tide__registry_add(tide_registry *reg, const char *name, tide_task_fn fn, unsigned flags)
{
  if (!reg || !name || !*name || !fn)
    return -EINVAL;
  size_t len = strlen(name);
  entry *e;
  HASH_FIND(hh, reg->byname, name, len, e);
  if (e)
    return -EEXIST;
  e = tide__xcalloc(1, sizeof *e);
  e->name = tide__xstrdup(name);
  e->fn = fn;
  e->flags = flags;
  HASH_ADD_KEYPTR(hh, reg->byname, e->name, len, e);
  tide__vec_push(&reg->order, e);
  return 0;
}

tide_task_fn tide__registry_find(const tide_registry *reg, const char *name, size_t len,
                                 unsigned *flags)
{
  entry *e;
  HASH_FIND(hh, reg->byname, name, len, e);
  if (flags)
    *flags = e ? e->flags : 0;
  return e ? e->fn : NULL;
}

size_t tide__registry_count(const tide_registry *reg)
{
  return reg->order.n;
}

const char *tide__registry_name(const tide_registry *reg, size_t i)
{
  return i < reg->order.n ? reg->order.v[i]->name : NULL;
}

void tide__registry_keep_handle(tide_registry *reg, void *handle)
{
  tide__vec_push(&reg->handles, handle);
}

/* include/tide/task.h */

int tide_register(tide_registry *reg, const char *name, tide_task_fn fn)
{
  return tide__registry_add(reg, name, fn, 0);
}

int tide_task_fail(tide_task_ctx *ctx, const char *fmt, ...)
{
  char *msg = NULL;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&msg, fmt, ap) < 0)
    msg = NULL;
  va_end(ap);
  if (ctx) {
    free(ctx->error);
    ctx->error = msg ? msg : tide__xstrdup("task failed (out of memory formatting the error)");
  } else {
    free(msg);
  }
  return -1;
}

const char *tide_task_key(const tide_task_ctx *ctx)
{
  return ctx ? ctx->key : NULL;
}
