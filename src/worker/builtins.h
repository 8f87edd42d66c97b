/* The builtin functions ("tide.*", docs/design.md §3, docs/tasks.md) and their argument
 * signatures, shared by the worker (run-time checks) and the client (static
 * graph validation before anything runs). */
#ifndef TIDE_WORKER_BUILTINS_H
#define TIDE_WORKER_BUILTINS_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tide/error.h"
#include "tide/task.h"

/* Register every builtin into reg. Returns 0 or the first error. Without
 * allow_exec (`tide worker --allow-exec`, worker.allow-exec), tide.exec is
 * registered as a function that fails saying it is disabled. */
int tide__builtins_register(tide_registry *reg, bool allow_exec);

/* True when fn (NUL-terminated) names a builtin. */
bool tide__builtin_exists(const char *fn);

/* Statically check a task's literal arguments against builtin fn's
 * signature. is_ref (may be NULL) marks arguments that are {"ref": KEY}
 * references, whose type is unknown until run time; {"ref": KEY} maps
 * nested inside array arguments are recognised on their own. Returns 0,
 * TIDE_ENOTFOUND when fn is not a builtin, TIDE_EGRAPH with err such as
 * "tide.inc: argument 1 must be an integer, got string" or "tide.inc takes
 * 1 argument, got 2". */
int tide__builtin_check(const char *fn, const msgpack_object *args, size_t nargs,
                        const bool *is_ref, tide_error *err);

/* Name of a msgpack value's type as users see it: "nil", "bool",
 * "integer", "float", "string", "bytes", "array", "map", "ext". */
/* Longest bytes value tide.bytes and tide.concat make: limits.result-size
 * less its msgpack header (5 bytes at the default). */
int64_t tide__builtin_bytes_max(void);

const char *tide__mp_type_name(const msgpack_object *o);

/* tide.exec (builtin_exec.c). */
int tide__builtin_exec(tide_task_ctx *ctx, const msgpack_object *args, size_t nargs,
                       msgpack_packer *out);

/* The generator behind tide.bytes, exposed for tests: fills buf[0..n) with
 * the stream for seed (see builtins.c). */
void tide__bytes_fill(void *buf, size_t n, uint64_t seed);

/* Where an array element's outputs go by default, relative to its cwd. */
#define TIDE_EXEC_ARRAY_STDOUT "tide-submit-%{JOB}/%{INDEX}.out"
#define TIDE_EXEC_ARRAY_STDERR "tide-submit-%{JOB}/%{INDEX}.err"

/* An output pattern s[0..n) with %{TASK}, %{INDEX} and %{JOB} replaced
 * (job may be NULL: replaced by nothing); malloc'd. Pure: the worker's
 * paths and those tide job shows are made by this one function. */
char *tide__exec_expand(const char *s, size_t n, const char *task, int64_t index, const char *job,
                        size_t joblen);

#endif
