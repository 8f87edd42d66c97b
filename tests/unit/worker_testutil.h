/* Helpers shared by the worker unit tests: pack arguments, run a
 * registered function through the job runner, inspect the result. */
#ifndef TIDE_TEST_WORKER_UTIL_H
#define TIDE_TEST_WORKER_UTIL_H

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "worker/exec.h"
#include "worker/registry.h"

typedef struct call {
  tide__wk_call job;
  msgpack_zone zone;
  msgpack_object result; /* valid when the job ended TIDE__CALL_OK */
} call;

/* Run fn with the packed argument array in sb (consumed). */
static inline void call_run(tide_registry *reg, const char *fn, msgpack_sbuffer *sb, call *c)
{
  memset(c, 0, sizeof *c);
  c->job.fn = tide__registry_find(reg, fn, strlen(fn), NULL);
  c->job.key = "test-key";
  c->job.args_len = sb->size;
  c->job.args = msgpack_sbuffer_release(sb);
  if (!c->job.fn) {
    c->job.outcome = TIDE__CALL_ERRED;
    c->job.error = strdup("no such function");
    return;
  }
  tide__wk_call_run(&c->job, 1);
  msgpack_zone_init(&c->zone, 1024);
  if (c->job.outcome == TIDE__CALL_OK) {
    size_t off = 0;
    msgpack_unpack(c->job.result, c->job.result_len, &off, &c->zone, &c->result);
  }
}

static inline void call_free(call *c)
{
  tide__wk_call_clear(&c->job);
  msgpack_zone_destroy(&c->zone);
}

#endif
