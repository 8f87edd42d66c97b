/* The growable array behind TIDE__VEC, and text buffers on top of it. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "common/vec.h"

void tide__vec_grow_(void *pv, size_t *cap, size_t need, size_t elem)
{
  if (need <= *cap)
    return;
  size_t c = *cap ? *cap : 8;
  while (c < need)
    c *= 2;
  if (c > SIZE_MAX / elem) {
    fprintf(stderr, "tide: out of memory (vector of %zu x %zu bytes)\n", c, elem);
    abort();
  }
  /* pv points at a T*; go through memcpy so no T** is read as void** */
  void *p;
  memcpy(&p, pv, sizeof p);
  p = tide__xrealloc(p, c * elem);
  memcpy(pv, &p, sizeof p);
  *cap = c;
}

void tide__strvec_free(tide__strvec *s)
{
  for (size_t i = 0; i < s->n; i++)
    free(s->v[i]);
  tide__vec_free(s);
}

void tide__text_put(tide__text *b, const char *s, size_t n)
{
  memcpy(tide__vec_reserve(b, n + 1), s, n);
  b->n += n;
  b->v[b->n] = '\0';
}

void tide__text_printf(tide__text *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (k < 0)
    return;
  va_start(ap, fmt);
  vsnprintf(tide__vec_reserve(b, (size_t)k + 1), (size_t)k + 1, fmt, ap);
  va_end(ap);
  b->n += (size_t)k;
}

void tide__text_truncate(tide__text *b, size_t n)
{
  if (n > b->n)
    return;
  b->n = n;
  if (b->v)
    b->v[n] = '\0';
}
