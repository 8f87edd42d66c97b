/* Reading the scheduler file: the one reader that clients and workers share
 * (the scheduler writes it, see scheduler/schedfile.c). */
#ifndef TIDE_COMMON_SCHEDFILE_H
#define TIDE_COMMON_SCHEDFILE_H

#include "tide/error.h"

/* Set *address to a malloc'd copy of the file's "address", and *token (when
 * not NULL) to a malloc'd copy of its "token" or NULL (docs/security.md).
 * Returns 0, a
 * negative errno when the file cannot be read (a worker waits for it to
 * appear), or TIDE_EPROTO when it is not JSON or has no "address"; err
 * names the file either way. */
int tide__schedfile_read(const char *path, char **address, char **token, tide_error *err);

/* The file's "tls" paths, each malloc'd (NULL when absent). Returns 1 when
 * the file names a certificate, 0 when it has none or cannot be read. */
int tide__schedfile_read_tls(const char *path, char **ca_file, char **cert, char **key);

#endif
