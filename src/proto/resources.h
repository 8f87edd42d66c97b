/* Task and worker resources (docs/tasks.md "Resources"), as Dask's: a task
 * names abstract amounts it holds while it runs ("GPU": 1, "MEM": 64e9) and
 * runs only on a worker that advertises them and has them free. One small
 * fixed-size value, its text form ("GPU=1,MEM=6.4e+10"), its wire form (a
 * map of name -> number) and the fit test. Pure: no I/O, no allocation. */
#ifndef TIDE_PROTO_RESOURCES_H
#define TIDE_PROTO_RESOURCES_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>

#include "tide/error.h"

enum {
  /* Distinct resources one task or worker may name. */
  TIDE_RES_MAX = 8,
  /* Longest resource name, in bytes. */
  TIDE_RES_NAME_MAX = 32,
};

typedef struct tide__res {
  int n; /* sorted by name, names unique */
  struct {
    char name[TIDE_RES_NAME_MAX + 1];
    double amount; /* finite, > 0 */
  } r[TIDE_RES_MAX];
} tide__res;

/* Add name = amount (kept sorted). TIDE_EUSAGE with err for a bad name ([A-Za-z0-9_.-], 1 to TIDE_RES_NAME_MAX bytes), a value
 * that is not a finite number > 0, a name given twice, or too many. */
int tide__res_add(tide__res *res, const char *name, size_t len, double amount, tide_error *err);

/* "GPU=1,MEM=64e9" (sizes such as 64GB are accepted for any name) into
 * *res (cleared first). An empty string is no resources. */
int tide__res_parse(const char *text, tide__res *res, tide_error *err);

/* The wire form: a map of name -> positive number. */
int tide__res_from_mp(const msgpack_object *map, tide__res *res, tide_error *err);
void tide__res_pack(msgpack_packer *pk, const tide__res *res);

/* The canonical text ("GPU=1,MEM=6.4e+10", "" for none) into buf. */
void tide__res_format(const tide__res *res, char *buf, size_t len);

/* The amount of name in res, 0 when absent. */
double tide__res_amount(const tide__res *res, const char *name);

/* Does have provide every resource of need (used: what is taken of each of
 * have's resources, parallel to have->r; NULL = nothing taken)? */
bool tide__res_fits(const tide__res *need, const tide__res *have, const double *used);

#endif
