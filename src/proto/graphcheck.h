/* The rules a submitted graph obeys, shared by the client (before sending)
 * and the scheduler (on receipt, since anything may speak the protocol).
 * No I/O, no allocation; the limits are the process's table. */
#ifndef TIDE_PROTO_GRAPHCHECK_H
#define TIDE_PROTO_GRAPHCHECK_H

#include <msgpack.h>
#include <stddef.h>

#include "tide/error.h"

#include "common/limits.h"

enum {
  /* What the client's "<token>/" prefix may add to a graph's own key: a
   * key in a graph file may have limits.key-length less this. */
  TIDE_KEY_TOKEN_ROOM = 32,
  /* Most reruns a task may ask for after it erred (its "retries"). */
  TIDE_RETRIES_MAX = 100,
};

/* NULL when k[0..n) is an acceptable key of at most max bytes, else why
 * not ("is empty", "holds a NUL byte", "is longer than the limit"). */
const char *tide__key_problem(const char *k, size_t n, size_t max);

/* Check a key of n bytes against the process's limits table (less room,
 * the client's prefix, for a key in a graph file). Returns 0, or
 * TIDE_EGRAPH with err "WHAT is empty", "WHAT holds a NUL byte" or "WHAT is
 * longer than limits.key-length (1024 bytes on the wire, 992 in a graph)":
 * the same words whether the client or the scheduler refuses it. */
int tide__key_check(const char *k, size_t n, size_t room, const char *what, tide_error *err);

/* 0 when a graph of n tasks is within limits.graph-tasks, else TIDE_EGRAPH
 * with the one message client and scheduler both give. */
int tide__graph_size_check(size_t n, tide_error *err);

/* 0 when an argument nesting depth containers deep is within
 * limits.arg-depth, else TIDE_EGRAPH ("arguments nest deeper than N
 * levels"), the same from client and scheduler. */
int tide__arg_depth_check(int depth, tide_error *err);

/* Check one task of an update-graph message: a map of exactly the fields
 * key (str), fn (non-empty str), args (array), deps (array of keys),
 * prefix (non-empty str), retries (0 to TIDE_RETRIES_MAX) and resources
 * (a map tide__res_from_mp accepts); key and deps pass tide__key_check;
 * args nest at most limits.arg-depth deep; every {"ref": KEY} in args names
 * one of deps. Returns 0, or TIDE_EGRAPH with err saying what is wrong
 * (without naming the task: the caller knows how to show its key). Reads
 * the process's limits table (tide__limits_get). */
int tide__wire_task_check(const msgpack_object *task, tide_error *err);

#endif
