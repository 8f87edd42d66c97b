/* Throwaway certificates: the certificate verifies against its CA and not
 * against another, the key matches it, the files are owner-only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "net/certs.h"

static X509 *cert_of(const char *pem)
{
  BIO *b = BIO_new_mem_buf(pem, -1);
  X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
  BIO_free(b);
  assert_non_null(x);
  return x;
}

/* 1 when cert verifies against ca (a chain check, as a TLS peer does). */
static int verifies(const char *ca_pem, const char *cert_pem)
{
  X509 *ca = cert_of(ca_pem), *cert = cert_of(cert_pem);
  X509_STORE *st = X509_STORE_new();
  X509_STORE_add_cert(st, ca);
  X509_STORE_CTX *ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, st, cert, NULL);
  int ok = X509_verify_cert(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(st);
  X509_free(ca);
  X509_free(cert);
  return ok;
}

static void test_generate(void **state)
{
  tide__certs a, b;
  tide_error err;
  assert_int_equal(tide__certs_generate("tide test", 2, &a, &err), 0);
  assert_int_equal(tide__certs_generate("tide test", 2, &b, &err), 0);
  assert_int_equal(verifies(a.ca_pem, a.cert_pem), 1);
  assert_int_equal(verifies(b.ca_pem, b.cert_pem), 1);
  assert_int_not_equal(verifies(a.ca_pem, b.cert_pem), 1);
  /* the key is the certificate's, not the other one's */
  BIO *kb = BIO_new_mem_buf(a.key_pem, -1);
  EVP_PKEY *key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
  BIO_free(kb);
  assert_non_null(key);
  X509 *ca = cert_of(a.cert_pem), *cb = cert_of(b.cert_pem);
  assert_int_equal(X509_check_private_key(ca, key), 1);
  assert_int_equal(X509_check_private_key(cb, key), 0);
  /* EC P-256, valid for the days asked */
  assert_int_equal(EVP_PKEY_get_bits(key), 256);
  int days = -1, secs = 0;
  ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(ca));
  assert_true(days == 1 || (days == 2 && secs == 0));
  X509_free(ca);
  X509_free(cb);
  EVP_PKEY_free(key);
  tide__certs_free(&a);
  tide__certs_free(&b);
}

static void test_write_owner_only(void **state)
{
  tide__certs a;
  tide_error err;
  char dir[64], p[128];
  struct stat st;
  snprintf(dir, sizeof dir, "/tmp/tide-certs-test-%d", (int)getpid());
  assert_int_equal(mkdir(dir, 0700), 0);
  assert_int_equal(tide__certs_generate("x", 1, &a, &err), 0);
  assert_int_equal(tide__certs_write(&a, dir, &err), 0);
  const char *files[3] = {"ca.pem", "cert.pem", "key.pem"};
  for (int i = 0; i < 3; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, files[i]);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_true(st.st_size > 100);
    unlink(p);
  }
  rmdir(dir);
  /* a directory that is not there: an error naming the file */
  assert_true(tide__certs_write(&a, "/nonexistent-dir", &err) < 0);
  assert_non_null(strstr(err.text, "/nonexistent-dir/ca.pem"));
  tide__certs_free(&a);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_generate),
      cmocka_unit_test(test_write_owner_only),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
