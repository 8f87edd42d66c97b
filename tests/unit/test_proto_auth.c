/* The pure parts of the token challenge-response: HMAC-SHA256 against RFC
 * 4231's known answers, MACs that verify only for the right token, side and
 * nonces, token files and generated tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/auth.h"

static void hex(const unsigned char *p, size_t n, char *out)
{
  for (size_t i = 0; i < n; i++)
    sprintf(out + 2 * i, "%02x", p[i]);
}

/* RFC 4231 test cases 1 and 2. */
static void test_hmac_known_answers(void **state)
{
  unsigned char key[20], mac[TIDE_AUTH_MAC];
  char h[2 * TIDE_AUTH_MAC + 1];
  memset(key, 0x0b, sizeof key);
  tide__hmac_sha256(key, sizeof key, "Hi There", 8, mac);
  hex(mac, sizeof mac, h);
  assert_string_equal(h, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  tide__hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
  hex(mac, sizeof mac, h);
  assert_string_equal(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

/* The MAC is HMAC(token, label || snonce || cnonce), checked here against
 * the plain HMAC of the same bytes. */
static void test_mac_layout(void **state)
{
  tide__auth a;
  unsigned char sn[TIDE_AUTH_NONCE], cn[TIDE_AUTH_NONCE], mac[TIDE_AUTH_MAC], want[TIDE_AUTH_MAC];
  unsigned char msg[19 + 2 * TIDE_AUTH_NONCE];
  assert_int_equal(tide__auth_set(&a, "s3cret\n", 7, NULL), 0);
  assert_int_equal(a.len, 6);
  memset(sn, 1, sizeof sn);
  memset(cn, 2, sizeof cn);
  memcpy(msg, "tide-auth-1 connect", 19);
  memcpy(msg + 19, sn, sizeof sn);
  memcpy(msg + 19 + sizeof sn, cn, sizeof cn);
  tide__hmac_sha256("s3cret", 6, msg, sizeof msg, want);
  tide__auth_mac(&a, TIDE_AUTH_CONNECT, sn, cn, mac);
  assert_memory_equal(mac, want, sizeof mac);
}

static void test_verify(void **state)
{
  tide__auth a, b, off = {0};
  unsigned char sn[TIDE_AUTH_NONCE], cn[TIDE_AUTH_NONCE], mac[TIDE_AUTH_MAC];
  assert_int_equal(tide__auth_set(&a, "token-a", 7, NULL), 0);
  assert_int_equal(tide__auth_set(&b, "token-b", 7, NULL), 0);
  assert_int_equal(tide__auth_nonce(sn, NULL), 0);
  assert_int_equal(tide__auth_nonce(cn, NULL), 0);
  assert_memory_not_equal(sn, cn, sizeof sn);
  tide__auth_mac(&a, TIDE_AUTH_CONNECT, sn, cn, mac);
  assert_true(tide__auth_verify(&a, TIDE_AUTH_CONNECT, sn, cn, mac, sizeof mac));
  assert_false(tide__auth_verify(&b, TIDE_AUTH_CONNECT, sn, cn, mac, sizeof mac)); /* token */
  assert_false(tide__auth_verify(&a, TIDE_AUTH_ACCEPT, sn, cn, mac, sizeof mac));  /* side */
  assert_false(tide__auth_verify(&a, TIDE_AUTH_CONNECT, cn, sn, mac, sizeof mac)); /* nonces */
  assert_false(tide__auth_verify(&a, TIDE_AUTH_CONNECT, sn, cn, mac, sizeof mac - 1));
  assert_false(tide__auth_verify(&off, TIDE_AUTH_CONNECT, sn, cn, mac, sizeof mac));
  mac[31] ^= 1;
  assert_false(tide__auth_verify(&a, TIDE_AUTH_CONNECT, sn, cn, mac, sizeof mac));
}

static void test_tokens(void **state)
{
  tide__auth a;
  tide_error err;
  char t1[2 * TIDE_AUTH_NONCE + 1], t2[2 * TIDE_AUTH_NONCE + 1];
  assert_int_equal(tide__auth_set(&a, " \n", 2, &err), TIDE_EUSAGE);
  char big[TIDE_AUTH_TOKEN_MAX + 1];
  memset(big, 'x', sizeof big);
  assert_int_equal(tide__auth_set(&a, big, sizeof big, &err), TIDE_EUSAGE);
  assert_int_equal(tide__auth_set(&a, big, TIDE_AUTH_TOKEN_MAX, &err), 0);
  assert_int_equal(tide__auth_generate(t1, NULL), 0);
  assert_int_equal(tide__auth_generate(t2, NULL), 0);
  assert_int_equal(strlen(t1), 64);
  assert_int_equal(strspn(t1, "0123456789abcdef"), 64);
  assert_string_not_equal(t1, t2);

  char path[] = "/tmp/tide-test-token-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "abc\nsecond line\n", 16), 16);
  close(fd);
  assert_int_equal(tide__auth_load(&a, path, &err), 0);
  assert_int_equal(a.len, 3); /* the first line, without its newline */
  assert_memory_equal(a.key, "abc", 3);
  unlink(path);
  assert_true(tide__auth_load(&a, path, &err) < 0);
  assert_non_null(strstr(err.text, path));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hmac_known_answers),
      cmocka_unit_test(test_mac_layout),
      cmocka_unit_test(test_verify),
      cmocka_unit_test(test_tokens),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
