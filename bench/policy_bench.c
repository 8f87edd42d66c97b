/* Cost of the scheduler's per-round paths at a given number of synthetic
 * workers, through the same internal functions the adaptive controller
 * calls (built against libtide.a with the internal headers of src/):
 *   policy_bench N [REPEATS]
 * Half of the N two-thread workers run one task each; the other half are
 * idle, so that adaptive_target's close count (workers_to_close over every
 * worker) is computed each time, its worst case. Prints one JSON line: the
 * median milliseconds of adaptive_target, of workers_to_close alone, and
 * of a whole round (adaptive_target, then recommend with its close
 * candidates, as src/cluster/adapt.c does), and the answers, so that a
 * fast wrong answer does not pass for a result, with the number of workers
 * the placement left busy (bench/peers/dask_policy.py places Dask's tasks
 * on as many, so that both answer the same question). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adaptive/recommend.h"
#include "common/config.h"
#include "common/log.h"
#include "scheduler/internal.h"

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static msgpack_sbuffer g_sb;
static msgpack_packer g_pk;

static msgpack_packer *nop_begin(void *conn, tide__op op, uint32_t n)
{
  (void)conn;
  (void)op;
  (void)n;
  msgpack_sbuffer_clear(&g_sb);
  msgpack_packer_init(&g_pk, &g_sb, msgpack_sbuffer_write);
  return &g_pk;
}

static void nop_end(void *conn)
{
  (void)conn;
}

static void nop_close(void *conn, const char *reason)
{
  (void)conn;
  (void)reason;
}

static const tide__sched_tx nop_tx = {nop_begin, nop_end, nop_close};

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static size_t close_cb(void *arg, int target, char ***names)
{
  tide__close_opts o = {.target = target, .n = -1, .memory_ratio = 0, .minimum = -1};
  return tide__sched_workers_to_close(arg, &o, names);
}

static void free_names(char **names, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(stderr, "usage: policy_bench N [REPEATS]\n");
    return 2;
  }
  int n = atoi(argv[1]);
  int reps = argc > 2 ? atoi(argv[2]) : (n <= 1000 ? 200 : 30);
  if (n < 1 || reps < 1) {
    fprintf(stderr, "policy_bench: N and REPEATS must be positive\n");
    return 2;
  }
  tide__log_init("bench", TIDE_LOG_WARNING);
  msgpack_sbuffer_init(&g_sb);
  uv_loop_t loop;
  uv_loop_init(&loop);
  tide__config cfg;
  tide__config_defaults(&cfg);
  tide__sched *s;
  if (tide__sched_create(&loop, &cfg, &s, NULL) != 0)
    return 1;
  tide__sched_set_tx(s, &nop_tx);
  for (int i = 0; i < n; i++) {
    char name[32], addr[64];
    snprintf(name, sizeof name, "w%d", i);
    snprintf(addr, sizeof addr, "tcp://10.%d.%d.%d:1", i >> 16 & 255, i >> 8 & 255, i & 255);
    tide__sw_add(s, (void *)(intptr_t)(i + 1), name, addr, "h", "", 2, 1 << 30, NULL, 0, NULL);
  }
  /* one task on each of n/2 workers: placement fills the emptiest first */
  static const char args[] = "\x90";
  for (int i = 0; i < n / 2; i++) {
    char key[32];
    snprintf(key, sizeof key, "t-%d", i);
    stask *t = tide__task_new(s, key, strlen(key), "tide.sleep", 10, NULL, 0, args, 1, NULL, 0);
    tide__task_want(s, t, 1);
    tide__task_activate(s, t);
  }
  const tide__sw_view *views;
  size_t nviews = tide__sched_workers(s, &views), busy = 0;
  for (size_t i = 0; i < nviews; i++)
    busy += views[i].nprocessing > 0;
  double *at = calloc((size_t)reps, sizeof *at), *wc = calloc((size_t)reps, sizeof *wc),
         *rd = calloc((size_t)reps, sizeof *rd);
  tide__target_inputs in;
  int target = 0;
  size_t nclose = 0, ndown = 0;
  for (int r = 0; r < reps; r++) {
    double t0 = now_ms();
    target = tide__sched_adaptive_target(s, 5.0, &in);
    at[r] = now_ms() - t0;

    char **names = NULL;
    tide__close_opts o = {.target = -1, .n = -1, .memory_ratio = 0, .minimum = -1};
    t0 = now_ms();
    nclose = tide__sched_workers_to_close(s, &o, &names);
    wc[r] = now_ms() - t0;
    free_names(names, nclose);

    /* a round: a fresh close-count state each time, so that every round
     * does the down path's work (candidates, counts) */
    tide__rec_state *st = tide__rec_state_create();
    t0 = now_ms();
    int raw = tide__sched_adaptive_target(s, 5.0, &in);
    tide__rec_in ri = {.target = raw,
                       .minimum = 0,
                       .maximum = 1e9,
                       .wait_count = 1,
                       .processes = 1,
                       .nplan = n,
                       .to_close = close_cb,
                       .to_close_arg = s};
    tide__rec_out out;
    tide__recommend(st, &ri, &out);
    rd[r] = now_ms() - t0;
    ndown = out.nworkers;
    tide__rec_out_free(&out);
    tide__rec_state_destroy(st);
  }
  printf("{\"workers\": %d, \"repeats\": %d, \"busy_workers\": %zu, \"adaptive_target_ms\": %.4f, "
         "\"workers_to_close_ms\": %.4f, \"round_ms\": %.4f, \"target\": %d, \"nclose\": %zu, "
         "\"round_down\": %zu}\n",
         n, reps, busy, median(at, reps), median(wc, reps), median(rd, reps), target, nclose,
         ndown);
  free(at);
  free(wc);
  free(rd);
  tide__sched_close(s, false);
  uv_run(&loop, UV_RUN_DEFAULT);
  tide__sched_destroy(s);
  uv_loop_close(&loop);
  msgpack_sbuffer_destroy(&g_sb);
  return 0;
}
