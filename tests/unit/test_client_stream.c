/* What streamed submission relies on: the order it sends tasks in puts
 * every task after its dependencies (a part may only name tasks already
 * sent), keeps document order without edges, and only a big all-builtin
 * graph is streamed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/graph.h"
#include "client/internal.h"
#include "common/vec.h"
#include "tide/client.h"

static tide_graph *parse(const char *json)
{
  tide_graph *g = NULL;
  tide_error err;
  if (tide_graph_parse(json, strlen(json), "graph.json", &g, &err) < 0)
    fail_msg("parse: %s", err.text);
  return g;
}

static size_t key_at(const tide_graph *g, const size_t *order, const char *key)
{
  for (size_t p = 0; p < tide_graph_ntasks(g); p++)
    if (strcmp(tide__graph_key(g, order[p]), key) == 0)
      return p;
  fail_msg("key %s not in the order", key);
  return 0;
}

static void test_order_deps_first(void **state)
{
  (void)state;
  /* d needs b and c, which need a; written dependents first */
  tide_graph *g =
      parse("{\"tasks\": {"
            "\"d\": {\"fn\": \"tide.add\", \"args\": [{\"ref\": \"b\"}, {\"ref\": \"c\"}]},"
            "\"c\": {\"fn\": \"tide.inc\", \"args\": [{\"ref\": \"a\"}]},"
            "\"b\": {\"fn\": \"tide.inc\", \"args\": [{\"ref\": \"a\"}]},"
            "\"a\": {\"fn\": \"tide.inc\", \"args\": [1]},"
            "\"e\": {\"fn\": \"tide.inc\", \"args\": [2]}}}");
  size_t *order = tide__graph_order(g);
  /* each task exactly once */
  unsigned char seen[5] = {0};
  for (size_t p = 0; p < 5; p++) {
    assert_true(order[p] < 5);
    assert_int_equal(seen[order[p]]++, 0);
  }
  assert_true(key_at(g, order, "a") < key_at(g, order, "b"));
  assert_true(key_at(g, order, "a") < key_at(g, order, "c"));
  assert_true(key_at(g, order, "b") < key_at(g, order, "d"));
  assert_true(key_at(g, order, "c") < key_at(g, order, "d"));
  assert_int_equal(key_at(g, order, "e"), 4); /* last in the file, no edges */
  free(order);
  tide_graph_destroy(g);
}

/* n independent tasks, the last one calling fn. */
static tide_graph *flat(size_t n, const char *fn)
{
  tide__text t = {0};
  tide__text_printf(&t, "{\"tasks\": {");
  for (size_t i = 0; i < n; i++)
    tide__text_printf(&t, "%s\"t%zu\": {\"fn\": \"%s\", \"args\": [%zu]}", i ? ", " : "", i,
                      i + 1 == n ? fn : "tide.inc", i);
  tide__text_printf(&t, "}}");
  tide_graph *g = parse(t.v);
  tide__vec_free(&t);
  return g;
}

static void test_order_flat_keeps_document_order(void **state)
{
  (void)state;
  tide_graph *g = flat(5000, "tide.inc");
  size_t *order = tide__graph_order(g);
  for (size_t p = 0; p < 5000; p++)
    assert_int_equal(order[p], p);
  free(order);
  tide_graph_destroy(g);
}

static void test_streamable(void **state)
{
  (void)state;
  tide_graph *g = flat(TIDE__STREAM_CHUNK, "tide.inc");
  assert_false(tide__graph_streamable(g)); /* one part: one message, as before */
  tide_graph_destroy(g);
  g = flat(TIDE__STREAM_CHUNK + 1, "tide.inc");
  assert_true(tide__graph_streamable(g));
  tide_graph_destroy(g);
  g = flat(20000, "myplugin.fn"); /* the scheduler alone can judge a plugin */
  assert_false(tide__graph_streamable(g));
  tide_graph_destroy(g);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_order_deps_first),
      cmocka_unit_test(test_order_flat_keeps_document_order),
      cmocka_unit_test(test_streamable),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
