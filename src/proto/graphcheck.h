/* The rules a submitted graph obeys, shared by the client (before sending)
 * and the scheduler (on receipt, since anything may speak the protocol).
 * Pure functions: no I/O, no allocation. */
#ifndef TIDE_PROTO_GRAPHCHECK_H
#define TIDE_PROTO_GRAPHCHECK_H

#include <msgpack.h>
#include <stddef.h>

#include "tide/error.h"

enum {
  /* Longest task key on the wire, in bytes. */
  TIDE_KEY_MAX = 1024,
  /* What the client's "<token>/" prefix may add to a graph's own key. */
  TIDE_KEY_TOKEN_ROOM = 32,
  /* Containers an argument value may nest ([[1]] is 2). The update-graph
   * envelope (batch, message, tasks, task, args) holds 5 of the 32 levels
   * msgpack-c's unpacker allows; the rest is left for headroom. */
  TIDE_ARG_DEPTH_MAX = 24,
  /* Most reruns a task may ask for after it erred (its "retries"). */
  TIDE_RETRIES_MAX = 100,
};

/* NULL when k[0..n) is an acceptable key of at most max bytes, else why
 * not ("is empty", "holds a NUL byte", "is longer than the limit"). */
const char *tide__key_problem(const char *k, size_t n, size_t max);

/* Check one task of an update-graph message: a map of exactly the fields
 * key (str), fn (non-empty str), args (array), deps (array of keys),
 * prefix (non-empty str), retries (0 to TIDE_RETRIES_MAX) and resources
 * (a map tide__res_from_mp accepts); key and deps pass tide__key_problem; args nest at
 * most TIDE_ARG_DEPTH_MAX deep; every {"ref": KEY} in args names one of
 * deps. Returns 0, or TIDE_EGRAPH with err saying what is wrong (without
 * naming the task: the caller knows how to show its key). */
int tide__wire_task_check(const msgpack_object *task, tide_error *err);

#endif
