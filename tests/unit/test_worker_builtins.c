/* Builtins: results, argument type errors, static signature checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "worker/builtins.h"
#include "worker_testutil.h"

static tide_registry *reg;

static int setup(void **state)
{
  tide__registry_create(&reg);
  return tide__builtins_register(reg, true);
}

static int teardown(void **state)
{
  tide__registry_destroy(reg);
  return 0;
}

/* Pack an argument array from a tiny format: i=int64 d=double s=str b=bin
 * n=nil, A=array of ints (count, values...). */
static void pack_args(msgpack_sbuffer *sb, const char *fmt, ...)
{
  msgpack_packer pk;
  va_list ap;
  msgpack_sbuffer_init(sb);
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, (uint32_t)strlen(fmt));
  va_start(ap, fmt);
  for (const char *f = fmt; *f; f++) {
    switch (*f) {
    case 'i': msgpack_pack_int64(&pk, va_arg(ap, int64_t)); break;
    case 'd': msgpack_pack_double(&pk, va_arg(ap, double)); break;
    case 's': {
      const char *s = va_arg(ap, const char *);
      msgpack_pack_str_with_body(&pk, s, strlen(s));
      break;
    }
    case 'b': {
      const char *s = va_arg(ap, const char *);
      msgpack_pack_bin_with_body(&pk, s, strlen(s));
      break;
    }
    case 'n': msgpack_pack_nil(&pk); break;
    case 'A': {
      int n = va_arg(ap, int);
      msgpack_pack_array(&pk, (uint32_t)n);
      for (int i = 0; i < n; i++)
        msgpack_pack_int64(&pk, va_arg(ap, int64_t));
      break;
    }
    }
  }
  va_end(ap);
}

static call run(const char *fn, msgpack_sbuffer *sb)
{
  call c;
  call_run(reg, fn, sb, &c);
  return c;
}

static void expect_error(const char *fn, msgpack_sbuffer *sb, const char *text)
{
  call c = run(fn, sb);
  assert_int_equal(c.job.outcome, TIDE__CALL_ERRED);
  assert_non_null(c.job.error);
  assert_string_equal(c.job.error, text);
  call_free(&c);
}

static void test_inc(void **state)
{
  msgpack_sbuffer sb;
  pack_args(&sb, "i", (int64_t)41);
  call c = run("tide.inc", &sb);
  assert_int_equal(c.job.outcome, TIDE__CALL_OK);
  assert_int_equal(c.result.type, MSGPACK_OBJECT_POSITIVE_INTEGER);
  assert_int_equal(c.result.via.i64, 42);
  call_free(&c);
  pack_args(&sb, "i", (int64_t)-5);
  c = run("tide.inc", &sb);
  assert_int_equal(c.result.via.i64, -4);
  call_free(&c);
  pack_args(&sb, "s", "x");
  expect_error("tide.inc", &sb, "tide.inc: argument 1 must be an integer, got string");
  pack_args(&sb, "d", 1.5);
  expect_error("tide.inc", &sb, "tide.inc: argument 1 must be an integer, got float");
  pack_args(&sb, "");
  expect_error("tide.inc", &sb, "tide.inc takes 1 argument, got 0");
  pack_args(&sb, "ii", (int64_t)1, (int64_t)2);
  expect_error("tide.inc", &sb, "tide.inc takes 1 argument, got 2");
  pack_args(&sb, "i", INT64_MAX);
  expect_error("tide.inc", &sb, "tide.inc: integer overflow");
}

static void test_add_sum(void **state)
{
  msgpack_sbuffer sb;
  pack_args(&sb, "iii", (int64_t)1, (int64_t)2, (int64_t)-10);
  call c = run("tide.add", &sb);
  assert_int_equal(c.job.outcome, TIDE__CALL_OK);
  assert_int_equal(c.result.type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
  assert_int_equal(c.result.via.i64, -7);
  call_free(&c);
  pack_args(&sb, "id", (int64_t)1, 2.5);
  c = run("tide.add", &sb);
  assert_int_equal(c.result.type, MSGPACK_OBJECT_FLOAT64);
  assert_true(c.result.via.f64 == 3.5);
  call_free(&c);
  pack_args(&sb, "");
  c = run("tide.add", &sb);
  assert_int_equal(c.result.via.i64, 0);
  call_free(&c);
  pack_args(&sb, "is", (int64_t)1, "2");
  expect_error("tide.add", &sb, "tide.add: argument 2 must be a number, got string");
  pack_args(&sb, "ii", INT64_MAX, (int64_t)1);
  expect_error("tide.add", &sb, "tide.add: integer overflow");

  pack_args(&sb, "A", 4, (int64_t)1, (int64_t)2, (int64_t)3, (int64_t)4);
  c = run("tide.sum", &sb);
  assert_int_equal(c.job.outcome, TIDE__CALL_OK);
  assert_int_equal(c.result.via.i64, 10);
  call_free(&c);
  pack_args(&sb, "i", (int64_t)3);
  expect_error("tide.sum", &sb, "tide.sum: argument 1 must be an array of numbers, got integer");
  /* [1, "x"] */
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 1);
  msgpack_pack_array(&pk, 2);
  msgpack_pack_int(&pk, 1);
  msgpack_pack_str_with_body(&pk, "x", 1);
  expect_error("tide.sum", &sb, "tide.sum: argument 1 element 2 must be a number, got string");
}

static void test_identity_noop_fail(void **state)
{
  msgpack_sbuffer sb;
  pack_args(&sb, "s", "hello");
  call c = run("tide.identity", &sb);
  assert_int_equal(c.job.outcome, TIDE__CALL_OK);
  assert_int_equal(c.result.type, MSGPACK_OBJECT_STR);
  assert_int_equal(c.result.via.str.size, 5);
  assert_memory_equal(c.result.via.str.ptr, "hello", 5);
  call_free(&c);
  pack_args(&sb, "is", (int64_t)1, "ignored");
  c = run("tide.noop", &sb);
  assert_int_equal(c.job.outcome, TIDE__CALL_OK);
  assert_int_equal(c.result.type, MSGPACK_OBJECT_NIL);
  assert_int_equal(c.job.result_len, 1);
  call_free(&c);
  pack_args(&sb, "s", "it broke");
  expect_error("tide.fail", &sb, "it broke");
  pack_args(&sb, "i", (int64_t)3);
  expect_error("tide.fail", &sb, "tide.fail: argument 1 must be a string, got integer");
}

static void test_bytes(void **state)
{
  msgpack_sbuffer sb;
  /* splitmix64 seeded with 0 starts with 0xE220A8397B1DCDAF (little-endian) */
  pack_args(&sb, "ii", (int64_t)8, (int64_t)0);
  call c = run("tide.bytes", &sb);
  assert_int_equal(c.job.outcome, TIDE__CALL_OK);
  assert_int_equal(c.result.type, MSGPACK_OBJECT_BIN);
  assert_int_equal(c.result.via.bin.size, 8);
  const unsigned char want[8] = {0xAF, 0xCD, 0x1D, 0x7B, 0x39, 0xA8, 0x20, 0xE2};
  assert_memory_equal(c.result.via.bin.ptr, want, 8);
  call_free(&c);
  /* across the 64 KiB chunking, and an odd tail: same stream as one fill */
  size_t n = 65536 * 2 + 13;
  pack_args(&sb, "ii", (int64_t)n, (int64_t)7);
  c = run("tide.bytes", &sb);
  assert_int_equal(c.result.via.bin.size, n);
  unsigned char *ref = malloc(n);
  tide__bytes_fill(ref, n, 7);
  assert_memory_equal(c.result.via.bin.ptr, ref, n);
  /* nbytes = length of the serialization: bin32 header + n */
  assert_int_equal(c.job.result_len, n + 5);
  free(ref);
  call_free(&c);
  pack_args(&sb, "i", (int64_t)-1);
  expect_error("tide.bytes", &sb,
               "tide.bytes: length must be between 0 and 1073737723 (limits.result-size less the "
               "msgpack header), got -1");
  pack_args(&sb, "s", "10");
  expect_error("tide.bytes", &sb, "tide.bytes: argument 1 must be an integer, got string");
}

static void test_checksum_concat(void **state)
{
  msgpack_sbuffer sb;
  const char *abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  pack_args(&sb, "s", "abc");
  call c = run("tide.checksum", &sb);
  assert_int_equal(c.job.outcome, TIDE__CALL_OK);
  assert_int_equal(c.result.via.str.size, 64);
  assert_memory_equal(c.result.via.str.ptr, abc, 64);
  call_free(&c);
  pack_args(&sb, "b", "abc");
  c = run("tide.checksum", &sb);
  assert_memory_equal(c.result.via.str.ptr, abc, 64);
  call_free(&c);
  /* an integer: its msgpack serialization, the single byte 0x01 */
  pack_args(&sb, "i", (int64_t)1);
  c = run("tide.checksum", &sb);
  assert_memory_equal(c.result.via.str.ptr,
                      "4bf5122f344554c53bde2ebb8cd2b7e3d1600ad631c385a5d7cce23c7785459a", 64);
  call_free(&c);
  pack_args(&sb, "bbb", "ab", "", "cd");
  c = run("tide.concat", &sb);
  assert_int_equal(c.job.outcome, TIDE__CALL_OK);
  assert_int_equal(c.result.type, MSGPACK_OBJECT_BIN);
  assert_int_equal(c.result.via.bin.size, 4);
  assert_memory_equal(c.result.via.bin.ptr, "abcd", 4);
  call_free(&c);
  pack_args(&sb, "bs", "ab", "cd");
  expect_error("tide.concat", &sb, "tide.concat: argument 2 must be bytes, got string");
}

static double cpu_seconds(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void test_sleep_spin(void **state)
{
  msgpack_sbuffer sb;
  pack_args(&sb, "ds", 0.2, "done");
  double cpu0 = cpu_seconds();
  call c = run("tide.sleep", &sb);
  double cpu = cpu_seconds() - cpu0, sleep_cpu = cpu;
  assert_int_equal(c.job.outcome, TIDE__CALL_OK);
  assert_int_equal(c.result.type, MSGPACK_OBJECT_STR);
  assert_memory_equal(c.result.via.str.ptr, "done", 4);
  assert_true(c.job.stop - c.job.start >= 0.19);
  assert_true(cpu < 0.02); /* no CPU while sleeping */
  call_free(&c);
  pack_args(&sb, "d", -1.0);
  expect_error("tide.sleep", &sb, "tide.sleep: seconds must be between 0 and 1e9, got -1");

  pack_args(&sb, "d", 0.5);
  cpu0 = cpu_seconds();
  c = run("tide.spin", &sb);
  cpu = cpu_seconds() - cpu0;
  assert_int_equal(c.job.outcome, TIDE__CALL_OK);
  assert_int_equal(c.result.type, MSGPACK_OBJECT_NIL);
  assert_true(c.job.stop - c.job.start >= 0.49);
  /* burned CPU: on an idle core about 0.5 s. A machine shared with a
   * dozen busy processes can leave a thread a tenth of a core, so ask for
   * 0.03 s (a thread that slept would use ~0) and ten times the sleep's */
  assert_true(cpu >= 0.03);
  assert_true(cpu >= 10 * sleep_cpu);
  call_free(&c);
}

static const msgpack_object *map_get(const msgpack_object *m, const char *k)
{
  for (uint32_t i = 0; i < m->via.map.size; i++)
    if (m->via.map.ptr[i].key.via.str.size == strlen(k) &&
        memcmp(m->via.map.ptr[i].key.via.str.ptr, k, strlen(k)) == 0)
      return &m->via.map.ptr[i].val;
  return NULL;
}

/* tide.exec arguments: argv, stdin (NULL: nil when options follow, else
 * absent) and options from a format: pairs of key and a typed value,
 * b=bool i=int d=double s=string e=env map of one name and value. */
static void pack_exec(msgpack_sbuffer *sb, int n, const char **argv, const char *in,
                      const char *fmt, ...)
{
  msgpack_packer pk;
  va_list ap;
  msgpack_sbuffer_init(sb);
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, fmt ? 3 : in ? 2 : 1);
  msgpack_pack_array(&pk, (uint32_t)n);
  for (int i = 0; i < n; i++)
    msgpack_pack_str_with_body(&pk, argv[i], strlen(argv[i]));
  if (in)
    msgpack_pack_str_with_body(&pk, in, strlen(in));
  else if (fmt)
    msgpack_pack_nil(&pk);
  if (!fmt)
    return;
  msgpack_pack_map(&pk, (uint32_t)strlen(fmt));
  va_start(ap, fmt);
  for (const char *f = fmt; *f; f++) {
    const char *k = va_arg(ap, const char *), *v;
    msgpack_pack_str_with_body(&pk, k, strlen(k));
    switch (*f) {
    case 'b': va_arg(ap, int) ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk); break;
    case 'i': msgpack_pack_int64(&pk, va_arg(ap, int64_t)); break;
    case 'd': msgpack_pack_double(&pk, va_arg(ap, double)); break;
    case 's':
      v = va_arg(ap, const char *);
      msgpack_pack_str_with_body(&pk, v, strlen(v));
      break;
    case 'e':
      msgpack_pack_map(&pk, 1);
      v = va_arg(ap, const char *);
      msgpack_pack_str_with_body(&pk, v, strlen(v));
      v = va_arg(ap, const char *);
      msgpack_pack_str_with_body(&pk, v, strlen(v));
      break;
    }
  }
  va_end(ap);
}

static void assert_bin(const msgpack_object *o, const char *want)
{
  assert_non_null(o);
  assert_int_equal(o->type, MSGPACK_OBJECT_BIN);
  assert_int_equal(o->via.bin.size, strlen(want));
  assert_memory_equal(o->via.bin.ptr, want, strlen(want));
}

static char *slurp(const char *path)
{
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char *buf = calloc(1, 4096);
  fread(buf, 1, 4095, f);
  fclose(f);
  return buf;
}

static void test_exec(void **state)
{
  msgpack_sbuffer sb;
  /* by default the result is stdout as bytes */
  const char *a1[] = {"sh", "-c", "printf out; echo err >&2"};
  pack_exec(&sb, 3, a1, NULL, NULL);
  call c = run("tide.exec", &sb);
  assert_int_equal(c.job.outcome, TIDE__CALL_OK);
  assert_bin(&c.result, "out");
  call_free(&c);
  /* a non-zero exit fails the task with the rc and stderr */
  const char *a2[] = {"sh", "-c", "echo out; echo err >&2; exit 3"};
  pack_exec(&sb, 3, a2, NULL, NULL);
  expect_error("tide.exec", &sb, "tide.exec: \"sh\" exited with rc 3; stderr: err");
  /* unless check is false: then {rc, stdout, stderr} */
  pack_exec(&sb, 3, a2, NULL, "b", "check", 0);
  c = run("tide.exec", &sb);
  assert_int_equal(c.job.outcome, TIDE__CALL_OK);
  assert_int_equal(c.result.type, MSGPACK_OBJECT_MAP);
  assert_int_equal(map_get(&c.result, "rc")->via.i64, 3);
  assert_bin(map_get(&c.result, "stdout"), "out\n");
  assert_bin(map_get(&c.result, "stderr"), "err\n");
  call_free(&c);
  /* stdin larger than a pipe buffer, counted by wc -c */
  char *big = malloc(200001);
  memset(big, 'x', 200000);
  big[200000] = '\0';
  const char *a3[] = {"wc", "-c"};
  pack_exec(&sb, 2, a3, big, NULL);
  free(big);
  c = run("tide.exec", &sb);
  assert_int_equal(c.job.outcome, TIDE__CALL_OK);
  assert_int_equal(c.result.type, MSGPACK_OBJECT_BIN);
  char num[32];
  snprintf(num, sizeof num, "%.*s", (int)c.result.via.bin.size, c.result.via.bin.ptr);
  assert_int_equal(atoi(num), 200000);
  call_free(&c);
  /* stdin as bytes (what a ref to another exec's result brings) */
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 2);
  msgpack_pack_array(&pk, 2);
  msgpack_pack_str_with_body(&pk, "sort", 4);
  msgpack_pack_str_with_body(&pk, "-n", 2);
  msgpack_pack_bin_with_body(&pk, "10\n9\n100\n", 9);
  c = run("tide.exec", &sb);
  assert_int_equal(c.job.outcome, TIDE__CALL_OK);
  assert_bin(&c.result, "9\n10\n100\n");
  call_free(&c);
  const char *a4[] = {"/nonexistent/program"};
  pack_exec(&sb, 1, a4, NULL, NULL);
  expect_error("tide.exec", &sb, "tide.exec: no such program \"/nonexistent/program\"");
  pack_args(&sb, "s", "ls");
  expect_error("tide.exec", &sb,
               "tide.exec: argument 1 must be a non-empty array of strings, got string");
  pack_exec(&sb, 1, a4, NULL, "i", "nope", (int64_t)1);
  expect_error("tide.exec", &sb, "tide.exec: unknown option \"nope\"");
  pack_exec(&sb, 1, a4, NULL, "s", "check", "yes");
  expect_error("tide.exec", &sb, "tide.exec: option \"check\" must be true or false, got string");
}

static void test_exec_signal_timeout(void **state)
{
  msgpack_sbuffer sb;
  const char *a1[] = {"sh", "-c", "kill -9 $$"};
  pack_exec(&sb, 3, a1, NULL, NULL);
  expect_error("tide.exec", &sb, "tide.exec: \"sh\" was killed by signal SIGKILL (rc 137)");
  /* the overrun kills the whole process group: the background sleep
   * holding stdout open goes too, so this ends near the limit, not at 5 s */
  const char *a2[] = {"sh", "-c", "sleep 5 & sleep 5"};
  pack_exec(&sb, 3, a2, NULL, "d", "timeout", 0.3);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  expect_error("tide.exec", &sb,
               "tide.exec: \"sh\" exceeded its time limit of 0.3s and was killed");
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  assert_true(el >= 0.3 && el < 2.5);
  /* the error keeps the last 20 lines of stderr */
  const char *a3[] = {"sh", "-c", "seq 1 100 >&2; exit 2"};
  pack_exec(&sb, 3, a3, NULL, NULL);
  call c = run("tide.exec", &sb);
  assert_int_equal(c.job.outcome, TIDE__CALL_ERRED);
  assert_non_null(strstr(c.job.error, "exited with rc 2; stderr: 81 | 82 | "));
  assert_null(strstr(c.job.error, "80 |"));
  assert_non_null(strstr(c.job.error, "| 99 | 100"));
  call_free(&c);
}

static void test_exec_env_files_retries(void **state)
{
  msgpack_sbuffer sb;
  char dir[] = "/tmp/tide-exec-XXXXXX";
  assert_non_null(mkdtemp(dir));
  /* cwd, env, and the array variables; the task id is the key */
  const char *a1[] = {"sh", "-c", "echo $FOO:$TIDE_TASK_ID:$TIDE_ARRAY_INDEX:$TIDE_ENTRY; pwd"};
  pack_exec(&sb, 3, a1, NULL, "seis", "cwd", dir, "env", "FOO", "bar", "index", (int64_t)7, "entry",
            "a line");
  call c = run("tide.exec", &sb);
  assert_int_equal(c.job.outcome, TIDE__CALL_OK);
  char want[256];
  snprintf(want, sizeof want, "bar:test-key:7:a line\n%s\n", dir);
  assert_bin(&c.result, want);
  call_free(&c);
  /* outputs to files named by a pattern, relative to cwd: the result is nil */
  const char *a2[] = {"sh", "-c", "echo to-out; echo to-err >&2"};
  pack_exec(&sb, 3, a2, NULL, "sssis", "cwd", dir, "stdout", "%{JOB}-%{INDEX}.out", "stderr",
            "%{TASK}.err", "index", (int64_t)4, "job", "J9");
  c = run("tide.exec", &sb);
  assert_int_equal(c.job.outcome, TIDE__CALL_OK);
  assert_int_equal(c.result.type, MSGPACK_OBJECT_NIL);
  call_free(&c);
  char path[512];
  snprintf(path, sizeof path, "%s/J9-4.out", dir);
  char *text = slurp(path);
  assert_string_equal(text, "to-out\n");
  free(text);
  snprintf(path, sizeof path, "%s/test-key.err", dir);
  text = slurp(path);
  assert_string_equal(text, "to-err\n");
  free(text);
  /* a flaky command: fails once (leaving a marker), then succeeds */
  const char *a3[] = {"sh", "-c", "if [ -e m ]; then echo ok; else touch m; exit 1; fi"};
  pack_exec(&sb, 3, a3, NULL, "s", "cwd", dir);
  expect_error("tide.exec", &sb, "tide.exec: \"sh\" exited with rc 1");
  snprintf(path, sizeof path, "%s/m", dir);
  unlink(path);
  pack_exec(&sb, 3, a3, NULL, "si", "cwd", dir, "retries", (int64_t)2);
  c = run("tide.exec", &sb);
  assert_int_equal(c.job.outcome, TIDE__CALL_OK);
  assert_bin(&c.result, "ok\n");
  call_free(&c);
  const char *a4[] = {"sh", "-c", "exit 5"};
  pack_exec(&sb, 3, a4, NULL, "i", "retries", (int64_t)2);
  expect_error("tide.exec", &sb, "tide.exec: \"sh\" exited with rc 5 (3 tries)");
  /* an output file that cannot be written fails before anything runs */
  pack_exec(&sb, 3, a2, NULL, "s", "stdout", "/nonexistent/dir/x.out");
  expect_error(
      "tide.exec", &sb,
      "tide.exec: cannot write the stdout file /nonexistent/dir/x.out: No such file or directory");
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

static int bad_none(tide_task_ctx *ctx, const msgpack_object *a, size_t n, msgpack_packer *out)
{
  return 0;
}

static int bad_two(tide_task_ctx *ctx, const msgpack_object *a, size_t n, msgpack_packer *out)
{
  msgpack_pack_nil(out);
  msgpack_pack_nil(out);
  return 0;
}

static void test_result_count(void **state)
{
  msgpack_sbuffer sb;
  assert_int_equal(tide__registry_add(reg, "t.none", bad_none, 0), 0);
  assert_int_equal(tide__registry_add(reg, "t.two", bad_two, 0), 0);
  assert_int_equal(tide__registry_add(reg, "t.two", bad_two, 0), -EEXIST);
  pack_args(&sb, "");
  expect_error("t.none", &sb, "function returned no value");
  pack_args(&sb, "");
  expect_error("t.two", &sb, "function returned more than one value or a malformed value");
}

/* Unpack a packed array for the static checker. */
static msgpack_object unpack(msgpack_sbuffer *sb, msgpack_zone *z)
{
  msgpack_object o;
  size_t off = 0;
  msgpack_zone_init(z, 1024);
  msgpack_unpack(sb->data, sb->size, &off, z, &o);
  return o;
}

static void test_static_check(void **state)
{
  msgpack_sbuffer sb;
  msgpack_zone z;
  tide_error err;
  pack_args(&sb, "s", "x");
  msgpack_object a = unpack(&sb, &z);
  assert_int_equal(tide__builtin_check("tide.inc", a.via.array.ptr, 1, NULL, &err), TIDE_EGRAPH);
  assert_string_equal(err.text, "tide.inc: argument 1 must be an integer, got string");
  bool ref[1] = {true};
  assert_int_equal(tide__builtin_check("tide.inc", a.via.array.ptr, 1, ref, &err), 0);
  assert_int_equal(tide__builtin_check("nope.fn", a.via.array.ptr, 1, NULL, &err), TIDE_ENOTFOUND);
  assert_int_equal(tide__builtin_check("tide.inc", a.via.array.ptr, 0, NULL, &err), TIDE_EGRAPH);
  assert_string_equal(err.text, "tide.inc takes 1 argument, got 0");
  assert_int_equal(tide__builtin_check("tide.sleep", a.via.array.ptr, 1, NULL, &err), TIDE_EGRAPH);
  assert_string_equal(err.text, "tide.sleep: argument 1 must be a number, got string");
  msgpack_zone_destroy(&z);
  msgpack_sbuffer_destroy(&sb);

  /* tide.sum([1, {"ref": "k"}]) is fine; tide.sum([1, "x"]) is not */
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 2);
  msgpack_pack_array(&pk, 2);
  msgpack_pack_int(&pk, 1);
  msgpack_pack_map(&pk, 1);
  msgpack_pack_str_with_body(&pk, "ref", 3);
  msgpack_pack_str_with_body(&pk, "k", 1);
  msgpack_pack_array(&pk, 2);
  msgpack_pack_int(&pk, 1);
  msgpack_pack_str_with_body(&pk, "x", 1);
  a = unpack(&sb, &z);
  assert_int_equal(tide__builtin_check("tide.sum", &a.via.array.ptr[0], 1, NULL, &err), 0);
  assert_int_equal(tide__builtin_check("tide.sum", &a.via.array.ptr[1], 1, NULL, &err),
                   TIDE_EGRAPH);
  assert_string_equal(err.text, "tide.sum: argument 1 element 2 must be a number, got string");
  /* a ref map as a direct argument is recognised without is_ref too */
  assert_int_equal(
      tide__builtin_check("tide.inc", &a.via.array.ptr[0].via.array.ptr[1], 1, NULL, &err), 0);
  assert_true(tide__builtin_exists("tide.exec"));
  assert_false(tide__builtin_exists("tide.nope"));
  msgpack_zone_destroy(&z);
  msgpack_sbuffer_destroy(&sb);
}

static void test_registry_names(void **state)
{
  size_t n = tide__registry_count(reg);
  assert_true(n >= 12);
  assert_string_equal(tide__registry_name(reg, 0), "tide.noop");
  assert_string_equal(tide__registry_name(reg, 11), "tide.exec");
  unsigned flags;
  assert_non_null(tide__registry_find(reg, "tide.inc", 8, &flags));
  assert_int_equal(flags, TIDE_FN_INLINE);
  assert_null(tide__registry_find(reg, "tide.in", 7, &flags));
}

/* Without allow_exec, tide.exec is still registered (so the task is placed
 * and fails with the reason) and every other builtin is unchanged. */
static void test_exec_disabled(void **state)
{
  tide_registry *off;
  tide__registry_create(&off);
  assert_int_equal(tide__builtins_register(off, false), 0);
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 1);
  msgpack_pack_array(&pk, 1);
  msgpack_pack_str_with_body(&pk, "true", 4);
  call c;
  call_run(off, "tide.exec", &sb, &c);
  assert_int_equal(c.job.outcome, TIDE__CALL_ERRED);
  assert_string_equal(c.job.error,
                      "tide.exec is disabled on this worker: start it with --allow-exec");
  call_free(&c);
  msgpack_sbuffer_destroy(&sb);
  pack_args(&sb, "i", (int64_t)41);
  call_run(off, "tide.inc", &sb, &c);
  assert_int_equal(c.job.outcome, TIDE__CALL_OK);
  call_free(&c);
  msgpack_sbuffer_destroy(&sb);
  tide__registry_destroy(off);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_inc),
      cmocka_unit_test(test_add_sum),
      cmocka_unit_test(test_identity_noop_fail),
      cmocka_unit_test(test_bytes),
      cmocka_unit_test(test_checksum_concat),
      cmocka_unit_test(test_sleep_spin),
      cmocka_unit_test(test_exec),
      cmocka_unit_test(test_exec_signal_timeout),
      cmocka_unit_test(test_exec_env_files_retries),
      cmocka_unit_test(test_result_count),
      cmocka_unit_test(test_static_check),
      cmocka_unit_test(test_registry_names),
      cmocka_unit_test(test_exec_disabled),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
