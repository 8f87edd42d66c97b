/* Throwaway CA and certificate (certs.h) with OpenSSL's EVP and X509 API. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/util.h"
#include "net/certs.h"

static EVP_PKEY *new_key(void)
{
  return EVP_EC_gen("P-256");
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
  X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
  if (!ex)
    return -1;
  int ok = X509_add_ext(cert, ex, -1);
  X509_EXTENSION_free(ex);
  return ok ? 0 : -1;
}

/* A certificate for key named cn, signed by issuer/ikey (NULL: itself). */
static X509 *make_cert(const char *cn, int days, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
                       bool ca)
{
  X509 *x = X509_new();
  unsigned char serial[16];
  BIGNUM *bn = NULL;
  if (!x || RAND_bytes(serial, sizeof serial) != 1)
    goto fail;
  serial[0] &= 0x7f; /* positive */
  bn = BN_bin2bn(serial, sizeof serial, NULL);
  if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
    goto fail;
  X509_set_version(x, 2); /* v3 */
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400);
  X509_set_pubkey(x, key);
  X509_NAME *name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"tide", -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
  X509 *iss = issuer ? issuer : x;
  if (ca) {
    if (add_ext(x, iss, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
        add_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
        add_ext(x, iss, NID_subject_key_identifier, "hash") < 0)
      goto fail;
  } else {
    /* one certificate for every role: servers and clients alike */
    if (add_ext(x, iss, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
        add_ext(x, iss, NID_key_usage, "critical,digitalSignature,keyAgreement") < 0 ||
        add_ext(x, iss, NID_ext_key_usage, "serverAuth,clientAuth") < 0 ||
        add_ext(x, iss, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1") < 0 ||
        add_ext(x, iss, NID_authority_key_identifier, "keyid:always") < 0)
      goto fail;
  }
  if (X509_sign(x, ikey ? ikey : key, EVP_sha256()) == 0)
    goto fail;
  BN_free(bn);
  return x;
fail:
  BN_free(bn);
  X509_free(x);
  return NULL;
}

/* PEM text of x or key (one of them) as a malloc'd string. */
static char *to_pem(X509 *x, EVP_PKEY *key)
{
  BIO *b = BIO_new(BIO_s_mem());
  if (!b)
    return NULL;
  int ok =
      x ? PEM_write_bio_X509(b, x) : PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
  char *s = NULL, *data;
  long n = BIO_get_mem_data(b, &data);
  if (ok && n > 0)
    s = tide__xstrndup(data, (size_t)n);
  BIO_free(b);
  return s;
}

int tide__certs_generate(const char *cn, int days, tide__certs *out, tide_error *err)
{
  memset(out, 0, sizeof *out);
  EVP_PKEY *ca_key = new_key(), *key = new_key();
  X509 *ca = NULL, *cert = NULL;
  if (ca_key && key)
    ca = make_cert("tide temporary CA", days, ca_key, NULL, NULL, true);
  if (ca)
    cert = make_cert(cn, days, key, ca, ca_key, false);
  if (cert) {
    out->ca_pem = to_pem(ca, NULL);
    out->cert_pem = to_pem(cert, NULL);
    out->key_pem = to_pem(NULL, key);
  }
  X509_free(ca);
  X509_free(cert);
  EVP_PKEY_free(ca_key);
  EVP_PKEY_free(key);
  if (!out->ca_pem || !out->cert_pem || !out->key_pem) {
    unsigned long e = ERR_get_error();
    const char *why = e ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    tide__certs_free(out);
    return tide_errprintf(err, -EIO, "cannot generate temporary certificates: %s",
                          why ? why : "OpenSSL failed");
  }
  return 0;
}

void tide__certs_free(tide__certs *c)
{
  if (!c)
    return;
  free(c->ca_pem);
  free(c->cert_pem);
  free(c->key_pem);
  memset(c, 0, sizeof *c);
}

static int write_file(const char *dir, const char *name, const char *text, tide_error *err)
{
  char *path = tide__xasprintf("%s/%s", dir, name);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  size_t n = strlen(text);
  int e = 0;
  if (fd < 0 || write(fd, text, n) != (ssize_t)n)
    e = errno ? errno : EIO;
  if (fd >= 0 && close(fd) != 0 && !e)
    e = errno;
  int rc = 0;
  if (e)
    rc = tide_errprintf(err, -e, "cannot write %s: %s", path, strerror(e));
  free(path);
  return rc;
}

int tide__certs_write(const tide__certs *c, const char *dir, tide_error *err)
{
  int rc = write_file(dir, "ca.pem", c->ca_pem, err);
  if (rc == 0)
    rc = write_file(dir, "cert.pem", c->cert_pem, err);
  if (rc == 0)
    rc = write_file(dir, "key.pem", c->key_pem, err);
  return rc;
}
