/* The plugin API: functions that workers run. A plugin is a shared library
 * loaded with `tide worker --preload lib.so`; the worker calls its
 *   int tide_plugin_init(tide_registry *reg);
 * which registers functions under the plugin's own names ("mylib.simulate")
 * with tide_register(). Values are msgpack objects (msgpack-c): arguments
 * come decoded, the result is packed into a msgpack packer. */
#ifndef TIDE_TASK_H
#define TIDE_TASK_H

#include <msgpack.h>
#include <stddef.h>

#include "tide/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tide_registry tide_registry;
typedef struct tide_task_ctx tide_task_ctx;

/* A task function. args[0..nargs) are the task's arguments with every
 * {"ref": KEY} already replaced by that key's value; they are borrowed for
 * the call. Pack exactly one value (the result) into out and return 0, or
 * call tide_task_fail() and return -1. Runs on one of the worker's execution
 * threads: it may block (sleep, I/O) and must be thread-safe. */
typedef int (*tide_task_fn)(tide_task_ctx *ctx, const msgpack_object *args, size_t nargs,
                            msgpack_packer *out);

/* Register fn under name (copied). Returns 0, or -EEXIST when the name is
 * taken, -EINVAL for an empty name. Call from tide_plugin_init only. */
TIDE_API int tide_register(tide_registry *reg, const char *name, tide_task_fn fn);

/* Make the task err with this message (shown to the client with the task's
 * key). Returns -1 so a function can `return tide_task_fail(ctx, ...)`. */
TIDE_API int tide_task_fail(tide_task_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The key of the running task (borrowed). */
TIDE_API const char *tide_task_key(const tide_task_ctx *ctx);

/* What a plugin exports. */
typedef int (*tide_plugin_init_fn)(tide_registry *reg);
#define TIDE_PLUGIN_INIT "tide_plugin_init"

#ifdef __cplusplus
}
#endif
#endif
