/* Task and worker resources (see resources.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"
#include "proto/msg.h"
#include "proto/resources.h"

static bool name_ok(const char *s, size_t n)
{
  if (n == 0 || n > TIDE_RES_NAME_MAX)
    return false;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
          ch == '_' || ch == '.' || ch == '-'))
      return false;
  }
  return true;
}

int tide__res_add(tide__res *res, const char *name, size_t len, double amount, tide_error *err)
{
  if (!name_ok(name, len))
    return tide_errprintf(err, TIDE_EUSAGE,
                          "resource name \"%.*s\" must be 1 to %d letters, digits, '_', '.' or '-'",
                          (int)(len > 64 ? 64 : len), name, TIDE_RES_NAME_MAX);
  if (!(amount > 0) || !isfinite(amount))
    return tide_errprintf(err, TIDE_EUSAGE, "resource %.*s must be a finite number > 0", (int)len,
                          name);
  int at = 0;
  for (; at < res->n; at++) {
    int c = strncmp(res->r[at].name, name, len);
    if (c == 0 && res->r[at].name[len] == '\0')
      return tide_errprintf(err, TIDE_EUSAGE, "resource %.*s is given twice", (int)len, name);
    if (c > 0 || (c == 0 && res->r[at].name[len] != '\0'))
      break;
  }
  if (res->n == TIDE_RES_MAX)
    return tide_errprintf(err, TIDE_EUSAGE, "more than %d resources", TIDE_RES_MAX);
  memmove(&res->r[at + 1], &res->r[at], (size_t)(res->n - at) * sizeof res->r[0]);
  memcpy(res->r[at].name, name, len);
  res->r[at].name[len] = '\0';
  res->r[at].amount = amount;
  res->n++;
  return 0;
}

int tide__res_parse(const char *text, tide__res *res, tide_error *err)
{
  memset(res, 0, sizeof *res);
  const char *p = text ? text : "";
  while (*p) {
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    const char *eq = memchr(p, '=', n);
    if (!eq)
      return tide_errprintf(err, TIDE_EUSAGE, "\"%.*s\" is not NAME=AMOUNT", (int)n, p);
    char val[64];
    size_t vl = n - (size_t)(eq + 1 - p);
    if (vl == 0 || vl >= sizeof val)
      return tide_errprintf(err, TIDE_EUSAGE, "\"%.*s\" has no amount", (int)n, p);
    memcpy(val, eq + 1, vl);
    val[vl] = '\0';
    double amount;
    int64_t bytes;
    tide_error e2;
    /* a plain number (64e9) first, then a size (64GB) */
    if (tide__parse_number(val, &amount, &e2) < 0) {
      if (tide__parse_size(val, &bytes, &e2) < 0)
        return tide_errprintf(err, TIDE_EUSAGE, "\"%s\" is not a number or a size", val);
      amount = (double)bytes;
    }
    int rc = tide__res_add(res, p, (size_t)(eq - p), amount, err);
    if (rc < 0)
      return rc;
    p = end ? end + 1 : p + n;
  }
  return 0;
}

int tide__res_from_mp(const msgpack_object *map, tide__res *res, tide_error *err)
{
  memset(res, 0, sizeof *res);
  if (map->type != MSGPACK_OBJECT_MAP)
    return tide_errprintf(err, TIDE_EUSAGE, "\"resources\" must be a map of names to numbers");
  for (uint32_t i = 0; i < map->via.map.size; i++) {
    const msgpack_object *k = &map->via.map.ptr[i].key, *v = &map->via.map.ptr[i].val;
    double amount;
    if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
      amount = (double)v->via.u64;
    else if (v->type == MSGPACK_OBJECT_FLOAT32 || v->type == MSGPACK_OBJECT_FLOAT64)
      amount = v->via.f64;
    else
      amount = -1;
    if (k->type != MSGPACK_OBJECT_STR)
      return tide_errprintf(err, TIDE_EUSAGE, "a resource name must be a string");
    int rc = tide__res_add(res, k->via.str.ptr, k->via.str.size, amount, err);
    if (rc < 0)
      return rc;
  }
  return 0;
}

void tide__res_pack(msgpack_packer *pk, const tide__res *res)
{
  msgpack_pack_map(pk, (size_t)res->n);
  for (int i = 0; i < res->n; i++) {
    tide__pk_str(pk, res->r[i].name);
    msgpack_pack_double(pk, res->r[i].amount);
  }
}

void tide__res_format(const tide__res *res, char *buf, size_t len)
{
  size_t off = 0;
  if (len)
    buf[0] = '\0';
  for (int i = 0; i < res->n && off < len; i++) {
    int w = snprintf(buf + off, len - off, "%s%s=%.15g", i ? "," : "", res->r[i].name,
                     res->r[i].amount);
    if (w < 0)
      break;
    off += (size_t)w;
  }
}

double tide__res_amount(const tide__res *res, const char *name)
{
  for (int i = 0; res && i < res->n; i++)
    if (strcmp(res->r[i].name, name) == 0)
      return res->r[i].amount;
  return 0;
}

bool tide__res_fits(const tide__res *need, const tide__res *have, const double *used)
{
  if (!need)
    return true;
  for (int i = 0; i < need->n; i++) {
    int j = 0;
    while (have && j < have->n && strcmp(have->r[j].name, need->r[i].name) != 0)
      j++;
    if (!have || j == have->n)
      return false;
    double free_ = have->r[j].amount - (used ? used[j] : 0);
    /* float sums of released amounts may leave a residue below the need */
    if (free_ + 1e-9 * have->r[j].amount < need->r[i].amount)
      return false;
  }
  return true;
}
