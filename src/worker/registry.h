/* The function registry: names -> task functions (builtins and plugins),
 * and the task context behind tide_task_fail / tide_task_key. */
#ifndef TIDE_WORKER_REGISTRY_H
#define TIDE_WORKER_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "tide/error.h"
#include "tide/task.h"

/* What a running task sees through include/tide/task.h. */
struct tide_task_ctx {
  const char *key; /* borrowed */
  char *error;     /* malloc'd message set by tide_task_fail, else NULL */
  int thread;      /* execution thread number, 0 = loop thread */
};

/* Flags of a registered function. */
typedef enum tide__fn_flags {
  TIDE_FN_INLINE = 1, /* cheap enough to run on the loop thread for small args */
} tide__fn_flags;

/* Create an empty registry. Returns 0. */
int tide__registry_create(tide_registry **out);
/* Free the registry and dlclose the plugins it holds. NULL ok. */
void tide__registry_destroy(tide_registry *reg);

/* Register fn under name with flags; -EEXIST when taken, -EINVAL when name
 * is empty or fn NULL. */
int tide__registry_add(tide_registry *reg, const char *name, tide_task_fn fn, unsigned flags);

/* Look up name[0..len). Returns the function (NULL when unknown) and its
 * flags through *flags (may be NULL). */
tide_task_fn tide__registry_find(const tide_registry *reg, const char *name, size_t len,
                                 unsigned *flags);

/* Number of registered functions and their names in registration order
 * (borrowed, valid while reg lives). */
size_t tide__registry_count(const tide_registry *reg);
const char *tide__registry_name(const tide_registry *reg, size_t i);

/* Keep a dlopen handle so destroy closes it. */
void tide__registry_keep_handle(tide_registry *reg, void *handle);

#endif
