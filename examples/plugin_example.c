/* Example plugin: three functions registered under "example.*".
 * Build: cc -shared -fPIC plugin_example.c -o libplugin_example.so $(pkg-config --cflags --libs tide)
 * Use:   tide worker ADDRESS --preload ./libplugin_example.so
 *        tide cluster --adapt --preload $PWD/libplugin_example.so
 * (docs/plugins.md walks through it) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <tide/task.h>

static int want_int(tide_task_ctx *ctx, const char *fn, const msgpack_object *o, int i,
                    int64_t *out)
{
  if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX) {
    *out = (int64_t)o->via.u64;
    return 0;
  }
  if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
    *out = o->via.i64;
    return 0;
  }
  return tide_task_fail(ctx, "%s: argument %d must be an integer", fn, i);
}

/* example.square: integer -> integer * integer */
static int square(tide_task_ctx *ctx, const msgpack_object *args, size_t nargs, msgpack_packer *out)
{
  int64_t x = 0, r;
  if (nargs != 1)
    return tide_task_fail(ctx, "example.square takes 1 argument, got %zu", nargs);
  if (want_int(ctx, "example.square", &args[0], 1, &x) != 0)
    return -1;
  if (__builtin_mul_overflow(x, x, &r))
    return tide_task_fail(ctx, "example.square: %lld * %lld overflows", (long long)x, (long long)x);
  msgpack_pack_int64(out, r);
  return 0;
}

/* example.repeat: string, n -> the string repeated n times */
static int repeat(tide_task_ctx *ctx, const msgpack_object *args, size_t nargs, msgpack_packer *out)
{
  int64_t n = 0;
  if (nargs != 2)
    return tide_task_fail(ctx, "example.repeat takes 2 arguments, got %zu", nargs);
  if (args[0].type != MSGPACK_OBJECT_STR)
    return tide_task_fail(ctx, "example.repeat: argument 1 must be a string");
  if (want_int(ctx, "example.repeat", &args[1], 2, &n) != 0)
    return -1;
  size_t len = args[0].via.str.size;
  if (n < 0 || (len && (uint64_t)n > (64u << 20) / len))
    return tide_task_fail(ctx, "example.repeat: count %lld out of range", (long long)n);
  msgpack_pack_str(out, len * (size_t)n);
  for (int64_t i = 0; i < n; i++)
    msgpack_pack_str_body(out, args[0].via.str.ptr, len);
  return 0;
}

/* example.fail_if_negative: number -> the number, or an error when < 0 */
static int fail_if_negative(tide_task_ctx *ctx, const msgpack_object *args, size_t nargs,
                            msgpack_packer *out)
{
  if (nargs != 1)
    return tide_task_fail(ctx, "example.fail_if_negative takes 1 argument, got %zu", nargs);
  const msgpack_object *o = &args[0];
  int neg =
      o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ||
      ((o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64) && o->via.f64 < 0);
  if (neg)
    return tide_task_fail(ctx, "example.fail_if_negative: task %s got a negative number",
                          tide_task_key(ctx));
  if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
    msgpack_pack_uint64(out, o->via.u64);
  else if (o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64)
    msgpack_pack_double(out, o->via.f64);
  else
    return tide_task_fail(ctx, "example.fail_if_negative: argument 1 must be a number");
  return 0;
}

int tide_plugin_init(tide_registry *reg)
{
  if (tide_register(reg, "example.square", square) != 0 ||
      tide_register(reg, "example.repeat", repeat) != 0 ||
      tide_register(reg, "example.fail_if_negative", fail_if_negative) != 0)
    return -1;
  return 0;
}
