/* What the fuzz targets set up alike (fuzz/README.md): the input of the
 * message targets (a role byte, then one frame payload) and the scheduler
 * of the sched and http targets, sending into a sink. Linked into every
 * fuzz_<target> and into test_fuzz_regressions once. */
#ifndef TIDE_FUZZ_COMMON_H
#define TIDE_FUZZ_COMMON_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/config.h"
#include "http/api.h"
#include "scheduler/internal.h"

/* Quiet the log (millions of runs) and decode data[1..size), after the
 * role byte, as a connection decodes one frame payload (tide__batch_decode)
 * into msgs, allocated in zone. False, with zone already freed, when there
 * is nothing to run; else the caller destroys zone. */
bool tide__fuzz_messages(const uint8_t *data, size_t size, msgpack_zone *zone,
                         msgpack_object_array *msgs);

/* A scheduler on its own loop whose sending layer is a sink: every message
 * it sends must decode as one whole msgpack map (abort otherwise). The HTTP
 * API is attached, and two workers are registered: w1 (conn 1, 2 threads,
 * 1 GiB) and w2 (conn 2, 1 thread). */
typedef struct tide__fuzz_sched {
  uv_loop_t loop;
  tide__config cfg;
  tide__sched *s;
  tide__api *api;
} tide__fuzz_sched;

/* Set f up; on_close (NULL: none) hears of every connection the scheduler
 * closes. */
void tide__fuzz_sched_start(tide__fuzz_sched *f, void (*on_close)(void *conn));
/* Close the scheduler, run its loop dry and free everything. */
void tide__fuzz_sched_stop(tide__fuzz_sched *f);

#endif
