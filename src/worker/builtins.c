/* Builtin task functions (docs/design.md §3, docs/tasks.md) and their argument signatures. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/limits.h"
#include "common/util.h"
#include "worker/builtins.h"
#include "worker/registry.h"

/* Argument kinds of a signature. */
typedef enum argkind {
  K_ANY,
  K_INT,    /* integer */
  K_NUM,    /* integer or float */
  K_STR,    /* string */
  K_BIN,    /* bytes */
  K_NUMS,   /* array of numbers */
  K_ARGV,   /* non-empty array of strings */
  K_STRBIN, /* string or bytes */
  K_INPUT,  /* string, bytes or nil */
  K_MAP,    /* map */
} argkind;

typedef struct builtin {
  const char *name;
  tide_task_fn fn;
  int min, max;     /* argument count; max -1 = any number */
  argkind kinds[2]; /* first arguments */
  argkind rest;     /* the others */
  unsigned flags;
} builtin;

enum {
  B_NOOP,
  B_IDENTITY,
  B_INC,
  B_ADD,
  B_SUM,
  B_SLEEP,
  B_SPIN,
  B_BYTES,
  B_CHECKSUM,
  B_CONCAT,
  B_FAIL,
  B_EXEC,
  B__COUNT
};

static const builtin table[B__COUNT];

/* The longest bytes value a builtin makes: its serialization (a bin
 * header of 2, 3 or 5 bytes, then the bytes) must be a result
 * limits.result-size allows, so it can travel in one frame. */
int64_t tide__builtin_bytes_max(void)
{
  int64_t r = tide__limits_result_size(tide__limits_get());
  if (r - 5 > 0xffff)
    return r - 5;
  if (r - 3 > 0xff)
    return r - 3;
  return r - 2 > 0 ? r - 2 : 0;
}

const char *tide__mp_type_name(const msgpack_object *o)
{
  switch (o->type) {
  case MSGPACK_OBJECT_NIL: return "nil";
  case MSGPACK_OBJECT_BOOLEAN: return "bool";
  case MSGPACK_OBJECT_POSITIVE_INTEGER:
  case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "integer";
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64: return "float";
  case MSGPACK_OBJECT_STR: return "string";
  case MSGPACK_OBJECT_BIN: return "bytes";
  case MSGPACK_OBJECT_ARRAY: return "array";
  case MSGPACK_OBJECT_MAP: return "map";
  default: return "ext";
  }
}

static bool is_int(const msgpack_object *o)
{
  return o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ||
         (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= (uint64_t)INT64_MAX);
}

static bool is_num(const msgpack_object *o)
{
  return is_int(o) || o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64;
}

static double num_value(const msgpack_object *o)
{
  if (o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64)
    return o->via.f64;
  return (double)o->via.i64;
}

/* {"ref": "KEY"}: a reference whose type is known only at run time. */
static bool is_ref_map(const msgpack_object *o)
{
  return o->type == MSGPACK_OBJECT_MAP && o->via.map.size == 1 &&
         o->via.map.ptr[0].key.type == MSGPACK_OBJECT_STR &&
         o->via.map.ptr[0].key.via.str.size == 3 &&
         memcmp(o->via.map.ptr[0].key.via.str.ptr, "ref", 3) == 0 &&
         o->via.map.ptr[0].val.type == MSGPACK_OBJECT_STR;
}

static const char *kind_text(argkind k)
{
  switch (k) {
  case K_INT: return "an integer";
  case K_NUM: return "a number";
  case K_STR: return "a string";
  case K_BIN: return "bytes";
  case K_NUMS: return "an array of numbers";
  case K_ARGV: return "a non-empty array of strings";
  case K_STRBIN: return "a string or bytes";
  case K_INPUT: return "a string, bytes or null";
  case K_MAP: return "a map";
  default: return "a value";
  }
}

/* Check one argument; refs (allow_refs) pass. Returns 0 or code with err. */
static int check_arg(const builtin *b, size_t i, const msgpack_object *o, bool allow_refs, int code,
                     tide_error *err)
{
  argkind k = i < 2 ? b->kinds[i] : b->rest;
  bool ok = true;
  if (allow_refs && is_ref_map(o))
    return 0;
  switch (k) {
  case K_ANY: break;
  case K_INT: ok = is_int(o); break;
  case K_NUM: ok = is_num(o); break;
  case K_STR: ok = o->type == MSGPACK_OBJECT_STR; break;
  case K_BIN: ok = o->type == MSGPACK_OBJECT_BIN; break;
  case K_STRBIN: ok = o->type == MSGPACK_OBJECT_STR || o->type == MSGPACK_OBJECT_BIN; break;
  case K_INPUT:
    ok = o->type == MSGPACK_OBJECT_STR || o->type == MSGPACK_OBJECT_BIN ||
         o->type == MSGPACK_OBJECT_NIL;
    break;
  case K_MAP: ok = o->type == MSGPACK_OBJECT_MAP; break;
  case K_NUMS:
  case K_ARGV:
    ok = o->type == MSGPACK_OBJECT_ARRAY && (k == K_NUMS || o->via.array.size > 0);
    if (!ok)
      break;
    for (uint32_t j = 0; j < o->via.array.size; j++) {
      const msgpack_object *e = &o->via.array.ptr[j];
      if (allow_refs && is_ref_map(e))
        continue;
      if (k == K_NUMS ? !is_num(e) : e->type != MSGPACK_OBJECT_STR)
        return tide_errprintf(err, code, "%s: argument %zu element %u must be %s, got %s", b->name,
                              i + 1, j + 1, k == K_NUMS ? "a number" : "a string",
                              tide__mp_type_name(e));
    }
    break;
  }
  if (!ok) {
    const char *got = tide__mp_type_name(o);
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && !is_int(o))
      got = "an integer out of range";
    else if (o->type == MSGPACK_OBJECT_ARRAY && k == K_ARGV)
      got = "an empty array";
    return tide_errprintf(err, code, "%s: argument %zu must be %s, got %s", b->name, i + 1,
                          kind_text(k), got);
  }
  return 0;
}

static int check_count(const builtin *b, size_t nargs, int code, tide_error *err)
{
  if ((int64_t)nargs >= b->min && (b->max < 0 || (int64_t)nargs <= b->max))
    return 0;
  if (b->max < 0)
    return tide_errprintf(err, code, "%s takes at least %d argument%s, got %zu", b->name, b->min,
                          b->min == 1 ? "" : "s", nargs);
  if (b->min == b->max)
    return tide_errprintf(err, code, "%s takes %d argument%s, got %zu", b->name, b->min,
                          b->min == 1 ? "" : "s", nargs);
  return tide_errprintf(err, code, "%s takes %d to %d arguments, got %zu", b->name, b->min, b->max,
                        nargs);
}

static int check_all(const builtin *b, const msgpack_object *args, size_t nargs, const bool *is_ref,
                     bool allow_refs, int code, tide_error *err)
{
  int rc = check_count(b, nargs, code, err);
  for (size_t i = 0; rc == 0 && i < nargs; i++) {
    if (is_ref && is_ref[i])
      continue;
    rc = check_arg(b, i, &args[i], allow_refs, code, err);
  }
  return rc;
}

static const builtin *find(const char *fn)
{
  for (int i = 0; i < B__COUNT; i++)
    if (strcmp(table[i].name, fn) == 0)
      return &table[i];
  return NULL;
}

bool tide__builtin_exists(const char *fn)
{
  return fn && find(fn) != NULL;
}

int tide__builtin_check(const char *fn, const msgpack_object *args, size_t nargs,
                        const bool *is_ref, tide_error *err)
{
  const builtin *b = fn ? find(fn) : NULL;
  if (!b)
    return tide_errprintf(err, TIDE_ENOTFOUND, "unknown function \"%s\"", fn ? fn : "");
  return check_all(b, args, nargs, is_ref, true, TIDE_EGRAPH, err);
}

/* Run-time check: values are concrete here; a failure fails the task. */
static int rt_check(int idx, tide_task_ctx *ctx, const msgpack_object *args, size_t nargs)
{
  tide_error err;
  if (check_all(&table[idx], args, nargs, NULL, false, -1, &err) == 0)
    return 0;
  return tide_task_fail(ctx, "%s", err.text);
}

#define CHECK(idx)                                                                                 \
  do {                                                                                             \
    if (rt_check(idx, ctx, args, nargs) != 0)                                                      \
      return -1;                                                                                   \
  } while (0)

static int fn_noop(tide_task_ctx *ctx, const msgpack_object *args, size_t nargs,
                   msgpack_packer *out)
{
  msgpack_pack_nil(out);
  return 0;
}

static int fn_identity(tide_task_ctx *ctx, const msgpack_object *args, size_t nargs,
                       msgpack_packer *out)
{
  CHECK(B_IDENTITY);
  msgpack_pack_object(out, args[0]);
  return 0;
}

static int fn_inc(tide_task_ctx *ctx, const msgpack_object *args, size_t nargs, msgpack_packer *out)
{
  CHECK(B_INC);
  if (args[0].via.i64 == INT64_MAX)
    return tide_task_fail(ctx, "tide.inc: integer overflow");
  msgpack_pack_int64(out, args[0].via.i64 + 1);
  return 0;
}

/* Sum numbers: integers stay integers, any float makes the sum a float. */
static int sum_values(tide_task_ctx *ctx, const char *name, const msgpack_object *v, size_t n,
                      msgpack_packer *out)
{
  int64_t isum = 0;
  double fsum = 0;
  bool isfloat = false;
  for (size_t i = 0; i < n; i++) {
    if (v[i].type == MSGPACK_OBJECT_FLOAT32 || v[i].type == MSGPACK_OBJECT_FLOAT64)
      isfloat = true;
    else if (!isfloat && __builtin_add_overflow(isum, v[i].via.i64, &isum))
      return tide_task_fail(ctx, "%s: integer overflow", name);
    fsum += num_value(&v[i]);
  }
  if (isfloat)
    msgpack_pack_double(out, fsum);
  else
    msgpack_pack_int64(out, isum);
  return 0;
}

static int fn_add(tide_task_ctx *ctx, const msgpack_object *args, size_t nargs, msgpack_packer *out)
{
  CHECK(B_ADD);
  return sum_values(ctx, "tide.add", args, nargs, out);
}

static int fn_sum(tide_task_ctx *ctx, const msgpack_object *args, size_t nargs, msgpack_packer *out)
{
  CHECK(B_SUM);
  return sum_values(ctx, "tide.sum", args[0].via.array.ptr, args[0].via.array.size, out);
}

static int seconds_arg(tide_task_ctx *ctx, const char *name, const msgpack_object *o, double *s)
{
  *s = num_value(o);
  if (!(*s >= 0) || *s > 1e9)
    return tide_task_fail(ctx, "%s: seconds must be between 0 and 1e9, got %g", name, *s);
  return 0;
}

/* tide.sleep and tide.spin: wait args[0] seconds, asleep or burning CPU
 * (spin is for tests that must see the worker busy), then return args[1]
 * when given (only sleep takes it) or nil. */
static int wait_seconds(tide_task_ctx *ctx, const msgpack_object *args, size_t nargs,
                        msgpack_packer *out, int idx, const char *name)
{
  double s;
  CHECK(idx);
  if (seconds_arg(ctx, name, &args[0], &s) != 0)
    return -1;
  if (idx == B_SPIN) {
    double end = tide__now() + s;
    volatile uint64_t x = 1;
    while (tide__now() < end)
      for (int i = 0; i < 10000; i++)
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
  } else {
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
  }
  if (nargs > 1)
    msgpack_pack_object(out, args[1]);
  else
    msgpack_pack_nil(out);
  return 0;
}

static int fn_sleep(tide_task_ctx *ctx, const msgpack_object *args, size_t nargs,
                    msgpack_packer *out)
{
  return wait_seconds(ctx, args, nargs, out, B_SLEEP, "tide.sleep");
}

static int fn_spin(tide_task_ctx *ctx, const msgpack_object *args, size_t nargs,
                   msgpack_packer *out)
{
  return wait_seconds(ctx, args, nargs, out, B_SPIN, "tide.spin");
}

/* tide.bytes generator (checksums depend on it, keep it stable): the
 * splitmix64 sequence seeded with `seed`. For word i = 0, 1, ...:
 *   state += 0x9E3779B97F4A7C15
 *   z = state; z = (z ^ z>>30) * 0xBF58476D1CE4E5B9;
 *   z = (z ^ z>>27) * 0x94D049BB133111EB; z ^= z>>31
 * and the output is the words' bytes in little-endian order, cut to the
 * requested length. */
typedef struct splitmix {
  uint64_t state;
} splitmix;

static inline uint64_t splitmix_next(splitmix *g)
{
  uint64_t z = (g->state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/* Fill n bytes; n must be a multiple of 8 except for the last call. */
static void splitmix_fill(splitmix *g, unsigned char *p, size_t n)
{
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t z = splitmix_next(g);
    for (int b = 0; b < 8; b++)
      p[i + b] = (unsigned char)(z >> (8 * b));
  }
  if (i < n) {
    uint64_t z = splitmix_next(g);
    for (int b = 0; i < n; b++, i++)
      p[i] = (unsigned char)(z >> (8 * b));
  }
}

void tide__bytes_fill(void *buf, size_t n, uint64_t seed)
{
  splitmix g = {seed};
  splitmix_fill(&g, buf, n);
}

static int fn_bytes(tide_task_ctx *ctx, const msgpack_object *args, size_t nargs,
                    msgpack_packer *out)
{
  CHECK(B_BYTES);
  int64_t len = args[0].via.i64;
  int64_t max = tide__builtin_bytes_max();
  if (len < 0 || len > max)
    return tide_task_fail(ctx,
                          "tide.bytes: length must be between 0 and %" PRId64
                          " (limits.result-size less the msgpack header), got %" PRId64,
                          max, len);
  splitmix g = {nargs > 1 ? (uint64_t)args[1].via.i64 : 0};
  unsigned char chunk[65536];
  msgpack_pack_bin(out, (size_t)len);
  for (size_t done = 0; done < (size_t)len;) {
    size_t n = (size_t)len - done < sizeof chunk ? (size_t)len - done : sizeof chunk;
    splitmix_fill(&g, chunk, n);
    msgpack_pack_bin_body(out, chunk, n);
    done += n;
  }
  return 0;
}

static int fn_checksum(tide_task_ctx *ctx, const msgpack_object *args, size_t nargs,
                       msgpack_packer *out)
{
  char hex[65];
  CHECK(B_CHECKSUM);
  const msgpack_object *o = &args[0];
  if (o->type == MSGPACK_OBJECT_BIN) {
    tide__sha256_hex(o->via.bin.ptr, o->via.bin.size, hex);
  } else if (o->type == MSGPACK_OBJECT_STR) {
    tide__sha256_hex(o->via.str.ptr, o->via.str.size, hex);
  } else {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_object(&pk, *o);
    tide__sha256_hex(sb.data ? sb.data : "", sb.size, hex);
    msgpack_sbuffer_destroy(&sb);
  }
  msgpack_pack_str_with_body(out, hex, 64);
  return 0;
}

static int fn_concat(tide_task_ctx *ctx, const msgpack_object *args, size_t nargs,
                     msgpack_packer *out)
{
  CHECK(B_CONCAT);
  size_t total = 0;
  for (size_t i = 0; i < nargs; i++)
    total += args[i].via.bin.size;
  if (total > (size_t)tide__builtin_bytes_max())
    return tide_task_fail(ctx,
                          "tide.concat: result of %zu bytes is more than %" PRId64
                          " (limits.result-size less the msgpack header)",
                          total, tide__builtin_bytes_max());
  msgpack_pack_bin(out, total);
  for (size_t i = 0; i < nargs; i++)
    msgpack_pack_bin_body(out, args[i].via.bin.ptr, args[i].via.bin.size);
  return 0;
}

static int fn_fail(tide_task_ctx *ctx, const msgpack_object *args, size_t nargs,
                   msgpack_packer *out)
{
  CHECK(B_FAIL);
  if (nargs == 0)
    return tide_task_fail(ctx, "task failed");
  return tide_task_fail(ctx, "%.*s", (int)args[0].via.str.size, args[0].via.str.ptr);
}

static const builtin table[B__COUNT] = {
    [B_NOOP] = {"tide.noop", fn_noop, 0, -1, {K_ANY, K_ANY}, K_ANY, TIDE_FN_INLINE},
    [B_IDENTITY] = {"tide.identity", fn_identity, 1, 1, {K_ANY}, K_ANY, TIDE_FN_INLINE},
    [B_INC] = {"tide.inc", fn_inc, 1, 1, {K_INT}, K_ANY, TIDE_FN_INLINE},
    [B_ADD] = {"tide.add", fn_add, 0, -1, {K_NUM, K_NUM}, K_NUM, TIDE_FN_INLINE},
    [B_SUM] = {"tide.sum", fn_sum, 1, 1, {K_NUMS}, K_ANY, TIDE_FN_INLINE},
    [B_SLEEP] = {"tide.sleep", fn_sleep, 1, 2, {K_NUM, K_ANY}, K_ANY, 0},
    [B_SPIN] = {"tide.spin", fn_spin, 1, 1, {K_NUM}, K_ANY, 0},
    [B_BYTES] = {"tide.bytes", fn_bytes, 1, 2, {K_INT, K_INT}, K_ANY, 0},
    [B_CHECKSUM] = {"tide.checksum", fn_checksum, 1, 1, {K_ANY}, K_ANY, 0},
    [B_CONCAT] = {"tide.concat", fn_concat, 0, -1, {K_BIN, K_BIN}, K_BIN, 0},
    [B_FAIL] = {"tide.fail", fn_fail, 0, 1, {K_STR}, K_ANY, TIDE_FN_INLINE},
    [B_EXEC] = {"tide.exec", tide__builtin_exec, 1, 3, {K_ARGV, K_INPUT}, K_MAP, 0},
};

/* tide.exec on a worker not started with --allow-exec: the name stays
 * registered so such a task fails here with the reason, instead of waiting
 * for a worker that has the function. */
static int fn_exec_disabled(tide_task_ctx *ctx, const msgpack_object *args, size_t nargs,
                            msgpack_packer *out)
{
  return tide_task_fail(ctx, "tide.exec is disabled on this worker: start it with --allow-exec");
}

int tide__builtins_register(tide_registry *reg, bool allow_exec)
{
  for (int i = 0; i < B__COUNT; i++) {
    tide_task_fn fn = i == B_EXEC && !allow_exec ? fn_exec_disabled : table[i].fn;
    int rc = tide__registry_add(reg, table[i].name, fn, table[i].flags);
    if (rc != 0)
      return rc;
  }
  return 0;
}
