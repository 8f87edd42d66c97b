/* Internal view of a parsed task graph (tide_graph of include/tide/client.h)
 * for the client library: tasks in document order, their dependencies, the
 * outputs, and packing the graph into an update-graph message. */
#ifndef TIDE_CLIENT_GRAPH_H
#define TIDE_CLIENT_GRAPH_H

#include <jansson.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>

#include "tide/client.h"

/* tide_client_compute of a graph the caller hands over: g is destroyed
 * once it is submitted (or refused), while the results are still being
 * computed, instead of by the caller afterwards (`tide run`). */
int tide__client_compute_take(tide_client *c, tide_graph *g, double timeout,
                              tide_progress_fn progress, void *parg, char **values, size_t *len,
                              tide_error *err);

/* The graph's name as given to tide_graph_parse (borrowed). */
const char *tide__graph_name(const tide_graph *g);
/* Key of task i (0 <= i < ntasks), borrowed. */
const char *tide__graph_key(const tide_graph *g, size_t i);
/* Number of outputs and the key of output i (borrowed). */
size_t tide__graph_noutputs(const tide_graph *g);
const char *tide__graph_output(const tide_graph *g, size_t i);

/* Pack the "tasks" array of an update-graph message into pk: one map
 * {key, fn, args, deps, prefix} per task, every key (and every {"ref": K}
 * inside args) prefixed with "<token>/". */
void tide__graph_pack_tasks(const tide_graph *g, const char *token, msgpack_packer *pk);
/* The same for tasks idx[0..n) only (indexes as tide__graph_key's; idx
 * NULL: the first n tasks). */
void tide__graph_pack_some(const tide_graph *g, const char *token, const size_t *idx, size_t n,
                           msgpack_packer *pk);
/* The task index of output i. */
size_t tide__graph_output_task(const tide_graph *g, size_t i);
/* The dependencies of task i: *n task indexes, sorted, unique (borrowed). */
const size_t *tide__graph_deps(const tide_graph *g, size_t i, size_t *n);
/* True when every task calls a builtin ("tide.*"): the client has then
 * checked everything the scheduler checks of a graph (tide__call_check). */
bool tide__graph_all_builtin(const tide_graph *g);
/* The task indexes in an order with every task after its dependencies
 * (malloc'd, ntasks long). */
size_t *tide__graph_order(const tide_graph *g);

/* The one check of a call to fn with the JSON argument array args, made
 * before anything is sent, by graph loading and by tide_submit/tide_map
 * alike: a builtin ("tide.*") must exist and its literal arguments must fit
 * its signature ({"ref": KEY} arguments are known only at run time); other
 * names are plugin functions the scheduler checks against its workers.
 * scratch is reused between calls. Returns 0 or TIDE_EGRAPH with err such
 * as "unknown function \"tide.nope\"" or "tide.inc takes 1 argument, got 2". */
int tide__call_check(const char *fn, const json_t *args, msgpack_sbuffer *scratch, tide_error *err);

/* True when o is a reference {"ref": "KEY"} (exactly that one field). */
int tide__json_is_ref(const json_t *o, const char **key);

#endif
