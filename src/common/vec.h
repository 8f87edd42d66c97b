/* One growable array for the whole tree: a struct with fields v, n and cap
 * of any element type, grown by doubling. Declare one with
 *   typedef TIDE__VEC(stask *) taskvec;   taskvec q = {0};
 * and free it with tide__vec_free (or keep q.v: it is a plain malloc'd
 * array). A TIDE__VEC(char) used through tide__text_* is a text buffer that
 * keeps a NUL after its n bytes. */
#ifndef TIDE_COMMON_VEC_H
#define TIDE_COMMON_VEC_H

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#define TIDE__VEC(T)                                                                               \
  struct {                                                                                         \
    T *v;                                                                                          \
    size_t n, cap;                                                                                 \
  }

/* Make room for `more` elements past n; evaluates to &v[n]. */
#define tide__vec_reserve(vec, more)                                                               \
  (tide__vec_grow_((void *)&(vec)->v, &(vec)->cap, (vec)->n + (more), sizeof *(vec)->v),           \
   (vec)->v + (vec)->n)

/* Append one element. */
#define tide__vec_push(vec, x)                                                                     \
  do {                                                                                             \
    *tide__vec_reserve((vec), 1) = (x);                                                            \
    (vec)->n++;                                                                                    \
  } while (0)

/* Free the array and leave the vector empty and reusable. */
#define tide__vec_free(vec)                                                                        \
  do {                                                                                             \
    free((vec)->v);                                                                                \
    (vec)->v = NULL;                                                                               \
    (vec)->n = (vec)->cap = 0;                                                                     \
  } while (0)

/* Grow *pv (a pointer to the array pointer) to hold at least `need`
 * elements of `elem` bytes; aborts on OOM like tide__xrealloc. */
void tide__vec_grow_(void *pv, size_t *cap, size_t need, size_t elem);

/* Owned strings: each element is malloc'd and freed with the array. */
typedef TIDE__VEC(char *) tide__strvec;

/* Free every string and the array; leaves it empty and reusable. */
void tide__strvec_free(tide__strvec *s);

/* Text buffers. */
typedef TIDE__VEC(char) tide__text;

/* Append n bytes of s. */
void tide__text_put(tide__text *b, const char *s, size_t n);
/* Append formatted text. */
void tide__text_printf(tide__text *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Cut back to the first n bytes (n <= b->n). */
void tide__text_truncate(tide__text *b, size_t n);

#endif
