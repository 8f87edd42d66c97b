/* Graph loading and validation: every bad-graph case gives TIDE_EGRAPH and
 * one message naming the task; good graphs pack into update-graph tasks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/graph.h"
#include "proto/graphcheck.h"
#include "proto/msg.h"
#include "tide/client.h"

static int parse(const char *json, tide_graph **g, tide_error *err)
{
  memset(err, 0, sizeof *err);
  return tide_graph_parse(json, strlen(json), "graph.json", g, err);
}

/* Parse must fail with TIDE_EGRAPH and exactly this message. */
static void expect_error(const char *json, const char *msg)
{
  tide_graph *g = (tide_graph *)0x1;
  tide_error err;
  int rc = parse(json, &g, &err);
  if (rc != TIDE_EGRAPH || strcmp(err.text, msg) != 0)
    fail_msg("graph %s\n  rc %d, message \"%s\"\n  want \"%s\"", json, rc, err.text, msg);
  assert_null(g);
}

static void test_diamond(void **state)
{
  tide_graph *g;
  tide_error err;
  const char *json =
      "{\"tasks\": {\"a\": {\"fn\": \"tide.inc\", \"args\": [1]},\n"
      "  \"b\": {\"fn\": \"tide.inc\", \"args\": [{\"ref\": \"a\"}]},\n"
      "  \"c\": {\"fn\": \"tide.inc\", \"args\": [{\"ref\": \"a\"}], \"prefix\": \"cc\"},\n"
      "  \"d\": {\"fn\": \"tide.add\", \"args\": [{\"ref\": \"b\"}, {\"ref\": \"c\"}, {\"ref\": "
      "\"b\"}]}},\n"
      " \"outputs\": [\"d\", \"a\", \"d\"]}";
  assert_int_equal(parse(json, &g, &err), 0);
  assert_int_equal(tide_graph_ntasks(g), 4);
  assert_string_equal(tide__graph_name(g), "graph.json");
  assert_string_equal(tide__graph_key(g, 0), "a");
  assert_string_equal(tide__graph_key(g, 3), "d");
  /* duplicate outputs collapse, order kept */
  assert_int_equal(tide__graph_noutputs(g), 2);
  assert_string_equal(tide__graph_output(g, 0), "d");
  assert_string_equal(tide__graph_output(g, 1), "a");

  /* Packed: keys and refs prefixed with the token, deps unique. */
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_unpacked u;
  size_t off = 0;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  tide__graph_pack_tasks(g, "T0K", &pk);
  msgpack_unpacked_init(&u);
  assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
  assert_int_equal(u.data.type, MSGPACK_OBJECT_ARRAY);
  assert_int_equal(u.data.via.array.size, 4);
  const msgpack_object *c = &u.data.via.array.ptr[2], *d = &u.data.via.array.ptr[3];
  const char *s;
  size_t n;
  assert_true(tide__mp_str(c, "key", &s, &n));
  assert_int_equal(n, 5);
  assert_memory_equal(s, "T0K/c", 5);
  assert_true(tide__mp_str(c, "prefix", &s, &n));
  assert_memory_equal(s, "cc", 2);
  assert_true(tide__mp_str(d, "prefix", &s, &n));
  assert_memory_equal(s, "tide.add", 8);
  const msgpack_object_array *deps = tide__mp_array(d, "deps");
  assert_non_null(deps);
  assert_int_equal(deps->size, 2);
  assert_true(tide__mp_streq(&deps->ptr[0], "T0K/b"));
  assert_true(tide__mp_streq(&deps->ptr[1], "T0K/c"));
  const msgpack_object_array *args = tide__mp_array(d, "args");
  assert_int_equal(args->size, 3);
  assert_true(tide__mp_str(&args->ptr[2], "ref", &s, &n));
  assert_int_equal(n, 5);
  assert_memory_equal(s, "T0K/b", 5);
  const msgpack_object_array *aargs = tide__mp_array(&u.data.via.array.ptr[0], "args");
  assert_int_equal(aargs->ptr[0].type, MSGPACK_OBJECT_POSITIVE_INTEGER);
  assert_int_equal(aargs->ptr[0].via.u64, 1);
  msgpack_unpacked_destroy(&u);
  msgpack_sbuffer_destroy(&sb);
  tide_graph_destroy(g);
}

static void test_default_outputs(void **state)
{
  tide_graph *g;
  tide_error err;
  /* Without "outputs": the tasks nothing depends on; args default to []. */
  assert_int_equal(parse("{\"tasks\": {\"x\": {\"fn\": \"tide.noop\"},"
                         " \"y\": {\"fn\": \"tide.identity\", \"args\": [{\"ref\": \"x\"}]},"
                         " \"z\": {\"fn\": \"tide.noop\"}}}",
                         &g, &err),
                   0);
  assert_int_equal(tide__graph_noutputs(g), 2);
  assert_string_equal(tide__graph_output(g, 0), "y");
  assert_string_equal(tide__graph_output(g, 1), "z");
  tide_graph_destroy(g);
}

static void test_nested_refs_and_plugins(void **state)
{
  tide_graph *g;
  tide_error err;
  /* Refs nested in an array count as dependencies; a plugin name passes. */
  assert_int_equal(
      parse("{\"tasks\": {\"a\": {\"fn\": \"tide.inc\", \"args\": [1]},"
            " \"s\": {\"fn\": \"tide.sum\", \"args\": [[{\"ref\": \"a\"}, 2]]},"
            " \"p\": {\"fn\": \"mylib.simulate\", \"args\": [{\"x\": {\"ref\": \"s\"}}]}},"
            " \"outputs\": [\"p\"]}",
            &g, &err),
      0);
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_unpacked u;
  size_t off = 0;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  tide__graph_pack_tasks(g, "k", &pk);
  msgpack_unpacked_init(&u);
  assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
  const msgpack_object_array *sdeps = tide__mp_array(&u.data.via.array.ptr[1], "deps");
  const msgpack_object_array *pdeps = tide__mp_array(&u.data.via.array.ptr[2], "deps");
  assert_int_equal(sdeps->size, 1);
  assert_true(tide__mp_streq(&sdeps->ptr[0], "k/a"));
  assert_int_equal(pdeps->size, 1);
  assert_true(tide__mp_streq(&pdeps->ptr[0], "k/s"));
  msgpack_unpacked_destroy(&u);
  msgpack_sbuffer_destroy(&sb);
  tide_graph_destroy(g);
}

static void test_malformed_json_line(void **state)
{
  tide_graph *g;
  tide_error err;
  const char *json =
      "{\"tasks\": {\n  \"a\": {\"fn\": \"tide.noop\"},\n  \"b\": {\"fn\" \"tide.noop\"}\n}}";
  assert_int_equal(parse(json, &g, &err), TIDE_EGRAPH);
  assert_null(g);
  assert_true(strncmp(err.text, "graph.json:3: malformed JSON: ", 30) == 0);
  assert_int_equal(parse("", &g, &err), TIDE_EGRAPH);
  assert_true(strncmp(err.text, "graph.json:", 11) == 0);
  assert_non_null(strstr(err.text, "malformed JSON"));
  /* duplicate keys are refused, with the line */
  assert_int_equal(
      parse("{\"tasks\": {\"a\": {\"fn\": \"tide.noop\"},\n\"a\": {\"fn\": \"tide.noop\"}}}", &g,
            &err),
      TIDE_EGRAPH);
  assert_true(strncmp(err.text, "graph.json:2: malformed JSON: ", 30) == 0);
}

static void test_unknown_key(void **state)
{
  expect_error("{\"tasks\": {\"a\": {\"fn\": \"tide.noop\"},"
               " \"b\": {\"fn\": \"tide.identity\", \"args\": [{\"ref\": \"x\"}]}}}",
               "graph.json:1: task \"b\" refers to unknown key \"x\"");
  expect_error("{\"tasks\": {\"a\": {\"fn\": \"tide.sum\", \"args\": [[1, {\"ref\": \"zz\"}]]}}}",
               "graph.json:1: task \"a\" refers to unknown key \"zz\"");
  expect_error("{\"tasks\": {\"a\": {\"fn\": \"tide.noop\"}}, \"outputs\": [\"q\"]}",
               "graph.json: outputs refer to unknown key \"q\"");
}

static void test_unknown_builtin(void **state)
{
  expect_error("{\"tasks\": {\"c\": {\"fn\": \"tide.nope\", \"args\": []}}}",
               "graph.json:1: task \"c\": unknown function \"tide.nope\"");
}

static void test_cycles(void **state)
{
  expect_error("{\"tasks\": {\"a\": {\"fn\": \"tide.identity\", \"args\": [{\"ref\": \"b\"}]},"
               " \"b\": {\"fn\": \"tide.identity\", \"args\": [{\"ref\": \"a\"}]}}}",
               "graph.json:1: dependency cycle: a -> b -> a");
  expect_error("{\"tasks\": {\"a\": {\"fn\": \"tide.identity\", \"args\": [{\"ref\": \"a\"}]}}}",
               "graph.json:1: dependency cycle: a -> a");
  expect_error("{\"tasks\": {\"s\": {\"fn\": \"tide.noop\"},"
               " \"x\": {\"fn\": \"tide.add\", \"args\": [{\"ref\": \"s\"}, {\"ref\": \"y\"}]},"
               " \"y\": {\"fn\": \"tide.inc\", \"args\": [{\"ref\": \"z\"}]},"
               " \"z\": {\"fn\": \"tide.inc\", \"args\": [{\"ref\": \"x\"}]}}}",
               "graph.json:1: dependency cycle: x -> y -> z -> x");
}

static void test_long_chain_no_cycle(void **state)
{
  /* 20,000 chained tasks: iterative DFS, no stack overflow. */
  enum { N = 20000 };
  size_t cap = (size_t)N * 80 + 64, len = 0;
  char *json = malloc(cap);
  tide_graph *g;
  tide_error err;
  len += (size_t)sprintf(json + len, "{\"tasks\": {\"t0\": {\"fn\": \"tide.inc\", \"args\": [0]}");
  for (int i = 1; i < N; i++)
    len += (size_t)sprintf(
        json + len, ", \"t%d\": {\"fn\": \"tide.inc\", \"args\": [{\"ref\": \"t%d\"}]}", i, i - 1);
  sprintf(json + len, "}}");
  assert_int_equal(parse(json, &g, &err), 0);
  assert_int_equal(tide_graph_ntasks(g), N);
  assert_int_equal(tide__graph_noutputs(g), 1);
  assert_string_equal(tide__graph_output(g, 0), "t19999");
  tide_graph_destroy(g);
  free(json);
}

static void test_error_lines(void **state)
{
  /* The line is where the task is defined, not where a key is mentioned. */
  expect_error(
      "{\"tasks\": {\n"
      "  \"a\": {\"fn\": \"tide.identity\", \"args\": [{\"ref\": \"b\"}], \"prefix\": \"b\"},\n"
      "  \"x\": {\"fn\": \"tide.noop\", \"args\": [{\"b\": 1}]},\n"
      "  \"b\": {\"fn\": \"tide.identity\",\n"
      "        \"args\": [{\"ref\": \"nothere\"}]}}}",
      "graph.json:4: task \"b\" refers to unknown key \"nothere\"");
  /* escaped keys and strings with braces do not confuse the scanner */
  expect_error("{\"outputs\": [\"}\"], \"tasks\": {\"q\\\"\": {\"fn\": \"tide.noop\"},\n"
               "\"{\": {\"fn\": \"tide.noop\"},\n"
               "\"u\\u0062\": {\"fn\": \"tide.nope\"}}}",
               "graph.json:3: task \"ub\": unknown function \"tide.nope\"");
  /* a task key that only appears elsewhere (no line found): no line */
  expect_error("{\"tasks\": {\"a\": {\"fn\": \"tide.inc\", \"args\": [\"s\"]}}}",
               "graph.json:1: task \"a\": tide.inc: argument 1 must be an integer, got string");
}

static void test_argument_types(void **state)
{
  expect_error("{\"tasks\": {\"a\": {\"fn\": \"tide.inc\", \"args\": [\"one\"]}}}",
               "graph.json:1: task \"a\": tide.inc: argument 1 must be an integer, got string");
  /* a reference is accepted where an integer is wanted */
  tide_graph *g;
  tide_error err;
  assert_int_equal(parse("{\"tasks\": {\"x\": {\"fn\": \"tide.identity\", \"args\": [\"s\"]},"
                         " \"a\": {\"fn\": \"tide.inc\", \"args\": [{\"ref\": \"x\"}]}}}",
                         &g, &err),
                   0);
  tide_graph_destroy(g);
  /* wrong count: the message names the task and the function */
  assert_int_equal(
      parse("{\"tasks\": {\"a\": {\"fn\": \"tide.inc\", \"args\": [1, 2]}}}", &g, &err),
      TIDE_EGRAPH);
  assert_true(strncmp(err.text, "graph.json:1: task \"a\": tide.inc", 32) == 0);
}

static void test_shape_errors(void **state)
{
  expect_error("[1, 2]", "graph.json: a graph must be an object {\"tasks\": {...}}");
  expect_error("{\"tasks\": []}", "graph.json: \"tasks\" must be an object {KEY: TASK}");
  expect_error("{\"tasks\": {}, \"extra\": 1}",
               "graph.json: unknown field \"extra\" (tasks, outputs)");
  expect_error("{\"tasks\": {\"a\": 5}}",
               "graph.json:1: task \"a\" must be an object {\"fn\": NAME, \"args\": [...]}");
  expect_error("{\"tasks\": {\"a\": {\"args\": []}}}",
               "graph.json:1: task \"a\": \"fn\" must be a function name");
  expect_error("{\"tasks\": {\"a\": {\"fn\": \"tide.noop\", \"args\": 3}}}",
               "graph.json:1: task \"a\": \"args\" must be an array");
  expect_error("{\"tasks\": {\"a\": {\"fn\": \"tide.noop\", \"prefix\": 3}}}",
               "graph.json:1: task \"a\": \"prefix\" must be a non-empty string");
  expect_error("{\"tasks\": {\"a\": {\"fn\": \"tide.noop\", \"retries\": 101}}}",
               "graph.json:1: task \"a\": \"retries\" must be an integer from 0 to 100");
  expect_error("{\"tasks\": {\"a\": {\"fn\": \"tide.noop\", \"retries\": \"2\"}}}",
               "graph.json:1: task \"a\": \"retries\" must be an integer from 0 to 100");
  expect_error(
      "{\"tasks\": {\"a\": {\"fn\": \"tide.noop\", \"argz\": []}}}",
      "graph.json:1: task \"a\": unknown field \"argz\" (fn, args, prefix, retries, resources)");
  expect_error("{\"tasks\": {\"a\": {\"fn\": \"tide.identity\", \"args\": [{\"ref\": 3}]}}}",
               "graph.json:1: task \"a\": a reference must be exactly {\"ref\": \"KEY\"}");
  expect_error("{\"tasks\": {\"a\": {\"fn\": \"tide.noop\"}}, \"outputs\": \"a\"}",
               "graph.json: \"outputs\" must be an array of task keys");
}

/* A graph whose one argument nests depth lists around 1. */
static char *nested(int depth)
{
  char *s = malloc(128 + 2 * (size_t)depth), *p = s;
  p += sprintf(p, "{\"tasks\": {\"a\": {\"fn\": \"tide.identity\", \"args\": [");
  for (int i = 0; i < depth; i++)
    *p++ = '[';
  *p++ = '1';
  for (int i = 0; i < depth; i++)
    *p++ = ']';
  strcpy(p, "]}}}");
  return s;
}

/* The limits the scheduler also holds to: argument nesting (its decoder
 * would otherwise refuse the whole message) and key length. */
static void test_limits(void **state)
{
  tide_graph *g;
  tide_error err;
  char *j = nested(24);
  assert_int_equal(parse(j, &g, &err), 0);
  tide_graph_destroy(g);
  free(j);
  j = nested(25);
  expect_error(j, "graph.json:1: task \"a\": arguments nest deeper than 24 levels");
  free(j);
  j = nested(28);
  expect_error(j, "graph.json:1: task \"a\": arguments nest deeper than 24 levels");
  free(j);

  char key[1200], json[1300];
  memset(key, 'k', sizeof key);
  snprintf(json, sizeof json, "{\"tasks\": {\"%.*s\": {\"fn\": \"tide.noop\"}}}", 992, key);
  assert_int_equal(parse(json, &g, &err), 0); /* 992 + room for the token prefix = 1024 */
  tide_graph_destroy(g);
  snprintf(json, sizeof json, "{\"tasks\": {\"%.*s\": {\"fn\": \"tide.noop\"}}}", 993, key);
  expect_error(json, "graph.json:1: task \"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...\": the key "
                     "is longer than limits.key-length (1024 bytes on the wire, 992 in a graph)");
}

static void test_load_file(void **state)
{
  tide_graph *g = NULL;
  tide_error err;
  char path[] = "/tmp/tide-graph-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  fputs("{\"tasks\": {\"a\": {\"fn\": \"tide.inc\", \"args\": [41]}}}\n", f);
  fclose(f);
  assert_int_equal(tide_graph_load_file(path, &g, &err), 0);
  assert_int_equal(tide_graph_ntasks(g), 1);
  assert_string_equal(tide__graph_name(g), path);
  tide_graph_destroy(g);
  unlink(path);
  assert_int_equal(tide_graph_load_file(path, &g, &err), TIDE_EUSAGE);
  assert_null(g);
  assert_non_null(strstr(err.text, "cannot read"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_diamond),
      cmocka_unit_test(test_default_outputs),
      cmocka_unit_test(test_nested_refs_and_plugins),
      cmocka_unit_test(test_malformed_json_line),
      cmocka_unit_test(test_unknown_key),
      cmocka_unit_test(test_unknown_builtin),
      cmocka_unit_test(test_cycles),
      cmocka_unit_test(test_long_chain_no_cycle),
      cmocka_unit_test(test_error_lines),
      cmocka_unit_test(test_argument_types),
      cmocka_unit_test(test_shape_errors),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_load_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
