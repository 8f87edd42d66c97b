/* Scheduler internals shared by the files of src/scheduler: the task, worker,
 * client and prefix structs, and the functions one concern offers another. */
#ifndef TIDE_SCHEDULER_INTERNAL_H
#define TIDE_SCHEDULER_INTERNAL_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <uthash.h>

#include "common/vec.h"
#include "proto/msg.h"
#include "proto/auth.h"
#include "proto/resources.h"
#include "scheduler/scheduler.h"

typedef struct sworker sworker;
typedef struct stask stask;
typedef struct sclient sclient;
typedef struct sprefix sprefix;
typedef struct sretire sretire;

/* An interned string (fn names, worker addresses in the task stream). */
typedef struct sintern {
  UT_hash_handle hh;
  char s[];
} sintern;

/* A task prefix: the docs/design.md §4 duration learning unit. */
struct sprefix {
  UT_hash_handle hh;
  double avg;      /* duration_average; < 0 when none (never seen or dropped) */
  double max_exec; /* longest running reported since the average dropped */
  double out_avg;  /* result bytes, averaged as avg; < 0 before the first */
  uint64_t count;  /* completed samples */
  uint32_t nstates[TIDE_TS__COUNT];
  char name[];
};

/* One edge of the graph: the other task and our index in its array. */
typedef struct tedge {
  stask *t;
  uint32_t pos;
} tedge;

/* A worker holding a task's result, and the task's index in its has[]. */
typedef struct tholder {
  sworker *w;
  uint32_t idx;
} tholder;

/* Why a task erred, or why its last run did while it is retried (rare:
 * kept apart to keep stask small). */
typedef struct terror {
  char *msg;
  char *task;        /* the key that erred first */
  char *worker;      /* name of the worker it erred on, NULL when it erred with a dep */
  const char *avoid; /* a retry: interned address of the worker its last run erred on */
} terror;

enum {
  TF_DONE_ONCE = 1, /* reached memory at least once (recompute counting) */
  TF_IN_LIST = 2,   /* linked in the queue or a worker's processing list */
  TF_SCRATCH = 4,
  TF_RQ = 8,         /* linked in the restricted queue */
  TF_ANYWHERE = 16,  /* a builtin ("tide.*"): every worker runs it */
  TF_RELEASING = 32, /* on the release worklist: not to be freed yet */
  TF_PINNED = 64,    /* held by an update-graph in progress: not to be freed */
  TF_DEEP = 128,     /* processing within a deeper saturation depth (§4) */
};

/* Links of a chain sent ahead (chain.c, docs/design.md §4 "Chains"). */
enum {
  TC_AFTER = 1,  /* processing on t->proc, where it starts once its one missing dep finishes */
  TC_BEFORE = 2, /* a dependent was sent after it to its worker (TC_AFTER there) */
};

/* A task. One allocation holds the struct, deps[], the key and the args. */
struct stask {
  UT_hash_handle hh;
  const char *key; /* points into the allocation */
  const char *fn;  /* interned */
  sprefix *pfx;
  const char *args;   /* msgpack array, points into the allocation */
  tedge *dependents;  /* malloc'd, grows */
  tholder *holders;   /* malloc'd */
  sworker *proc;      /* processing on */
  stask *prev, *next; /* scheduler queue or worker processing list */
  terror *err;
  int64_t nbytes;
  uint32_t args_len;
  uint32_t ndeps, ndependents, capdependents;
  uint32_t nwaiting; /* deps not in memory */
  uint32_t nwaiters; /* dependents in a pending state */
  union {            /* one or the other: a task is never both (stask stays small) */
    float occ;       /* occupancy contribution while processing (t->proc set) */
    float duration;  /* seconds of its last run that finished or erred, after it */
  };
  uint16_t nwants; /* clients and datasets wanting the result */
  uint8_t state, failures, nholders, capholders, flags;
  uint8_t resends; /* compute-task resent after missing-data */
  uint8_t retries; /* reruns left after it errs (docs/design.md §2) */
  uint8_t resi;    /* its resources: index into s->res_sets, 0 none (resources.c) */
  uint8_t chain;   /* TC_* (chain.c); in padding, stask does not grow */
  tedge deps[];
};

/* Sending: an injectable layer so unit tests run without sockets. */
typedef struct tide__sched_tx {
  msgpack_packer *(*begin)(void *conn, tide__op op, uint32_t nfields);
  void (*end)(void *conn);
  void (*close)(void *conn, const char *reason);
} tide__sched_tx;

/* What a connection is to the scheduler: set by its hello. obj is the
 * sworker or sclient, NULL once that was removed. */
typedef enum { SC_NEW = 0, SC_WORKER, SC_CLIENT } sconn_role;
typedef struct sconn {
  struct sconn *prev, *next; /* every open connection, for close */
  tide__sched *s;            /* NULL once the scheduler was destroyed */
  void *conn;
  sconn_role role;
  void *obj;
} sconn;

/* A connected worker. */
struct sworker {
  UT_hash_handle hh;      /* by address */
  UT_hash_handle hh_name; /* by name */
  void *conn;
  sconn *link;
  char *address, *name, *host, *job;
  const char **ifns; /* the functions it runs, interned: compared by pointer */
  size_t nfunctions;
  int nthreads, limit, nprocessing;
  int deep;   /* saturation depth of the last deep task sent (docs/design.md §4) */
  int nplain; /* processing tasks sent under the plain limit, not TF_DEEP */
  int nafter; /* processing tasks sent ahead (TC_AFTER): not runnable yet, so outside the limits */
  int64_t memory_limit, nbytes, rss, executed;
  int64_t nbytes_peak; /* most bytes of results it held at once */
  double occupancy, connected_at, last_seen, retire_requested_at, replicas_sent_at;
  tide__wstatus status;
  stask *proc_head, *proc_tail;
  stask **has;
  uint32_t nhas, caphas;
  sworker *room_prev, *room_next;
  bool in_room, removed;
  sretire *retire;       /* the retirement it belongs to, if any */
  size_t retire_pos;     /* its index in that retirement's workers[] */
  double hb_interval;    /* heartbeat interval it was last told (seconds) */
  int64_t scratch_bytes; /* placement scratch */
  uint64_t scratch_epoch;
  tide__res *res;                /* what it advertises, NULL none (resources.c) */
  double res_used[TIDE_RES_MAX]; /* taken by its processing tasks, parallel to res->r */
  char *res_text;                /* res as text, "" none */
  char *pool;                    /* the cluster pool it belongs to, "" none */
};

/* A client's interest in a task: want (keeps it alive) and/or watch
 * (progress key-done). */
typedef struct swant {
  UT_hash_handle hh; /* keyed by the task pointer */
  stask *t;
  bool want, watch;
} swant;

struct sclient {
  sclient *next;
  void *conn;
  sconn *link;
  uint64_t id;
  bool progress;
  char *name;
  swant *wants;
};

typedef struct sdataset {
  UT_hash_handle hh;
  char *name;
  size_t n;
  char **outnames; /* NULL where the name is the task's key */
  stask **tasks;
} sdataset;

/* A gather in progress: one get-data per holder worker. A key whose
 * holders all went away waits for its recompute instead of failing. */
typedef struct sgather_item {
  char *key;
  char *bin;
  size_t len;
} sgather_item;

typedef struct sgather_slot {
  UT_hash_handle hh; /* by key, in its gather */
  char *key;
  sworker *from;     /* the worker asked for it, or NULL */
  bool got, waiting; /* waiting: being computed again */
} sgather_slot;

/* The slots a gather asked one worker for, until it answers. */
typedef struct sgather_owe {
  UT_hash_handle hh; /* by worker pointer, in its gather */
  sworker *w;
  TIDE__VEC(sgather_slot *) slots;
} sgather_owe;

typedef struct sgather {
  UT_hash_handle hh; /* by id */
  int64_t id;        /* id used towards workers */
  uint64_t client_id;
  int64_t req_id;      /* the client's request id */
  sgather_slot *slots; /* one per key asked */
  sgather_slot *index; /* the slots by key */
  sgather_owe *owed;   /* what each asked worker has not answered yet */
  uint32_t nslots, ngot, nwaiting;
  TIDE__VEC(sgather_item) items;
  char *error;
} sgather;

typedef struct sstream {
  char *key;
  sprefix *pfx;
  const char *worker; /* interned address */
  int thread;
  double start, stop;
} sstream;

enum { TIDE__STREAM_RING = 4096, TIDE__MAX_OBSERVERS = 8 };
/* compute-task resends after missing-data before the task errs. */
enum { TIDE_MAX_RESENDS = 5 };

/* A compute-task resend waiting out its backoff (after missing-data). */
typedef struct sresend {
  char *key;
  char *worker; /* address of the worker it was processing on */
  double due;   /* wall clock */
} sresend;

struct tide__sched {
  uv_loop_t *loop;
  tide__config cfg;
  const tide__sched_tx *tx;
  void *server;    /* tide__server */
  tide__auth auth; /* the token workers and clients prove; len 0 = none */
  sconn *conns;    /* accepted connections not yet closed */
  char address[256];
  char id[64];
  char *dashboard;
  double started;
  bool closing;

  stask *tasks; /* by key */
  sprefix *prefixes;
  sintern *interned;
  uint64_t counts[TIDE_TS__COUNT];
  size_t nprocessing;

  stask *q_head, *q_tail;   /* ready tasks not sent (queued / no-worker) */
  stask *rq_head, *rq_tail; /* queued tasks whose fn no worker with room has */
  size_t nqueued;

  sworker *workers; /* by address */
  sworker *workers_by_name;
  size_t nworkers, nrunning;
  sworker *room_head, *room_tail; /* running workers below their limit */
  double total_occupancy;
  /* Sums over the workers, kept as workers join, leave and gain or lose
   * results, so that a round never sums over every worker. */
  int64_t total_nthreads, total_nbytes, total_memory_limit;
  /* least_memory()'s pick among running workers; cleared whenever a running
   * worker's bytes or status change, so retiring k workers scans once. */
  sworker *least_cache;
  bool least_valid;
  uint64_t epoch;
  struct sfunc {
    UT_hash_handle hh;
    int n;
    char name[];
  } * functions;

  sclient *clients;
  uint64_t next_client_id;
  sdataset *datasets;
  sgather *gathers;
  int64_t next_gather_id;
  uint32_t gather_waiting; /* keys gathers wait for (their recompute) */
  sretire *retires;

  tide__sched_counters counters;
  sstream stream[TIDE__STREAM_RING];
  uint64_t nstream;

  struct {
    tide__sched_event_fn fn;
    void *arg;
  } observers[TIDE__MAX_OBSERVERS];
  int nobservers;
  bool new_work_pending;
  uv_timer_t *new_work_timer; /* malloc'd: freed by their close callbacks */
  uv_timer_t *heartbeat_timer;
  sresend *resends; /* pending, sent by tide__resends_due */
  size_t nresends, capresends;
  uv_timer_t *retire_timer;

  tide__api_fn api_fn;
  void *api_arg;

  tide__sw_view *views;
  size_t capviews;
  void *logs;              /* pending worker_logs requests */
  TIDE__VEC(stask *) work; /* release worklist (tide__task_maybe_release) */
  bool releasing;

  /* resources.c: the distinct resource sets tasks ask for (a task's resi
   * is 1 + its index), how many workers advertise resources, and what the
   * cluster's pools provide (checked at submission when there are pools) */
  TIDE__VEC(tide__res *) res_sets;
  size_t nres_workers;
  TIDE__VEC(tide__res) pool_res;
  bool has_pools;
  FILE *trace;     /* scheduler.record-trace, or NULL */
  double trace_t0; /* time of the first recorded submission; < 0 none yet */
};

/* sched.c */
void tide__sched_set_tx(tide__sched *s, const tide__sched_tx *tx);
void tide__sched_emit(tide__sched *s, tide__sched_event ev, const char *name, bool expected);
void tide__sched_new_work(tide__sched *s);
void tide__sched_retire_kick(tide__sched *s);
const char *tide__sched_intern(tide__sched *s, const char *str, size_t len);
msgpack_packer *tide__sched_send(tide__sched *s, void *conn, tide__op op, uint32_t nfields);
void tide__sched_sent(tide__sched *s, void *conn);
/* tide__sched_sent for what nobody waits on (progress news to a client, a
 * worker's free-keys of results): coalesced (net/conn.h). */
void tide__sched_sent_deferred(tide__sched *s, void *conn);
/* Add the frames sent to and received from the connected workers (none
 * under an injected tx). */
void tide__sched_live_frames(const tide__sched *s, uint64_t *sent, uint64_t *received);

void tide__sched_worker_msg(tide__sched *s, sworker *w, const msgpack_object *msg);
/* One message on a connection: its hello (worker or client), then the
 * worker or client ops. Returns NULL, or why the connection must close
 * with a protocol error (the caller closes it). */
const char *tide__sched_conn_msg(tide__sched *s, sconn *sc, const msgpack_object *msg);

/* durations.c (docs/design.md §4) */
sprefix *tide__prefix_get(tide__sched *s, const char *name, size_t len);
double tide__prefix_expected(const tide__sched *s, const sprefix *p);
void tide__prefix_sample(sprefix *p, double d, int64_t nbytes);
void tide__prefix_running(sprefix *p, double elapsed);

/* tasks.c */
/* Create a task (not yet transitioned); deps must exist. NULL on duplicate. */
stask *tide__task_new(tide__sched *s, const char *key, size_t keylen, const char *fn, size_t fnlen,
                      const char *prefix, size_t prefixlen, const char *args, size_t args_len,
                      stask *const *deps, uint32_t ndeps);
stask *tide__task_find(tide__sched *s, const char *key, size_t len);
/* Free a task already removed from s->tasks (its counts are the caller's). */
void tide__task_free(stask *t);
/* Move a new or released task into the graph: waiting/ready/erred. */
void tide__task_activate(tide__sched *s, stask *t);
void tide__task_set_state(tide__sched *s, stask *t, tide__tstate st);
void tide__task_finished(tide__sched *s, sworker *w, stask *t, int64_t nbytes, double start,
                         double stop, int thread);
void tide__task_erred(tide__sched *s, sworker *w, stask *t, const char *msg, double start,
                      double stop, int thread);
void tide__task_err_with(tide__sched *s, stask *t, const char *msg, const char *origin);
void tide__task_want(tide__sched *s, stask *t, int delta);
void tide__task_maybe_release(tide__sched *s, stask *t);
/* A task whose result is gone (no holder left): recompute or release. */
void tide__task_lost(tide__sched *s, stask *t);
/* Take a processing task back from its worker (not resent). */
void tide__task_unprocess(tide__sched *s, stask *t);
/* Recount nwaiting and make the task ready if all deps are in memory. */
void tide__task_rewait(tide__sched *s, stask *t);
bool tide__task_needed(const stask *t);

/* placement.c */
void tide__room_update(tide__sched *s, sworker *w);
void tide__task_ready(tide__sched *s, stask *t);
void tide__queue_remove(tide__sched *s, stask *t);
void tide__queue_drain(tide__sched *s);
void tide__queue_relabel(tide__sched *s);
sworker *tide__decide_worker(tide__sched *s, stask *t, double *occ);
void tide__send_compute(tide__sched *s, sworker *w, stask *t);
void tide__proc_add(tide__sched *s, sworker *w, stask *t, double occ);
void tide__proc_remove(tide__sched *s, stask *t);

/* chain.c: links of a chain of short tasks sent ahead to the worker
 * computing their input (docs/design.md §4 "Chains"). extend: after x became
 * processing; finished: x reached memory on its worker (before its
 * dependents are looked at); undo: x leaves its worker otherwise, so the
 * links after it wait again. */
void tide__chain_extend(tide__sched *s, stask *x);
void tide__chain_finished(tide__sched *s, stask *x);
void tide__chain_undo(tide__sched *s, stask *x);
int tide__sw_limit(const tide__sched *s, int nthreads);
bool tide__sw_can_run(const sworker *w, const stask *t);

/* workers.c */
/* Register a worker. On success it owns functions (a malloc'd array of
 * malloc'd names), which it frees once the names are interned. */
sworker *tide__sw_add(tide__sched *s, void *conn, const char *name, const char *address,
                      const char *host, const char *job, int nthreads, int64_t memory_limit,
                      char **functions, size_t nfunctions, tide_error *err);
void tide__sw_remove(tide__sched *s, sworker *w, bool expected, const char *reason);
/* Free a worker record already unlinked from every table. */
void tide__sw_free(sworker *w);
sworker *tide__sw_find(tide__sched *s, const char *name_or_address);
void tide__holder_add(tide__sched *s, stask *t, sworker *w);
/* w holds keys (a map KEY -> nbytes: add-keys after a copy, or a hello of a
 * worker registering again): each key in memory gains w as a holder
 * (transferred: counted as bytes moved); any other key is of no use and w
 * is told to free it. */
void tide__sw_keys_held(tide__sched *s, sworker *w, const msgpack_object_map *keys,
                        bool transferred);
void tide__holder_remove(tide__sched *s, stask *t, sworker *w);
void tide__sw_heartbeat(tide__sched *s, sworker *w, const msgpack_object *msg);
void tide__sw_missing_data(tide__sched *s, sworker *w, const char *key, size_t klen,
                           const char *dep, size_t dlen, const char *addr, size_t alen);
void tide__sw_set_status(tide__sched *s, sworker *w, tide__wstatus st);
void tide__send_free_keys(tide__sched *s, sworker *w, stask *t);
void tide__heartbeat_check(tide__sched *s, double now);
/* Seconds before resend number n (1-based) of a task's compute-task: the
 * first goes at once, then 0.25 s doubling. Pure. */
double tide__resend_delay(int n);
/* Send the resends due at now (still processing on the same worker). */
void tide__resends_due(tide__sched *s, double now);
void tide__resends_free(tide__sched *s);

/* retire.c */
void tide__retire_check(tide__sched *s, sworker *w);
void tide__retire_check_all(tide__sched *s);
void tide__retire_add_keys(tide__sched *s, sworker *w, const msgpack_object *msg);
void tide__retire_worker_gone(tide__sched *s, sworker *w, bool expected);
void tide__retire_destroy_all(tide__sched *s);

/* clients.c */
void tide__client_msg(tide__sched *s, sclient *c, const msgpack_object *msg);
void tide__client_gone(tide__sched *s, sclient *c);
void tide__client_key_done(tide__sched *s, stask *t);
void tide__client_forget(tide__sched *s, stask *t);
void tide__gather_data(tide__sched *s, sworker *w, const msgpack_object *msg);
void tide__gather_worker_gone(tide__sched *s, sworker *w);
void tide__gather_key_done(tide__sched *s, stask *t); /* memory, erred or forgotten */
void tide__gather_client_gone(tide__sched *s, uint64_t client_id);
void tide__gather_free(tide__sched *s, sgather *g);
/* Free a dataset already removed from s->datasets (its wants are the caller's). */
void tide__dataset_free(sdataset *d);
void tide__clients_destroy(tide__sched *s);
sclient *tide__client_find(tide__sched *s, uint64_t id);
void tide__client_update_graph(tide__sched *s, sclient *c, const msgpack_object *msg);
void tide__client_release_keys(tide__sched *s, sclient *c, const msgpack_object *msg);
void tide__reply_ok(tide__sched *s, void *conn, int64_t id);
void tide__reply_err(tide__sched *s, void *conn, int64_t id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* resources.c (docs/tasks.md "Resources") */
/* The resource set of t, NULL none. */
const tide__res *tide__sres_of(const tide__sched *s, const stask *t);
/* The index (>= 1) of res among the scheduler's resource sets, adding it;
 * 0 for no resources; < 0 with err when there are too many sets or no
 * pool (nor connected worker, without pools) provides res. */
int tide__sres_intern(tide__sched *s, const tide__res *res, tide_error *err);
/* Has w res of t free now? */
bool tide__sres_free(const tide__sched *s, const sworker *w, const stask *t);
/* t starts (sign 1) or stops (-1) holding its resources on w. */
void tide__sres_take(tide__sched *s, sworker *w, const stask *t, int sign);
/* w advertises res (NULL none) and belongs to pool (NULL none): on join. */
void tide__sres_worker_set(tide__sched *s, sworker *w, const tide__res *res, const char *pool);
void tide__sres_worker_free(tide__sched *s, sworker *w);
void tide__sres_destroy(tide__sched *s);

/* trace.c: the workload trace `tide simulate` replays (docs/simulate.md) */
int tide__trace_open(tide__sched *s, tide_error *err);
void tide__trace_close(tide__sched *s);
/* A submission: its n tasks in dependency order. */
void tide__trace_submit(tide__sched *s, stask *const *tasks, size_t n);
void tide__trace_done(tide__sched *s, const stask *t, int64_t nbytes, double duration);

/* views.c */
void tide__stream_add(tide__sched *s, stask *t, sworker *w, int thread, double start, double stop);
void tide__stream_free(tide__sched *s);
void tide__logs_reply(tide__sched *s, sworker *w, const msgpack_object *msg);
void tide__logs_destroy(tide__sched *s);

#endif
