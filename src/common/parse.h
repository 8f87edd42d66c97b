/* Parsing of durations, sizes, counts and addresses, the same everywhere
 * (docs/design.md §1). Pure functions. */
#ifndef TIDE_COMMON_PARSE_H
#define TIDE_COMMON_PARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "tide/error.h"

/* "250ms", "1.5s", "5m", "1h", "2d", bare number = seconds; "inf" when
 * allow_inf. Result in seconds. Negative values are refused. */
int tide__parse_duration(const char *s, bool allow_inf, double *out, tide_error *err);

/* The forms a walltime may take, for error messages. */
#define TIDE__WALLTIME_FORMS "MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS, or 30m, 1h, 90s"

/* A resource manager's walltime in seconds: every form `sbatch -t` takes
 * (MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS; a bare integer is
 * minutes, as there) or a tide duration with a unit ("30m", "1h", "90s").
 * Fields after the first are bounded (minutes and seconds < 60, hours < 24
 * after a day count), so a typo is refused rather than silently carried. */
int tide__parse_walltime(const char *s, double *out, tide_error *err);

/* "512MiB", "2GB", "1.5GiB", "100MB", bare number = bytes (k, M, G, T are
 * decimal, Ki, Mi, Gi, Ti binary; trailing "B" optional). */
int tide__parse_size(const char *s, int64_t *out, tide_error *err);

/* A non-negative integer, or "inf"/".inf" (-> INFINITY) when allow_inf. */
int tide__parse_count(const char *s, bool allow_inf, double *out, tide_error *err);

/* A finite number (e.g. a fraction like 0.6). */
int tide__parse_number(const char *s, double *out, tide_error *err);

/* "tcp://HOST:PORT" (or "HOST:PORT") into host (caller-sized) and port. */
int tide__parse_address(const char *s, char *host, size_t hostlen, int *port, tide_error *err);

/* The address to advertise for a server bound at `bound` ("tcp://H:P"),
 * into out: `contact` when given ("tcp://H:P", "H:P" or just "H", which
 * keeps the bound port), so that a server behind an address others cannot
 * dial names one they can; else bound, with a wildcard host (0.0.0.0, ::)
 * replaced by wildcard_host (the address never dials a wildcard). The
 * scheme is bound's (tcp:// or tls://); a contact naming the other one is
 * refused. */
int tide__contact_address(const char *bound, const char *contact, const char *wildcard_host,
                          char *out, size_t len, tide_error *err);

/* Format a size as "8.00 GiB" into buf. */
void tide__format_size(int64_t bytes, char *buf, size_t len);

#endif
