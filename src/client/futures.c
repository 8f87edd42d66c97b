/* Futures (include/tide/client.h): Dask's submit, map, result, gather,
 * as_completed, cancel and release on the client's key table (keys.c).
 * A future's task is "<token>/<fn>-<n>" under one token per client. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/graph.h"
#include "client/internal.h"
#include "client/value.h"
#include "common/util.h"
#include "common/vec.h"
#include "proto/graphcheck.h"

struct tide_future {
  tide_client *c;
  tide__ckey *k;
  unsigned refs;
  bool returned; /* by tide_wait_any already */
};

/* ---- arguments: {"future": I} -> {"ref": KEY} ---- */

typedef struct depset {
  const tide__ckey *k;
  UT_hash_handle hh;
} depset;

/* One task being submitted: its bound arguments and dependencies. */
typedef struct ptask {
  json_t *args;
  TIDE__VEC(const tide__ckey *) deps;
} ptask;

typedef struct binder {
  tide_future *const *futs;
  size_t nfuts;
  ptask *t;
  depset *seen;
  int rc;
  tide_error *err;
} binder;

static void add_dep(binder *b, const tide__ckey *k)
{
  depset *d;
  HASH_FIND_PTR(b->seen, &k, d);
  if (d)
    return;
  d = tide__xmalloc(sizeof *d);
  d->k = k;
  HASH_ADD_PTR(b->seen, k, d);
  tide__vec_push(&b->t->deps, k);
}

/* A copy of j with every {"future": I} bound; NULL after an error (b->rc).
 * depth counts the containers of the argument around j (-1 for the args
 * array itself), held to limits.arg-depth as the scheduler holds it. */
static json_t *bind_futures(binder *b, json_t *j, int depth)
{
  json_t *out, *v, *x;
  const char *name;
  size_t i;

  if ((json_is_array(j) || json_is_object(j)) &&
      (b->rc = tide__arg_depth_check(depth + 1, b->err)) < 0)
    return NULL;
  if (json_is_array(j)) {
    out = json_array();
    json_array_foreach(j, i, v)
    {
      json_t *bv = bind_futures(b, v, depth + 1);
      if (!bv) {
        json_decref(out);
        return NULL;
      }
      json_array_append_new(out, bv);
    }
    return out;
  }
  if (!json_is_object(j))
    return json_incref(j);
  if (json_object_size(j) == 1 && (x = json_object_get(j, "future"))) {
    json_int_t idx = json_is_integer(x) ? json_integer_value(x) : -1;
    if (idx < 0 || (size_t)idx >= b->nfuts) {
      b->rc = tide_errprintf(b->err, TIDE_EUSAGE,
                             "{\"future\": I} needs an integer I from 0 to %zu (the futures given)",
                             b->nfuts ? b->nfuts - 1 : 0);
      return NULL;
    }
    const tide__ckey *k = b->futs[idx]->k;
    if (k->state == TIDE__K_CANCELLED || !k->wanted) {
      b->rc =
          tide_errprintf(b->err, TIDE_EUSAGE, "future %s was cancelled: it cannot be an argument",
                         tide_future_key(b->futs[idx]));
      return NULL;
    }
    add_dep(b, k);
    return json_pack("{s:s}", "ref", k->key);
  }
  if (json_object_get(j, "ref")) {
    b->rc = tide_errprintf(b->err, TIDE_EUSAGE,
                           "a {\"ref\": ...} cannot be an argument here: pass the future and "
                           "write {\"future\": I}");
    return NULL;
  }
  out = json_object();
  json_object_foreach(j, name, v)
  {
    json_t *bv = bind_futures(b, v, depth + 1);
    if (!bv) {
      json_decref(out);
      return NULL;
    }
    json_object_set_new(out, name, bv);
  }
  return out;
}

/* Parse args_json (or [{"future": 0}, ...] for NULL) and bind it into t. */
static int prepare(ptask *t, const char *args_json, tide_future *const *futs, size_t nfuts,
                   tide_error *err)
{
  json_error_t jerr;
  json_t *raw;
  binder b = {futs, nfuts, t, NULL, 0, err};

  for (size_t i = 0; i < nfuts; i++)
    if (!futs[i])
      return tide_errprintf(err, TIDE_EUSAGE, "future argument %zu is NULL", i);
  if (args_json) {
    raw = json_loads(args_json, JSON_DECODE_ANY, &jerr);
    if (!raw)
      return tide_errprintf(err, TIDE_EUSAGE, "arguments: malformed JSON at column %d: %s",
                            jerr.column, jerr.text);
    if (!json_is_array(raw)) {
      json_decref(raw);
      return tide_errprintf(err, TIDE_EUSAGE, "arguments must be a JSON array, as in \"[1, 2]\"");
    }
  } else {
    raw = json_array();
    for (size_t i = 0; i < nfuts; i++)
      json_array_append_new(raw, json_pack("{s:I}", "future", (json_int_t)i));
  }
  t->args = bind_futures(&b, raw, -1);
  json_decref(raw);
  depset *d, *tmp;
  HASH_ITER (hh, b.seen, d, tmp) {
    HASH_DEL(b.seen, d);
    free(d);
  }
  return t->args ? 0 : b.rc;
}

static void ptasks_free(ptask *ts, size_t n)
{
  for (size_t i = 0; ts && i < n; i++) {
    json_decref(ts[i].args);
    tide__vec_free(&ts[i].deps);
  }
  free(ts);
}

/* ---- submitting ---- */

typedef struct batch {
  const char *fn;
  ptask *tasks;
  char **keys;
  size_t n;
} batch;

static void pack_batch(msgpack_packer *pk, void *arg)
{
  batch *bt = arg;
  msgpack_pack_array(pk, (uint32_t)bt->n);
  for (size_t i = 0; i < bt->n; i++) {
    const ptask *t = &bt->tasks[i];
    msgpack_pack_map(pk, 5);
    tide__pk_kstr(pk, "key", bt->keys[i]);
    tide__pk_kstr(pk, "fn", bt->fn);
    tide__pk_str(pk, "args");
    tide__value_pack_json(pk, t->args, NULL);
    tide__pk_str(pk, "deps");
    msgpack_pack_array(pk, (uint32_t)t->deps.n);
    for (size_t d = 0; d < t->deps.n; d++)
      tide__pk_str(pk, t->deps.v[d]->key);
    tide__pk_kstr(pk, "prefix", bt->fn);
  }
}

static int check_fn(const char *fn, tide_error *err)
{
  if (!fn || !*fn)
    return tide_errprintf(err, TIDE_EUSAGE, "no function name given");
  return 0;
}

/* Prepare one call and check it as graph loading does (tide__call_check),
 * so a bad builtin call is refused before anything is sent. */
static int prepare_checked(ptask *t, const char *fn, const char *args_json,
                           tide_future *const *futs, size_t nfuts, msgpack_sbuffer *scratch,
                           tide_error *err)
{
  int rc = prepare(t, args_json, futs, nfuts, err);
  return rc < 0 ? rc : tide__call_check(fn, t->args, scratch, err);
}

/* Submit the prepared tasks (taken over) and make their futures. */
static int submit_batch(tide_client *c, const char *fn, ptask *tasks, size_t n, tide_future **out,
                        tide_error *err)
{
  tide__ckeys *ks = tide__client_keys(c);
  if (!ks->token[0])
    tide__client_make_token(ks->token, sizeof ks->token);
  batch bt = {fn, tasks, tide__xcalloc(n + 1, sizeof *bt.keys), n};
  for (size_t i = 0; i < n; i++)
    bt.keys[i] = tide__xasprintf("%s/%s-%" PRIu64, ks->token, fn, ++ks->next);
  tide__ckey **ents = tide__xcalloc(n + 1, sizeof *ents);
  char *what = tide__xasprintf("cannot submit %s", fn);
  int rc = tide__keys_submit(c, pack_batch, &bt, bt.keys, n, false, what, ents, err);
  for (size_t i = 0; i < n; i++) {
    if (rc == 0) {
      tide_future *f = tide__xcalloc(1, sizeof *f);
      f->c = c;
      f->k = ents[i];
      f->refs = 1;
      out[i] = f;
    }
    free(bt.keys[i]);
  }
  free(bt.keys);
  free(ents);
  free(what);
  ptasks_free(tasks, n);
  return rc;
}

int tide_submit(tide_client *c, const char *fn, const char *args_json, tide_future *const *futures,
                size_t nfutures, tide_future **out, tide_error *err)
{
  tide_error lerr;
  int rc;
  if (!err)
    err = &lerr;
  *out = NULL;
  if ((rc = check_fn(fn, err)) < 0)
    return rc;
  ptask *t = tide__xcalloc(1, sizeof *t);
  msgpack_sbuffer scratch;
  msgpack_sbuffer_init(&scratch);
  rc = prepare_checked(t, fn, args_json, futures, nfutures, &scratch, err);
  msgpack_sbuffer_destroy(&scratch);
  if (rc < 0) {
    ptasks_free(t, 1);
    return rc;
  }
  return submit_batch(c, fn, t, 1, out, err);
}

int tide_map(tide_client *c, const char *fn, size_t n, const char *const *argv,
             tide_future *const *inputs, tide_future **out, tide_error *err)
{
  tide_error lerr;
  int rc;
  if (!err)
    err = &lerr;
  for (size_t i = 0; i < n; i++)
    out[i] = NULL;
  if ((rc = check_fn(fn, err)) < 0)
    return rc;
  if (!argv && !inputs)
    return tide_errprintf(err, TIDE_EUSAGE, "map of %s: give argv, inputs or both", fn);
  if (n == 0)
    return 0;
  ptask *ts = tide__xcalloc(n, sizeof *ts);
  msgpack_sbuffer scratch;
  msgpack_sbuffer_init(&scratch);
  for (size_t i = 0; i < n; i++) {
    if ((rc = prepare_checked(&ts[i], fn, argv ? argv[i] : NULL, inputs ? &inputs[i] : NULL,
                              inputs ? 1 : 0, &scratch, err)) < 0) {
      char msg[sizeof err->text];
      snprintf(msg, sizeof msg, "%s", err->text);
      msgpack_sbuffer_destroy(&scratch);
      ptasks_free(ts, n);
      return tide_errprintf(err, rc, "map of %s, element %zu: %s", fn, i, msg);
    }
  }
  msgpack_sbuffer_destroy(&scratch);
  return submit_batch(c, fn, ts, n, out, err);
}

/* ---- waiting and fetching ---- */

/* Why a finished key has no value: 0 when it is in memory. */
static int unfinished(const tide__ckey *k, tide_error *err)
{
  if (k->state == TIDE__K_ERRED)
    return tide_errprintf(err, TIDE_ETASK, "task \"%s\" failed: %s", k->task, k->error);
  if (k->state == TIDE__K_CANCELLED)
    return tide_errprintf(err, -ECANCELED, "task \"%s\" was cancelled", strchr(k->key, '/') + 1);
  return 0;
}

/* The packed map {KEY: VALUE} of a gather into n separate packed values. */
static int split_values(const char *buf, size_t len, size_t n, char **values, size_t *lens,
                        tide_error *err)
{
  msgpack_unpacked u;
  size_t off = 0;
  int rc = 0;
  msgpack_unpacked_init(&u);
  if (msgpack_unpack_next(&u, buf, len, &off) != MSGPACK_UNPACK_SUCCESS ||
      u.data.type != MSGPACK_OBJECT_MAP || u.data.via.map.size != n) {
    rc = tide_errprintf(err, TIDE_EPROTO, "malformed gather reply from the scheduler");
  } else {
    for (size_t i = 0; i < n; i++) {
      msgpack_sbuffer sb;
      msgpack_packer pk;
      msgpack_sbuffer_init(&sb);
      msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
      msgpack_pack_object(&pk, u.data.via.map.ptr[i].val);
      values[i] = sb.data;
      lens[i] = sb.size;
    }
  }
  msgpack_unpacked_destroy(&u);
  return rc;
}

int tide_gather(tide_client *c, size_t n, tide_future *const *futures, char **values, size_t *lens,
                double timeout, tide_error *err)
{
  tide_error lerr;
  double deadline = timeout > 0 ? tide__now() + timeout : 0;
  tide__ckey *bad = NULL;
  int rc;
  if (!err)
    err = &lerr;
  for (size_t i = 0; i < n; i++) {
    values[i] = NULL;
    lens[i] = 0;
  }
  if (n == 0)
    return 0;
  tide__ckey **ks = tide__xmalloc(n * sizeof *ks);
  char **keys = tide__xmalloc(n * sizeof *keys);
  for (size_t i = 0; i < n; i++) {
    ks[i] = futures[i]->k;
    keys[i] = ks[i]->key;
  }
  rc = tide__keys_wait(c, ks, n, true, deadline, NULL, NULL, &bad, err);
  if (rc == TIDE_ETIMEOUT)
    rc = tide_errprintf(err, rc, "timed out after %gs waiting for %zu futures", timeout, n);
  else if (rc == 0 && bad)
    rc = unfinished(bad, err);
  for (size_t i = 0; rc == 0 && i < n; i++)
    rc = unfinished(ks[i], err); /* a cancelled one */
  if (rc == 0) {
    char *buf = NULL;
    size_t len = 0;
    /* the keys double as the names of the packed map: only order matters */
    rc = tide__client_gather(c, keys, keys, n, &buf, &len, err);
    if (rc == 0)
      rc = split_values(buf, len, n, values, lens, err);
    free(buf);
  }
  free(ks);
  free(keys);
  return rc;
}

int tide_future_result(tide_future *f, double timeout, char **value, size_t *len, tide_error *err)
{
  return tide_gather(f->c, 1, &f, value, len, timeout, err);
}

int tide_wait_any(tide_client *c, size_t n, tide_future *const *futures, double timeout,
                  size_t *index, tide_error *err)
{
  tide__ckeys *ks = tide__client_keys(c);
  double deadline = timeout > 0 ? tide__now() + timeout : 0;
  uint64_t seen = UINT64_MAX;
  int rc;

  for (;;) {
    /* look again only when some key finished since the last look */
    if (ks->ndone != seen) {
      size_t best = SIZE_MAX, left = 0;
      seen = ks->ndone;
      for (size_t i = 0; i < n; i++) {
        const tide_future *f = futures[i];
        if (f->returned)
          continue;
        left++;
        if (f->k->state != TIDE__K_PENDING &&
            (best == SIZE_MAX || f->k->done_seq < futures[best]->k->done_seq))
          best = i;
      }
      if (best != SIZE_MAX) {
        futures[best]->returned = true;
        *index = best;
        return 0;
      }
      if (!left)
        return tide_errprintf(err, TIDE_ENOTFOUND,
                              "every one of the %zu futures was returned already", n);
    }
    rc = tide__client_turn(c, deadline, err);
    if (rc == TIDE_ETIMEOUT)
      return tide_errprintf(err, rc, "timed out after %gs waiting for any of %zu futures", timeout,
                            n);
    if (rc < 0)
      return rc;
  }
}

/* ---- lifetime and state ---- */

void tide_future_cancel(tide_future *f)
{
  if (f)
    tide__keys_cancel(f->c, f->k);
}

tide_future *tide_future_retain(tide_future *f)
{
  if (f)
    f->refs++;
  return f;
}

void tide_future_release(tide_future *f)
{
  if (!f || --f->refs > 0)
    return;
  tide__keys_unref(f->c, f->k);
  free(f);
}

tide_future_status tide_future_status_get(const tide_future *f)
{
  return (tide_future_status)f->k->state;
}

const char *tide_future_error(const tide_future *f)
{
  return f->k->state == TIDE__K_ERRED ? f->k->error : NULL;
}

const char *tide_future_key(const tide_future *f)
{
  return strchr(f->k->key, '/') + 1;
}
