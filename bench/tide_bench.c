/* Benchmark helper built against libtide (include/tide/client.h) so that
 * timings cover the scheduler's work, not `tide run`'s process start:
 *   tide_bench throughput SCHED_FILE N      N independent tide.inc, then a chain of N/10
 *   tide_bench startup SCHED_FILE TIDE R    spawn `tide worker` R times, median to registered
 *   tide_bench sample SCHED_FILE SECONDS    print "T WORKERS" every SECONDS until killed
 * Each prints one JSON line (sample prints lines) on stdout. With
 * TIDE_BENCH_TLS_DIR set, the client connects with DIR/ca.pem, DIR/cert.pem
 * and DIR/key.pem (the TLS side of throughput_tls). */
#include <jansson.h>
#include <msgpack.h>
#include <math.h>
#include <signal.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tide/client.h"

extern char **environ;

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double wall(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int die(const char *what, const tide_error *err)
{
  fprintf(stderr, "tide_bench: %s: %s\n", what, err ? err->text : "");
  return 1;
}

/* JSON text of n independent tide.inc tasks (chain=0) or a chain of n. */
static char *graph_text(size_t n, int chain, const char *tag)
{
  size_t cap = 64 + n * 80, len = 0;
  char *s = malloc(cap);
  len += (size_t)snprintf(s + len, cap - len, "{\"tasks\": {");
  for (size_t i = 0; i < n; i++) {
    if (chain && i > 0)
      len +=
          (size_t)snprintf(s + len, cap - len,
                           "%s\"%s%zu\": {\"fn\": \"tide.inc\", \"args\": [{\"ref\": \"%s%zu\"}]}",
                           i ? ", " : "", tag, i, tag, i - 1);
    else
      len += (size_t)snprintf(s + len, cap - len,
                              "%s\"%s%zu\": {\"fn\": \"tide.inc\", \"args\": [%zu]}", i ? ", " : "",
                              tag, i, i);
  }
  len += (size_t)snprintf(s + len, cap - len, "}, \"outputs\": [");
  if (chain) {
    len += (size_t)snprintf(s + len, cap - len, "\"%s%zu\"", tag, n - 1);
  } else {
    for (size_t i = 0; i < n; i++)
      len += (size_t)snprintf(s + len, cap - len, "%s\"%s%zu\"", i ? ", " : "", tag, i);
  }
  snprintf(s + len, cap - len, "]}");
  return s;
}

/* How many outputs of graph_text(n, chain, tag) are wrong in the packed
 * map values: TAG<i> is i + 1, a chain's last is n. A fast wrong answer is
 * not a throughput. */
static size_t wrong_values(const char *values, size_t len, size_t n, int chain, const char *tag)
{
  msgpack_unpacked u;
  size_t off = 0, right = 0, want = chain ? 1 : n, tl = strlen(tag);
  msgpack_unpacked_init(&u);
  if (msgpack_unpack_next(&u, values, len, &off) == MSGPACK_UNPACK_SUCCESS &&
      u.data.type == MSGPACK_OBJECT_MAP) {
    for (uint32_t i = 0; i < u.data.via.map.size; i++) {
      const msgpack_object *k = &u.data.via.map.ptr[i].key, *v = &u.data.via.map.ptr[i].val;
      if (k->type != MSGPACK_OBJECT_STR || k->via.str.size <= tl ||
          memcmp(k->via.str.ptr, tag, tl) != 0 || v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        continue;
      uint64_t idx = 0; /* the key is not NUL-terminated */
      for (uint32_t j = (uint32_t)tl; j < k->via.str.size; j++)
        idx = idx * 10 + (uint64_t)(k->via.str.ptr[j] - '0');
      if (v->via.u64 == (chain ? n : idx + 1))
        right++;
    }
  }
  msgpack_unpacked_destroy(&u);
  return right >= want ? 0 : want - right;
}

/* Submit and wait; seconds from submission to all outputs back, checked
 * against wrong_values. */
static int timed_compute(tide_client *c, const char *text, const char *name, double *secs, size_t n,
                         int chain, const char *tag)
{
  tide_graph *g;
  tide_error err;
  char *values = NULL;
  size_t len = 0;
  double t;

  if (tide_graph_parse(text, strlen(text), name, &g, &err) < 0)
    return die("graph", &err);
  t = now();
  if (tide_client_compute(c, g, 600, NULL, NULL, &values, &len, &err) < 0)
    return die("compute", &err);
  *secs = now() - t;
  size_t wrong = wrong_values(values, len, n, chain, tag);
  if (wrong) {
    fprintf(stderr, "tide_bench: %s: %zu of the outputs are wrong\n", name, wrong);
    return 1;
  }
  free(values);
  tide_client_release(c, &err);
  tide_graph_destroy(g);
  return 0;
}

static int cmd_throughput(const char *sched_file, size_t n)
{
  tide_client *c;
  tide_error err;
  size_t m = n / 10;
  double warm, indep, chain;
  char *g;

  if (tide_client_connect(NULL, sched_file, 10, &c, &err) < 0)
    return die("connect", &err);
  g = graph_text(4, 0, "warm-");
  if (timed_compute(c, g, "warm", &warm, 4, 0, "warm-"))
    return 1;
  free(g);
  g = graph_text(n, 0, "i-");
  if (timed_compute(c, g, "independent", &indep, n, 0, "i-"))
    return 1;
  free(g);
  g = graph_text(m, 1, "c-");
  if (timed_compute(c, g, "chain", &chain, m, 1, "c-"))
    return 1;
  free(g);
  printf("{\"system\": \"tide\", \"independent_tasks\": %zu, \"independent_tasks_per_s\": %.0f, "
         "\"chain_tasks\": %zu, \"chain_tasks_per_s\": %.0f, \"workers\": 2}\n",
         n, n / indep, m, m / chain);
  tide_client_destroy(c);
  return 0;
}

static int num_workers(tide_client *c)
{
  int status = 0, n = -1;
  char *resp = NULL;
  tide_error err;
  json_t *j;

  if (tide_client_api(c, "GET", "/api/v1/get_workers", NULL, &status, &resp, &err) < 0 ||
      status != 200) {
    free(resp);
    return -1;
  }
  j = json_loads(resp, 0, NULL);
  free(resp);
  if (j) {
    n = (int)json_integer_value(json_object_get(j, "num_workers"));
    json_decref(j);
  }
  return n;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int cmd_startup(const char *sched_file, const char *tide, int r)
{
  tide_client *c;
  tide_error err;
  double *t = calloc((size_t)r, sizeof *t);
  char addr[256];

  if (tide_client_connect(NULL, sched_file, 10, &c, &err) < 0)
    return die("connect", &err);
  snprintf(addr, sizeof addr, "%s", tide_client_scheduler_address(c));
  posix_spawn_file_actions_t fa; /* the workers' log lines go nowhere */
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  for (int i = 0; i < r; i++) {
    char name[32];
    pid_t pid;
    snprintf(name, sizeof name, "bench-%d", i);
    char *argv[] = {(char *)tide, "worker", addr, "--name", name, "--nthreads", "1", NULL};
    while (num_workers(c) != 0)
      usleep(1000);
    double t0 = now();
    if (posix_spawn(&pid, tide, &fa, NULL, argv, environ) != 0)
      return die("spawn tide worker", NULL);
    while (num_workers(c) < 1) {
      if (now() - t0 > 30)
        return die("worker did not register within 30 s", NULL);
    }
    t[i] = now() - t0;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
  }
  posix_spawn_file_actions_destroy(&fa);
  qsort(t, (size_t)r, sizeof *t, cmp_double);
  printf("{\"system\": \"tide\", \"worker_start_s_median\": %.4f, \"min\": %.4f, \"max\": %.4f, "
         "\"repeats\": %d}\n",
         t[r / 2], t[0], t[r - 1], r);
  free(t);
  tide_client_destroy(c);
  return 0;
}

static volatile sig_atomic_t stop;
static void on_term(int sig)
{
  (void)sig;
  stop = 1;
}

static int cmd_sample(const char *sched_file, double every)
{
  tide_client *c;
  tide_error err;

  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  if (tide_client_connect(NULL, sched_file, 10, &c, &err) < 0)
    return die("connect", &err);
  setvbuf(stdout, NULL, _IOLBF, 0);
  while (!stop) {
    double t = now();
    printf("%.3f %d\n", wall(), num_workers(c));
    double left = every - (now() - t);
    if (left > 0)
      usleep((useconds_t)(left * 1e6));
  }
  tide_client_destroy(c);
  return 0;
}

int main(int argc, char **argv)
{
  const char *tls = getenv("TIDE_BENCH_TLS_DIR");
  if (tls && *tls) {
    char ca[1024], cert[1024], key[1024];
    tide_error err;
    snprintf(ca, sizeof ca, "%s/ca.pem", tls);
    snprintf(cert, sizeof cert, "%s/cert.pem", tls);
    snprintf(key, sizeof key, "%s/key.pem", tls);
    if (tide_tls_configure(ca, cert, key, &err) < 0)
      return die("TLS", &err);
  }
  if (argc >= 4 && strcmp(argv[1], "throughput") == 0)
    return cmd_throughput(argv[2], (size_t)atol(argv[3]));
  if (argc >= 5 && strcmp(argv[1], "startup") == 0)
    return cmd_startup(argv[2], argv[3], atoi(argv[4]));
  if (argc >= 4 && strcmp(argv[1], "sample") == 0)
    return cmd_sample(argv[2], atof(argv[3]));
  fprintf(stderr, "usage: tide_bench throughput SCHED_FILE N | startup SCHED_FILE TIDE R | "
                  "sample SCHED_FILE SECONDS\n");
  return 2;
}
