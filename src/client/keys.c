/* The client's key table: every key it asked the scheduler for, whether
 * through a future or a task graph, with its state, its error and how many
 * holders it has. Submitting, waiting and releasing go through here. */
#include <stdlib.h>
#include <string.h>

#include "client/internal.h"
#include "common/util.h"

static void free_key(tide__ckey *k)
{
  free(k->key);
  free(k->error);
  free(k->task);
  free(k);
}

void tide__keys_on_done(tide_client *c, const msgpack_object *msg)
{
  tide__ckeys *ks = tide__client_keys(c);
  const char *key, *st;
  size_t klen, slen;
  tide__ckey *k = NULL;

  if (!tide__mp_str(msg, "key", &key, &klen) || !tide__mp_str(msg, "state", &st, &slen))
    return;
  if (ks->progress_token) {
    size_t tl = strlen(ks->progress_token);
    if (klen > tl && memcmp(key, ks->progress_token, tl) == 0 && key[tl] == '/')
      ks->progress++;
  }
  HASH_FIND(hh, ks->by_key, key, klen, k);
  /* late news about a key released or cancelled meanwhile: not ours */
  if (!k || k->state != TIDE__K_PENDING || !k->wanted)
    return;
  bool erred = slen == 5 && memcmp(st, "erred", 5) == 0;
  if (erred) {
    const char *task = key, *e = "unknown error";
    size_t tlen = klen, elen = strlen(e);
    tide__mp_str(msg, "task", &task, &tlen);
    tide__mp_str(msg, "error", &e, &elen);
    /* both may carry "<token>/": show the user's own names */
    const char *slash = memchr(key, '/', klen);
    char *token = tide__xstrndup(key, slash ? (size_t)(slash - key) : 0); /* "": none */
    k->task = tide__client_strip_token(token, task, tlen);
    k->error = tide__client_strip_token(token, e, elen);
    free(token);
    ks->nerred++;
  }
  k->state = erred ? TIDE__K_ERRED : TIDE__K_MEMORY;
  k->done_seq = ++ks->ndone;
}

void tide__keys_enter(tide_client *c, char *const *wants, size_t n, tide__ckey **ents)
{
  tide__ckeys *ks = tide__client_keys(c);
  for (size_t i = 0; i < n; i++) {
    tide__ckey *k = NULL;
    size_t kl = strlen(wants[i]);
    HASH_FIND(hh, ks->by_key, wants[i], kl, k);
    if (!k) {
      k = tide__xcalloc(1, sizeof *k);
      k->key = tide__xstrdup(wants[i]);
      k->wanted = true;
      HASH_ADD_KEYPTR(hh, ks->by_key, k->key, kl, k);
    }
    k->refs++;
    ents[i] = k;
  }
}

int tide__keys_submit(tide_client *c, tide__pack_tasks_fn pack_tasks, void *arg, char *const *wants,
                      size_t n, bool progress, const char *what, tide__ckey **out, tide_error *err)
{
  tide__ckey **ents = out ? out : tide__xmalloc((n + 1) * sizeof *ents);
  const msgpack_object *reply;
  int rc;

  if ((rc = tide__client_need_conn(c, err)) < 0) {
    if (!out)
      free(ents);
    return rc;
  }
  /* entered before sending: a key-done may follow the reply at once */
  tide__keys_enter(c, wants, n, ents);
  msgpack_packer *pk = tide__client_begin_request(c, TIDE_OP_UPDATE_GRAPH, 3);
  tide__pk_str(pk, "tasks");
  pack_tasks(pk, arg);
  tide__pk_str(pk, "wants");
  msgpack_pack_array(pk, (uint32_t)n);
  for (size_t i = 0; i < n; i++)
    tide__pk_str(pk, wants[i]);
  tide__pk_kbool(pk, "progress", progress);
  rc = tide__client_finish_request(c, "update-graph", &reply, err);
  if (rc != 0) {
    if (rc == TIDE_EREFUSED)
      rc = tide__client_refused_as(err, TIDE_EGRAPH, "%s", what);
    /* nothing was entered on the scheduler: just forget */
    for (size_t i = 0; i < n; i++) {
      ents[i]->wanted = false;
      tide__keys_unref(c, ents[i]);
      ents[i] = NULL;
    }
  }
  if (!out)
    free(ents);
  return rc;
}

int tide__keys_wait(tide_client *c, tide__ckey *const *keys, size_t n, bool stop_on_error,
                    double deadline, void (*on_turn)(void *), void *arg, tide__ckey **erred,
                    tide_error *err)
{
  tide__ckeys *ks = tide__client_keys(c);
  uint64_t seen_errors = 0;
  bool first = true;
  size_t cursor = 0; /* keys[0..cursor) have left pending */
  int rc = 0;

  if (erred)
    *erred = NULL;
  for (;;) {
    /* an error anywhere is looked for only when one happened */
    if (stop_on_error && (first || seen_errors != ks->nerred)) {
      first = false;
      seen_errors = ks->nerred;
      for (size_t i = 0; i < n; i++)
        if (keys[i]->state == TIDE__K_ERRED) {
          if (erred)
            *erred = keys[i];
          return 0;
        }
    }
    while (cursor < n && keys[cursor]->state != TIDE__K_PENDING)
      cursor++;
    if (cursor == n)
      return 0;
    if ((rc = tide__client_turn(c, deadline, err)) < 0)
      return rc;
    if (on_turn)
      on_turn(arg);
  }
}

void tide__keys_unref_all(tide_client *c, tide__ckey *const *ks, size_t n)
{
  TIDE__VEC(char *) rel = {0};
  TIDE__VEC(tide__ckey *) gone = {0};
  for (size_t i = 0; i < n; i++) {
    tide__ckey *k = ks[i];
    if (!k || --k->refs > 0)
      continue;
    if (k->wanted)
      tide__vec_push(&rel, k->key);
    HASH_DEL(tide__client_keys(c)->by_key, k);
    tide__vec_push(&gone, k);
  }
  /* one release-keys for all: a released graph of 20,000 outputs is one
   * frame, not 20,000 the scheduler would read over many loop turns */
  tide__client_send_release(c, rel.v, rel.n);
  for (size_t i = 0; i < gone.n; i++)
    free_key(gone.v[i]);
  tide__vec_free(&rel);
  tide__vec_free(&gone);
}

void tide__keys_unref(tide_client *c, tide__ckey *k)
{
  tide__keys_unref_all(c, &k, 1);
}

void tide__keys_cancel(tide_client *c, tide__ckey *k)
{
  if (k->wanted)
    tide__client_send_release(c, &k->key, 1);
  k->wanted = false;
  if (k->state == TIDE__K_PENDING || k->state == TIDE__K_MEMORY) {
    k->state = TIDE__K_CANCELLED;
    if (!k->done_seq)
      k->done_seq = ++tide__client_keys(c)->ndone;
  }
}

void tide__keys_destroy(tide__ckeys *ks)
{
  tide__ckey *k, *tmp;
  HASH_ITER (hh, ks->by_key, k, tmp) {
    HASH_DEL(ks->by_key, k);
    free_key(k);
  }
}
