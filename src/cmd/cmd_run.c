/* `tide run GRAPH.json`: submit a graph, wait, print its outputs as one JSON
 * object; optionally publish them. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/graph.h"
#include "client/value.h"
#include "cmd/client_opts.h"
#include "cmd/cmd.h"

static const char usage[] =
    "tide run GRAPH.json|- [--timeout D] [--publish NAME] [--progress] [--output DIR]";

/* A one-line bar on stderr, redrawn in place. */
static void draw_progress(size_t done, size_t total, void *arg)
{
  enum { WIDTH = 40 };
  size_t fill = total ? done * WIDTH / total : WIDTH;
  char bar[WIDTH + 1];
  for (size_t i = 0; i < WIDTH; i++)
    bar[i] = i < fill ? '#' : ' ';
  bar[WIDTH] = '\0';
  fprintf(stderr, "\r[%s] %zu/%zu tasks", bar, done, total);
  if (done >= total)
    fputc('\n', stderr);
  fflush(stderr);
}

/* Print a packed msgpack map {KEY: VALUE} as one JSON object line. */
int tide__cmd_print_values(const char *values, size_t len)
{
  json_t *j = tide__values_to_json(values, len);
  if (!j)
    return tide__cmd_fail(1, "the scheduler sent malformed values");
  char *s = json_dumps(j, 0);
  json_decref(j);
  if (!s)
    return tide__cmd_fail(1, "cannot format the values as JSON");
  fputs(s, stdout);
  fputc('\n', stdout);
  free(s);
  return fflush(stdout) == 0 ? 0 : tide__cmd_fail(1, "cannot write the output");
}

int tide__cmd_run(int argc, char **argv)
{
  const char *publish = NULL, *output = NULL;
  bool progress = false;
  tide__cflag flags[] = {
      {"--publish", &publish, NULL},
      {"--output", &output, NULL},
      {"--progress", NULL, &progress},
      {NULL, NULL, NULL},
  };
  tide__copts o;
  tide_graph *g = NULL;
  tide_client *c = NULL;
  tide_error err = {{0}};
  char *values = NULL;
  size_t len = 0;
  int rc, st;

  st = tide__copts_parse(argc, argv, usage, flags, &o);
  if (st == 0)
    st = tide__copts_npos(&o, "run", usage, 1, 1);
  if (st == 0 && publish && !*publish)
    st = tide__cmd_fail(2, "--publish: the dataset name must not be empty");
  if (st == 0 && output)
    st = tide__cmd_output_check(output);
  if (st != 0)
    goto out;
  /* A bad graph is refused before anything is contacted. */
  if ((rc = tide_graph_load_file(o.pos[0], &g, &err)) < 0) {
    st = tide__cmd_fail(tide__cmd_status_for(rc), "%s", err.text);
    goto out;
  }
  if ((st = tide__copts_connect(&o, &c)) != 0)
    goto out;
  bool tty = isatty(STDERR_FILENO);
  tide_graph *taken = g;
  g = NULL;
  rc = tide__client_compute_take(c, taken, o.timeout, progress && tty ? draw_progress : NULL, NULL,
                                 &values, &len, &err);
  if (rc < 0) {
    st = tide__cmd_fail(tide__cmd_status_for(rc), "%s", err.text);
    goto out;
  }
  if (publish && (rc = tide_client_publish(c, publish, &err)) < 0) {
    st = tide__cmd_fail(tide__cmd_status_for(rc), "%s", err.text);
    goto out;
  }
  st = output ? tide__cmd_write_values(values, len, output) : tide__cmd_print_values(values, len);
out:
  free(values);
  tide_client_destroy(c);
  tide_graph_destroy(g);
  tide__copts_free(&o);
  return st < 0 ? 0 : st;
}
