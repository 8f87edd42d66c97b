/* Unit tests of the pool declarations (docs/adaptive.md "Pools"):
 * `--pool NAME:OPTION=VALUE,...` parsing and the checks across pools. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

#include "cluster/cluster_int.h"

static void test_parse(void **st)
{
  tide__pool_spec p;
  tide_error err;
  assert_int_equal(tide__pool_spec_parse("gpu:backend=slurm,partition=gpu,resources=GPU=1+MEM=64e9,"
                                         "min=1,max=4,cost=10",
                                         &p, &err),
                   0);
  assert_string_equal(p.name, "gpu");
  assert_string_equal(p.backend, "slurm");
  assert_int_equal(p.res.n, 2);
  assert_string_equal(p.res.r[0].name, "GPU");
  assert_true(p.res.r[1].amount == 64e9);
  assert_true(p.minimum == 1 && p.maximum == 4 && p.cost == 10);
  assert_int_equal(p.nopts, 1);
  assert_string_equal(p.keys[0], "partition");
  assert_string_equal(p.values[0], "gpu");
  /* defaults: min 0, max inf, cost 1, the cluster's backend */
  assert_int_equal(tide__pool_spec_parse("small", &p, &err), 0);
  assert_true(p.minimum == 0 && isinf(p.maximum) && p.cost == 1);
  assert_string_equal(p.backend, "");
  assert_int_equal(tide__pool_spec_parse("big:max=lots", &p, &err), TIDE_EUSAGE);
  assert_non_null(strstr(err.text, "--pool big: max: "));
  assert_int_equal(tide__pool_spec_parse("big:cost=0", &p, &err), TIDE_EUSAGE);
  assert_string_equal(err.text, "--pool big: cost: must be more than 0");
  assert_int_equal(tide__pool_spec_parse("big:max", &p, &err), TIDE_EUSAGE);
  assert_string_equal(err.text, "--pool big: \"max\" is not OPTION=VALUE");
  assert_int_equal(tide__pool_spec_parse("b/g:max=1", &p, &err), TIDE_EUSAGE);
}

static void test_checks(void **st)
{
  tide__pool_spec p[2];
  tide_error err;
  tide__pool_spec_parse("small:max=8", &p[0], NULL);
  tide__pool_spec_parse("big:min=0,max=2", &p[1], NULL);
  assert_int_equal(tide__pool_specs_check(p, 2, 1000, &err), 0);
  assert_int_equal(tide__pool_specs_check(p, 2, 4, &err), TIDE_EUSAGE);
  assert_string_equal(err.text,
                      "--pool small: max 8 is above the ceiling of 4 workers (--max-workers)");
  tide__pool_spec_parse("big:min=3,max=2", &p[1], NULL);
  assert_int_equal(tide__pool_specs_check(p, 2, 1000, &err), TIDE_EUSAGE);
  assert_string_equal(err.text, "--pool big: min 3 is above max 2");
  tide__pool_spec_parse("a:min=600", &p[0], NULL);
  tide__pool_spec_parse("b:min=600", &p[1], NULL);
  assert_int_equal(tide__pool_specs_check(p, 2, 1000, &err), TIDE_EUSAGE);
  assert_string_equal(err.text, "--pool: the minimums add up to 1200, above the ceiling of 1000 "
                                "workers (--max-workers)");
  tide__pool_spec_parse("a:max=1", &p[1], NULL);
  assert_int_equal(tide__pool_specs_check(p, 2, 1000, &err), TIDE_EUSAGE);
  assert_string_equal(err.text, "--pool a: declared twice");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse),
      cmocka_unit_test(test_checks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
