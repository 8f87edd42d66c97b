/* Shared-token challenge-response with OpenSSL's libcrypto. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "proto/auth.h"

static const char *const side_label[] = {"tide-auth-1 connect", "tide-auth-1 accept"};

int tide__auth_set(tide__auth *a, const char *token, size_t len, tide_error *err)
{
  while (len > 0 && (token[len - 1] == '\n' || token[len - 1] == '\r' || token[len - 1] == ' ' ||
                     token[len - 1] == '\t'))
    len--;
  memset(a, 0, sizeof *a);
  if (len == 0)
    return tide_errprintf(err, TIDE_EUSAGE, "the authentication token is empty");
  if (len > TIDE_AUTH_TOKEN_MAX)
    return tide_errprintf(err, TIDE_EUSAGE,
                          "the authentication token is longer than %d bytes (%zu)",
                          TIDE_AUTH_TOKEN_MAX, len);
  memcpy(a->key, token, len);
  a->len = len;
  return 0;
}

int tide__auth_load(tide__auth *a, const char *path, tide_error *err)
{
  char buf[TIDE_AUTH_TOKEN_MAX + 2];
  FILE *fp = fopen(path, "r");
  if (!fp) {
    int e = errno;
    return tide_errprintf(err, -e, "cannot read token file %s: %s", path, strerror(e));
  }
  size_t n = fread(buf, 1, sizeof buf - 1, fp);
  fclose(fp);
  buf[n] = '\0';
  n = strcspn(buf, "\n");
  int rc = tide__auth_set(a, buf, n, err);
  OPENSSL_cleanse(buf, sizeof buf);
  if (rc < 0)
    return tide_errprintf(err, rc, "token file %s: %s", path, err ? err->text : "bad token");
  return 0;
}

int tide__auth_nonce(unsigned char nonce[TIDE_AUTH_NONCE], tide_error *err)
{
  if (RAND_bytes(nonce, TIDE_AUTH_NONCE) != 1)
    return tide_errprintf(err, -EIO, "no random bytes from OpenSSL");
  return 0;
}

int tide__auth_generate(char out[2 * TIDE_AUTH_NONCE + 1], tide_error *err)
{
  unsigned char raw[TIDE_AUTH_NONCE];
  int rc = tide__auth_nonce(raw, err);
  if (rc < 0)
    return rc;
  for (int i = 0; i < TIDE_AUTH_NONCE; i++)
    snprintf(out + 2 * i, 3, "%02x", raw[i]);
  OPENSSL_cleanse(raw, sizeof raw);
  return 0;
}

void tide__hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
                       unsigned char out[TIDE_AUTH_MAC])
{
  unsigned int n = TIDE_AUTH_MAC;
  HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &n);
}

void tide__auth_mac(const tide__auth *a, tide__auth_side side,
                    const unsigned char snonce[TIDE_AUTH_NONCE],
                    const unsigned char cnonce[TIDE_AUTH_NONCE], unsigned char out[TIDE_AUTH_MAC])
{
  unsigned char msg[32 + 2 * TIDE_AUTH_NONCE];
  size_t l = strlen(side_label[side]);
  memcpy(msg, side_label[side], l);
  memcpy(msg + l, snonce, TIDE_AUTH_NONCE);
  memcpy(msg + l + TIDE_AUTH_NONCE, cnonce, TIDE_AUTH_NONCE);
  tide__hmac_sha256(a->key, a->len, msg, l + 2 * TIDE_AUTH_NONCE, out);
}

bool tide__auth_verify(const tide__auth *a, tide__auth_side side,
                       const unsigned char snonce[TIDE_AUTH_NONCE],
                       const unsigned char cnonce[TIDE_AUTH_NONCE], const void *mac, size_t len)
{
  unsigned char want[TIDE_AUTH_MAC];
  if (a->len == 0 || len != TIDE_AUTH_MAC)
    return false;
  tide__auth_mac(a, side, snonce, cnonce, want);
  return CRYPTO_memcmp(want, mac, TIDE_AUTH_MAC) == 0;
}
