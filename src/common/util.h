/* Small helpers: clocks, allocation that aborts on OOM, string building. */
#ifndef TIDE_COMMON_UTIL_H
#define TIDE_COMMON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Monotonic seconds (for durations) and wall-clock Unix seconds (epochs). */
double tide__now(void);
double tide__wall(void);
/* Replace both clocks (fn NULL: back to the system's): a simulator runs
 * the scheduler and the controller on a virtual clock this way (src/sim).
 * fn gets arg and whether the wall clock is asked. */
typedef double (*tide__clock_fn)(void *arg, bool wall);
void tide__clock_set(tide__clock_fn fn, void *arg);

/* malloc/calloc/realloc/strdup that abort with a message on OOM. */
void *tide__xmalloc(size_t n);
void *tide__xcalloc(size_t n, size_t size);
void *tide__xrealloc(void *p, size_t n);
char *tide__xstrdup(const char *s);
char *tide__xstrndup(const char *s, size_t n);
/* printf into a new string. */
char *tide__xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Hex sha256 of data into out (65 bytes). */
void tide__sha256_hex(const void *data, size_t len, char out[65]);

/* This machine's host name (static buffer). */
const char *tide__hostname(void);
/* This machine's first non-loopback IPv4 address (static buffer), or
 * "127.0.0.1": what a server bound to a wildcard advertises by default. */
const char *tide__outward_ipv4(void);

#endif
