/* Value conversion between msgpack (how results travel) and JSON (graphs
 * in, `tide run` output out). Pure functions. */
#ifndef TIDE_CLIENT_VALUE_H
#define TIDE_CLIENT_VALUE_H

#include <jansson.h>
#include <msgpack.h>

/* A msgpack value as JSON (new reference): bytes (bin, ext) become
 * {"bytes": LENGTH, "sha256": HEX}; map keys that are not strings become
 * their JSON text; NaN and infinities become null; unsigned integers beyond
 * the int64 range become reals; strings that are not UTF-8 show as bytes.
 * Never NULL. */
json_t *tide__value_to_json(const msgpack_object *o);

/* Unpack a packed msgpack map {KEY: VALUE} (the outputs of a compute) into
 * a JSON object in the same order. NULL when data is not one msgpack map. */
json_t *tide__values_to_json(const char *data, size_t len);

/* Pack a JSON value into pk. When ref_prefix is not NULL, every reference
 * {"ref": "KEY"} inside is packed as {"ref": "<ref_prefix>KEY"}. */
void tide__value_pack_json(msgpack_packer *pk, const json_t *j, const char *ref_prefix);

#endif
