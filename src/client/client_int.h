/* Lower-level client calls for commands that build their own tasks (tide
 * submit): an update-graph packed by the caller with keys as given, the
 * key-done messages handed to the caller, waiting on a condition, and
 * releasing or publishing keys by name. Same connection and protocol as
 * tide_client_compute. */
#ifndef TIDE_CLIENT_INT_H
#define TIDE_CLIENT_INT_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>

#include "tide/client.h"

/* Called for each key-done message (a map with key, state and, when
 * erred, error and task) while a hook is set; the compute path then sees
 * none of them. NULL fn removes the hook. */
typedef void (*tide__key_done_fn)(const msgpack_object *msg, void *arg);
void tide__cl_on_key_done(tide_client *c, tide__key_done_fn fn, void *arg);

/* Send an update-graph: pack_tasks packs the "tasks" array, every one of
 * the n keys is wanted (and reported through the key-done hook). Waits for
 * the scheduler's acceptance: 0, TIDE_EGRAPH with its refusal, or a
 * connection error. */
int tide__cl_update_graph(tide_client *c, void (*pack_tasks)(msgpack_packer *pk, void *arg),
                              void *arg, char *const *keys, size_t n, tide_error *err);

/* Run the connection until done(arg) is true (0), timeout seconds pass
 * (TIDE_ETIMEOUT; <= 0: no limit) or the connection is lost. tick(arg),
 * when given, runs after each batch of messages. */
int tide__cl_wait_until(tide_client *c, bool (*done)(void *arg), void (*tick)(void *arg),
                            void *arg, double timeout, tide_error *err);

/* Release n keys this client wants (no reply awaited). */
void tide__cl_release_keys(tide_client *c, char *const *keys, size_t n);

/* Publish keys[i] under names[i] as dataset name. */
int tide__cl_publish_keys(tide_client *c, const char *name, char *const *names,
                              char *const *keys, size_t n, tide_error *err);

#endif
