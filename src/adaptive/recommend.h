/* Pure decision logic of the Adaptive controller (docs/design.md §7): target
 * clipping and whole-job rounding, up / same / down with close counts,
 * not-arrived workers first, max-pending, and the resource-manager backoff
 * state machine. No clock, no socket: the caller passes the time and state,
 * so unit tests and a simulator can drive it with a virtual clock. */
#ifndef TIDE_ADAPTIVE_RECOMMEND_H
#define TIDE_ADAPTIVE_RECOMMEND_H

#include <stdbool.h>
#include <stddef.h>

#include "adaptive/arrival.h"

typedef enum tide__rec_status {
  TIDE__REC_SAME = 0,
  TIDE__REC_UP,
  TIDE__REC_DOWN,
} tide__rec_status;

const char *tide__rec_status_name(tide__rec_status s);

/* ---- Backoff after resource-manager failures (docs/design.md §7 "Resource-manager
 * faults"): 1 s, 5 s, 30 s, then 60 s between attempts; paused after
 * pause_after failures in a row (attempts go on at the longest delay so a
 * repaired resource manager is noticed); a success resets it. */
enum { TIDE__BACKOFF_MAX_STEPS = 8 };
typedef struct tide__backoff {
  double delays[TIDE__BACKOFF_MAX_STEPS]; /* seconds; the last repeats */
  int ndelays;
  int pause_after; /* failures in a row before pausing, default 10 */
  int failures;    /* consecutive failures */
  unsigned long total_failures;
  double next_try; /* time (caller's clock) before which no submission */
  bool paused;
  char reason[256]; /* last failure */
} tide__backoff;

/* Defaults: 1, 5, 30, 60 s; pause after 10. */
void tide__backoff_init(tide__backoff *b);
/* Set the delay sequence from n values (n <= TIDE__BACKOFF_MAX_STEPS, each
 * > 0); returns -1 and changes nothing on bad input. */
int tide__backoff_set_delays(tide__backoff *b, const double *d, int n);
/* The delay after the failures-th failure in a row (1-based). */
double tide__backoff_delay(const tide__backoff *b, int failures);
/* Record a failed submission at now. */
void tide__backoff_fail(tide__backoff *b, double now, const char *why);
/* Record a successful submission: back to normal. */
void tide__backoff_ok(tide__backoff *b);
/* May a submission be attempted at now? */
bool tide__backoff_ready(const tide__backoff *b, double now);

/* ---- Targets */

/* Clip to [minimum, maximum] (minimum wins when minimum > maximum), in whole
 * jobs of processes workers: the target is rounded up to whole jobs, the
 * maximum down (but at least one job when maximum >= 1), the minimum up. */
int tide__rec_clip(int target, double minimum, double maximum, int processes);
/* n rounded up to whole jobs of processes workers. */
int tide__rec_round_jobs(int n, int processes);
/* The plan size to ask for now when target > nplan: whole jobs, and no
 * more than max_pending jobs outstanding (pending_jobs already are);
 * max_pending <= 0 means no limit. Returns nplan when none may be added. */
int tide__rec_up_n(int target, int nplan, int pending_jobs, int max_pending, int processes);

/* ---- Recommendations with close counts */

/* Close counts that survive between rounds: name -> consecutive rounds as a
 * close candidate. */
typedef struct tide__rec_state tide__rec_state;
tide__rec_state *tide__rec_state_create(void);
void tide__rec_state_destroy(tide__rec_state *st);
/* Current count of name (0 if none). */
int tide__rec_state_count(const tide__rec_state *st, const char *name);
size_t tide__rec_state_size(const tide__rec_state *st);
void tide__rec_state_clear(tide__rec_state *st);

/* A planned worker that was requested but has not arrived. */
typedef struct tide__rec_member {
  const char *name;
  const char *job;
  double requested; /* when its job was asked for (the caller's clock) */
} tide__rec_member;

/* workers_to_close(target=target, key=worker_key) (docs/design.md §6): returns the count
 * and a malloc'd array of malloc'd names in *names (the callee allocates,
 * tide__recommend frees). */
typedef size_t (*tide__rec_close_fn)(void *arg, int target, char ***names);

/* The one rule for shrinking a plan by need workers (§6), used by the
 * controller's down step and by scale(): whole jobs whose workers have all
 * not arrived go first, newest first (the least likely to arrive soon);
 * when they are not enough, to_close(arg, target) chooses among the
 * arrived ones (to_close may be NULL). Names appear once. Returns the count
 * and a malloc'd array of malloc'd names in *names (the caller frees). */
size_t tide__rec_pick_down(const tide__rec_member *not_arrived, size_t nnot_arrived, int processes,
                           int need, int target, tide__rec_close_fn to_close, void *arg,
                           char ***names);

typedef struct tide__rec_in {
  double now;
  int target; /* wanted workers before clipping */
  double minimum, maximum;
  int wait_count;
  int processes;                       /* workers per job (P >= 1) */
  int nplan;                           /* workers asked for, arrived or not */
  const tide__rec_member *not_arrived; /* planned, not observed, oldest job first */
  size_t nnot_arrived;
  int pending_jobs;             /* jobs submitted, not yet running */
  int max_pending;              /* <= 0: no limit */
  const tide__backoff *backoff; /* NULL: no faults */
  bool up_only;                 /* reactive round: never touch close counts */
  bool down_blocked;            /* a retirement is still running: no down step */
  tide__rec_close_fn to_close;
  void *to_close_arg;
  /* Arrival-aware cap on up (arrival.h), NULL: none. Its pending offsets
   * are computed here from not_arrived[].requested + startup - now. */
  const tide__arrival_in *arrival;
} tide__rec_in;

typedef struct tide__rec_out {
  tide__rec_status status;
  int target;     /* clipped, whole jobs */
  int n;          /* UP: plan size to scale to */
  char **workers; /* DOWN: names to retire then stop (malloc'd) */
  size_t nworkers;
  size_t ncandidates;  /* close candidates this round (down path) */
  const char *blocked; /* UP wanted but not possible now: "backoff",
                          "paused", "max-pending", "arrival" (static), else NULL */
  /* The arrival-aware cap lowered the plan size from asked to n (or to the
   * plan itself: status SAME, blocked "arrival"). */
  bool capped;
  int asked;
  tide__arrival_out arrival;
  char why[256]; /* the explanation for the decision log */
} tide__rec_out;

/* One round of docs/design.md §7: compare the clipped target with the plan and
 * update the close counts. Fills out; free with tide__rec_out_free. */
void tide__recommend(tide__rec_state *st, const tide__rec_in *in, tide__rec_out *out);
void tide__rec_out_free(tide__rec_out *out);

#endif
