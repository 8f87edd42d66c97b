/* tide.exec: run a program with posix_spawn on an execution thread (never
 * the loop thread: the function is not TIDE_FN_INLINE), feeding stdin and
 * collecting stdout/stderr through pipes with poll(). Semantics in
 * docs/tasks.md "Command tasks": a non-zero exit, a signal or a time-limit
 * overrun fails the task unless {"check": false}; the result is stdout as
 * bytes so commands chain through refs. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "common/vec.h"
#include "worker/builtins.h"

extern char **environ;

/* What the error keeps of stderr: its last lines, bounded both ways. */
enum { TAIL_LINES = 20, TAIL_BYTES = 4096, MAX_RETRIES = 100 };

/* Parsed options (the third argument). Strings point into the args. */
typedef struct xopts {
  bool check;
  double timeout; /* seconds, 0 = none */
  int retries;
  const msgpack_object *cwd, *out, *err, *job, *entry;
  const msgpack_object_map *env;
  bool has_index, array;
  int64_t index;
  const char *job_text; /* "array": the job taken from the key */
  size_t job_len;
} xopts;

/* One run's outcome. */
typedef struct xrun {
  int spawn_errno; /* posix_spawn failed */
  int status;      /* waitpid status */
  bool timed_out;
  tide__text out, err;
} xrun;

static bool key_is(const msgpack_object *k, const char *name)
{
  size_t n = strlen(name);
  return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
         memcmp(k->via.str.ptr, name, n) == 0;
}

static int opt_type(tide_task_ctx *ctx, const msgpack_object *k, const char *want,
                    const msgpack_object *v)
{
  return tide_task_fail(ctx, "tide.exec: option \"%.*s\" must be %s, got %s", (int)k->via.str.size,
                        k->via.str.ptr, want, tide__mp_type_name(v));
}

static int parse_opts(tide_task_ctx *ctx, const msgpack_object *o, xopts *x)
{
  memset(x, 0, sizeof *x);
  x->check = true;
  if (!o || o->type == MSGPACK_OBJECT_NIL)
    return 0;
  for (uint32_t i = 0; i < o->via.map.size; i++) {
    const msgpack_object *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
    bool str = v->type == MSGPACK_OBJECT_STR;
    bool num = v->type == MSGPACK_OBJECT_POSITIVE_INTEGER || v->type == MSGPACK_OBJECT_FLOAT32 ||
               v->type == MSGPACK_OBJECT_FLOAT64;
    if (key_is(k, "check") || key_is(k, "array")) {
      if (v->type != MSGPACK_OBJECT_BOOLEAN)
        return opt_type(ctx, k, "true or false", v);
      *(key_is(k, "check") ? &x->check : &x->array) = v->via.boolean;
    } else if (key_is(k, "timeout")) {
      double s = v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (double)v->via.u64 : v->via.f64;
      if (!num || !(s > 0) || s > 1e9)
        return tide_task_fail(ctx, "tide.exec: option \"timeout\" must be seconds above 0");
      x->timeout = s;
    } else if (key_is(k, "retries")) {
      if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 > MAX_RETRIES)
        return tide_task_fail(ctx, "tide.exec: option \"retries\" must be an integer from 0 to %d",
                              MAX_RETRIES);
      x->retries = (int)v->via.u64;
    } else if (key_is(k, "index")) {
      if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER && v->type != MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return opt_type(ctx, k, "an integer", v);
      x->has_index = true;
      x->index = v->via.i64;
    } else if (key_is(k, "env")) {
      if (v->type != MSGPACK_OBJECT_MAP)
        return opt_type(ctx, k, "a map", v);
      for (uint32_t j = 0; j < v->via.map.size; j++)
        if (v->via.map.ptr[j].key.type != MSGPACK_OBJECT_STR ||
            v->via.map.ptr[j].val.type != MSGPACK_OBJECT_STR)
          return tide_task_fail(ctx, "tide.exec: option \"env\" must map names to strings");
      x->env = &v->via.map;
    } else if (key_is(k, "cwd") || key_is(k, "stdout") || key_is(k, "stderr") || key_is(k, "job") ||
               key_is(k, "entry")) {
      if (!str)
        return opt_type(ctx, k, "a string", v);
      const msgpack_object **slot = key_is(k, "cwd")      ? &x->cwd
                                    : key_is(k, "stdout") ? &x->out
                                    : key_is(k, "stderr") ? &x->err
                                    : key_is(k, "job")    ? &x->job
                                                          : &x->entry;
      *slot = v;
    } else {
      return tide_task_fail(ctx, "tide.exec: unknown option \"%.*s\"",
                            k->type == MSGPACK_OBJECT_STR ? (int)k->via.str.size : 1,
                            k->type == MSGPACK_OBJECT_STR ? k->via.str.ptr : "?");
    }
  }
  return 0;
}

/* The task's id as users know it: the key without the client's "<token>/". */
static const char *task_id(tide_task_ctx *ctx)
{
  const char *key = tide_task_key(ctx), *slash;
  if (!key)
    return "";
  slash = strchr(key, '/');
  return slash ? slash + 1 : key;
}

/* An array element's key is "<JOB>-<INDEX>" (tide submit): its job and
 * index come from there, so the scheduler holds them once per task. */
static int array_from_key(tide_task_ctx *ctx, const char *id, xopts *x)
{
  const char *dash = strrchr(id, '-');
  char *end;
  if (!dash || dash == id || !dash[1])
    return tide_task_fail(ctx, "tide.exec: option \"array\" needs a key JOB-INDEX, got \"%s\"", id);
  long long v = strtoll(dash + 1, &end, 10);
  if (*end)
    return tide_task_fail(ctx, "tide.exec: option \"array\" needs a key JOB-INDEX, got \"%s\"", id);
  x->has_index = true;
  x->index = v;
  x->job_text = id;
  x->job_len = (size_t)(dash - id);
  return 0;
}

char *tide__exec_expand(const char *s, size_t n, const char *task, int64_t index, const char *job,
                        size_t joblen)
{
  tide__text b = {0};
  char num[32];
  for (size_t i = 0; i < n;) {
    if (n - i >= 7 && memcmp(s + i, "%{TASK}", 7) == 0) {
      tide__text_put(&b, task, strlen(task));
      i += 7;
    } else if (n - i >= 8 && memcmp(s + i, "%{INDEX}", 8) == 0) {
      snprintf(num, sizeof num, "%" PRId64, index);
      tide__text_put(&b, num, strlen(num));
      i += 8;
    } else if (n - i >= 6 && memcmp(s + i, "%{JOB}", 6) == 0) {
      if (job)
        tide__text_put(&b, job, joblen);
      i += 6;
    } else {
      tide__text_put(&b, s + i, 1);
      i++;
    }
  }
  tide__text_put(&b, "", 0); /* allocated and terminated even when empty */
  return b.v;
}

/* Expand a pattern option for this run. */
static char *expand(const msgpack_object *pat, const char *id, const xopts *x)
{
  const char *job = x->job ? x->job->via.str.ptr : x->job_text;
  size_t joblen = x->job ? x->job->via.str.size : x->job_len;
  return tide__exec_expand(pat->via.str.ptr, pat->via.str.size, id, x->index, job, joblen);
}

/* environ plus TIDE_TASK_ID, TIDE_ARRAY_INDEX, TIDE_ENTRY and the env
 * option; later entries win, so a name given twice takes the option's
 * value (glibc's getenv returns the first: overridden names are left out). */
static char **make_env(const char *id, const xopts *x)
{
  size_t n = 0, extra = 3 + (x->env ? x->env->size : 0), k = 0;
  while (environ[n])
    n++;
  char **own = tide__xcalloc(extra + 1, sizeof *own);
  own[k++] = tide__xasprintf("TIDE_TASK_ID=%s", id);
  if (x->has_index)
    own[k++] = tide__xasprintf("TIDE_ARRAY_INDEX=%" PRId64, x->index);
  if (x->entry)
    own[k++] =
        tide__xasprintf("TIDE_ENTRY=%.*s", (int)x->entry->via.str.size, x->entry->via.str.ptr);
  for (uint32_t j = 0; x->env && j < x->env->size; j++) {
    const msgpack_object *ek = &x->env->ptr[j].key, *ev = &x->env->ptr[j].val;
    own[k++] = tide__xasprintf("%.*s=%.*s", (int)ek->via.str.size, ek->via.str.ptr,
                               (int)ev->via.str.size, ev->via.str.ptr);
  }
  char **env = tide__xcalloc(n + k + 1, sizeof *env);
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    size_t nl = strcspn(environ[i], "=");
    bool shadowed = false;
    for (size_t j = 0; j < k && !shadowed; j++)
      shadowed = strncmp(own[j], environ[i], nl + 1) == 0;
    if (!shadowed)
      env[m++] = environ[i];
  }
  for (size_t j = 0; j < k; j++)
    env[m++] = own[j]; /* freed through free_env: they follow the borrowed ones */
  free(own);
  return env;
}

static void free_env(char **env)
{
  size_t n = 0;
  while (environ[n])
    n++;
  for (size_t i = 0; env[i]; i++) {
    bool borrowed = false;
    for (size_t j = 0; j < n && !borrowed; j++)
      borrowed = env[i] == environ[j];
    if (!borrowed)
      free(env[i]);
  }
  free(env);
}

/* Read what is there into b (and into file fd when >= 0); returns false at
 * EOF or error. With a file, b keeps only a tail for the error message. */
static bool drain(int fd, tide__text *b, int file)
{
  char tmp[65536];
  ssize_t n = read(fd, tmp, sizeof tmp);
  if (n > 0) {
    tide__text_put(b, tmp, (size_t)n);
    if (file >= 0) {
      for (size_t off = 0; off < (size_t)n;) {
        ssize_t w = write(file, tmp + off, (size_t)n - off);
        if (w < 0 && errno == EINTR)
          continue;
        if (w <= 0)
          break;
        off += (size_t)w;
      }
      if (b->n > 2 * TAIL_BYTES) {
        memmove(b->v, b->v + b->n - TAIL_BYTES, TAIL_BYTES);
        tide__text_truncate(b, TAIL_BYTES);
      }
    }
    return true;
  }
  return n < 0 && (errno == EINTR || errno == EAGAIN);
}

/* Pump stdin in and stdout/stderr out until both outputs reach EOF; past
 * the deadline (> 0) kill the process group. Closes the fds it is given. */
static void pump(pid_t pid, double deadline, int in, const char *data, size_t len, int outfd,
                 int errfd, int errfile, xrun *r)
{
  size_t off = 0;
  if (in >= 0 && len == 0) {
    close(in);
    in = -1;
  }
  while (outfd >= 0 || errfd >= 0 || in >= 0) {
    struct pollfd p[3];
    int n = 0, iin = -1, iout = -1, ierr = -1, wait_ms = -1;
    if (in >= 0) {
      iin = n;
      p[n++] = (struct pollfd){in, POLLOUT, 0};
    }
    if (outfd >= 0) {
      iout = n;
      p[n++] = (struct pollfd){outfd, POLLIN, 0};
    }
    if (errfd >= 0) {
      ierr = n;
      p[n++] = (struct pollfd){errfd, POLLIN, 0};
    }
    if (deadline > 0 && !r->timed_out) {
      double left = deadline - tide__now();
      if (left <= 0) {
        r->timed_out = true;
        kill(-pid, SIGKILL);
        continue;
      }
      wait_ms = (int)(left * 1000) + 1;
    }
    int got = poll(p, (nfds_t)n, wait_ms);
    if (got < 0 && errno != EINTR)
      break;
    if (got <= 0)
      continue;
    if (iin >= 0 && p[iin].revents) {
      ssize_t w = (p[iin].revents & POLLOUT) ? write(in, data + off, len - off) : -1;
      if (w > 0)
        off += (size_t)w;
      if (w < 0 && errno != EAGAIN && errno != EINTR)
        off = len; /* the program closed its stdin: stop feeding */
      if (off >= len) {
        close(in);
        in = -1;
      }
    }
    if (iout >= 0 && p[iout].revents && !drain(outfd, &r->out, -1)) {
      close(outfd);
      outfd = -1;
    }
    if (ierr >= 0 && p[ierr].revents && !drain(errfd, &r->err, errfile)) {
      close(errfd);
      errfd = -1;
    }
  }
  if (in >= 0)
    close(in);
}

/* Open an output file named by an expanded pattern, relative to cwd. */
static int open_output(tide_task_ctx *ctx, const char *what, const char *path)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    tide_task_fail(ctx, "tide.exec: cannot write the %s file %s: %s", what, path, strerror(errno));
  return fd;
}

/* Run argv once. Returns 0 (r filled) or -1 with the task failed. */
static int run_once(tide_task_ctx *ctx, char **argv, char **envp, const xopts *x, const char *cwd,
                    const char *outpath, const char *errpath, const char *in_data, size_t in_len,
                    xrun *r)
{
  int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
  int outfile = -1, errfile = -1, rc = -1;
  memset(r, 0, sizeof *r);
  if (outpath && (outfile = open_output(ctx, "stdout", outpath)) < 0)
    return -1;
  if (errpath && (errfile = open_output(ctx, "stderr", errpath)) < 0)
    goto done;
  if (pipe2(pin, O_CLOEXEC) || (outfile < 0 && pipe2(pout, O_CLOEXEC)) || pipe2(perr, O_CLOEXEC)) {
    tide_task_fail(ctx, "tide.exec: pipe: %s", strerror(errno));
    goto done;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
  posix_spawn_file_actions_adddup2(&fa, outfile >= 0 ? outfile : pout[1], 1);
  posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
  if (cwd)
    posix_spawn_file_actions_addchdir_np(&fa, cwd);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, dfl;
  sigemptyset(&none);
  sigemptyset(&dfl);
  sigaddset(&dfl, SIGPIPE); /* the worker ignores SIGPIPE; the program should not */
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &dfl);
  /* Its own process group: a time-limit overrun kills what it started too. */
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  pid_t pid;
  double start = tide__now();
  int serr = posix_spawnp(&pid, argv[0], &fa, &attr, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(pin[0]);
  if (pout[1] >= 0)
    close(pout[1]);
  close(perr[1]);
  pin[0] = pout[1] = perr[1] = -1;
  if (serr != 0) {
    r->spawn_errno = serr;
    rc = 0;
    goto done;
  }
  fcntl(pin[1], F_SETFL, O_NONBLOCK);
  pump(pid, x->timeout > 0 ? start + x->timeout : 0, pin[1], in_data, in_len, pout[0], perr[0],
       errfile, r);
  pin[1] = pout[0] = perr[0] = -1;
  while (waitpid(pid, &r->status, 0) < 0 && errno == EINTR) {}
  rc = 0;
done:
  for (int i = 0; i < 2; i++) { /* only left open when something failed */
    if (pin[i] >= 0)
      close(pin[i]);
    if (pout[i] >= 0)
      close(pout[i]);
    if (perr[i] >= 0)
      close(perr[i]);
  }
  if (outfile >= 0)
    close(outfile);
  if (errfile >= 0)
    close(errfile);
  return rc;
}

/* The last TAIL_LINES lines of stderr within TAIL_BYTES, newlines shown as
 * " | " so the error stays one line. */
static char *stderr_tail(const tide__text *e)
{
  size_t len = e->n;
  while (len && (e->v[len - 1] == '\n' || e->v[len - 1] == '\r'))
    len--;
  size_t from = len > TAIL_BYTES ? len - TAIL_BYTES : 0;
  int lines = 0;
  for (size_t i = len; i > from; i--)
    if (e->v[i - 1] == '\n' && ++lines == TAIL_LINES) {
      from = i;
      break;
    }
  tide__text b = {0};
  for (size_t i = from; i < len; i++) {
    if (e->v[i] == '\n')
      tide__text_put(&b, " | ", 3);
    else if (e->v[i] != '\r')
      tide__text_put(&b, e->v[i] ? &e->v[i] : "?", 1);
  }
  tide__text_put(&b, "", 0); /* allocated and terminated even when empty */
  return b.v;
}

/* True when the run failed; *code gets the rc users see (128+signal). */
static bool run_failed(const xrun *r, int *code)
{
  if (WIFEXITED(r->status))
    *code = WEXITSTATUS(r->status);
  else
    *code = 128 + WTERMSIG(r->status);
  return r->timed_out || *code != 0;
}

static int fail_run(tide_task_ctx *ctx, const char *prog, const xopts *x, const xrun *r, int tries)
{
  char what[128], after[48] = "";
  int code;
  run_failed(r, &code);
  if (r->timed_out)
    snprintf(what, sizeof what, "exceeded its time limit of %gs and was killed", x->timeout);
  else if (WIFSIGNALED(r->status)) {
    const char *name = sigabbrev_np(WTERMSIG(r->status));
    snprintf(what, sizeof what, "was killed by signal SIG%s (rc %d)", name ? name : "?", code);
  } else
    snprintf(what, sizeof what, "exited with rc %d", code);
  if (tries > 1)
    snprintf(after, sizeof after, " (%d tries)", tries);
  char *tail = stderr_tail(&r->err);
  int rc = tide_task_fail(ctx, "tide.exec: \"%s\" %s%s%s%s", prog, what, after,
                          *tail ? "; stderr: " : "", tail);
  free(tail);
  return rc;
}

int tide__builtin_exec(tide_task_ctx *ctx, const msgpack_object *args, size_t nargs,
                       msgpack_packer *out)
{
  tide_error err;
  xopts x;
  if (tide__builtin_check("tide.exec", args, nargs, NULL, &err) != 0)
    return tide_task_fail(ctx, "%s", err.text);
  const msgpack_object_array *av = &args[0].via.array;
  for (uint32_t i = 0; i < av->size; i++)
    if (av->ptr[i].type != MSGPACK_OBJECT_STR)
      return tide_task_fail(ctx, "tide.exec: argument 1 element %u must be a string, got %s", i + 1,
                            tide__mp_type_name(&av->ptr[i]));
  if (parse_opts(ctx, nargs > 2 ? &args[2] : NULL, &x) != 0)
    return -1;
  const char *in_data = "";
  size_t in_len = 0;
  if (nargs > 1 && args[1].type == MSGPACK_OBJECT_STR) {
    in_data = args[1].via.str.ptr;
    in_len = args[1].via.str.size;
  } else if (nargs > 1 && args[1].type == MSGPACK_OBJECT_BIN) {
    in_data = args[1].via.bin.ptr;
    in_len = args[1].via.bin.size;
  }
  char **argv = tide__xcalloc(av->size + 1, sizeof *argv);
  for (uint32_t i = 0; i < av->size; i++)
    argv[i] = tide__xstrndup(av->ptr[i].via.str.ptr, av->ptr[i].via.str.size);
  const char *id = task_id(ctx);
  if (x.array && array_from_key(ctx, id, &x) != 0) {
    for (uint32_t i = 0; i < av->size; i++)
      free(argv[i]);
    free(argv);
    return -1;
  }
  /* Array elements write to files by default: tide-submit-<JOB>/<INDEX>. */
  msgpack_object dout = {.type = MSGPACK_OBJECT_STR}, derr = dout;
  dout.via.str.ptr = TIDE_EXEC_ARRAY_STDOUT;
  derr.via.str.ptr = TIDE_EXEC_ARRAY_STDERR;
  dout.via.str.size = derr.via.str.size = (uint32_t)strlen(dout.via.str.ptr);
  if (x.array && !x.out)
    x.out = &dout;
  if (x.array && !x.err)
    x.err = &derr;
  char *cwd = x.cwd ? tide__xstrndup(x.cwd->via.str.ptr, x.cwd->via.str.size) : NULL;
  char *outpath = x.out ? expand(x.out, id, &x) : NULL;
  char *errpath = x.err ? expand(x.err, id, &x) : NULL;
  /* Relative output paths are taken from cwd, like the program's own. */
  if (cwd && outpath && outpath[0] != '/') {
    char *p = tide__xasprintf("%s/%s", cwd, outpath);
    free(outpath);
    outpath = p;
  }
  if (cwd && errpath && errpath[0] != '/') {
    char *p = tide__xasprintf("%s/%s", cwd, errpath);
    free(errpath);
    errpath = p;
  }
  char **envp = make_env(id, &x);
  xrun r = {0};
  int rc = -1, code = 0, tries = 0;
  /* Checked first so that a spawn ENOENT can only mean the program. */
  if (cwd && access(cwd, X_OK) != 0) {
    tide_task_fail(ctx, "tide.exec: cannot enter directory %s: %s", cwd, strerror(errno));
    goto done;
  }
  for (;;) {
    tries++;
    if (run_once(ctx, argv, envp, &x, cwd, outpath, errpath, in_data, in_len, &r) != 0)
      goto done;
    if (r.spawn_errno == ENOENT) {
      tide_task_fail(ctx, "tide.exec: no such program \"%s\"", argv[0]);
      goto done;
    }
    if (r.spawn_errno) {
      tide_task_fail(ctx, "tide.exec: cannot run \"%s\": %s", argv[0], strerror(r.spawn_errno));
      goto done;
    }
    if (!run_failed(&r, &code) || (!x.check && !r.timed_out))
      break;
    if (tries > x.retries) {
      fail_run(ctx, argv[0], &x, &r, tries);
      goto done;
    }
    tide__vec_free(&r.out);
    tide__vec_free(&r.err);
  }
  if (!x.check) {
    msgpack_pack_map(out, 3);
    msgpack_pack_str_with_body(out, "rc", 2);
    msgpack_pack_int(out, code);
    msgpack_pack_str_with_body(out, "stdout", 6);
    msgpack_pack_bin_with_body(out, r.out.v ? r.out.v : "", r.out.n);
    msgpack_pack_str_with_body(out, "stderr", 6);
    msgpack_pack_bin_with_body(out, r.err.v ? r.err.v : "", r.err.n);
  } else if (outpath) {
    msgpack_pack_nil(out); /* the output is in its file */
  } else {
    msgpack_pack_bin_with_body(out, r.out.v ? r.out.v : "", r.out.n);
  }
  rc = 0;
done:
  for (uint32_t i = 0; i < av->size; i++)
    free(argv[i]);
  free(argv);
  free_env(envp);
  free(cwd);
  free(outpath);
  free(errpath);
  tide__vec_free(&r.out);
  tide__vec_free(&r.err);
  return rc;
}
