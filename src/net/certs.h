/* Throwaway certificates for `tide cluster --security temporary` (as
 * dask-jobqueue's Security.temporary()): a self-signed CA and one
 * certificate with its key, signed by that CA, that the scheduler, the
 * workers and the clients all present. EC P-256 keys. Pure: PEM text in
 * memory, written to files only by tide__certs_write. */
#ifndef TIDE_NET_CERTS_H
#define TIDE_NET_CERTS_H

#include "tide/error.h"

typedef struct tide__certs {
  char *ca_pem;   /* the CA certificate */
  char *cert_pem; /* the certificate it signed */
  char *key_pem;  /* that certificate's private key (unencrypted PKCS#8) */
} tide__certs;

/* Generate a CA and a certificate named cn valid for days days. */
int tide__certs_generate(const char *cn, int days, tide__certs *out, tide_error *err);
void tide__certs_free(tide__certs *c);

/* Write ca.pem, cert.pem and key.pem into dir (which must exist), each
 * readable by the owner only. */
int tide__certs_write(const tide__certs *c, const char *dir, tide_error *err);

#endif
