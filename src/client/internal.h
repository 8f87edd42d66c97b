/* What the client library's files share: the request machinery of client.c
 * (one connection, one request in flight, a private loop) and the key table
 * of keys.c, through which every submission goes: futures (futures.c) and
 * task graphs (tide_client_compute) alike. */
#ifndef TIDE_CLIENT_INTERNAL_H
#define TIDE_CLIENT_INTERNAL_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

#include "common/vec.h"
#include "proto/msg.h"
#include "tide/client.h"

/* ---- client.c ---- */

/* Start a request (packs "id"); the packer takes nfields more fields. */
msgpack_packer *tide__client_begin_request(tide_client *c, tide__op op, uint32_t nfields);
/* Send it and wait for the reply (request timeout of the client). 0 with
 * *reply valid until the next request; TIDE_EREFUSED when the scheduler
 * refused, with its error text in err; another negative code when the
 * connection failed. */
int tide__client_finish_request(tide_client *c, const char *what, const msgpack_object **reply,
                                tide_error *err);
/* A refused request as the caller's code: "<what>: <the scheduler's
 * reason>" (the reason is what finish_request left in err). Returns code. */
int tide__client_refused_as(tide_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Gather keys[i] into a packed msgpack map {names[i]: VALUE}. */
int tide__client_gather(tide_client *c, char *const *keys, char *const *names, size_t n,
                        char **values, size_t *len, tide_error *err);
/* Publish keys[i] (as the scheduler knows them) under names[i] as the
 * dataset `name`. A refusal is TIDE_EUSAGE with the scheduler's reason. */
int tide__client_publish_keys(tide_client *c, const char *name, char *const *names,
                              char *const *keys, size_t n, tide_error *err);
/* Tell the scheduler the client no longer wants keys (no reply). */
void tide__client_send_release(tide_client *c, char *const *keys, size_t n);
/* 0 while the connection lives, else the closed error in err. */
int tide__client_need_conn(tide_client *c, tide_error *err);
/* One turn of the client's loop, bounded by deadline (tide__now() time, 0:
 * none). Returns 0, TIDE_ETIMEOUT once the deadline has passed, or
 * TIDE_ECLOSED with err filled when the connection is gone. */
int tide__client_turn(tide_client *c, double deadline, tide_error *err);
/* Streamed requests: begin one (packs a fresh "id"; nfields more fields),
 * end it (sent without waiting for its reply), and count the replies to
 * every streamed request since the last reset, with the first refusal's
 * reason in *error (NULL when none). */
msgpack_packer *tide__client_begin_streamed(tide_client *c, tide__op op, uint32_t nfields);
void tide__client_end_streamed(tide_client *c);
size_t tide__client_stream_replies(const tide_client *c, const char **error);
void tide__client_stream_reset(tide_client *c);
/* Until the next reset, cb sees every reply to a streamed request, seq
 * counting the requests since the reset from 0. */
typedef void (*tide__reply_fn)(void *arg, size_t seq, const msgpack_object *reply);
void tide__client_stream_watch(tide_client *c, tide__reply_fn cb, void *arg);
/* Append {names[i]: VALUE} pairs (no map header) from a gather reply to
 * out, for i = which[0..n) in that order (which NULL: 0..n-1), the reply
 * asked for keys[i] in the same order; ends[j] (may be NULL) gets out's
 * size after pair j. TIDE_ENOTFOUND when a value is missing. */
int tide__client_put_values(const msgpack_object *reply, char *const *keys, char *const *names,
                            const size_t *which, size_t n, msgpack_sbuffer *out, size_t *ends,
                            tide_error *err);
/* A fresh random submission token (hex) into out[0..n). */
void tide__client_make_token(char *out, size_t n);
/* s[0..n) with every "<token>/" removed (malloc'd). */
char *tide__client_strip_token(const char *token, const char *s, size_t n);
/* The client's key table. */
struct tide__ckeys *tide__client_keys(tide_client *c);

/* ---- keys.c: the keys this client wants, and their states ---- */

/* Key states; the public tide_future_status values are the same numbers. */
enum { TIDE__K_PENDING = 0, TIDE__K_MEMORY, TIDE__K_ERRED, TIDE__K_CANCELLED };

typedef struct tide__ckey {
  char *key; /* as the scheduler knows it: "<token>/<name>" */
  int state;
  bool wanted;       /* the scheduler holds it for us (not yet released) */
  unsigned refs;     /* futures and computes holding it */
  uint64_t done_seq; /* order in which keys finished; 0 while pending */
  char *error;       /* erred: the error, tokens stripped */
  char *task;        /* erred: the key that erred first, tokens stripped */
  UT_hash_handle hh;
} tide__ckey;

typedef struct tide__ckeys {
  tide__ckey *by_key;
  uint64_t ndone;             /* keys that left pending, ever (done_seq source) */
  uint64_t nerred;            /* keys that erred, ever */
  char token[24];             /* futures' token, made on first use */
  uint64_t next;              /* futures' key counter */
  const char *progress_token; /* count key-done of "<this>/..." keys */
  size_t progress;
} tide__ckeys;

/* A key-done message from the scheduler. */
void tide__keys_on_done(tide_client *c, const msgpack_object *msg);
/* Enter each wants[i] (keys as the scheduler knows them) in the table with
 * one more reference; ents[i] gets its entry. */
void tide__keys_enter(tide_client *c, char *const *wants, size_t n, tide__ckey **ents);
/* Packs the "tasks" array of an update-graph message. */
typedef void (*tide__pack_tasks_fn)(msgpack_packer *pk, void *arg);
/* Send update-graph with the tasks pack_tasks packs and wants[0..n) (keys
 * as the scheduler knows them), after entering each wanted key in the
 * table with one more reference; out[i] (may be NULL) gets the entry of
 * wants[i]. On a refusal, the references are dropped again and err holds
 * "<what>: <the scheduler's reason>" with code TIDE_EGRAPH. */
int tide__keys_submit(tide_client *c, tide__pack_tasks_fn pack_tasks, void *arg, char *const *wants,
                      size_t n, bool progress, const char *what, tide__ckey **out, tide_error *err);
/* Submit graph g (tokens "<token>/") as tide__keys_submit does, in
 * update-graph messages of at most TIDE__STREAM_CHUNK tasks sent without
 * waiting for each reply, so the scheduler places the first tasks while the
 * rest is still packed and sent (stream.c); timeout (0: none) bounds the
 * wait for the replies. Streamed only when
 * tide__graph_streamable(g); the refusal of any part is TIDE_EGRAPH with
 * "<what>: <reason>", the keys stay entered (the caller releases them). */
enum { TIDE__STREAM_CHUNK = 2048 };
bool tide__graph_streamable(const tide_graph *g);
int tide__keys_submit_streamed(tide_client *c, const tide_graph *g, const char *token,
                               char *const *wants, size_t n, bool progress, const char *what,
                               double timeout, tide__ckey **ents, tide_error *err);
/* gather_stream.c: a graph's outputs gathered while it runs, in batches of
 * TIDE__GATHER_BATCH as they finish, in any order; step after every loop
 * turn of the wait, finish once every output is in memory (deadline as
 * tide__client_turn's; timeout only names it in the error): *values is
 * then the packed map {names[i]: VALUE} in the outputs' order, as one
 * gather at the end would give. */
enum { TIDE__GATHER_BATCH = 2048 };
typedef struct tide__gpipe {
  tide_client *c;
  char *const *keys, *const *names;
  tide__ckey *const *ents;
  size_t n, scan, nasked;           /* ents[0..scan) all asked for; nasked asked in all */
  uint64_t seen_done;               /* the key table's ndone at the last look */
  unsigned char *asked;             /* per output */
  size_t *part, *beg, *end;         /* per output: its request, its pair's bytes there */
  TIDE__VEC(size_t) todo;           /* done, not yet asked for */
  TIDE__VEC(size_t) which;          /* every request's outputs, one after the other */
  TIDE__VEC(size_t) starts;         /* where each request's outputs start in which */
  TIDE__VEC(msgpack_sbuffer) parts; /* each request's {name: value} pairs */
  int rc;                           /* a malformed or short reply */
  bool split;                       /* a reply came in parts: gather in one go */
  tide_error err;
} tide__gpipe;
void tide__gpipe_init(tide__gpipe *p, tide_client *c, char *const *keys, char *const *names,
                      tide__ckey *const *ents, size_t n);
void tide__gpipe_step(tide__gpipe *p);
int tide__gpipe_finish(tide__gpipe *p, double deadline, double timeout, char **values, size_t *len,
                       tide_error *err);
void tide__gpipe_free(tide__gpipe *p);
/* Wait until every keys[i] has left pending, or (stop_on_error) one erred:
 * then *erred (may be NULL) points to it. on_turn (may be NULL) runs after
 * every loop turn. Returns 0, TIDE_ETIMEOUT or TIDE_ECLOSED (err filled). */
int tide__keys_wait(tide_client *c, tide__ckey *const *keys, size_t n, bool stop_on_error,
                    double deadline, void (*on_turn)(void *), void *arg, tide__ckey **erred,
                    tide_error *err);
/* Drop one reference to k; on the last, release it on the scheduler (if
 * still wanted) and forget it. */
void tide__keys_unref(tide_client *c, tide__ckey *k);
/* tide__keys_unref of each of ks[0..n) (NULLs skipped), with one
 * release-keys message for every wanted key it forgets. */
void tide__keys_unref_all(tide_client *c, tide__ckey *const *ks, size_t n);
/* Release k on the scheduler now and mark it cancelled (it stays in the
 * table until its last reference goes). */
void tide__keys_cancel(tide_client *c, tide__ckey *k);
/* Forget every key (the client is going away). */
void tide__keys_destroy(tide__ckeys *ks);

#endif
