/* The worker's data store: results held in memory as serialized msgpack,
 * by key, with exact byte accounting (nbytes of a key = length of its
 * serialization). Loop thread only. */
#ifndef TIDE_WORKER_STORE_H
#define TIDE_WORKER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tide__store tide__store;

/* Create an empty store. */
tide__store *tide__store_create(void);
/* Free every value and the store. NULL ok. */
void tide__store_destroy(tide__store *st);

/* Hold data[0..len) (malloc'd; ownership passes to the store) under
 * key[0..keylen), replacing any previous value of that key. */
void tide__store_put(tide__store *st, const char *key, size_t keylen, char *data, size_t len);
/* Same, copying data. */
void tide__store_put_copy(tide__store *st, const char *key, size_t keylen, const char *data,
                          size_t len);
/* Find a value: true when held, with its bytes through data and len
 * (borrowed until the key is replaced or deleted; either may be NULL). */
bool tide__store_get(const tide__store *st, const char *key, size_t keylen, const char **data,
                     size_t *len);
/* Drop a key; true when it was held. */
bool tide__store_del(tide__store *st, const char *key, size_t keylen);

/* Call fn for every key held, in no particular order, with its value's
 * length. fn must not change the store. */
void tide__store_each(const tide__store *st,
                      void (*fn)(void *arg, const char *key, size_t keylen, size_t len), void *arg);

/* Total bytes held and number of keys. */
uint64_t tide__store_nbytes(const tide__store *st);
size_t tide__store_count(const tide__store *st);

#endif
