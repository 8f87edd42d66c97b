/* Example: a map-reduce with futures (Dask's client verbs in C). Maps
 * tide.inc over 0..N-1, then reduces the results as a tree of tide.add
 * tasks, each taking up to FAN futures of the level below as arguments, and
 * prints the total, N(N+1)/2. Only the final result is waited for: the
 * cluster runs the tree as its inputs finish.
 * Usage: prog_futures_mapreduce SCHEDULER_FILE [N [FAN]] */
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tide/client.h"

static void release_all(tide_future **fs, size_t n)
{
  for (size_t i = 0; i < n; i++)
    tide_future_release(fs[i]);
}

int main(int argc, char **argv)
{
  tide_client *c = NULL;
  tide_error err;
  long n = argc > 2 ? atol(argv[2]) : 1000, fan = argc > 3 ? atol(argv[3]) : 16;
  int rc = 1;

  if (argc < 2 || n < 1 || fan < 2) {
    fprintf(stderr, "usage: prog_futures_mapreduce SCHEDULER_FILE [N >= 1 [FAN >= 2]]\n");
    return 2;
  }
  if (tide_client_connect(NULL, argv[1], 10, &c, &err) < 0) {
    fprintf(stderr, "prog_futures_mapreduce: %s\n", err.text);
    return 1;
  }

  /* map: one task per input, all sent in one request */
  char **args = malloc((size_t)n * sizeof *args);
  tide_future **level = malloc((size_t)n * sizeof *level);
  for (long i = 0; i < n; i++) {
    args[i] = malloc(32);
    snprintf(args[i], 32, "[%ld]", i);
  }
  int mrc = tide_map(c, "tide.inc", (size_t)n, (const char *const *)args, NULL, level, &err);
  for (long i = 0; i < n; i++)
    free(args[i]);
  free(args);
  if (mrc < 0) {
    fprintf(stderr, "prog_futures_mapreduce: %s\n", err.text);
    free(level);
    tide_client_destroy(c);
    return 1;
  }

  /* reduce: tide.add of up to fan futures per task, level after level;
   * nothing waits here until the last one */
  size_t len = (size_t)n;
  while (len > 1) {
    size_t next = (len + (size_t)fan - 1) / (size_t)fan;
    tide_future **up = malloc(next * sizeof *up);
    for (size_t j = 0; j < next; j++) {
      size_t from = j * (size_t)fan, cnt = len - from < (size_t)fan ? len - from : (size_t)fan;
      /* NULL arguments: the futures themselves are the arguments */
      if (tide_submit(c, "tide.add", NULL, level + from, cnt, &up[j], &err) < 0) {
        fprintf(stderr, "prog_futures_mapreduce: %s\n", err.text);
        release_all(up, j);
        free(up);
        goto out;
      }
    }
    /* the scheduler keeps what the next level still needs */
    release_all(level, len);
    free(level);
    level = up;
    len = next;
  }

  char *value = NULL;
  size_t vlen = 0;
  if (tide_future_result(level[0], 60, &value, &vlen, &err) < 0) {
    fprintf(stderr, "prog_futures_mapreduce: %s\n", err.text);
    goto out;
  }
  msgpack_unpacked u;
  size_t off = 0;
  msgpack_unpacked_init(&u);
  if (msgpack_unpack_next(&u, value, vlen, &off) == MSGPACK_UNPACK_SUCCESS &&
      u.data.type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
    printf("sum=%llu\n", (unsigned long long)u.data.via.u64);
    rc = 0;
  } else {
    fprintf(stderr, "prog_futures_mapreduce: the result is not a positive integer\n");
  }
  msgpack_unpacked_destroy(&u);
  free(value);
out:
  release_all(level, len);
  free(level);
  tide_client_destroy(c);
  return rc;
}
