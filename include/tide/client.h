/* The client library: connect to a scheduler, submit a task graph or
 * single tasks as futures, wait, gather values, publish datasets, release.
 * Blocking calls; one client is used from one thread. Values are msgpack
 * (see task.h). */
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

/* TLS credentials for every connection this process makes (PEM paths; NULL
 * for none): "tls://" addresses then present cert/key and, with ca_file,
 * verify the scheduler against it (docs/security.md "TLS"). Call before
 * connecting. A client given a TLS cluster's scheduler file needs no call:
 * it takes the files the scheduler file names. */
TIDE_API int tide_tls_configure(const char *ca_file, const char *cert, const char *key,
                                tide_error *err);

/* Connect to "tcp://host:port" (or "tls://host:port"), or when address is
 * NULL, to the address in scheduler_file. Fails after timeout seconds
 * (<= 0: 10 s). */
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

/* ---- Futures (Dask's client verbs) ----
 *
 * A future stands for the result of one task submitted on its own. Tasks
 * run as soon as the cluster can; the calls below wait for them. Arguments
 * are given as JSON text of an array, as in a graph's "args" (docs/client.md
 * "Futures"), where {"future": I} stands for the result of futures[I]:
 * that task becomes a dependency and its value is passed in its place.
 * Results are packed msgpack values, as everywhere in this API.
 *
 * Every future is reference counted: tide_future_release drops one
 * reference, and when the last future for a task goes, the scheduler is
 * told to release its result (Dask's release-keys). A task that other
 * submitted tasks depend on is kept by the scheduler until they ran. Release
 * every future before tide_client_destroy, which releases on the
 * scheduler whatever is left. A future belongs to its client's thread. */
typedef struct tide_future tide_future;

typedef enum tide_future_status {
  TIDE_FUTURE_PENDING = 0,   /* not finished yet */
  TIDE_FUTURE_FINISHED = 1,  /* its result is in the cluster */
  TIDE_FUTURE_ERROR = 2,     /* the task (or one it depends on) erred */
  TIDE_FUTURE_CANCELLED = 3, /* tide_future_cancel */
} tide_future_status;

/* Submit fn(args...): args_json is a JSON array text ("[1, 2]"); each
 * {"future": I} in it (at any depth) is futures[I] (0 <= I < nfutures).
 * args_json NULL passes the futures themselves: fn(futures[0], ...,
 * futures[nfutures-1]). On 0, *out is a new future (one reference, the
 * caller's). TIDE_EUSAGE for bad JSON, an index out of range, a cancelled
 * future argument or a {"ref": ...}; TIDE_EGRAPH when the scheduler refuses
 * the task (unknown function). */
TIDE_API int tide_submit(tide_client *c, const char *fn, const char *args_json,
                         tide_future *const *futures, size_t nfutures, tide_future **out,
                         tide_error *err);
/* Submit n tasks fn(...) in one request (Dask's map). Element i's
 * arguments: argv[i] (JSON array text) where {"future": 0} stands for
 * inputs[i]; with argv NULL, just [inputs[i]]; inputs may be NULL when argv
 * holds literals only. On 0, out[0..n) get new futures (the caller's); on
 * an error none is made. */
TIDE_API int tide_map(tide_client *c, const char *fn, size_t n, const char *const *argv,
                      tide_future *const *inputs, tide_future **out, tide_error *err);
/* Wait for f (timeout seconds, <= 0: no limit) and fetch its value into
 * *value, a packed msgpack value the caller frees with free(). Returns
 * TIDE_ETASK with the task's error in err, -ECANCELED for a cancelled
 * future, TIDE_ETIMEOUT, TIDE_ECLOSED. */
TIDE_API int tide_future_result(tide_future *f, double timeout, char **value, size_t *len,
                                tide_error *err);
/* Wait for all n futures and fetch their values in one request: values[i]
 * (caller frees each with free()) and lens[i]. Stops at the first error as
 * tide_future_result does (err names the task); then no value is set. */
TIDE_API int tide_gather(tide_client *c, size_t n, tide_future *const *futures, char **values,
                         size_t *lens, double timeout, tide_error *err);
/* Dask's as_completed: wait until one of futures[0..n) has finished
 * (finished, erred or cancelled) that no earlier call returned, and set
 * *index to it; among several, the one that finished first. Returns
 * TIDE_ENOTFOUND when every one of them was returned already, and
 * TIDE_ETIMEOUT, TIDE_ECLOSED. */
TIDE_API int tide_wait_any(tide_client *c, size_t n, tide_future *const *futures, double timeout,
                           size_t *index, tide_error *err);
/* Cancel f's task: the scheduler is told to release it (a running task is
 * stopped being waited for, a queued one never runs, a result is
 * dropped) and every future for it reports TIDE_FUTURE_CANCELLED. A
 * finished-with-error future stays erred. f still needs releasing. */
TIDE_API void tide_future_cancel(tide_future *f);
/* One more reference to f (returns f); each needs a tide_future_release. */
TIDE_API tide_future *tide_future_retain(tide_future *f);
/* Drop a reference (NULL ok); see above. */
TIDE_API void tide_future_release(tide_future *f);
/* The state as last heard from the scheduler (does not wait; the other
 * calls run the client's loop). */
TIDE_API tide_future_status tide_future_status_get(const tide_future *f);
/* The task's error text when erred, else NULL (borrowed from f). */
TIDE_API const char *tide_future_error(const tide_future *f);
/* The task's key as the scheduler shows it, "FN-N" (borrowed from f). */
TIDE_API const char *tide_future_key(const tide_future *f);

/* Call an HTTP API route over the scheduler connection (what `tide scale`,
 * `tide adapt`, `tide status` use): *status gets the HTTP status and
 * *response a malloc'd JSON text. */
TIDE_API int tide_client_api(tide_client *c, const char *method, const char *path, const char *body,
                             int *status, char **response, tide_error *err);

#ifdef __cplusplus
}
#endif
#endif
