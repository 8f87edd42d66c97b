/* Shared-token authentication (docs/security.md): the pure parts of the
 * challenge-response that src/net runs inside the handshake. The token is
 * never sent: the accepting side sends a random nonce, the connecting side
 * answers with its own nonce and HMAC-SHA256(token, "tide-auth-1 connect" ||
 * server nonce || client nonce), and the accepting side proves the token
 * back with the same MAC over "tide-auth-1 accept". No I/O but reading the
 * token file. */
#ifndef TIDE_PROTO_AUTH_H
#define TIDE_PROTO_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "tide/error.h"

enum {
  TIDE_AUTH_TOKEN_MAX = 256, /* bytes of a token */
  TIDE_AUTH_NONCE = 32,      /* bytes of each nonce */
  TIDE_AUTH_MAC = 32,        /* HMAC-SHA256 */
};

/* A token; len 0 = authentication off. */
typedef struct tide__auth {
  size_t len;
  unsigned char key[TIDE_AUTH_TOKEN_MAX];
} tide__auth;

/* Which side a MAC proves: the connecting one or the accepting one (so a
 * MAC of one side can never be replayed as the other's). */
typedef enum tide__auth_side { TIDE_AUTH_CONNECT = 0, TIDE_AUTH_ACCEPT } tide__auth_side;

/* Set a from a token string (trailing whitespace dropped). TIDE_EUSAGE when
 * it is empty or longer than TIDE_AUTH_TOKEN_MAX. */
int tide__auth_set(tide__auth *a, const char *token, size_t len, tide_error *err);
/* Read the token from a file (its first line); err names the file. */
int tide__auth_load(tide__auth *a, const char *path, tide_error *err);
/* A fresh random token as 64 hex characters plus NUL. */
int tide__auth_generate(char out[2 * TIDE_AUTH_NONCE + 1], tide_error *err);
/* Fill a nonce with random bytes. */
int tide__auth_nonce(unsigned char nonce[TIDE_AUTH_NONCE], tide_error *err);
/* The MAC of side over the two nonces. */
void tide__auth_mac(const tide__auth *a, tide__auth_side side,
                    const unsigned char snonce[TIDE_AUTH_NONCE],
                    const unsigned char cnonce[TIDE_AUTH_NONCE], unsigned char out[TIDE_AUTH_MAC]);
/* Does mac (len bytes) prove side's knowledge of the token? Compared in
 * constant time. */
bool tide__auth_verify(const tide__auth *a, tide__auth_side side,
                       const unsigned char snonce[TIDE_AUTH_NONCE],
                       const unsigned char cnonce[TIDE_AUTH_NONCE], const void *mac, size_t len);
/* Plain HMAC-SHA256 (exposed for the known-answer test). */
void tide__hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
                       unsigned char out[TIDE_AUTH_MAC]);

#endif
