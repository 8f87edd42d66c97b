/* `tide get NAME`, `tide unpublish NAME`, `tide datasets`: published
 * datasets (Dask's publish_dataset). */
#include <stdio.h>
#include <stdlib.h>

#include "cmd/client_opts.h"
#include "cmd/cmd.h"

/* Parse (with the command's own flags, may be NULL), check one positional
 * (or none), connect. Returns 0 to go on. */
static int start(int argc, char **argv, const char *cmd, const char *usage, int npos,
                 const tide__cflag *flags, const char *const *output, tide__copts *o,
                 tide_client **c)
{
  int st = tide__copts_parse(argc, argv, usage, flags, o);
  if (st == 0)
    st = tide__copts_npos(o, cmd, usage, npos, npos);
  if (st == 0 && npos && !*o->pos[0])
    st = tide__cmd_fail(2, "%s: the dataset name must not be empty", cmd);
  if (st == 0 && output && *output)
    st = tide__cmd_output_check(*output);
  if (st == 0)
    st = tide__copts_connect(o, c);
  return st;
}

int tide__cmd_get(int argc, char **argv)
{
  static const char usage[] = "tide get NAME [--output DIR]";
  const char *output = NULL;
  tide__cflag flags[] = {{"--output", &output, NULL}, {NULL, NULL, NULL}};
  tide__copts o;
  tide_client *c = NULL;
  tide_error err = {{0}};
  char *values = NULL;
  size_t len = 0;
  int st = start(argc, argv, "get", usage, 1, flags, &output, &o, &c), rc;

  if (st == 0) {
    rc = tide_client_get_dataset(c, o.pos[0], &values, &len, &err);
    st = rc < 0   ? tide__cmd_fail(tide__cmd_status_for(rc), "%s", err.text)
         : output ? tide__cmd_write_values(values, len, output)
                  : tide__cmd_print_values(values, len);
  }
  free(values);
  tide_client_destroy(c);
  tide__copts_free(&o);
  return st < 0 ? 0 : st;
}

int tide__cmd_unpublish(int argc, char **argv)
{
  static const char usage[] = "tide unpublish NAME";
  tide__copts o;
  tide_client *c = NULL;
  tide_error err = {{0}};
  int st = start(argc, argv, "unpublish", usage, 1, NULL, NULL, &o, &c), rc;

  if (st == 0 && (rc = tide_client_unpublish(c, o.pos[0], &err)) < 0)
    st = tide__cmd_fail(tide__cmd_status_for(rc), "%s", err.text);
  tide_client_destroy(c);
  tide__copts_free(&o);
  return st < 0 ? 0 : st;
}

int tide__cmd_datasets(int argc, char **argv)
{
  static const char usage[] = "tide datasets";
  tide__copts o;
  tide_client *c = NULL;
  tide_error err = {{0}};
  char **names = NULL;
  int st = start(argc, argv, "datasets", usage, 0, NULL, NULL, &o, &c), rc;

  if (st == 0) {
    if ((rc = tide_client_list_datasets(c, &names, &err)) < 0)
      st = tide__cmd_fail(tide__cmd_status_for(rc), "%s", err.text);
    for (char **p = names; p && *p; p++) {
      puts(*p);
      free(*p);
    }
    free(names);
  }
  tide_client_destroy(c);
  tide__copts_free(&o);
  return st < 0 ? 0 : st;
}
