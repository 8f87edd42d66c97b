/* The HTTP server bridge: libmicrohttpd on its own threads, requests handed
 * to the loop and answered there. A client thread speaks raw HTTP/1.0 to a
 * server on 127.0.0.1 port 0 while the loop runs; then a clean stop. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/config.h"
#include "http/api.h"

typedef struct resp {
  int status;
  char ctype[128];
  char *body;
  size_t len;
} resp;

/* One request over a fresh connection; body may be NULL. */
static resp http(int port, const char *method, const char *path, const char *body, size_t blen)
{
  resp r = {0};
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    close(fd);
    r.status = -1;
    return r;
  }
  char head[512];
  int hl = snprintf(head, sizeof head,
                    "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    "Content-Length: %zu\r\n\r\n",
                    method, path, body ? blen : 0);
  (void)!write(fd, head, (size_t)hl);
  size_t off = 0;
  while (body && off < blen) {
    ssize_t w = write(fd, body + off, blen - off);
    if (w <= 0)
      break; /* the server may answer 413 and close early */
    off += (size_t)w;
  }
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (len + 4096 > cap)
      buf = realloc(buf, cap *= 2);
    ssize_t n = read(fd, buf + len, cap - len - 1);
    if (n <= 0)
      break;
    len += (size_t)n;
  }
  close(fd);
  buf[len] = '\0';
  sscanf(buf, "HTTP/1.%*d %d", &r.status);
  const char *ct = strcasestr(buf, "\r\nContent-Type: ");
  if (ct)
    sscanf(ct + 16, "%127[^\r]", r.ctype);
  char *sep = strstr(buf, "\r\n\r\n");
  r.body = strdup(sep ? sep + 4 : "");
  r.len = sep ? len - (size_t)(sep + 4 - buf) : 0;
  free(buf);
  return r;
}

typedef struct ctx {
  uv_loop_t loop;
  uv_async_t done;
  tide__sched *s;
  tide__api *a;
  tide__http *h;
  int port;
  int failures;
  char why[512];
} ctx;

static void check(ctx *c, bool ok, const char *what)
{
  if (!ok && !c->failures++)
    snprintf(c->why, sizeof c->why, "%s", what);
}

static void *client(void *arg)
{
  ctx *c = arg;
  resp r = http(c->port, "GET", "/api/v1/identity", NULL, 0);
  check(c, r.status == 200, "identity status");
  check(c, strstr(r.ctype, "application/json") != NULL, "identity content type");
  json_t *j = json_loads(r.body, 0, NULL);
  check(c, j && json_is_object(json_object_get(j, "workers")), "identity body");
  json_decref(j);
  free(r.body);

  r = http(c->port, "GET", "/api/v1/nope", NULL, 0);
  check(c, r.status == 404, "unknown route 404");
  check(c, strstr(r.body, "\"error\"") != NULL, "404 body is a JSON error");
  free(r.body);

  r = http(c->port, "GET", "/api/v1/scale", NULL, 0);
  check(c, r.status == 405, "wrong method 405");
  free(r.body);

  const char *bad = "{\"n\": -3}";
  r = http(c->port, "POST", "/api/v1/scale", bad, strlen(bad));
  check(c, r.status == 400, "bad body 400");
  free(r.body);

  r = http(c->port, "GET", "/api/v1/task_stream?since=12.5&x=a%20b", NULL, 0);
  check(c, r.status == 200, "task_stream with a query 200");
  free(r.body);
  r = http(c->port, "GET", "/api/v1/task_stream?since=later", NULL, 0);
  check(c, r.status == 400, "task_stream bad since 400");
  free(r.body);

  size_t big = (1 << 20) + 10;
  char *huge = malloc(big);
  memset(huge, ' ', big);
  r = http(c->port, "POST", "/api/v1/scale", huge, big);
  check(c, r.status == 413, "body over 1 MiB 413");
  free(huge);
  free(r.body);

  r = http(c->port, "GET", "/", NULL, 0);
  check(c, r.status == 200 && strstr(r.ctype, "text/html"), "dashboard page");
  check(c, strstr(r.body, "<html") != NULL, "dashboard page is HTML");
  free(r.body);
  r = http(c->port, "GET", "/static/app.js", NULL, 0);
  check(c, r.status == 200 && strstr(r.ctype, "javascript") && r.len > 100, "app.js");
  free(r.body);

  r = http(c->port, "GET", "/metrics", NULL, 0);
  check(c, r.status == 200 && strstr(r.ctype, "text/plain"), "metrics content type");
  check(c, strstr(r.body, "# TYPE tide_workers gauge\ntide_workers 0\n") != NULL, "metrics body");
  free(r.body);

  uv_async_send(&c->done);
  return NULL;
}

static void on_done(uv_async_t *as)
{
  ctx *c = as->data;
  tide__http_stop(c->h); /* loop thread: joins the server threads */
  c->h = NULL;
  uv_close((uv_handle_t *)as, NULL);
  tide__api_destroy(c->a);
  tide__sched_close(c->s, false);
}

static void test_serve_and_stop(void **state)
{
  ctx c = {0};
  tide__config cfg;
  tide__config_defaults(&cfg);
  tide_error err = {{0}};
  assert_int_equal(uv_loop_init(&c.loop), 0);
  assert_int_equal(tide__sched_create(&c.loop, &cfg, &c.s, &err), 0);
  assert_int_equal(tide__api_create(c.s, NULL, NULL, &c.a), 0);
  assert_int_equal(tide__http_start(c.a, &c.loop, "127.0.0.1", 0, &c.h, &err), 0);
  c.port = tide__http_port(c.h);
  assert_true(c.port > 0 && c.port < 65536);

  /* the same port again: a clear error naming it */
  tide__http *h2 = NULL;
  tide_error err2 = {{0}};
  assert_true(tide__http_start(c.a, &c.loop, "127.0.0.1", c.port, &h2, &err2) < 0);
  assert_null(h2);
  char portstr[16];
  snprintf(portstr, sizeof portstr, "%d", c.port);
  assert_non_null(strstr(err2.text, portstr));
  assert_non_null(strstr(err2.text, "in use"));

  uv_async_init(&c.loop, &c.done, on_done);
  c.done.data = &c;
  pthread_t t;
  pthread_create(&t, NULL, client, &c);
  uv_run(&c.loop, UV_RUN_DEFAULT);
  pthread_join(t, NULL);
  if (c.failures)
    fail_msg("%d checks failed, first: %s", c.failures, c.why);
  tide__sched_destroy(c.s);
  assert_int_equal(uv_loop_close(&c.loop), 0);
}

typedef struct waiter {
  int port;
  resp r;
  double took;
  volatile int sent;
} waiter;

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *wait_client(void *arg)
{
  waiter *w = arg;
  double t0 = now_s();
  w->sent = 1;
  w->r = http(w->port, "GET", "/api/v1/identity", NULL, 0);
  w->took = now_s() - t0;
  return NULL;
}

/* The loop does not answer: 503 after the timeout, and the late request is
 * dropped cleanly once the loop runs again. */
static void test_timeout_503(void **state)
{
  uv_loop_t loop;
  tide__config cfg;
  tide__config_defaults(&cfg);
  tide_error err = {{0}};
  tide__sched *s;
  tide__api *a;
  tide__http *h;
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(tide__sched_create(&loop, &cfg, &s, &err), 0);
  assert_int_equal(tide__api_create(s, NULL, NULL, &a), 0);
  assert_int_equal(tide__http_start(a, &loop, "127.0.0.1", 0, &h, &err), 0);
  tide__http_set_timeout(h, 0.3);
  waiter w = {.port = tide__http_port(h)};
  pthread_t t;
  pthread_create(&t, NULL, wait_client, &w);
  pthread_join(t, NULL); /* the loop is not running meanwhile */
  assert_int_equal(w.r.status, 503);
  assert_non_null(strstr(w.r.body, "did not answer"));
  assert_true(w.took >= 0.25 && w.took < 5.0);
  free(w.r.body);
  uv_run(&loop, UV_RUN_NOWAIT); /* the abandoned request is dropped */
  tide__http_stop(h);
  tide__api_destroy(a);
  tide__sched_close(s, false);
  uv_run(&loop, UV_RUN_DEFAULT);
  tide__sched_destroy(s);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* Stopping while a connection waits for the loop does not hang: the
 * waiter is released at once (503 or a closed connection). */
static void test_stop_while_waiting(void **state)
{
  uv_loop_t loop;
  tide__config cfg;
  tide__config_defaults(&cfg);
  tide_error err = {{0}};
  tide__sched *s;
  tide__api *a;
  tide__http *h;
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(tide__sched_create(&loop, &cfg, &s, &err), 0);
  assert_int_equal(tide__api_create(s, NULL, NULL, &a), 0);
  assert_int_equal(tide__http_start(a, &loop, "127.0.0.1", 0, &h, &err), 0);
  waiter w = {.port = tide__http_port(h)};
  pthread_t t;
  pthread_create(&t, NULL, wait_client, &w);
  for (int i = 0; i < 2000 && !w.sent; i++)
    usleep(1000);
  usleep(50000); /* let the server read the request; either outcome is checked */
  double t0 = now_s();
  tide__http_stop(h);
  double took = now_s() - t0;
  pthread_join(t, NULL);
  assert_true(took < 5.0);
  assert_true(w.r.status == 503 || w.r.status <= 0);
  free(w.r.body);
  tide__api_destroy(a);
  tide__sched_close(s, false);
  uv_run(&loop, UV_RUN_DEFAULT);
  tide__sched_destroy(s);
  assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_bad_host(void **state)
{
  uv_loop_t loop;
  uv_loop_init(&loop);
  tide__http *h = NULL;
  tide_error err = {{0}};
  assert_true(tide__http_start(NULL, &loop, "no-such-host.invalid", 0, &h, &err) < 0);
  assert_null(h);
  assert_non_null(strstr(err.text, "no-such-host.invalid"));
  assert_int_equal(uv_loop_close(&loop), 0);
}

static void *one_client(void *arg)
{
  ctx *c = arg;
  resp r = http(c->port, "GET", "/api/v1/identity", NULL, 0);
  check(c, r.status == 200, "identity status with descriptors past 1023");
  check(c, strstr(r.body, "\"workers\"") != NULL, "identity body with descriptors past 1023");
  free(r.body);
  uv_async_send(&c->done);
  return NULL;
}

/* Every descriptor below 1100 is taken before the server starts, so its
 * listening and accepted sockets are numbered past select()'s 1023; a
 * request is still answered. */
static void test_descriptors_past_1023(void **state)
{
  enum { LOW = 1100 };
  struct rlimit rl;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < LOW + 64)
    skip();
  struct rlimit raised = {rl.rlim_max, rl.rlim_max};
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &raised), 0);
  int *fds = malloc(LOW * sizeof *fds), nfds = 0, fd;
  while ((fd = open("/dev/null", O_RDONLY)) >= 0 && fd < LOW)
    fds[nfds++] = fd;
  assert_true(fd >= LOW);
  close(fd);

  ctx c = {0};
  tide__config cfg;
  tide__config_defaults(&cfg);
  tide_error err = {{0}};
  assert_int_equal(uv_loop_init(&c.loop), 0);
  assert_int_equal(tide__sched_create(&c.loop, &cfg, &c.s, &err), 0);
  assert_int_equal(tide__api_create(c.s, NULL, NULL, &c.a), 0);
  assert_int_equal(tide__http_start(c.a, &c.loop, "127.0.0.1", 0, &c.h, &err), 0);
  c.port = tide__http_port(c.h);
  uv_async_init(&c.loop, &c.done, on_done);
  c.done.data = &c;
  pthread_t t;
  pthread_create(&t, NULL, one_client, &c);
  uv_run(&c.loop, UV_RUN_DEFAULT);
  pthread_join(t, NULL);
  if (c.failures)
    fail_msg("%d checks failed, first: %s", c.failures, c.why);
  tide__sched_destroy(c.s);
  assert_int_equal(uv_loop_close(&c.loop), 0);
  for (int i = 0; i < nfds; i++)
    close(fds[i]);
  free(fds);
  setrlimit(RLIMIT_NOFILE, &rl);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_serve_and_stop),        cmocka_unit_test(test_timeout_503),
      cmocka_unit_test(test_stop_while_waiting),    cmocka_unit_test(test_bad_host),
      cmocka_unit_test(test_descriptors_past_1023),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
