/* `--output DIR` of `tide run` and `tide get`: each result to its own file
 * in DIR instead of a summary on stdout, so byte results come out whole. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/value.h"
#include "cmd/client_opts.h"
#include "cmd/cmd.h"
#include "common/util.h"
#include "common/vec.h"

int tide__cmd_output_check(const char *dir)
{
  struct stat st;
  if (!*dir)
    return tide__cmd_fail(2, "--output: the directory must not be empty");
  if (stat(dir, &st) != 0) {
    if (errno != ENOENT || mkdir(dir, 0777) != 0)
      return tide__cmd_fail(2, "--output %s: cannot create the directory: %s", dir,
                            strerror(errno));
  } else if (!S_ISDIR(st.st_mode)) {
    return tide__cmd_fail(2, "--output %s: not a directory", dir);
  }
  if (access(dir, W_OK | X_OK) != 0)
    return tide__cmd_fail(2, "--output %s: cannot write there: %s", dir, strerror(errno));
  return 0;
}

static bool plain(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

/* The file name of key: letters, digits, '_', '-' and '.' stay, any other
 * byte (and a leading '.') becomes %XX, so no key names a path outside DIR,
 * a hidden file, "." or "..". JSON results end in ".json"; a byte result
 * never does (its '.' of ".json" is encoded), so the two never collide. A
 * long name keeps its start and ends in '~' and a hash of the whole key
 * ('~' is always encoded otherwise). out holds at least 256 bytes. */
static void file_name(const char *key, size_t n, bool json, char *out)
{
  enum { KEEP = 180 };
  size_t o = 0, i;
  size_t dotjson = !json && n >= 5 && memcmp(key + n - 5, ".json", 5) == 0 ? n - 5 : (size_t)-1;
  if (n == 0)
    out[o++] = '%'; /* a lone '%' is no encoding of any other key */
  for (i = 0; i < n && o + 3 < KEEP; i++) {
    unsigned char c = (unsigned char)key[i];
    if (plain(c) && !(c == '.' && (i == 0 || i == dotjson)))
      out[o++] = (char)c;
    else
      o += (size_t)sprintf(out + o, "%%%02X", c);
  }
  if (i < n) {
    char hex[65];
    tide__sha256_hex(key, n, hex);
    o += (size_t)sprintf(out + o, "~%.16s", hex);
  }
  strcpy(out + o, json ? ".json" : "");
}

/* Write data to dir/name (never through a symlink); fills path. */
static int write_file(const char *dir, const char *name, const void *data, size_t len, char **path)
{
  *path = tide__xasprintf("%s/%s", dir, name);
  int fd = open(*path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (fd < 0)
    return tide__cmd_fail(1, "--output: cannot write %s: %s", *path, strerror(errno));
  const char *p = data;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0) {
      int e = errno;
      close(fd);
      return tide__cmd_fail(1, "--output: cannot write %s: %s", *path, strerror(e));
    }
    p += w;
    len -= (size_t)w;
  }
  if (close(fd) != 0)
    return tide__cmd_fail(1, "--output: cannot write %s: %s", *path, strerror(errno));
  return 0;
}

static int dump_to_text(const char *buf, size_t size, void *text)
{
  tide__text_put(text, buf, size);
  return 0;
}

/* One result: raw bytes for bin, ext and non-UTF-8 strings, else JSON. */
static int write_one(const char *dir, const msgpack_object *k, const msgpack_object *v,
                     json_t *report)
{
  const void *raw = NULL;
  size_t rawlen = 0;
  json_t *probe = NULL;
  if (v->type == MSGPACK_OBJECT_BIN) {
    raw = v->via.bin.ptr;
    rawlen = v->via.bin.size;
  } else if (v->type == MSGPACK_OBJECT_EXT) {
    raw = v->via.ext.ptr;
    rawlen = v->via.ext.size;
  } else if (v->type == MSGPACK_OBJECT_STR &&
             !(probe = json_stringn(v->via.str.ptr, v->via.str.size))) {
    raw = v->via.str.ptr;
    rawlen = v->via.str.size;
  }
  json_decref(probe);

  char *keytext = NULL;
  if (k->type == MSGPACK_OBJECT_STR) {
    keytext = tide__xstrndup(k->via.str.ptr, k->via.str.size);
  } else { /* keys are task names; anything else is named by its JSON text */
    json_t *kj = tide__value_to_json(k);
    keytext = json_dumps(kj, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(kj);
    if (!keytext)
      return tide__cmd_fail(1, "the scheduler sent a result key that cannot be named");
  }
  char name[256], *path = NULL;
  tide__text text = {0};
  file_name(keytext, strlen(keytext), !raw, name);
  if (!raw) {
    json_t *j = tide__value_to_json(v);
    int rc = json_dump_callback(j, dump_to_text, &text, JSON_ENCODE_ANY);
    json_decref(j);
    if (rc != 0) {
      int st = tide__cmd_fail(1, "cannot format result %s as JSON", keytext);
      tide__vec_free(&text);
      free(keytext);
      return st;
    }
    tide__text_put(&text, "\n", 1);
    raw = text.v;
    rawlen = text.n;
  }
  int st = write_file(dir, name, raw, rawlen, &path);
  if (st == 0) {
    char hex[65];
    tide__sha256_hex(raw, rawlen, hex);
    json_object_set_new(
        report, keytext,
        json_pack("{s:s, s:I, s:s}", "file", path, "bytes", (json_int_t)rawlen, "sha256", hex));
  }
  free(path);
  tide__vec_free(&text);
  free(keytext);
  return st;
}

int tide__cmd_write_values(const char *values, size_t len, const char *dir)
{
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  size_t off = 0;
  if (msgpack_unpack_next(&u, values, len, &off) != MSGPACK_UNPACK_SUCCESS ||
      u.data.type != MSGPACK_OBJECT_MAP) {
    msgpack_unpacked_destroy(&u);
    return tide__cmd_fail(1, "the scheduler sent malformed values");
  }
  json_t *report = json_object();
  int st = 0;
  const msgpack_object_map *m = &u.data.via.map;
  for (uint32_t i = 0; i < m->size && st == 0; i++)
    st = write_one(dir, &m->ptr[i].key, &m->ptr[i].val, report);
  msgpack_unpacked_destroy(&u);
  if (st == 0) {
    /* what was written, as the summary `tide run` prints without --output */
    char *s = json_dumps(report, 0);
    if (s) {
      fputs(s, stdout);
      fputc('\n', stdout);
      free(s);
    }
    if (!s || fflush(stdout) != 0)
      st = tide__cmd_fail(1, "cannot write the output");
  }
  json_decref(report);
  return st;
}
