/* The cross-site checks (guard.c): which Host, Origin and Content-Type
 * values a request may carry, without a server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/internal.h"

static const tide__http_names names = {"0.0.0.0", "node7", "tide.example.org, dash.lan"};

static int guard(const char *method, const char *host, const char *origin, const char *ctype)
{
  const char *why = NULL;
  int st = tide__http_guard(method, true, host, origin, ctype, &names, &why);
  assert_true(st == 0 ? why == NULL : why != NULL);
  return st;
}

static void test_hosts(void **state)
{
  const char *ok[] = {
      "127.0.0.1:8787", "localhost", "LOCALHOST:1",           "[::1]:8787", "[::1]", "10.1.2.3:80",
      "node7:8787",     "0.0.0.0",   "tide.example.org:8787", "dash.lan",   NULL};
  for (int i = 0; ok[i]; i++)
    assert_true(tide__http_host_ok(ok[i], &names));
  assert_true(tide__http_host_ok(NULL, &names)); /* HTTP/1.0 */
  const char *bad[] = {
      "evil.example:8787", "evil.example",           "",  ":8787", "[::1", "node", "tide.example",
      "example.org",       "localhost.evil.example", NULL};
  for (int i = 0; bad[i]; i++)
    assert_false(tide__http_host_ok(bad[i], &names));
  tide__http_names none = {NULL, NULL, NULL};
  assert_true(tide__http_host_ok("127.0.0.1", &none));
  assert_false(tide__http_host_ok("node7", &none));
}

static void test_origin(void **state)
{
  assert_int_equal(guard("GET", "127.0.0.1:8787", NULL, NULL), 0);
  assert_int_equal(guard("GET", "127.0.0.1:8787", "http://127.0.0.1:8787", NULL), 0);
  assert_int_equal(guard("GET", "node7:8787", "https://NODE7:8787", NULL), 0);
  assert_int_equal(guard("GET", "127.0.0.1:8787", "http://127.0.0.1:8788", NULL), 403);
  assert_int_equal(guard("GET", "127.0.0.1:8787", "http://evil.example", NULL), 403);
  assert_int_equal(guard("GET", "127.0.0.1:8787", "null", NULL), 403);
  assert_int_equal(guard("GET", "127.0.0.1:8787", "file://", NULL), 403);
  assert_int_equal(guard("GET", NULL, "http://127.0.0.1:8787", NULL), 403);
  assert_int_equal(guard("GET", "evil.example:8787", "http://evil.example:8787", NULL), 403);
}

static void test_content_type(void **state)
{
  const char *h = "127.0.0.1:8787";
  assert_int_equal(guard("POST", h, NULL, "application/json"), 0);
  assert_int_equal(guard("POST", h, NULL, "Application/JSON; charset=utf-8"), 0);
  assert_int_equal(guard("POST", h, NULL, NULL), 415);
  assert_int_equal(guard("POST", h, NULL, "text/plain"), 415);
  assert_int_equal(guard("POST", h, NULL, "application/x-www-form-urlencoded"), 415);
  assert_int_equal(guard("POST", h, NULL, "multipart/form-data; boundary=x"), 415);
  assert_int_equal(guard("POST", h, NULL, "application/jsonp"), 415);
  assert_int_equal(guard("GET", h, NULL, "text/plain"), 0);
  /* a path that takes no POST gets its 405 from the dispatcher instead */
  const char *why = NULL;
  assert_int_equal(tide__http_guard("POST", false, h, NULL, "text/plain", &names, &why), 0);
  /* the Host is checked first */
  assert_int_equal(guard("POST", "evil.example", NULL, "text/plain"), 403);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hosts),
      cmocka_unit_test(test_origin),
      cmocka_unit_test(test_content_type),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
