/* `tide submit [--array A-B[:STEP] | --each-line FILE | --each-json FILE]
 * ... -- PROGRAM ARGS...`: one tide.exec task per element (docs/tasks.md
 * "Command tasks: tide submit"). An element is packed straight into the
 * update-graph message as a short key "<JOB>-<INDEX>" and a small options
 * map; the worker expands the output patterns and sets TIDE_TASK_ID,
 * TIDE_ARRAY_INDEX and TIDE_ENTRY, so nothing per element is built twice. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "client/internal.h"
#include "cmd/client_opts.h"
#include "cmd/cmd.h"
#include "cmd/submit.h"
#include "common/parse.h"
#include "common/util.h"
#include "proto/msg.h"
#include "proto/resources.h"

static const char usage[] =
    "tide submit [--array A-B[:STEP] | --each-line FILE | --each-json FILE] [--cwd DIR] "
    "[--env K=V]... [--stdout PATTERN] [--stderr PATTERN] [--max-retries N] [--time-limit D] "
    "[--resources NAME=AMOUNT,...] [--wait] [--progress] -- PROGRAM ARGS...";

enum { MAX_ENVS = 256 };

/* A submission being built and followed. */
typedef struct sub {
  char job[16];
  char prefix[32]; /* "tide-submit-<JOB>" */
  char **argv;     /* PROGRAM ARGS (borrowed) */
  int argc;
  const char *cwd;       /* absolute */
  const char *out, *err; /* patterns, NULL = the default */
  const char *envs[MAX_ENVS];
  int nenv;
  int retries;
  double time_limit;
  tide__res res; /* each task's (docs/tasks.md "Resources") */
  tide__elements el;
  char **keys;       /* "<JOB>-<INDEX>", one per element */
  tide__ckey **ents; /* their entries in the client's key table */
  /* following (--wait): the key table's counters at submission */
  tide_client *c;
  uint64_t ndone0, nerred0;
  size_t ndone, nfailed;
  bool progress;
  double shown_at;
  size_t shown;
} sub;

static void pack_element(msgpack_packer *pk, const sub *s, size_t i)
{
  msgpack_pack_map(pk, 5 + (s->retries > 0) + (s->res.n > 0));
  tide__pk_kstr(pk, "key", s->keys[i]);
  tide__pk_kstr(pk, "fn", "tide.exec");
  tide__pk_str(pk, "args");
  msgpack_pack_array(pk, 3);
  msgpack_pack_array(pk, (uint32_t)s->argc);
  for (int a = 0; a < s->argc; a++)
    tide__pk_str(pk, s->argv[a]);
  msgpack_pack_nil(pk);
  const char *entry = tide__elements_entry(&s->el, i);
  /* "array": the worker takes job and index from the key and defaults
   * the outputs to tide-submit-<JOB>/<INDEX>.out/.err: per element the
   * scheduler holds the key, argv, cwd and only what differs. */
  uint32_t nopt = 2 + !!s->out + !!s->err + (entry != NULL) + (s->nenv > 0) + (s->time_limit > 0);
  msgpack_pack_map(pk, nopt);
  tide__pk_kstr(pk, "cwd", s->cwd);
  tide__pk_kbool(pk, "array", true);
  if (s->out)
    tide__pk_kstr(pk, "stdout", s->out);
  if (s->err)
    tide__pk_kstr(pk, "stderr", s->err);
  if (entry)
    tide__pk_kstr(pk, "entry", entry);
  if (s->nenv > 0) {
    tide__pk_str(pk, "env");
    msgpack_pack_map(pk, (uint32_t)s->nenv);
    for (int e = 0; e < s->nenv; e++) {
      const char *eq = strchr(s->envs[e], '=');
      tide__pk_strn(pk, s->envs[e], (size_t)(eq - s->envs[e]));
      tide__pk_str(pk, eq + 1);
    }
  }
  if (s->time_limit > 0)
    tide__pk_knum(pk, "timeout", s->time_limit);
  tide__pk_str(pk, "deps");
  msgpack_pack_array(pk, 0);
  /* one prefix per job: its state counts are the job's (tide jobs) */
  tide__pk_str(pk, "prefix");
  tide__pk_str(pk, s->prefix);
  /* the scheduler reruns it, on another worker when there is one
   * (docs/design.md §2), rather than tide.exec on the same one */
  if (s->retries > 0)
    tide__pk_kint(pk, "retries", s->retries);
  if (s->res.n > 0) {
    tide__pk_str(pk, "resources");
    tide__res_pack(pk, &s->res);
  }
}

static void pack_tasks(msgpack_packer *pk, void *arg)
{
  sub *s = arg;
  msgpack_pack_array(pk, (uint32_t)s->el.n);
  for (size_t i = 0; i < s->el.n; i++)
    pack_element(pk, s, i);
}

/* Bring ndone and nfailed up to date from the key table's counters. */
static void count(sub *s)
{
  const tide__ckeys *ks = tide__client_keys(s->c);
  s->ndone = (size_t)(ks->ndone - s->ndone0);
  s->nfailed = (size_t)(ks->nerred - s->nerred0);
}

static void draw(sub *s, bool last)
{
  double now = tide__now();
  if (!last && (s->shown == s->ndone || now - s->shown_at < 0.1))
    return;
  s->shown = s->ndone;
  s->shown_at = now;
  fprintf(stderr, "\rjob %s: %zu/%zu done, %zu failed", s->job, s->ndone, s->el.n, s->nfailed);
  if (last)
    fputc('\n', stderr);
  fflush(stderr);
}

static void tick(void *arg)
{
  sub *s = arg;
  count(s);
  if (s->progress)
    draw(s, false);
}

/* Print the summary on stdout; returns the exit status. */
static int summarize(sub *s)
{
  printf("job %s: %zu tasks, %zu succeeded, %zu failed\n", s->job, s->el.n, s->el.n - s->nfailed,
         s->nfailed);
  if (!s->nfailed)
    return 0;
  /* failures by class, in order of first appearance */
  enum { MAXC = 32 };
  char cls[MAXC][48], one[48];
  size_t cnt[MAXC] = {0}, first[MAXC] = {0};
  int nc = 0;
  for (size_t i = 0; i < s->el.n; i++) {
    if (s->ents[i]->state != TIDE__K_ERRED)
      continue;
    tide__submit_failure_class(s->ents[i]->error, one, sizeof one);
    int c = 0;
    while (c < nc && strcmp(cls[c], one) != 0)
      c++;
    if (c == nc && nc < MAXC) {
      snprintf(cls[nc], sizeof cls[nc], "%s", one);
      first[nc++] = i;
    }
    if (c < nc)
      cnt[c]++;
  }
  for (int c = 0; c < nc; c++)
    printf("  %s: %zu task%s, e.g. %s: %s\n", cls[c], cnt[c], cnt[c] == 1 ? "" : "s",
           s->keys[first[c]], s->ents[first[c]]->error);
  fflush(stdout);
  return tide__cmd_fail(1, "job %s: %zu of %zu tasks failed (%s%s)", s->job, s->nfailed, s->el.n,
                        cls[0], nc > 1 ? ", ..." : "");
}

static void make_job_id(char *out, size_t n)
{
  unsigned char r[4];
  if (uv_random(NULL, NULL, r, sizeof r, 0, NULL) < 0) {
    unsigned v = (unsigned)getpid() ^ (unsigned)(tide__wall() * 1e6);
    memcpy(r, &v, sizeof r);
  }
  snprintf(out, n, "%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
}

/* Pull every --env K=V (repeatable) out of argv before the common parser
 * sees it; stops at "--". Returns 0 or an exit status. */
static int take_envs(int *argc, char **argv, sub *s)
{
  int w = 1;
  bool rest = false;
  for (int i = 1; i < *argc; i++) {
    const char *v = NULL;
    if (!rest && strcmp(argv[i], "--") == 0)
      rest = true;
    if (!rest && strcmp(argv[i], "--env") == 0) {
      if (i + 1 >= *argc)
        return tide__cmd_fail(2, "--env needs a value");
      v = argv[++i];
    } else if (!rest && strncmp(argv[i], "--env=", 6) == 0) {
      v = argv[i] + 6;
    } else {
      argv[w++] = argv[i];
      continue;
    }
    const char *eq = strchr(v, '=');
    if (!eq || eq == v)
      return tide__cmd_fail(2, "--env: want NAME=VALUE, got \"%s\"", v);
    if (s->nenv == MAX_ENVS)
      return tide__cmd_fail(2, "--env: at most %d variables", MAX_ENVS);
    s->envs[s->nenv++] = v;
  }
  *argc = w;
  argv[w] = NULL;
  return 0;
}

int tide__cmd_submit(int argc, char **argv)
{
  const char *array = NULL, *each_line = NULL, *each_json = NULL, *cwd = NULL, *out = NULL,
             *errp = NULL, *retries = NULL, *limit = NULL, *resources = NULL;
  bool wait = false, progress = false;
  tide__cflag flags[] = {
      {"--array", &array, NULL},         {"--each-line", &each_line, NULL},
      {"--each-json", &each_json, NULL}, {"--cwd", &cwd, NULL},
      {"--stdout", &out, NULL},          {"--stderr", &errp, NULL},
      {"--max-retries", &retries, NULL}, {"--time-limit", &limit, NULL},
      {"--resources", &resources, NULL}, {"--wait", NULL, &wait},
      {"--progress", NULL, &progress},   {NULL, NULL, NULL},
  };
  sub s = {0};
  tide__copts o = {0};
  tide_client *c = NULL;
  tide_error err = {{0}};
  char cwdbuf[PATH_MAX], *outdir = NULL;
  int st, rc;

  char **av = tide__xcalloc((size_t)argc + 1, sizeof *av);
  memcpy(av, argv, (size_t)argc * sizeof *av);
  int ac = argc;
  st = take_envs(&ac, av, &s);
  if (st == 0)
    st = tide__copts_parse(ac, av, usage, flags, &o);
  if (st == 0 && o.npos == 0)
    st = tide__cmd_fail(2, "submit: no program given (usage: %s)", usage);
  if (st == 0 && (!!array + !!each_line + !!each_json) > 1)
    st = tide__cmd_fail(2, "give one of --array, --each-line and --each-json");
  if (st != 0)
    goto out;
  s.argv = o.pos;
  s.argc = o.npos;
  s.progress = progress;
  if (retries) {
    double r;
    if (tide__parse_count(retries, false, &r, &err) != 0 || r > 100 || r != (int)r) {
      st = tide__cmd_fail(2, "--max-retries: want an integer from 0 to 100, got \"%s\"", retries);
      goto out;
    }
    s.retries = (int)r;
  }
  if (resources && tide__res_parse(resources, &s.res, &err) < 0) {
    st = tide__cmd_fail(2, "--resources: %s", err.text);
    goto out;
  }
  if (limit) {
    if (tide__parse_duration(limit, false, &s.time_limit, &err) < 0 || s.time_limit <= 0) {
      st = tide__cmd_fail(2, "--time-limit: %s",
                          s.time_limit <= 0 && !err.text[0] ? "must be more than 0" : err.text);
      goto out;
    }
  }
  if (array)
    rc = tide__elements_range(array, &s.el, &err);
  else if (each_line)
    rc = tide__elements_lines(each_line, &s.el, &err);
  else if (each_json)
    rc = tide__elements_json(each_json, &s.el, &err);
  else
    rc = tide__elements_range("0", &s.el, &err);
  if (rc < 0) {
    st = tide__cmd_fail(2, "%s", err.text);
    goto out;
  }
  if (!cwd) {
    if (!getcwd(cwdbuf, sizeof cwdbuf)) {
      st = tide__cmd_fail(1, "cannot tell the current directory: %s", strerror(errno));
      goto out;
    }
    cwd = cwdbuf;
  }
  if ((st = tide__submit_check_dir(cwd, "--cwd")) != 0 ||
      (st = tide__submit_check_program(s.argv[0])) != 0)
    goto out;
  /* Workers start elsewhere: they get the directory as an absolute path. */
  if (cwd != cwdbuf && !realpath(cwd, cwdbuf)) {
    st = tide__cmd_fail(2, "--cwd %s: %s", cwd, strerror(errno));
    goto out;
  }
  cwd = cwdbuf;
  if ((out && (st = tide__submit_check_pattern(out, cwd, "--stdout")) != 0) ||
      (errp && (st = tide__submit_check_pattern(errp, cwd, "--stderr")) != 0))
    goto out;
  s.cwd = cwd;
  make_job_id(s.job, sizeof s.job);
  snprintf(s.prefix, sizeof s.prefix, "tide-submit-%s", s.job);
  /* Nothing is made on disk before the scheduler answers. */
  if ((st = tide__copts_connect(&o, &c)) != 0)
    goto out;
  /* The default outputs go to a directory of their own, made here. */
  if (!out || !errp) {
    outdir = tide__xasprintf("%s/tide-submit-%s", cwd, s.job);
    if (mkdir(outdir, 0777) != 0) {
      st = tide__cmd_fail(2, "cannot create the output directory %s: %s", outdir, strerror(errno));
      goto out;
    }
  }
  s.out = out; /* NULL: the worker's default for array elements */
  s.err = errp;
  s.keys = tide__xcalloc(s.el.n + 1, sizeof *s.keys);
  for (size_t i = 0; i < s.el.n; i++)
    s.keys[i] = tide__xasprintf("%s-%" PRId64, s.job, tide__elements_index(&s.el, i));
  s.ents = tide__xcalloc(s.el.n + 1, sizeof *s.ents);
  s.c = c;
  s.ndone0 = tide__client_keys(c)->ndone;
  s.nerred0 = tide__client_keys(c)->nerred;
  if ((rc = tide__keys_submit(c, pack_tasks, &s, s.keys, s.el.n, false, "submit", s.ents, &err)) <
      0) {
    st = tide__cmd_fail(tide__cmd_status_for(rc), "submit: %s", err.text);
    goto out;
  }
  printf("%s\n", s.job);
  fflush(stdout);
  if (!wait) {
    /* Published, the tasks outlive this client. */
    rc = tide__client_publish_keys(c, s.prefix, s.keys, s.keys, s.el.n, &err);
    if (rc < 0)
      st = tide__cmd_fail(tide__cmd_status_for(rc), "%s", err.text);
    goto out;
  }
  rc = tide__keys_wait(c, s.ents, s.el.n, false, o.timeout > 0 ? tide__now() + o.timeout : 0, tick,
                       &s, NULL, &err);
  count(&s);
  if (rc == TIDE_ETIMEOUT)
    tide_errprintf(&err, rc, "timed out after %gs", o.timeout);
  if (progress)
    draw(&s, true);
  if (rc < 0) {
    st = tide__cmd_fail(1, "job %s: %s (%zu of %zu tasks done)", s.job, err.text, s.ndone, s.el.n);
    goto out;
  }
  st = summarize(&s);
out:
  /* Going away releases what this client wanted on the scheduler; a job
   * submitted without --wait lives on in its dataset. */
  tide_client_destroy(c);
  for (size_t i = 0; s.keys && i < s.el.n; i++)
    free(s.keys[i]);
  free(s.keys);
  free(s.ents);
  tide__elements_free(&s.el);
  free(outdir);
  tide__copts_free(&o);
  free(av);
  return st < 0 ? 0 : st;
}
