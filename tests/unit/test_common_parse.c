/* Durations, sizes, counts, numbers, addresses: table-driven. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/parse.h"

static void test_duration(void **state)
{
  static const struct {
    const char *s;
    double want;
  } ok[] = {
      {"250ms", 0.25}, {"1.5s", 1.5}, {"5m", 300},  {"1h", 3600},    {"2d", 172800},
      {"10", 10},      {"0", 0},      {"0.5", 0.5}, {"90s", 90},     {"100us", 1e-4},
      {"3min", 180},   {"1 s", 1},    {"2H", 7200}, {"15MS", 0.015},
  };
  static const char *bad[] = {"",    "s",      "abc", "-1s",   "5x",  "1.5.2s",
                              "inf", "1e999s", "nan", "5m30s", "0x10"};
  tide_error err;
  double v;
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    assert_int_equal(tide__parse_duration(ok[i].s, false, &v, &err), 0);
    if (fabs(v - ok[i].want) > 1e-12)
      fail_msg("%s -> %g, want %g", ok[i].s, v, ok[i].want);
  }
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (tide__parse_duration(bad[i], false, &v, &err) != TIDE_EUSAGE)
      fail_msg("\"%s\" accepted", bad[i]);
    assert_non_null(strstr(err.text, "duration"));
  }
  assert_int_equal(tide__parse_duration("inf", true, &v, &err), 0);
  assert_true(isinf(v));
  assert_int_equal(tide__parse_duration(".inf", true, &v, &err), 0);
  assert_int_equal(tide__parse_duration(NULL, true, &v, &err), TIDE_EUSAGE);
}

/* Every sbatch -t form with its exact seconds, tide durations, and the
 * malformed or out-of-range ones, each refused with the accepted forms. */
static void test_walltime(void **state)
{
  static const struct {
    const char *s;
    double want;
  } ok[] = {
      {"10", 600},
      {"0", 0},
      {"90", 5400},
      {"1440", 86400}, /* MM */
      {"10:30", 630},
      {"90:00", 5400},
      {"0:59", 59}, /* MM:SS */
      {"00:10:00", 600},
      {"1:02:03", 3723},
      {"48:00:00", 172800}, /* HH:MM:SS */
      {"2-0", 172800},
      {"1-12", 129600},
      {"0-1", 3600}, /* D-HH */
      {"1-02:30", 95400},
      {"3-23:59", 345540}, /* D-HH:MM */
      {"1-02:03:04", 93784},
      {"0-00:00:30", 30},
      {"7-00:00:00", 604800}, /* D-HH:MM:SS */
      {"30m", 1800},
      {"1h", 3600},
      {"90s", 90},
      {"1.5h", 5400},
      {"2d", 172800}, /* durations */
  };
  static const char *bad[] = {
      "",        "abc",  "-1",     "1-",         "-",    "1-2:3:4:5", "1:2:3:4", "1:60", "1:60:00",
      "1:00:60", "1-24", "1-1:60", "1-1:1:60",   "1--2", "1-2-3",     ":",       "1:",   ":1",
      "1::2",    " 1",   "1 ",     "1.5",        "1e3",  "+5",        "1:-2",    "a-1",  "1-a",
      "1:2x",    "5x",   "-5m",    "1234567890", "0x10", "inf",
  };
  tide_error err;
  double v;
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    if (tide__parse_walltime(ok[i].s, &v, &err) != 0)
      fail_msg("\"%s\" refused: %s", ok[i].s, err.text);
    if (v != ok[i].want)
      fail_msg("%s -> %g, want %g", ok[i].s, v, ok[i].want);
  }
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (tide__parse_walltime(bad[i], &v, &err) != TIDE_EUSAGE)
      fail_msg("\"%s\" accepted as %g", bad[i], v);
    assert_non_null(strstr(err.text, "walltime"));
    assert_non_null(strstr(err.text, "D-HH:MM:SS"));
  }
  assert_int_equal(tide__parse_walltime(NULL, &v, &err), TIDE_EUSAGE);
}

static void test_size(void **state)
{
  static const struct {
    const char *s;
    int64_t want;
  } ok[] = {
      {"512MiB", 512LL << 20},
      {"2GB", 2000000000LL},
      {"1.5GiB", 3LL << 29},
      {"100MB", 100000000LL},
      {"123", 123},
      {"0", 0},
      {"1k", 1000},
      {"1kB", 1000},
      {"4KiB", 4096},
      {"1Ti", 1LL << 40},
      {"10B", 10},
      {"2 GiB", 2LL << 30},
      {"1mb", 1000000},
      {"1gib", 1LL << 30},
  };
  static const char *bad[] = {"", "GiB", "-1", "5XB", "1e30", "12 34", "inf"};
  tide_error err;
  int64_t v;
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    if (tide__parse_size(ok[i].s, &v, &err) != 0 || v != ok[i].want)
      fail_msg("%s -> %lld, want %lld", ok[i].s, (long long)v, (long long)ok[i].want);
  }
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (tide__parse_size(bad[i], &v, &err) != TIDE_EUSAGE)
      fail_msg("\"%s\" accepted", bad[i]);
    assert_non_null(strstr(err.text, bad[i]));
  }
}

static void test_count_number(void **state)
{
  tide_error err;
  double v;
  assert_int_equal(tide__parse_count("7", false, &v, &err), 0);
  assert_true(v == 7);
  assert_int_equal(tide__parse_count("0", false, &v, &err), 0);
  assert_int_equal(tide__parse_count("inf", true, &v, &err), 0);
  assert_true(isinf(v));
  assert_int_equal(tide__parse_count(".inf", true, &v, &err), 0);
  assert_int_equal(tide__parse_count("inf", false, &v, &err), TIDE_EUSAGE);
  assert_int_equal(tide__parse_count("-1", false, &v, &err), TIDE_EUSAGE);
  assert_int_equal(tide__parse_count("1.5", false, &v, &err), TIDE_EUSAGE);
  assert_int_equal(tide__parse_count("", false, &v, &err), TIDE_EUSAGE);
  assert_int_equal(tide__parse_count("3x", true, &v, &err), TIDE_EUSAGE);
  assert_non_null(strstr(err.text, "or inf"));

  assert_int_equal(tide__parse_number("0.6", &v, &err), 0);
  assert_true(v == 0.6);
  assert_int_equal(tide__parse_number("-2.5", &v, &err), 0);
  assert_true(v == -2.5);
  assert_int_equal(tide__parse_number("inf", &v, &err), TIDE_EUSAGE);
  assert_int_equal(tide__parse_number("nan", &v, &err), TIDE_EUSAGE);
  assert_int_equal(tide__parse_number("0.6x", &v, &err), TIDE_EUSAGE);
  assert_int_equal(tide__parse_number("", &v, &err), TIDE_EUSAGE);
}

static void test_address(void **state)
{
  static const struct {
    const char *s;
    const char *host;
    int port;
  } ok[] = {
      {"tcp://127.0.0.1:8786", "127.0.0.1", 8786},
      {"localhost:0", "localhost", 0},
      {"tcp://[::1]:9000", "::1", 9000},
      {"tcp://node-3.cluster:65535", "node-3.cluster", 65535},
      {"tls://127.0.0.1:8786", "127.0.0.1", 8786},
  };
  static const char *bad[] = {"",           "tcp://",  "tcp://host", "host:",     "tcp://:80",
                              "host:70000", "host:-1", "tls://",     "udp://h:1", "host:12ab"};
  char host[64];
  int port;
  tide_error err;
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    assert_int_equal(tide__parse_address(ok[i].s, host, sizeof host, &port, &err), 0);
    assert_string_equal(host, ok[i].host);
    assert_int_equal(port, ok[i].port);
  }
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (tide__parse_address(bad[i], host, sizeof host, &port, &err) != TIDE_EUSAGE)
      fail_msg("\"%s\" accepted", bad[i]);
  assert_int_equal(tide__parse_address(NULL, host, sizeof host, &port, &err), TIDE_EUSAGE);
  /* A host longer than the buffer is refused, not truncated. */
  char small[4];
  assert_int_equal(tide__parse_address("tcp://abcdef:1", small, sizeof small, &port, &err),
                   TIDE_EUSAGE);
}

static void test_format_size(void **state)
{
  char buf[32];
  tide__format_size(0, buf, sizeof buf);
  assert_string_equal(buf, "0.00 B");
  tide__format_size(8LL << 30, buf, sizeof buf);
  assert_string_equal(buf, "8.00 GiB");
  tide__format_size(1536, buf, sizeof buf);
  assert_string_equal(buf, "1.50 KiB");
  tide__format_size(1LL << 52, buf, sizeof buf);
  assert_string_equal(buf, "4096.00 TiB");
}

static void test_contact_address(void **state)
{
  char out[128];
  tide_error err;
  /* no contact: the bound address, a wildcard host replaced */
  assert_int_equal(
      tide__contact_address("tcp://10.0.0.5:8786", NULL, "192.0.2.9", out, sizeof out, &err), 0);
  assert_string_equal(out, "tcp://10.0.0.5:8786");
  assert_int_equal(
      tide__contact_address("tcp://0.0.0.0:4000", NULL, "192.0.2.9", out, sizeof out, &err), 0);
  assert_string_equal(out, "tcp://192.0.2.9:4000");
  assert_int_equal(tide__contact_address("tcp://[::]:4000", "", "::1", out, sizeof out, &err), 0);
  assert_string_equal(out, "tcp://[::1]:4000");
  /* a contact: full, without scheme, or a bare host keeping the bound port */
  assert_int_equal(tide__contact_address("tcp://0.0.0.0:4000", "tcp://203.0.113.7:30000", "x", out,
                                         sizeof out, &err),
                   0);
  assert_string_equal(out, "tcp://203.0.113.7:30000");
  assert_int_equal(
      tide__contact_address("tcp://0.0.0.0:4000", "gw.example:31", "x", out, sizeof out, &err), 0);
  assert_string_equal(out, "tcp://gw.example:31");
  assert_int_equal(
      tide__contact_address("tcp://0.0.0.0:4000", "10.1.2.3", "x", out, sizeof out, &err), 0);
  assert_string_equal(out, "tcp://10.1.2.3:4000");
  assert_int_equal(
      tide__contact_address("tcp://0.0.0.0:4000", "fd00::7", "x", out, sizeof out, &err), 0);
  assert_string_equal(out, "tcp://[fd00::7]:4000");
  /* a TLS server keeps its scheme, with or without a contact address */
  assert_int_equal(
      tide__contact_address("tls://0.0.0.0:4000", NULL, "192.0.2.9", out, sizeof out, &err), 0);
  assert_string_equal(out, "tls://192.0.2.9:4000");
  assert_int_equal(
      tide__contact_address("tls://0.0.0.0:4000", "10.1.2.3", "x", out, sizeof out, &err), 0);
  assert_string_equal(out, "tls://10.1.2.3:4000");
  assert_int_equal(
      tide__contact_address("tls://0.0.0.0:4000", "tls://gw:31", "x", out, sizeof out, &err), 0);
  assert_string_equal(out, "tls://gw:31");
  assert_int_equal(
      tide__contact_address("tls://0.0.0.0:4000", "tcp://gw:31", "x", out, sizeof out, &err),
      TIDE_EUSAGE);
  /* refused: nothing others could dial */
  const char *bad[] = {"0.0.0.0", "tcp://0.0.0.0:5", "h:0", "h:x", "tls://h:5", "tcp://"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(
        tide__contact_address("tcp://0.0.0.0:4000", bad[i], "x", out, sizeof out, &err),
        TIDE_EUSAGE);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_duration),    cmocka_unit_test(test_walltime),
      cmocka_unit_test(test_size),        cmocka_unit_test(test_count_number),
      cmocka_unit_test(test_address),     cmocka_unit_test(test_contact_address),
      cmocka_unit_test(test_format_size),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
