/* In-memory result store: uthash by key, values as serialized msgpack. */
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "common/util.h"
#include "worker/store.h"

typedef struct item {
  char *data;
  size_t len;
  UT_hash_handle hh;
  char key[]; /* NUL-terminated, allocated with the item */
} item;

struct tide__store {
  item *items;
  uint64_t nbytes;
  size_t count;
};

tide__store *tide__store_create(void)
{
  return tide__xcalloc(1, sizeof(tide__store));
}

void tide__store_destroy(tide__store *st)
{
  if (!st)
    return;
  item *it, *tmp;
  HASH_ITER (hh, st->items, it, tmp) {
    HASH_DEL(st->items, it);
    free(it->data);
    free(it);
  }
  free(st);
}

void tide__store_put(tide__store *st, const char *key, size_t keylen, char *data, size_t len)
{
  item *it;
  HASH_FIND(hh, st->items, key, keylen, it);
  if (it) {
    st->nbytes -= it->len;
    free(it->data);
  } else {
    it = tide__xmalloc(sizeof *it + keylen + 1);
    memcpy(it->key, key, keylen);
    it->key[keylen] = '\0';
    HASH_ADD(hh, st->items, key[0], keylen, it);
    st->count++;
  }
  it->data = data;
  it->len = len;
  st->nbytes += len;
}

void tide__store_put_copy(tide__store *st, const char *key, size_t keylen, const char *data,
                          size_t len)
{
  char *copy = tide__xmalloc(len);
  memcpy(copy, data, len);
  tide__store_put(st, key, keylen, copy, len);
}

bool tide__store_get(const tide__store *st, const char *key, size_t keylen, const char **data,
                     size_t *len)
{
  item *it;
  HASH_FIND(hh, st->items, key, keylen, it);
  if (!it)
    return false;
  if (data)
    *data = it->data;
  if (len)
    *len = it->len;
  return true;
}

bool tide__store_del(tide__store *st, const char *key, size_t keylen)
{
  item *it;
  HASH_FIND(hh, st->items, key, keylen, it);
  if (!it)
    return false;
  HASH_DEL(st->items, it);
  st->nbytes -= it->len;
  st->count--;
  free(it->data);
  free(it);
  return true;
}

uint64_t tide__store_nbytes(const tide__store *st)
{
  return st->nbytes;
}

size_t tide__store_count(const tide__store *st)
{
  return st->count;
}

void tide__store_each(const tide__store *st,
                      void (*fn)(void *arg, const char *key, size_t keylen, size_t len), void *arg)
{
  item *it, *tmp;
  HASH_ITER (hh, st->items, it, tmp)
    fn(arg, it->key, strlen(it->key), it->len);
}
