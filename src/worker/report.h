/* What a worker tells the scheduler about a task given to it
 * (docs/protocol.md): its outcome (task-finished / task-erred) and a
 * dependency it could not get (missing-data). Shared by the worker
 * (task.c) and the worker swarm (bench/swarm_tasks.c). */
#ifndef TIDE_WORKER_REPORT_H
#define TIDE_WORKER_REPORT_H

#include <stddef.h>

#include "net/conn.h"

/* task-erred with error, or task-finished with nbytes when error is NULL.
 * A NULL c (no scheduler link) sends nothing. */
void tide__wk_report_outcome(tide__conn *c, const char *key, size_t klen, const char *error,
                             size_t nbytes, double start, double stop, int thread);
/* missing-data: task key needs dep[0..dlen), which holder (a worker
 * address, "" for none named) did not deliver. A NULL c sends nothing. */
void tide__wk_report_missing(tide__conn *c, const char *key, size_t klen, const char *dep,
                             size_t dlen, const char *holder);

#endif
