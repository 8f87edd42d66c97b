/* Worker internals shared by worker.c (scheduler link and lifetime),
 * task.c (compute-task) and transfer.c (peer data). Loop thread only. */
#ifndef TIDE_WORKER_WORKER_INT_H
#define TIDE_WORKER_WORKER_INT_H

#include <msgpack.h>
#include <stdbool.h>
#include <uthash.h>
#include <uv.h>

#include "proto/auth.h"
#include "proto/resources.h"
#include "common/config.h"
#include "common/vec.h"
#include "net/conn.h"
#include "worker/exec.h"
#include "worker/store.h"
#include "worker/worker.h"

typedef struct wtask wtask;
typedef struct fetch fetch;
typedef struct peer peer;
typedef struct acquire acquire;
typedef TIDE__VEC(fetch *) fetchvec;

/* A task given by compute-task, from arrival until its result is stored. */
struct wtask {
  tide__wk_call job; /* the call (job.key points to key) */
  char *key;
  size_t keylen;
  unsigned flags; /* TIDE_FN_* */
  char *raw_args; /* args with refs, while waiting for fetches */
  size_t raw_len;
  int waiting;       /* fetch notifications still to come */
  fetchvec deps;     /* fetch entries it holds a reference on */
  bool cancelled;    /* freed or failed: run nothing, report nothing */
  bool in_exec;      /* owned by the execution threads until done */
  UT_hash_handle hh; /* in w->tasks while not cancelled */
};

/* Someone waiting for a fetch: a task or an acquire-replicas batch. */
typedef struct waiter {
  wtask *task;
  acquire *acq;
} waiter;
typedef TIDE__VEC(waiter) waitervec;

typedef enum fetch_state { FETCHING, FETCH_HAVE, FETCH_FAILED } fetch_state;

/* A value being fetched from peers (or just fetched, until its tasks ran). */
struct fetch {
  char *key;
  size_t keylen;
  tide__strvec holders; /* addresses to try, in order */
  size_t next;
  tide__strvec failed; /* holders that did not deliver */
  fetch_state state;
  char *data; /* FETCH_HAVE (NULL when moved into the store) */
  size_t len;
  int refs; /* tasks holding it */
  waitervec waiters;
  bool to_store; /* acquire-replicas: keep it in the store */
  bool local;    /* the result of a task running here, not fetched (fetch_local) */
  bool notifying;
  peer *peer;      /* asked from; with req_id */
  uint64_t req_id; /* 0 = queued, not sent yet */
  bool starting;   /* in w->starting */
  size_t slot;     /* index in the request being answered */
  UT_hash_handle hh;
};

/* An acquire-replicas request being answered with add-keys. */
struct acquire {
  int pending;
  msgpack_sbuffer ok; /* packed key/nbytes pairs */
  uint32_t nok;
  msgpack_sbuffer failed; /* packed keys */
  uint32_t nfailed;
};

/* A get-data sent to a peer and not answered yet. */
typedef struct request {
  struct request *next;
  uint64_t id;
  fetchvec entries;
} request;

/* A connection to another worker's data server. */
struct peer {
  tide__wk *w;
  char *address;
  tide__conn *conn; /* NULL while connecting */
  fetchvec queue;   /* to ask at the next flush */
  request *inflight;
  uint64_t next_id;
  bool dirty;
  peer *next_dirty;
  UT_hash_handle hh;
};

struct tide__wk {
  uv_loop_t *loop;
  tide__config cfg;
  tide_registry *reg;
  tide__store *store;
  tide__exec *exec;
  tide__server *server;
  char *name, *host, *job, *address, *sched_address, *sched_file;
  tide__res res;   /* advertised resources (docs/tasks.md "Resources") */
  char *pool;      /* its cluster pool, NULL none */
  tide__auth auth; /* proven to the scheduler and peers, asked of peers */
  char *contact;   /* --contact-address, or NULL */
  int port;        /* data server port, 0 = any */
  int nthreads;
  int64_t memory_limit;
  double lifetime, death_timeout, started;
  /* scheduler link */
  tide__conn *sched;
  bool connecting, registered, retiring, paused, closing;
  double heartbeat_interval, connect_delay;
  uv_timer_t hb_timer, connect_timer, lifetime_timer, grace_timer;
  uv_signal_t sigterm, sigint;
  uv_check_t flush_check;
  int exit_code;
  tide_error fatal;
  bool has_fatal;
  /* work */
  wtask *tasks;
  fetch *fetches;
  peer *peers;
  peer *dirty;
  TIDE__VEC(tide__conn *) served; /* accepted peer connections, closed at shutdown */
  bool sched_error;               /* the scheduler refused us with an error message */
  /* registered once and lost since: reconnecting until the death timeout,
   * counted from the loss (docs/design.md §6) */
  bool reconnecting;
  fetchvec starting; /* new fetches to start at the next flush */
  /* How peers are dialled: tide__conn_connect, or a stand-in that opens no
   * socket (fuzz/fuzz_worker.c, whose holder addresses are fuzzed). */
  int (*peer_connect)(uv_loop_t *loop, const char *address, const tide__auth *auth,
                      const tide__conn_ops *ops, void *arg, tide__connect_fn cb, tide_error *err);
};

/* task.c */
void tide__wtask_compute(tide__wk *w, const msgpack_object *msg);
void tide__wtask_free_keys(tide__wk *w, const msgpack_object *msg);
/* Forget every task the scheduler gave (it reassigns them once it has lost
 * this worker): queued ones are freed, running ones report nothing. */
void tide__wtask_cancel_all(tide__wk *w);
void tide__wtask_done(tide__wk_call *job, void *arg);
/* A fetch the task waited for completed (ok) or failed for good. */
void tide__wtask_fetched(tide__wk *w, wtask *t, fetch *f, bool ok);
/* Free a task already removed from w->tasks, leaving its fetches alone
 * (the caller releases them, or frees them all at teardown). */
void tide__wtask_free(wtask *t);

/* transfer.c */
void tide__transfer_accept(tide__server *s, tide__conn *c, void *arg, const tide__conn_ops **ops,
                           void **carg);
void tide__transfer_serve(tide__wk *w, tide__conn *c, const msgpack_object *msg);
/* Answer get-data {id, keys} on c with data {id, data, missing} from st
 * (the worker's store; bench/swarm.c serves its own). */
void tide__transfer_serve_store(const tide__store *st, tide__conn *c, const msgpack_object *msg);
/* One message from a peer on the data port (arg: the worker); the fuzz
 * target fuzz/fuzz_worker.c calls it without a socket. */
void tide__transfer_serve_msg(tide__conn *c, const msgpack_object *msg, void *arg);
/* Get or start fetching key for waiter wt with holders (msgpack array of
 * address strings, may be NULL). Returns the entry. */
fetch *tide__fetch_want(tide__wk *w, const char *key, size_t keylen,
                        const msgpack_object_array *holders, waiter wt);
/* Wait for key, the result of a task of this worker that has not finished
 * (a compute-task sent after it, docs/protocol.md): no peer is asked. */
fetch *tide__fetch_local(tide__wk *w, const char *key, size_t keylen, waiter wt);
/* The task key of this worker ended, its result in the store or never to
 * be: wakes what waits for it through tide__fetch_local. */
void tide__fetch_local_done(tide__wk *w, const char *key, size_t keylen);
void tide__fetch_release(tide__wk *w, fetch *f);
/* Free a fetch entry already removed from w->fetches. */
void tide__fetch_free(fetch *f);
fetch *tide__fetch_find(tide__wk *w, const char *key, size_t keylen);
void tide__transfer_acquire(tide__wk *w, const msgpack_object *msg);
void tide__transfer_close_all(tide__wk *w);
void tide__transfer_flush(tide__wk *w);

/* worker.c: a connection to the scheduler that can take a message now. */
tide__conn *tide__wk_sched(tide__wk *w);
/* One message from the scheduler (arg: the worker): the dispatch of every
 * scheduler op, also called by the fuzz target fuzz/fuzz_worker.c. */
void tide__wk_sched_msg(tide__conn *c, const msgpack_object *msg, void *arg);
/* The heartbeat interval a scheduler's message gives: positive, and at
 * most HEARTBEAT_MAX (worker.c) seconds, so that its milliseconds fit the timer (a
 * hostile 1e22 would not); false when it gives none that is usable. Also
 * the worker swarm's (bench/swarm.c). */
bool tide__wk_heartbeat_interval(const msgpack_object *msg, double *out);

#endif
