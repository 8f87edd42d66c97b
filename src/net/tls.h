/* TLS credentials of the process (docs/design.md §9 `tls.*`, docs/security.md
 * "TLS"). Once configured with a certificate and key, every server of the
 * process (scheduler, worker data port) accepts TLS only and advertises a
 * tls:// address; connections to tls:// addresses run TLS whether or not
 * anything is configured. With a CA file both ends verify the other's
 * certificate against it (mutual authentication, as Dask's Security does);
 * host names are not checked, the CA is what is trusted. TLS 1.2 or later. */
#ifndef TIDE_NET_TLS_H
#define TIDE_NET_TLS_H

#include <stdbool.h>

#include "tide/error.h"

typedef struct tide__tls_files {
  const char *ca_file; /* NULL or "": no peer verification */
  const char *cert;    /* PEM certificate (chain); with key, or neither */
  const char *key;     /* PEM private key */
} tide__tls_files;

/* Load the files and make them the process's credentials, replacing any
 * earlier ones (all NULL or empty: TLS off again). Call before connections
 * are made; connections already open keep what they had. Errors name the
 * file. */
int tide__tls_configure(const tide__tls_files *f, tide_error *err);
/* True when servers of this process speak TLS (a certificate is loaded). */
bool tide__tls_serving(void);
/* True when nothing has been configured yet (a client may then take the
 * scheduler file's credentials). */
bool tide__tls_unset(void);

/* When nothing is configured yet and the scheduler file at path names TLS
 * files (a TLS cluster writes them, docs/design.md §10), take them: a
 * client or worker given only the scheduler file connects as it must.
 * Returns 0 (also when there is nothing to take) or an error naming the
 * file. */
int tide__tls_adopt_schedfile(const char *path, tide_error *err);

#endif
