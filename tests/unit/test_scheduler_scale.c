/* The scheduler's per-round and per-retirement paths at 10,000 synthetic
 * workers: workers_to_close by group, adaptive_target (docs/design.md §5)
 * with and without the close count, retirement of thousands of workers at
 * once, the down pick of the Adaptive controller, and the sums kept as
 * workers change checked against a recomputation. Results only: timing is
 * measured in bench/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "adaptive/recommend.h"
#include "common/log.h"
#include "test_scheduler_fake.h"

enum { NW = 10000 };

static void quiet(tide__config *c)
{
  (void)c;
  tide__log_init("test", TIDE_LOG_WARNING);
}

/* Worker ids start above the 63 conns fake_close_r counts. */
static sworker *add(fixture *f, int i, int nthreads, int64_t mem)
{
  return fx_worker(f, 100 + i, nthreads, mem);
}

/* 5,000 jobs of two workers; the even jobs are busy, and within the idle
 * ones the job number sets the bytes held (higher job, fewer bytes). */
static void test_close_by_job_10k(void **st)
{
  static tide__sw_view ws[NW];
  static char names[NW][16], jobs[NW][16];
  static size_t out[NW];
  for (int i = 0; i < NW; i++) {
    int job = i / 2;
    snprintf(names[i], sizeof names[i], "w%d", i);
    snprintf(jobs[i], sizeof jobs[i], "j%d", job);
    ws[i] = (tide__sw_view){.address = names[i],
                            .name = names[i],
                            .host = "h",
                            .job = jobs[i],
                            .nthreads = 1,
                            .nprocessing = job % 2 == 0 ? 1 : 0,
                            .nbytes = NW - job,
                            .status = TIDE_W_RUNNING};
  }
  tide__close_opts o = {.target = 9000, .n = -1, .memory_ratio = 0, .minimum = -1};
  o.key = tide__group_by_job;
  size_t k = tide__policy_workers_to_close(ws, NW, &o, out);
  /* 1,000 workers = 500 whole idle jobs, the ones holding least data:
   * jobs 4999, 4997, ... 4001, both members each, in order */
  assert_int_equal(k, 1000);
  for (size_t g = 0; g < 500; g++) {
    int job = 4999 - 2 * (int)g;
    assert_int_equal(out[2 * g], (size_t)(2 * job));
    assert_int_equal(out[2 * g + 1], (size_t)(2 * job + 1));
  }
  /* nothing asked: every idle job (memory unlimited), none of the busy */
  k = tide__policy_workers_to_close(ws, NW, NULL, out);
  assert_int_equal(k, 5000);
  for (size_t i = 0; i < k; i++)
    assert_int_equal(ws[out[i]].nprocessing, 0);
  /* grouped by host: one group of 10,000 that is busy, so nothing unless
   * asked for all, and never split */
  o.key = tide__group_by_host;
  o.target = -1;
  o.n = -1;
  assert_int_equal(tide__policy_workers_to_close(ws, NW, &o, out), 0);
  o.n = NW - 1;
  assert_int_equal(tide__policy_workers_to_close(ws, NW, &o, out), 0);
  o.n = NW;
  assert_int_equal(tide__policy_workers_to_close(ws, NW, &o, out), NW);
}

static void finish_data(fixture *f, int ntasks, int64_t nbytes)
{
  char key[32];
  for (int i = 0; i < ntasks; i++) {
    snprintf(key, sizeof key, "k%d", i);
    fx_task(f, key, "tide.bytes", NULL, NULL);
    tide__task_want(f->s, T(f, key), 1);
    tide__task_activate(f->s, T(f, key));
    fx_finish(f, key, nbytes, 0.01);
  }
}

static void test_adaptive_target_10k(void **st)
{
  fixture *f = fx_new(quiet);
  for (int i = 0; i < NW; i++)
    assert_non_null(add(f, i, 2, 1000));
  finish_data(f, 5000, 100);
  tide__target_inputs in;
  /* cpu 0, memory 500,000 bytes under 0.6 of 10,000,000: the target is
   * below the count, so workers_to_close decides: remaining limits must
   * stay >= 2 x 500,000, which keeps 1,000 workers */
  int target = tide__sched_adaptive_target(f->s, 5, &in);
  assert_int_equal(in.total_nbytes, 500000);
  assert_int_equal(in.total_memory_limit, 10000000);
  assert_true(in.avg_nthreads == 2.0);
  assert_int_equal(in.nclose, 9000);
  assert_int_equal(target, 1000);
  /* data past 0.6 of the limits: memory = 2 x workers, above the count,
   * and workers_to_close is not computed at all */
  char key[32];
  for (int i = 5000; i < 5000 + 6100; i++) {
    snprintf(key, sizeof key, "k%d", i);
    fx_task(f, key, "tide.bytes", NULL, NULL);
    tide__task_want(f->s, T(f, key), 1);
    tide__task_activate(f->s, T(f, key));
    fx_finish(f, key, 1000, 0.01);
  }
  target = tide__sched_adaptive_target(f->s, 5, &in);
  assert_int_equal(in.total_nbytes, 500000 + 6100000);
  assert_int_equal(in.memory, 2 * NW);
  assert_int_equal(in.nclose, 0);
  assert_int_equal(target, 2 * NW);
  fx_free(f);
}

typedef struct outcome {
  int calls;
  size_t nretired, nnot;
} outcome;

static void done(tide__sched *s, const tide__retire_result *r, void *arg)
{
  outcome *o = arg;
  o->calls++;
  o->nretired += r->nretired;
  o->nnot += r->nnot_retired;
}

static void test_retire_many_10k(void **st)
{
  fixture *f = fx_new(quiet);
  for (int i = 0; i < NW; i++)
    assert_non_null(add(f, i, 1, 0));
  finish_data(f, 10, 100);
  /* the 9,990 workers without data: retired at once, none undone */
  char **names = calloc(NW, sizeof *names);
  size_t n = 0;
  for (sworker *w = f->s->workers; w; w = w->hh.next)
    if (w->nhas == 0)
      names[n++] = strdup(w->name);
  assert_true(n >= NW - 10);
  outcome o = {0};
  assert_int_equal(tide__sched_retire_workers(f->s, names, n, done, &o, NULL), 0);
  uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.nretired, n);
  assert_int_equal(o.nnot, 0);
  assert_int_equal(f->s->nworkers, NW - n);
  assert_int_equal(f->s->counters.retired, n);
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  /* the holders of data: each copies its keys to the running worker with
   * least data, never to one being retired */
  size_t nheld = 0;
  for (sworker *w = f->s->workers; w; w = w->hh.next)
    names[nheld++] = strdup(w->name);
  size_t before = g_nsent;
  o = (outcome){0};
  /* all but one: the one left is where every copy goes */
  assert_int_equal(tide__sched_retire_workers(f->s, names, nheld - 1, done, &o, NULL), 0);
  sworker *last = tide__sw_find(f->s, names[nheld - 1]);
  int nacq = 0;
  for (size_t i = before; i < g_nsent; i++)
    if (g_sent[i].op == TIDE_OP_ACQUIRE_REPLICAS) {
      assert_ptr_equal(g_sent[i].conn, last->conn);
      nacq++;
    }
  assert_int_equal(nacq, (int)nheld - 1);
  for (size_t i = 0; i + 1 < nheld; i++) {
    sworker *w = tide__sw_find(f->s, names[i]);
    for (uint32_t j = w->nhas; j-- > 0;) {
      char msg[128];
      snprintf(msg, sizeof msg, "{\"op\":\"add-keys\",\"keys\":{\"%s\":100},\"failed\":[]}",
               w->has[j]->key);
      worker_send(f, last, msg);
    }
  }
  uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.nretired, nheld - 1);
  assert_int_equal(f->s->nworkers, 1);
  assert_int_equal(last->nhas, 10);
  assert_int_equal(f->s->total_nbytes, 1000);
  for (size_t i = 0; i < nheld; i++)
    free(names[i]);
  free(names);
  fx_free(f);
}

/* The sums kept as workers change equal a sum over the workers after
 * random joins, departures and results gained and lost. */
static void check_sums(fixture *f)
{
  int64_t threads = 0, bytes = 0, mem = 0;
  for (sworker *w = f->s->workers; w; w = w->hh.next) {
    threads += w->nthreads;
    bytes += w->nbytes;
    mem += w->memory_limit;
  }
  assert_int_equal(f->s->total_nthreads, threads);
  assert_int_equal(f->s->total_nbytes, bytes);
  assert_int_equal(f->s->total_memory_limit, mem);
}

static void test_aggregates_random(void **st)
{
  fixture *f = fx_new(quiet);
  srand(12345);
  enum { NT = 2000 };
  stask *ts[NT];
  char key[32];
  for (int i = 0; i < NT; i++) {
    snprintf(key, sizeof key, "t%d", i);
    ts[i] = fx_task(f, key, "tide.x", NULL, NULL);
    ts[i]->nbytes = 1 + rand() % 5000;
  }
  int next = 0;
  for (; next < NW; next++)
    add(f, next, 1 + rand() % 8, (rand() % 3) * 1000000);
  check_sums(f);
  for (int round = 0; round < 20000; round++) {
    int r = rand() % 10;
    sworker *w = f->s->workers;
    for (int k = rand() % 64; w && k > 0; k--)
      w = w->hh.next; /* one of the first workers, so that data piles up */
    stask *t = ts[rand() % NT];
    if (r < 5 && w) {
      bool held = false;
      for (uint32_t j = 0; j < t->nholders; j++)
        held |= t->holders[j].w == w;
      if (!held)
        tide__holder_add(f->s, t, w);
    } else if (r < 8 && t->nholders) {
      tide__holder_remove(f->s, t, t->holders[rand() % t->nholders].w);
    } else if (r == 8 && w) {
      tide__sw_remove(f->s, w, true, "test");
    } else {
      add(f, next++, 1 + rand() % 8, (rand() % 3) * 1000000);
    }
    if (round % 1000 == 0)
      check_sums(f);
  }
  check_sums(f);
  assert_true(f->s->total_nbytes > 0);
  fx_free(f);
}

/* At 10,000 workers a heartbeat is answered once with the 51 s interval,
 * and a worker told so is dead after 510 s of silence, not 10 s. */
static void test_heartbeat_10k(void **st)
{
  fixture *f = fx_new(quiet);
  for (int i = 0; i < NW; i++)
    add(f, i, 1, 0);
  sworker *w = tide__sw_find(f->s, "w107");
  size_t before = g_nsent;
  worker_send(f, w, "{\"op\":\"heartbeat\",\"rss\":1,\"status\":\"running\"}");
  assert_int_equal(g_nsent, before + 1);
  assert_int_equal(g_sent[before].op, TIDE_OP_HEARTBEAT);
  assert_true(w->hb_interval == 51);
  worker_send(f, w, "{\"op\":\"heartbeat\",\"rss\":1,\"status\":\"running\"}");
  assert_int_equal(g_nsent, before + 1); /* unchanged: no answer */
  double now = w->last_seen;
  w->last_seen = now - 500;
  tide__heartbeat_check(f->s, now);
  assert_non_null(tide__sw_find(f->s, "w107"));
  assert_int_equal(f->s->nworkers, NW);
  w->last_seen = now - 520;
  tide__heartbeat_check(f->s, now + 0.001);
  assert_null(tide__sw_find(f->s, "w107"));
  /* the others were never told a longer interval: 10 s for them */
  assert_int_equal(f->s->nworkers, NW - 1);
  sworker *o = tide__sw_find(f->s, "w108");
  o->last_seen = now - 11;
  tide__heartbeat_check(f->s, now);
  assert_null(tide__sw_find(f->s, "w108"));
  fx_free(f);
}

/* The controller's down pick: not-arrived workers first, then
 * workers_to_close, each name once. */
static size_t close_fn(void *arg, int target, char ***names)
{
  (void)arg;
  (void)target;
  char **v = calloc(NW + 1, sizeof *v);
  for (int i = 0; i < NW; i++) {
    char b[16];
    snprintf(b, sizeof b, "n%d", i + NW / 2); /* half already not-arrived */
    v[i] = strdup(b);
  }
  *names = v;
  return NW;
}

static void test_pick_down_10k(void **st)
{
  static tide__rec_member na[NW];
  static char nm[NW][16];
  for (int i = 0; i < NW; i++) {
    snprintf(nm[i], sizeof nm[i], "n%d", i);
    na[i] = (tide__rec_member){nm[i], NULL};
  }
  char **names = NULL;
  size_t n = tide__rec_pick_down(na, NW, 1, NW + NW / 2, 0, close_fn, NULL, &names);
  assert_int_equal(n, NW + NW / 2);
  /* newest not-arrived first, then the new names from workers_to_close */
  assert_string_equal(names[0], "n9999");
  assert_string_equal(names[NW - 1], "n0");
  assert_string_equal(names[NW], "n10000");
  assert_string_equal(names[n - 1], "n14999");
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);

  /* three rounds of wait_count 3: the candidates go down on the third */
  tide__rec_state *rs = tide__rec_state_create();
  tide__rec_in in = {.target = 0,
                     .minimum = 0,
                     .maximum = 1e9,
                     .wait_count = 3,
                     .processes = 1,
                     .nplan = NW + NW / 2,
                     .not_arrived = na,
                     .nnot_arrived = NW,
                     .to_close = close_fn};
  tide__rec_out out;
  for (int round = 1; round <= 3; round++) {
    tide__recommend(rs, &in, &out);
    assert_int_equal(out.ncandidates, NW + NW / 2);
    assert_int_equal(out.nworkers, round == 3 ? NW + NW / 2 : 0);
    assert_int_equal(out.status, round == 3 ? TIDE__REC_DOWN : TIDE__REC_SAME);
    tide__rec_out_free(&out);
  }
  assert_int_equal(tide__rec_state_size(rs), NW + NW / 2);
  tide__rec_state_destroy(rs);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_close_by_job_10k), cmocka_unit_test(test_adaptive_target_10k),
      cmocka_unit_test(test_retire_many_10k),  cmocka_unit_test(test_aggregates_random),
      cmocka_unit_test(test_pick_down_10k),    cmocka_unit_test(test_heartbeat_10k),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
