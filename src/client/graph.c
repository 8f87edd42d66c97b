/* Task graphs: JSON loading and validation (docs/design.md §2). A bad
 * graph is refused whole with one message naming the task. */
#include <errno.h>
#include <stdbool.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "client/graph.h"
#include "client/value.h"
#include "common/util.h"
#include "common/vec.h"
#include "proto/graphcheck.h"
#include "proto/msg.h"
#include "proto/resources.h"
#include "worker/builtins.h"

typedef struct gtask {
  const char *key;    /* borrowed from root */
  const char *fn;     /* borrowed from root */
  const char *prefix; /* borrowed from root; fn when absent */
  json_t *args;       /* borrowed array from root */
  size_t *deps;       /* indexes into tasks, sorted, unique */
  size_t ndeps;
  int retries;    /* reruns after it errs, elsewhere when possible */
  tide__res *res; /* what it holds while it runs (docs/tasks.md "Resources"); NULL none */
  UT_hash_handle hh;
} gtask;

struct tide_graph {
  char *name;
  json_t *root;
  gtask *tasks;
  size_t ntasks;
  gtask *by_key; /* uthash over tasks */
  size_t *outputs;
  size_t noutputs;
  const char *src; /* the JSON text, during parsing only (error lines) */
  size_t srclen;
  char where[600]; /* "name:LINE" of the last error */
};

/* Does the JSON string token s[0..n) (without quotes, maybe escaped) equal
 * key? */
static bool token_is(const char *s, size_t n, const char *key)
{
  if (!memchr(s, '\\', n))
    return strlen(key) == n && memcmp(s, key, n) == 0;
  json_error_t e;
  json_t *j = json_loadb(s - 1, n + 2, JSON_DECODE_ANY, &e);
  bool eq = json_is_string(j) && strcmp(json_string_value(j), key) == 0;
  json_decref(j);
  return eq;
}

/* Line on which task key is defined in the source text (the key of the
 * "tasks" object), or 0 if not found. A small scanner: strings, nesting,
 * and whether a string sits in key position. */
static int task_line(const char *s, size_t n, const char *key)
{
  enum { MAXD = 64 };
  char stack[MAXD]; /* '{' or '[' */
  bool want_key = false, in_tasks = false;
  int depth = 0, line = 1;

  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (ch == '\n') {
      line++;
    } else if (ch == '"') {
      size_t st = ++i;
      while (i < n && s[i] != '"') {
        if (s[i] == '\\')
          i++;
        else if (s[i] == '\n')
          line++;
        i++;
      }
      if (i >= n)
        return 0;
      if (want_key && depth >= 1 && depth <= MAXD && stack[depth - 1] == '{') {
        if (depth == 1)
          in_tasks = token_is(s + st, i - st, "tasks");
        else if (depth == 2 && in_tasks && token_is(s + st, i - st, key))
          return line;
      }
      want_key = false;
    } else if (ch == '{' || ch == '[') {
      if (depth < MAXD)
        stack[depth] = ch;
      depth++;
      want_key = ch == '{';
    } else if (ch == '}' || ch == ']') {
      depth--;
      want_key = false;
    } else if (ch == ',') {
      want_key = depth >= 1 && depth <= MAXD && stack[depth - 1] == '{';
    }
  }
  return 0;
}

/* "name:LINE" for an error about task key (just "name" without a line). */
static const char *at(const tide_graph *cg, const char *key)
{
  tide_graph *g = (tide_graph *)cg; /* only the message buffer changes */
  int line = g->src ? task_line(g->src, g->srclen, key) : 0;
  if (line > 0)
    snprintf(g->where, sizeof g->where, "%s:%d", g->name, line);
  else
    snprintf(g->where, sizeof g->where, "%s", g->name);
  return g->where;
}

int tide__json_is_ref(const json_t *o, const char **key)
{
  json_t *r;
  if (!json_is_object(o) || json_object_size(o) != 1 || !(r = json_object_get(o, "ref")) ||
      !json_is_string(r))
    return 0;
  if (key)
    *key = json_string_value(r);
  return 1;
}

static gtask *find_task(const tide_graph *g, const char *key)
{
  gtask *t = NULL;
  HASH_FIND_STR(g->by_key, key, t);
  return t;
}

/* Growable array of dependency indexes. */
typedef TIDE__VEC(size_t) idxvec;

static int cmp_size(const void *a, const void *b)
{
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  return x < y ? -1 : x > y;
}

/* Walk a literal or reference; collect the referenced tasks into d. depth
 * counts the containers of the argument around j (none for args itself). */
static int collect_refs(tide_graph *g, const gtask *t, const json_t *j, int depth, idxvec *d,
                        tide_error *err)
{
  const char *ref, *k;
  json_t *v;
  size_t i;

  if (!json_is_array(j) && !json_is_object(j))
    return 0;
  tide_error why;
  if (tide__arg_depth_check(depth + 1, &why) < 0)
    return tide_errprintf(err, TIDE_EGRAPH, "%s: task \"%s\": %s", at(g, t->key), t->key, why.text);
  if (json_is_array(j)) {
    json_array_foreach(j, i,
                       v) if (collect_refs(g, t, v, depth + 1, d, err) < 0) return TIDE_EGRAPH;
    return 0;
  }
  if (tide__json_is_ref(j, &ref)) {
    gtask *dep = find_task(g, ref);
    if (!dep)
      return tide_errprintf(err, TIDE_EGRAPH, "%s: task \"%s\" refers to unknown key \"%s\"",
                            at(g, t->key), t->key, ref);
    tide__vec_push(d, (size_t)(dep - g->tasks));
    return 0;
  }
  if (json_object_get(j, "ref"))
    return tide_errprintf(err, TIDE_EGRAPH,
                          "%s: task \"%s\": a reference must be exactly {\"ref\": \"KEY\"}",
                          at(g, t->key), t->key);
  json_object_foreach((json_t *)j, k,
                      v) if (collect_refs(g, t, v, depth + 1, d, err) < 0) return TIDE_EGRAPH;
  return 0;
}

static int resolve_deps(tide_graph *g, gtask *t, tide_error *err)
{
  idxvec d = {0};
  size_t a;
  json_t *v;
  json_array_foreach(t->args, a, v) if (collect_refs(g, t, v, 0, &d, err) < 0)
  {
    free(d.v);
    return TIDE_EGRAPH;
  }
  if (d.n > 1) {
    size_t w = 1;
    qsort(d.v, d.n, sizeof *d.v, cmp_size);
    for (size_t i = 1; i < d.n; i++)
      if (d.v[i] != d.v[w - 1])
        d.v[w++] = d.v[i];
    d.n = w;
  }
  t->deps = d.v;
  t->ndeps = d.n;
  return 0;
}

int tide__call_check(const char *fn, const json_t *args, msgpack_sbuffer *scratch, tide_error *err)
{
  msgpack_packer pk;
  msgpack_unpacked u;
  tide_error why;
  size_t off = 0, n = json_array_size(args);
  bool small[16], *is_ref;
  int rc = 0;

  if (strncmp(fn, "tide.", 5) != 0)
    return 0;
  if (!tide__builtin_exists(fn))
    return tide_errprintf(err, TIDE_EGRAPH, "unknown function \"%s\"", fn);
  is_ref = n <= 16 ? small : tide__xmalloc(n * sizeof *is_ref);
  msgpack_sbuffer_clear(scratch);
  msgpack_packer_init(&pk, scratch, msgpack_sbuffer_write);
  tide__value_pack_json(&pk, args, NULL);
  for (size_t i = 0; i < n; i++)
    is_ref[i] = tide__json_is_ref(json_array_get(args, i), NULL);
  msgpack_unpacked_init(&u);
  if (msgpack_unpack_next(&u, scratch->data, scratch->size, &off) == MSGPACK_UNPACK_SUCCESS &&
      u.data.type == MSGPACK_OBJECT_ARRAY) {
    why.text[0] = '\0';
    if (tide__builtin_check(fn, u.data.via.array.ptr, u.data.via.array.size, is_ref, &why) < 0)
      rc = tide_errprintf(err, TIDE_EGRAPH, "%s", why.text);
  }
  msgpack_unpacked_destroy(&u);
  if (is_ref != small)
    free(is_ref);
  return rc;
}

static int check_fn(const tide_graph *g, const gtask *t, msgpack_sbuffer *scratch, tide_error *err)
{
  tide_error why;
  if (tide__call_check(t->fn, t->args, scratch, &why) < 0)
    return tide_errprintf(err, TIDE_EGRAPH, "%s: task \"%s\": %s", at(g, t->key), t->key, why.text);
  return 0;
}

static int parse_task(tide_graph *g, gtask *t, const char *key, json_t *spec, tide_error *err)
{
  const char *field;
  json_t *v, *fn, *args, *prefix, *retries, *resources;

  t->key = key;
  if (!*key)
    return tide_errprintf(err, TIDE_EGRAPH, "%s: a task key must not be empty", g->name);
  /* room for the "<token>/" prefix the client adds on the wire */
  tide_error why;
  if (tide__key_check(key, strlen(key), TIDE_KEY_TOKEN_ROOM, "the key", &why) < 0)
    return tide_errprintf(err, TIDE_EGRAPH, "%s: task \"%.40s...\": %s", at(g, key), key, why.text);
  if (!json_is_object(spec))
    return tide_errprintf(err, TIDE_EGRAPH,
                          "%s: task \"%s\" must be an object {\"fn\": NAME, \"args\": [...]}",
                          at(g, key), key);
  json_object_foreach(spec, field, v)
  {
    if (strcmp(field, "fn") && strcmp(field, "args") && strcmp(field, "prefix") &&
        strcmp(field, "retries") && strcmp(field, "resources"))
      return tide_errprintf(
          err, TIDE_EGRAPH,
          "%s: task \"%s\": unknown field \"%s\" (fn, args, prefix, retries, resources)",
          at(g, key), key, field);
  }
  fn = json_object_get(spec, "fn");
  if (!json_is_string(fn) || json_string_length(fn) == 0)
    return tide_errprintf(err, TIDE_EGRAPH, "%s: task \"%s\": \"fn\" must be a function name",
                          at(g, key), key);
  t->fn = json_string_value(fn);
  args = json_object_get(spec, "args");
  if (!args) {
    args = json_array();
    json_object_set_new(spec, "args", args);
  }
  if (!json_is_array(args))
    return tide_errprintf(err, TIDE_EGRAPH, "%s: task \"%s\": \"args\" must be an array",
                          at(g, key), key);
  t->args = args;
  prefix = json_object_get(spec, "prefix");
  if (prefix && (!json_is_string(prefix) || json_string_length(prefix) == 0))
    return tide_errprintf(err, TIDE_EGRAPH,
                          "%s: task \"%s\": \"prefix\" must be a non-empty string", at(g, key),
                          key);
  t->prefix = prefix ? json_string_value(prefix) : t->fn;
  retries = json_object_get(spec, "retries");
  if (retries && (!json_is_integer(retries) || json_integer_value(retries) < 0 ||
                  json_integer_value(retries) > TIDE_RETRIES_MAX))
    return tide_errprintf(err, TIDE_EGRAPH,
                          "%s: task \"%s\": \"retries\" must be an integer from 0 to %d",
                          at(g, key), key, TIDE_RETRIES_MAX);
  t->retries = retries ? (int)json_integer_value(retries) : 0;
  resources = json_object_get(spec, "resources");
  if (resources && !json_is_object(resources))
    return tide_errprintf(err, TIDE_EGRAPH,
                          "%s: task \"%s\": \"resources\" must be an object of names to numbers",
                          at(g, key), key);
  const char *rname;
  json_object_foreach(resources, rname, v)
  {
    tide_error why;
    double amount = json_is_number(v) ? json_number_value(v) : -1;
    if (!t->res)
      t->res = tide__xcalloc(1, sizeof *t->res);
    if (tide__res_add(t->res, rname, strlen(rname), amount, &why) < 0)
      return tide_errprintf(err, TIDE_EGRAPH, "%s: task \"%s\": %s", at(g, key), key, why.text);
  }
  return 0;
}

/* Iterative depth-first search; on a back edge, report the cycle as
 * "a -> b -> a" where each arrow reads "depends on". */
static int check_cycles(tide_graph *g, tide_error *err)
{
  enum { WHITE = 0, GREY, BLACK };
  unsigned char *color = tide__xcalloc(g->ntasks, 1);
  size_t *stack = tide__xmalloc(g->ntasks * sizeof *stack);
  size_t *next = tide__xcalloc(g->ntasks, sizeof *next); /* next dep to visit */
  int rc = 0;

  for (size_t root = 0; root < g->ntasks && rc == 0; root++) {
    size_t sp = 0;
    if (color[root] != WHITE)
      continue;
    stack[sp++] = root;
    color[root] = GREY;
    while (sp > 0 && rc == 0) {
      size_t u = stack[sp - 1];
      gtask *t = &g->tasks[u];
      if (next[u] == t->ndeps) {
        color[u] = BLACK;
        sp--;
        continue;
      }
      size_t v = t->deps[next[u]++];
      if (color[v] == WHITE) {
        color[v] = GREY;
        stack[sp++] = v;
      } else if (color[v] == GREY) {
        size_t from = sp;
        while (from > 0 && stack[from - 1] != v)
          from--;
        tide__text path = {0};
        for (size_t i = from - 1; i <= sp; i++)
          tide__text_printf(&path, "%s%s", i > from - 1 ? " -> " : "",
                            g->tasks[i < sp ? stack[i] : v].key);
        rc = tide_errprintf(err, TIDE_EGRAPH, "%s: dependency cycle: %s", at(g, g->tasks[v].key),
                            path.v);
        tide__vec_free(&path);
      }
    }
  }
  free(color);
  free(stack);
  free(next);
  return rc;
}

static int parse_outputs(tide_graph *g, json_t *outputs, tide_error *err)
{
  size_t i;
  json_t *v;

  if (!outputs) {
    /* Default: the tasks no other task depends on. */
    unsigned char *used = tide__xcalloc(g->ntasks, 1);
    for (i = 0; i < g->ntasks; i++)
      for (size_t d = 0; d < g->tasks[i].ndeps; d++)
        used[g->tasks[i].deps[d]] = 1;
    g->outputs = tide__xmalloc(g->ntasks * sizeof *g->outputs);
    for (i = 0; i < g->ntasks; i++)
      if (!used[i])
        g->outputs[g->noutputs++] = i;
    free(used);
    return 0;
  }
  if (!json_is_array(outputs))
    return tide_errprintf(err, TIDE_EGRAPH, "%s: \"outputs\" must be an array of task keys",
                          g->name);
  g->outputs = tide__xmalloc((json_array_size(outputs) + 1) * sizeof *g->outputs);
  /* a key listed twice is one output: a mark per task, not a search of the
   * list so far (quadratic in the outputs of a big graph) */
  unsigned char *listed = tide__xcalloc(g->ntasks + 1, 1);
  int rc = 0;
  json_array_foreach(outputs, i, v)
  {
    gtask *t;
    if (!json_is_string(v)) {
      rc = tide_errprintf(err, TIDE_EGRAPH, "%s: \"outputs\" must be an array of task keys",
                          g->name);
      break;
    }
    if (!(t = find_task(g, json_string_value(v)))) {
      rc = tide_errprintf(err, TIDE_EGRAPH, "%s: outputs refer to unknown key \"%s\"", g->name,
                          json_string_value(v));
      break;
    }
    size_t idx = (size_t)(t - g->tasks);
    if (!listed[idx])
      g->outputs[g->noutputs++] = idx;
    listed[idx] = 1;
  }
  free(listed);
  return rc;
}

static int build(tide_graph *g, tide_error *err)
{
  json_t *tasks, *v;
  const char *key;
  size_t i = 0;

  if (!json_is_object(g->root))
    return tide_errprintf(err, TIDE_EGRAPH, "%s: a graph must be an object {\"tasks\": {...}}",
                          g->name);
  json_object_foreach(g->root, key, v)
  {
    if (strcmp(key, "tasks") && strcmp(key, "outputs"))
      return tide_errprintf(err, TIDE_EGRAPH, "%s: unknown field \"%s\" (tasks, outputs)", g->name,
                            key);
  }
  tasks = json_object_get(g->root, "tasks");
  if (!json_is_object(tasks))
    return tide_errprintf(err, TIDE_EGRAPH, "%s: \"tasks\" must be an object {KEY: TASK}", g->name);
  tide_error why;
  if (tide__graph_size_check(json_object_size(tasks), &why) < 0)
    return tide_errprintf(err, TIDE_EGRAPH, "%s: %s", g->name, why.text);
  g->ntasks = json_object_size(tasks);
  g->tasks = tide__xcalloc(g->ntasks ? g->ntasks : 1, sizeof *g->tasks);
  json_object_foreach(tasks, key, v)
  {
    gtask *t = &g->tasks[i++];
    if (parse_task(g, t, key, v, err) < 0)
      return TIDE_EGRAPH;
    HASH_ADD_KEYPTR(hh, g->by_key, t->key, strlen(t->key), t);
  }
  for (i = 0; i < g->ntasks; i++)
    if (resolve_deps(g, &g->tasks[i], err) < 0)
      return TIDE_EGRAPH;
  msgpack_sbuffer scratch;
  msgpack_sbuffer_init(&scratch);
  for (i = 0; i < g->ntasks; i++)
    if (check_fn(g, &g->tasks[i], &scratch, err) < 0)
      break;
  msgpack_sbuffer_destroy(&scratch);
  if (i < g->ntasks)
    return TIDE_EGRAPH;
  if (check_cycles(g, err) < 0)
    return TIDE_EGRAPH;
  return parse_outputs(g, json_object_get(g->root, "outputs"), err);
}

int tide_graph_parse(const char *json, size_t len, const char *name, tide_graph **out,
                     tide_error *err)
{
  json_error_t jerr;
  tide_graph *g;
  int rc;

  *out = NULL;
  if (!name)
    name = "graph";
  g = tide__xcalloc(1, sizeof *g);
  g->name = tide__xstrdup(name);
  g->root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!g->root) {
    rc = tide_errprintf(err, TIDE_EGRAPH, "%s:%d: malformed JSON: %s", name, jerr.line, jerr.text);
    tide_graph_destroy(g);
    return rc;
  }
  g->src = json;
  g->srclen = len;
  rc = build(g, err);
  g->src = NULL;
  if (rc < 0) {
    tide_graph_destroy(g);
    return TIDE_EGRAPH;
  }
  *out = g;
  return 0;
}

int tide_graph_load_file(const char *path, tide_graph **out, tide_error *err)
{
  bool std_in = strcmp(path, "-") == 0;
  FILE *f = std_in ? stdin : fopen(path, "rb");
  TIDE__VEC(char) buf = {0}; /* the bytes as read */
  size_t n;
  int rc;

  *out = NULL;
  if (!f)
    return tide_errprintf(err, TIDE_EUSAGE, "cannot read %s: %s", path, strerror(errno));
  do {
    char *end = tide__vec_reserve(&buf, 65536);
    n = fread(end, 1, buf.cap - buf.n, f);
    buf.n += n;
  } while (n > 0);
  if (ferror(f)) {
    rc = tide_errprintf(err, TIDE_EUSAGE, "cannot read %s: %s", std_in ? "<stdin>" : path,
                        strerror(errno));
    if (!std_in)
      fclose(f);
    tide__vec_free(&buf);
    return rc;
  }
  if (!std_in)
    fclose(f);
  rc = tide_graph_parse(buf.v, buf.n, std_in ? "<stdin>" : path, out, err);
  tide__vec_free(&buf);
  return rc;
}

void tide_graph_destroy(tide_graph *g)
{
  if (!g)
    return;
  HASH_CLEAR(hh, g->by_key);
  for (size_t i = 0; i < g->ntasks; i++) {
    free(g->tasks[i].deps);
    free(g->tasks[i].res);
  }
  free(g->tasks);
  free(g->outputs);
  json_decref(g->root);
  free(g->name);
  free(g);
}

size_t tide_graph_ntasks(const tide_graph *g)
{
  return g ? g->ntasks : 0;
}
const char *tide__graph_name(const tide_graph *g)
{
  return g->name;
}
const char *tide__graph_key(const tide_graph *g, size_t i)
{
  return g->tasks[i].key;
}
size_t tide__graph_noutputs(const tide_graph *g)
{
  return g->noutputs;
}
const char *tide__graph_output(const tide_graph *g, size_t i)
{
  return g->tasks[g->outputs[i]].key;
}

size_t tide__graph_output_task(const tide_graph *g, size_t i)
{
  return g->outputs[i];
}
const size_t *tide__graph_deps(const tide_graph *g, size_t i, size_t *n)
{
  *n = g->tasks[i].ndeps;
  return g->tasks[i].deps;
}

bool tide__graph_all_builtin(const tide_graph *g)
{
  for (size_t i = 0; i < g->ntasks; i++)
    if (strncmp(g->tasks[i].fn, "tide.", 5) != 0)
      return false;
  return true;
}

/* Depth-first post-order from each task in document order: every task
 * after its dependencies, and a graph without edges in document order. The
 * graph is acyclic (checked when it was built). */
size_t *tide__graph_order(const tide_graph *g)
{
  size_t *order = tide__xmalloc((g->ntasks + 1) * sizeof *order);
  size_t *stack = tide__xmalloc((g->ntasks + 1) * sizeof *stack);
  size_t *next = tide__xcalloc(g->ntasks + 1, sizeof *next);
  unsigned char *seen = tide__xcalloc(g->ntasks + 1, 1);
  size_t no = 0;
  for (size_t root = 0; root < g->ntasks; root++) {
    if (seen[root])
      continue;
    size_t sp = 0;
    stack[sp++] = root;
    seen[root] = 1;
    while (sp > 0) {
      size_t u = stack[sp - 1];
      if (next[u] == g->tasks[u].ndeps) {
        order[no++] = u;
        sp--;
        continue;
      }
      size_t v = g->tasks[u].deps[next[u]++];
      if (!seen[v]) {
        seen[v] = 1;
        stack[sp++] = v;
      }
    }
  }
  free(stack);
  free(next);
  free(seen);
  return order;
}

static void pack_prefixed(msgpack_packer *pk, const char *token, size_t tl, const char *key)
{
  size_t kl = strlen(key);
  msgpack_pack_str(pk, tl + 1 + kl);
  msgpack_pack_str_body(pk, token, tl);
  msgpack_pack_str_body(pk, "/", 1);
  msgpack_pack_str_body(pk, key, kl);
}

void tide__graph_pack_tasks(const tide_graph *g, const char *token, msgpack_packer *pk)
{
  tide__graph_pack_some(g, token, NULL, g->ntasks, pk);
}

void tide__graph_pack_some(const tide_graph *g, const char *token, const size_t *idx, size_t n,
                           msgpack_packer *pk)
{
  size_t tl = strlen(token);
  char *ref_prefix = tide__xasprintf("%s/", token);

  msgpack_pack_array(pk, (uint32_t)n);
  for (size_t i = 0; i < n; i++) {
    const gtask *t = &g->tasks[idx ? idx[i] : i];
    msgpack_pack_map(pk, 5 + (t->retries > 0) + (t->res != NULL));
    tide__pk_str(pk, "key");
    pack_prefixed(pk, token, tl, t->key);
    tide__pk_kstr(pk, "fn", t->fn);
    tide__pk_str(pk, "args");
    tide__value_pack_json(pk, t->args, ref_prefix);
    tide__pk_str(pk, "deps");
    msgpack_pack_array(pk, (uint32_t)t->ndeps);
    for (size_t d = 0; d < t->ndeps; d++)
      pack_prefixed(pk, token, tl, g->tasks[t->deps[d]].key);
    tide__pk_kstr(pk, "prefix", t->prefix);
    if (t->retries > 0)
      tide__pk_kint(pk, "retries", t->retries);
    if (t->res) {
      tide__pk_str(pk, "resources");
      tide__res_pack(pk, t->res);
    }
  }
  free(ref_prefix);
}
