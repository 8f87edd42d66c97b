/* The elements of a `tide submit` (a range, the lines of a file or the
 * values of a JSON array) and the checks made on this machine before
 * anything is sent (submit_input.c). */
#ifndef TIDE_CMD_SUBMIT_H
#define TIDE_CMD_SUBMIT_H

#include <stddef.h>
#include <stdint.h>

#include "common/vec.h"
#include "tide/error.h"

/* At most this many elements in one submission. */
#define TIDE_SUBMIT_MAX ((size_t)10 * 1000 * 1000)

typedef struct tide__elements {
  size_t n;             /* a range's count, or entries.n */
  int64_t start, step;  /* a range: element i has index start + i * step */
  tide__strvec entries; /* lines or JSON texts (index = i), empty for a range */
} tide__elements;

/* "A-B", "A-B:STEP" or "N". Returns 0 or TIDE_EUSAGE with err. */
int tide__elements_range(const char *spec, tide__elements *el, tide_error *err);
/* One element per line of path (without its newline). */
int tide__elements_lines(const char *path, tide__elements *el, tide_error *err);
/* One element per value of the JSON array in path (as compact JSON text). */
int tide__elements_json(const char *path, tide__elements *el, tide_error *err);
void tide__elements_free(tide__elements *el);

/* Element i's index and entry (NULL for a range). */
int64_t tide__elements_index(const tide__elements *el, size_t i);
const char *tide__elements_entry(const tide__elements *el, size_t i);
/* The element with that index, or SIZE_MAX. */
size_t tide__elements_find(const tide__elements *el, int64_t index);

/* Checks that print one `tide: ` line and return 2 on failure, else 0:
 * dir is a directory (what names the flag); program is found here (a path,
 * or on PATH); the directory of an output pattern (relative to cwd) can be
 * written, up to its first placeholder. */
int tide__submit_check_dir(const char *dir, const char *what);
int tide__submit_check_program(const char *program);
int tide__submit_check_pattern(const char *pattern, const char *cwd, const char *what);

/* The failure class of a tide.exec error, "rc N", "SIGNAME", "time
 * limit", "no such program" or "other" (tide submit's summary). */
void tide__submit_failure_class(const char *error, char *out, size_t n);
/* The exit code a tide.exec error reports (a signal is 128 + N), or -1. */
int tide__submit_exit_code(const char *error);

#endif
