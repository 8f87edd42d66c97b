/* The client library: connect to a scheduler, submit a task graph, wait,
 * gather values, publish datasets, release. Blocking calls; one client is
 * used from one thread. Values are msgpack (see task.h). */
#ifndef TIDE_CLIENT_H
#define TIDE_CLIENT_H

#include <msgpack.h>
#include <stddef.h>

#include "tide/error.h"
#include "tide/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tide_client tide_client;
typedef struct tide_graph tide_graph;

/* Connect to "tcp://host:port", or when address is NULL, to the address in
 * scheduler_file. Fails after timeout seconds (<= 0: 10 s). */
TIDE_API int tide_client_connect(const char *address, const char *scheduler_file, double timeout,
                                 tide_client **out, tide_error *err);
/* Disconnect; the scheduler releases everything this client held that is
 * not published. NULL ok. */
TIDE_API void tide_client_destroy(tide_client *c);
/* The scheduler's address and dashboard URL (borrowed). */
TIDE_API const char *tide_client_scheduler_address(const tide_client *c);
TIDE_API const char *tide_client_dashboard(const tide_client *c);

/* Limit every later request (gather, publish, api, ...) to timeout seconds
 * (<= 0: wait as long as the connection lives, the default). */
TIDE_API void tide_client_set_timeout(tide_client *c, double timeout);

/* Load a graph from JSON text (docs/design.md §2); name is used in
 * error messages ("graph.json:3: ..."). Validates: JSON syntax (with line),
 * unknown builtin, reference to a missing key, cycles, wrong argument types
 * to builtins. Returns TIDE_EGRAPH with err on a bad graph. */
TIDE_API int tide_graph_parse(const char *json, size_t len, const char *name, tide_graph **out,
                              tide_error *err);
/* The same from a file ("-" reads standard input, named "<stdin>"). */
TIDE_API int tide_graph_load_file(const char *path, tide_graph **out, tide_error *err);
TIDE_API void tide_graph_destroy(tide_graph *g);
TIDE_API size_t tide_graph_ntasks(const tide_graph *g);

/* Progress callback: done of total tasks finished. */
typedef void (*tide_progress_fn)(size_t done, size_t total, void *arg);

/* Submit g and wait for its outputs (timeout <= 0: none). On success the
 * outputs are held by the client until released; *values gets a packed
 * msgpack map {KEY: VALUE} of the outputs (caller frees *values with free()).
 * A task error returns TIDE_ETASK with err naming the task and its error. */
TIDE_API int tide_client_compute(tide_client *c, const tide_graph *g, double timeout,
                                 tide_progress_fn progress, void *parg, char **values, size_t *len,
                                 tide_error *err);

/* Publish the outputs of the last compute under name (Dask's
 * publish_dataset); they stay in the cluster after the client goes. */
TIDE_API int tide_client_publish(tide_client *c, const char *name, tide_error *err);
/* A published dataset's values as a packed msgpack map {KEY: VALUE}. */
TIDE_API int tide_client_get_dataset(tide_client *c, const char *name, char **values, size_t *len,
                                     tide_error *err);
TIDE_API int tide_client_unpublish(tide_client *c, const char *name, tide_error *err);
/* Names of published datasets: NULL-terminated malloc'd array of malloc'd
 * strings. */
TIDE_API int tide_client_list_datasets(tide_client *c, char ***names, tide_error *err);
/* Release the outputs of the last compute (not published ones). */
TIDE_API int tide_client_release(tide_client *c, tide_error *err);

/* Call an HTTP API route over the scheduler connection (what `tide scale`,
 * `tide adapt`, `tide status` use): *status gets the HTTP status and
 * *response a malloc'd JSON text. */
TIDE_API int tide_client_api(tide_client *c, const char *method, const char *path, const char *body,
                             int *status, char **response, tide_error *err);

#ifdef __cplusplus
}
#endif
#endif
