/* The integration tests' oracle for tide.bytes(LENGTH, SEED): writes the
 * same bytes to stdout, computed here from the generator's description in
 * src/worker/builtins.c (splitmix64 words in little-endian order, cut to
 * LENGTH). It links no tide code on purpose: a mistake in the worker's
 * generator must show as a checksum mismatch, not be shared by both sides.
 * Usage: bytes_oracle LENGTH SEED   (SEED may be negative: taken mod 2^64) */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int parse_u64(const char *s, uint64_t *out)
{
  char *e;
  errno = 0;
  if (s[0] == '-') {
    long long v = strtoll(s, &e, 10);
    *out = (uint64_t)v;
  } else {
    unsigned long long v = strtoull(s, &e, 10);
    *out = (uint64_t)v;
  }
  return (e == s || *e != '\0' || errno) ? -1 : 0;
}

int main(int argc, char **argv)
{
  uint64_t n, state;
  if (argc != 3 || argv[1][0] == '-' || parse_u64(argv[1], &n) < 0 ||
      parse_u64(argv[2], &state) < 0) {
    fprintf(stderr, "usage: bytes_oracle LENGTH SEED\n");
    return 2;
  }
  for (uint64_t done = 0; done < n; done += 8) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    unsigned char w[8];
    for (int b = 0; b < 8; b++)
      w[b] = (unsigned char)(z >> (8 * b));
    size_t k = n - done < 8 ? (size_t)(n - done) : 8;
    if (fwrite(w, 1, k, stdout) != k)
      return 1;
  }
  return fflush(stdout) == 0 ? 0 : 1;
}
