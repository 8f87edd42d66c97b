/* Starting processes off the adaptive round: backends queue each start
 * (a uv_spawn) here, and an idle handle runs a few per loop iteration (at
 * most TIDE__PUMP_BATCH, within TIDE__PUMP_BUDGET_MS), so that the scheduler
 * sharing the loop keeps answering requests and heartbeats while a
 * thousand processes start (docs/design.md §8). Items run in order. */
#ifndef TIDE_CLUSTER_BACKENDS_PUMP_H
#define TIDE_CLUSTER_BACKENDS_PUMP_H

#include <stddef.h>
#include <uv.h>

enum { TIDE__PUMP_BATCH = 32, TIDE__PUMP_BUDGET_MS = 10 };

typedef struct tide__pump tide__pump;

/* run(arg) does one start; drop(arg) (may be NULL) releases an item never
 * run because the pump was destroyed. */
typedef void (*tide__pump_fn)(void *arg);

/* name is how the log line "started N NAME in S s" calls the items. */
tide__pump *tide__pump_create(uv_loop_t *loop, const char *name);
void tide__pump_push(tide__pump *p, tide__pump_fn run, tide__pump_fn drop, void *arg);
/* Items queued and not yet run. */
size_t tide__pump_pending(const tide__pump *p);
/* Drops what is queued and closes the handle (freed by the loop). */
void tide__pump_destroy(tide__pump *p);

#endif
