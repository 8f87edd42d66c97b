/* Pure recommendations of the Adaptive controller (docs/design.md §7). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "adaptive/recommend.h"
#include "common/util.h"
#include "common/vec.h"

const char *tide__rec_status_name(tide__rec_status s)
{
  switch (s) {
  case TIDE__REC_UP: return "up";
  case TIDE__REC_DOWN: return "down";
  default: return "same";
  }
}

/* ---- backoff */

void tide__backoff_init(tide__backoff *b)
{
  static const double def[] = {1, 5, 30, 60};
  memset(b, 0, sizeof *b);
  memcpy(b->delays, def, sizeof def);
  b->ndelays = 4;
  b->pause_after = 10;
}

int tide__backoff_set_delays(tide__backoff *b, const double *d, int n)
{
  if (n < 1 || n > TIDE__BACKOFF_MAX_STEPS)
    return -1;
  for (int i = 0; i < n; i++)
    if (!(d[i] > 0) || !isfinite(d[i]))
      return -1;
  for (int i = 0; i < n; i++)
    b->delays[i] = d[i];
  b->ndelays = n;
  return 0;
}

double tide__backoff_delay(const tide__backoff *b, int failures)
{
  if (failures < 1)
    return 0;
  int i = failures - 1;
  if (i >= b->ndelays)
    i = b->ndelays - 1;
  return b->delays[i];
}

void tide__backoff_fail(tide__backoff *b, double now, const char *why)
{
  b->failures++;
  b->total_failures++;
  b->next_try = now + tide__backoff_delay(b, b->failures);
  if (b->pause_after > 0 && b->failures >= b->pause_after)
    b->paused = true;
  snprintf(b->reason, sizeof b->reason, "%s", why ? why : "resource manager failed");
}

void tide__backoff_ok(tide__backoff *b)
{
  b->failures = 0;
  b->next_try = 0;
  b->paused = false;
  b->reason[0] = '\0';
}

bool tide__backoff_ready(const tide__backoff *b, double now)
{
  return b->failures == 0 || now >= b->next_try;
}

/* ---- targets */

int tide__rec_round_jobs(int n, int processes)
{
  if (processes < 1)
    processes = 1;
  if (n <= 0)
    return 0;
  return ((n + processes - 1) / processes) * processes;
}

int tide__rec_clip(int target, double minimum, double maximum, int processes)
{
  if (processes < 1)
    processes = 1;
  double jobs = target > 0 ? ceil((double)target / processes) : 0;
  if (!isinf(maximum)) {
    double maxjobs = floor(maximum / processes);
    if (maxjobs < 1 && maximum >= 1)
      maxjobs = 1;
    if (jobs > maxjobs)
      jobs = maxjobs;
  }
  double minjobs = minimum > 0 ? ceil(minimum / processes) : 0;
  if (jobs < minjobs)
    jobs = minjobs; /* minimum wins over maximum */
  if (jobs > 1e6)
    jobs = 1e6;
  return (int)jobs * processes;
}

int tide__rec_up_n(int target, int nplan, int pending_jobs, int max_pending, int processes)
{
  if (processes < 1)
    processes = 1;
  if (target <= nplan)
    return nplan;
  int jobs = (target - nplan + processes - 1) / processes;
  if (max_pending > 0) {
    int room = max_pending - pending_jobs;
    if (room < 0)
      room = 0;
    if (jobs > room)
      jobs = room;
  }
  return nplan + jobs * processes;
}

/* ---- close counts */

typedef struct count_entry {
  char *name;
  int count;
  bool seen; /* candidate in the current round */
  UT_hash_handle hh;
} count_entry;

struct tide__rec_state {
  count_entry *map;
};

tide__rec_state *tide__rec_state_create(void)
{
  return tide__xcalloc(1, sizeof(tide__rec_state));
}

void tide__rec_state_clear(tide__rec_state *st)
{
  count_entry *e, *tmp;
  HASH_ITER (hh, st->map, e, tmp) {
    HASH_DEL(st->map, e);
    free(e->name);
    free(e);
  }
}

void tide__rec_state_destroy(tide__rec_state *st)
{
  if (!st)
    return;
  tide__rec_state_clear(st);
  free(st);
}

int tide__rec_state_count(const tide__rec_state *st, const char *name)
{
  count_entry *e = NULL;
  HASH_FIND_STR(st->map, name, e);
  return e ? e->count : 0;
}

size_t tide__rec_state_size(const tide__rec_state *st)
{
  return HASH_COUNT(st->map);
}

void tide__rec_out_free(tide__rec_out *out)
{
  for (size_t i = 0; i < out->nworkers; i++)
    free(out->workers[i]);
  free(out->workers);
  out->workers = NULL;
  out->nworkers = 0;
}

/* A growing list of candidate names (borrowed), each once: a hash of the
 * names seen keeps de-duplication O(1) per name. */
typedef struct name_seen {
  UT_hash_handle hh;
} name_seen;

typedef struct namelist {
  TIDE__VEC(const char *) l;
  name_seen *seen;
} namelist;

static void nl_push(namelist *nl, const char *s)
{
  name_seen *e;
  size_t len = strlen(s);
  HASH_FIND(hh, nl->seen, s, len, e);
  if (e)
    return;
  e = tide__xcalloc(1, sizeof *e);
  HASH_ADD_KEYPTR(hh, nl->seen, s, len, e);
  tide__vec_push(&nl->l, s);
}

static void nl_free(namelist *nl)
{
  name_seen *e, *tmp;
  HASH_ITER (hh, nl->seen, e, tmp) {
    HASH_DEL(nl->seen, e);
    free(e);
  }
  free(nl->l.v);
}

/* Not-arrived candidates: whole jobs whose every worker has not arrived,
 * newest first (the least likely to arrive soon), up to need workers. */
static void pick_not_arrived(const tide__rec_member *na, size_t nna, int processes, int need,
                             namelist *out)
{
  int P = processes < 1 ? 1 : processes;
  size_t i = nna;
  while (i > 0 && (int)out->l.n + P <= need) {
    /* the run of entries of one job ending at i-1 */
    size_t end = i, start = i - 1;
    const char *job = na[start].job;
    while (start > 0 && job && na[start - 1].job && strcmp(na[start - 1].job, job) == 0)
      start--;
    if ((int)(end - start) == P || !job)
      for (size_t k = start; k < end; k++)
        nl_push(out, na[k].name);
    i = start;
  }
}

size_t tide__rec_pick_down(const tide__rec_member *not_arrived, size_t nnot_arrived, int processes,
                           int need, int target, tide__rec_close_fn to_close, void *arg,
                           char ***names)
{
  namelist cand = {0};
  char **closing = NULL;
  size_t nclosing = 0;
  pick_not_arrived(not_arrived, nnot_arrived, processes, need, &cand);
  if ((int)cand.l.n < need && to_close) {
    nclosing = to_close(arg, target, &closing);
    for (size_t i = 0; i < nclosing; i++)
      nl_push(&cand, closing[i]);
  }
  *names = tide__xcalloc(cand.l.n + 1, sizeof **names);
  for (size_t i = 0; i < cand.l.n; i++)
    (*names)[i] = tide__xstrdup(cand.l.v[i]);
  size_t n = cand.l.n;
  nl_free(&cand);
  for (size_t i = 0; i < nclosing; i++)
    free(closing[i]);
  free(closing);
  return n;
}

/* Bump the counts of the candidates, forget the others, and return the
 * candidates whose count reached wait_count. */
static void update_counts(tide__rec_state *st, char *const *cand, size_t ncand, int wait_count,
                          tide__rec_out *out)
{
  count_entry *e, *tmp;
  HASH_ITER (hh, st->map, e, tmp)
    e->seen = false;
  for (size_t i = 0; i < ncand; i++) {
    HASH_FIND_STR(st->map, cand[i], e);
    if (!e) {
      e = tide__xcalloc(1, sizeof *e);
      e->name = tide__xstrdup(cand[i]);
      HASH_ADD_KEYPTR(hh, st->map, e->name, strlen(e->name), e);
    }
    e->count++;
    e->seen = true;
  }
  HASH_ITER (hh, st->map, e, tmp) {
    if (!e->seen) {
      HASH_DEL(st->map, e);
      free(e->name);
      free(e);
    }
  }
  out->workers = tide__xcalloc(ncand ? ncand : 1, sizeof(char *));
  for (size_t i = 0; i < ncand; i++) {
    HASH_FIND_STR(st->map, cand[i], e);
    if (e && e->count >= wait_count)
      out->workers[out->nworkers++] = tide__xstrdup(cand[i]);
  }
}

/* Lower out->n to the workers that would still find work on arrival
 * (arrival.h), never below the minimum. */
static void cap_up(const tide__rec_in *in, tide__rec_out *out)
{
  tide__arrival_in a = *in->arrival;
  double *pend = tide__xcalloc(in->nnot_arrived + 1, sizeof *pend);
  for (size_t i = 0; i < in->nnot_arrived; i++) {
    double at = in->not_arrived[i].requested + a.startup - in->now;
    pend[i] = at > 0 ? at : 0;
  }
  a.pending = pend;
  a.npending = in->nnot_arrived;
  tide__arrival_cap(&a, &out->arrival);
  if (!out->arrival.uncapped) {
    long room = (long)tide__rec_round_jobs(out->arrival.allowed, in->processes) + in->nplan;
    int floor = tide__rec_clip(0, in->minimum, in->maximum, in->processes);
    int n = out->n;
    if (room < n)
      n = (int)room;
    if (n < floor)
      n = floor < out->n ? floor : out->n;
    if (n < out->n) {
      out->capped = true;
      out->asked = out->n;
      tide__arrival_explain(out->n - in->nplan, n > in->nplan ? n - in->nplan : 0, &a,
                            &out->arrival, out->why, sizeof out->why);
      out->n = n;
    }
  }
  free(pend);
}

static void recommend_up(const tide__rec_in *in, tide__rec_out *out)
{
  out->status = TIDE__REC_UP;
  if (in->backoff && !tide__backoff_ready(in->backoff, in->now)) {
    out->status = TIDE__REC_SAME;
    out->blocked = in->backoff->paused ? "paused" : "backoff";
    return;
  }
  out->n = tide__rec_up_n(out->target, in->nplan, in->pending_jobs, in->max_pending, in->processes);
  if (out->n <= in->nplan) {
    out->status = TIDE__REC_SAME;
    out->n = 0;
    out->blocked = "max-pending";
    return;
  }
  if (in->arrival)
    cap_up(in, out);
  if (out->n <= in->nplan) {
    out->status = TIDE__REC_SAME;
    out->n = 0;
    out->blocked = "arrival";
  }
}

void tide__recommend(tide__rec_state *st, const tide__rec_in *in, tide__rec_out *out)
{
  memset(out, 0, sizeof *out);
  out->target = tide__rec_clip(in->target, in->minimum, in->maximum, in->processes);
  if (out->target > in->nplan) {
    if (!in->up_only)
      tide__rec_state_clear(st);
    recommend_up(in, out);
    return;
  }
  if (in->up_only || in->down_blocked)
    return; /* same; scale-down waits for the tick and the retirement */
  if (out->target == in->nplan) {
    tide__rec_state_clear(st);
    return;
  }

  /* target < len(plan): not-arrived first, then workers_to_close */
  char **picked = NULL;
  size_t npicked =
      tide__rec_pick_down(in->not_arrived, in->nnot_arrived, in->processes, in->nplan - out->target,
                          out->target, in->to_close, in->to_close_arg, &picked);
  out->ncandidates = npicked;
  int wait = in->wait_count < 1 ? 1 : in->wait_count;
  update_counts(st, picked, npicked, wait, out);
  if (out->nworkers)
    out->status = TIDE__REC_DOWN;
  for (size_t i = 0; i < npicked; i++)
    free(picked[i]);
  free(picked);
}
