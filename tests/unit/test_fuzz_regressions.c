/* Every seed of fuzz/corpus/<target>/ and every input that once crashed a
 * target, fuzz/regressions/<target>/, run through that target's harness
 * (fuzz/fuzz_<target>.c, the same code libFuzzer runs, here built by the
 * normal compiler): `make test` exercises the corpora without clang. A
 * harness aborts on a broken invariant; a crash fails this test. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

typedef int (*fuzz_fn)(const uint8_t *data, size_t size);
int tide_fuzz_config(const uint8_t *data, size_t size);
int tide_fuzz_frame(const uint8_t *data, size_t size);
int tide_fuzz_graph(const uint8_t *data, size_t size);
int tide_fuzz_http(const uint8_t *data, size_t size);
int tide_fuzz_sched(const uint8_t *data, size_t size);
int tide_fuzz_worker(const uint8_t *data, size_t size);

static const struct target {
  const char *name;
  fuzz_fn fn;
} targets[] = {
    {"config", tide_fuzz_config}, {"frame", tide_fuzz_frame}, {"graph", tide_fuzz_graph},
    {"http", tide_fuzz_http},     {"sched", tide_fuzz_sched}, {"worker", tide_fuzz_worker},
};
enum { NTARGETS = sizeof targets / sizeof targets[0] };

static const struct target *target_named(const char *name)
{
  for (size_t i = 0; i < NTARGETS; i++)
    if (strcmp(targets[i].name, name) == 0)
      return &targets[i];
  return NULL;
}

/* Run every regular file of dir through fn; returns how many (0 when the
 * directory does not exist). */
static int replay_dir(const char *dir, fuzz_fn fn)
{
  DIR *d = opendir(dir);
  if (!d)
    return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (e->d_name[0] == '.' || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
      continue;
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    uint8_t *buf = malloc(st.st_size ? (size_t)st.st_size : 1);
    size_t len = fread(buf, 1, (size_t)st.st_size, fp);
    fclose(fp);
    assert_int_equal(len, (size_t)st.st_size);
    fprintf(stderr, "replay %s\n", path); /* names the input when one crashes */
    assert_int_equal(fn(buf, len), 0);
    free(buf);
    n++;
  }
  closedir(d);
  return n;
}

static void replay(void **state)
{
  const struct target *t = *state;
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/corpus/%s", TIDE_FUZZ_DIR, t->name);
  int seeds = replay_dir(dir, t->fn);
  snprintf(dir, sizeof dir, "%s/regressions/%s", TIDE_FUZZ_DIR, t->name);
  int regressions = replay_dir(dir, t->fn);
  print_message("%s: %d seeds, %d regressions\n", t->name, seeds, regressions);
  /* every target has seeds: a target without any would be fuzzed blind */
  assert_true(seeds >= 3);
}

/* Each folder of fuzz/corpus and fuzz/regressions belongs to a target
 * listed above, and each fuzz/fuzz_<target>.c is listed: none is skipped. */
static void every_target_listed(void **state)
{
  const char *sub[] = {"corpus", "regressions"};
  for (size_t i = 0; i < 2; i++) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", TIDE_FUZZ_DIR, sub[i]);
    DIR *d = opendir(dir);
    if (!d) {
      assert_int_equal(i, 1); /* the corpus folder exists */
      continue;
    }
    struct dirent *e;
    while ((e = readdir(d)))
      if (e->d_name[0] != '.') {
        if (!target_named(e->d_name))
          fail_msg("fuzz/%s/%s belongs to no target", sub[i], e->d_name);
      }
    closedir(d);
  }
  DIR *d = opendir(TIDE_FUZZ_DIR);
  assert_non_null(d);
  struct dirent *e;
  int nsrc = 0;
  while ((e = readdir(d))) {
    size_t n = strlen(e->d_name);
    if (strncmp(e->d_name, "fuzz_", 5) != 0 || n < 8 || strcmp(e->d_name + n - 2, ".c") != 0)
      continue;
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)(n - 7), e->d_name + 5);
    if (!target_named(name))
      fail_msg("fuzz/%s is not replayed here", e->d_name);
    nsrc++;
  }
  closedir(d);
  assert_int_equal(nsrc, NTARGETS);
}

int main(void)
{
  struct CMUnitTest tests[NTARGETS + 1];
  for (size_t i = 0; i < NTARGETS; i++)
    tests[i] = (struct CMUnitTest){targets[i].name, replay, NULL, NULL, (void *)&targets[i]};
  tests[NTARGETS] = (struct CMUnitTest)cmocka_unit_test(every_target_listed);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
