/* tide.exec: run a program with posix_spawn on the execution thread,
 * feeding stdin and collecting stdout/stderr through pipes with poll(). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "worker/builtins.h"

extern char **environ;

typedef struct obuf {
  char *p;
  size_t len, cap;
} obuf;

static void obuf_add(obuf *b, const char *s, size_t n)
{
  if (b->len + n > b->cap) {
    b->cap = (b->len + n) * 2 + 4096;
    b->p = tide__xrealloc(b->p, b->cap);
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

/* Read what is there; returns false at EOF or error. */
static bool drain(int fd, obuf *b)
{
  char tmp[65536];
  ssize_t n = read(fd, tmp, sizeof tmp);
  if (n > 0) {
    obuf_add(b, tmp, (size_t)n);
    return true;
  }
  return n < 0 && (errno == EINTR || errno == EAGAIN);
}

/* Pump stdin in and stdout/stderr out until both outputs reach EOF. */
static void pump(int in, const char *data, size_t len, int outfd, int errfd, obuf *o, obuf *e)
{
  size_t off = 0;
  if (in >= 0 && len == 0) {
    close(in);
    in = -1;
  }
  while (outfd >= 0 || errfd >= 0 || in >= 0) {
    struct pollfd p[3];
    int n = 0, iin = -1, iout = -1, ierr = -1;
    if (in >= 0) { iin = n; p[n++] = (struct pollfd){in, POLLOUT, 0}; }
    if (outfd >= 0) { iout = n; p[n++] = (struct pollfd){outfd, POLLIN, 0}; }
    if (errfd >= 0) { ierr = n; p[n++] = (struct pollfd){errfd, POLLIN, 0}; }
    if (poll(p, (nfds_t)n, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
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
    if (iout >= 0 && p[iout].revents && !drain(outfd, o)) {
      close(outfd);
      outfd = -1;
    }
    if (ierr >= 0 && p[ierr].revents && !drain(errfd, e)) {
      close(errfd);
      errfd = -1;
    }
  }
  if (in >= 0)
    close(in);
}

int tide__builtin_exec(tide_task_ctx *ctx, const msgpack_object *args, size_t nargs,
                       msgpack_packer *out)
{
  tide_error err;
  if (tide__builtin_check("tide.exec", args, nargs, NULL, &err) != 0)
    return tide_task_fail(ctx, "%s", err.text);
  const msgpack_object_array *av = &args[0].via.array;
  for (uint32_t i = 0; i < av->size; i++)
    if (av->ptr[i].type != MSGPACK_OBJECT_STR)
      return tide_task_fail(ctx, "tide.exec: argument 1 element %u must be a string, got %s",
                            i + 1, tide__mp_type_name(&av->ptr[i]));
  const char *in_data = "";
  size_t in_len = 0;
  if (nargs > 1) {
    in_data = args[1].type == MSGPACK_OBJECT_STR ? args[1].via.str.ptr : args[1].via.bin.ptr;
    in_len = args[1].type == MSGPACK_OBJECT_STR ? args[1].via.str.size : args[1].via.bin.size;
  }
  char **argv = tide__xcalloc(av->size + 1, sizeof *argv);
  for (uint32_t i = 0; i < av->size; i++)
    argv[i] = tide__xstrndup(av->ptr[i].via.str.ptr, av->ptr[i].via.str.size);

  int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
  int rc = -1;
  obuf o = {0}, e = {0};
  if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC) || pipe2(perr, O_CLOEXEC)) {
    tide_task_fail(ctx, "tide.exec: pipe: %s", strerror(errno));
    goto done;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
  posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
  posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, dfl;
  sigemptyset(&none);
  sigemptyset(&dfl);
  sigaddset(&dfl, SIGPIPE);  /* the worker ignores SIGPIPE; the program should not */
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &dfl);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid;
  int serr = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(pin[0]);
  close(pout[1]);
  close(perr[1]);
  pin[0] = pout[1] = perr[1] = -1;
  if (serr != 0) {
    tide_task_fail(ctx, "tide.exec: cannot run \"%s\": %s", argv[0], strerror(serr));
    goto done;
  }
  fcntl(pin[1], F_SETFL, O_NONBLOCK);
  pump(pin[1], in_data, in_len, pout[0], perr[0], &o, &e); /* closes them */
  pin[1] = pout[0] = perr[0] = -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  msgpack_pack_map(out, 3);
  msgpack_pack_str_with_body(out, "rc", 2);
  msgpack_pack_int(out, code);
  msgpack_pack_str_with_body(out, "stdout", 6);
  msgpack_pack_str_with_body(out, o.p ? o.p : "", o.len);
  msgpack_pack_str_with_body(out, "stderr", 6);
  msgpack_pack_str_with_body(out, e.p ? e.p : "", e.len);
  rc = 0;
done:
  for (int i = 0; i < 2; i++) { /* only left open when pipe2 failed */
    if (pin[i] >= 0) close(pin[i]);
    if (pout[i] >= 0) close(pout[i]);
    if (perr[i] >= 0) close(perr[i]);
  }
  for (uint32_t i = 0; i < av->size; i++)
    free(argv[i]);
  free(argv);
  free(o.p);
  free(e.p);
  return rc;
}
