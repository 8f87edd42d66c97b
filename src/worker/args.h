/* A task's arguments as compute-task carries them (docs/protocol.md): the
 * args array, and its {"ref": KEY} values replaced by the serialized values
 * they name. Shared by the worker (task.c) and the worker swarm
 * (bench/swarm_tasks.c), each with its own place to look values up. */
#ifndef TIDE_WORKER_ARGS_H
#define TIDE_WORKER_ARGS_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>

/* The serialized value of key[0..len): true when held, with its bytes
 * through data and n (borrowed while the packing runs). */
typedef bool (*tide__args_lookup)(void *ctx, const char *key, size_t len, const char **data,
                                  size_t *n);

/* The message's args array; an empty array when it has none or another
 * type (a task called with no arguments). */
const msgpack_object *tide__args_get(const msgpack_object *msg);

/* Pack o into pk (writing into sb) with every reference replaced by the
 * value lookup finds for it. On a reference to nothing held, sets *missing
 * to its key (a string object inside o) and returns false; sb then holds a
 * partial packing the caller discards. */
bool tide__args_subst(msgpack_sbuffer *sb, msgpack_packer *pk, const msgpack_object *o,
                      tide__args_lookup lookup, void *ctx, const msgpack_object **missing);

#endif
