/* ssh backend, pure parts: the --hosts syntax, placement over hosts with
 * room, host backoff, and the remote command's quoting (run through a real
 * /bin/sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cluster/backends/ssh.h"
#include "cluster/worker_argv.h"

static void test_parse_hosts(void **state)
{
  tide__ssh_host *h = NULL;
  size_t n = 0;
  tide_error err;
  assert_int_equal(tide__ssh_parse_hosts("h1,h2:4, h3\n# comment h9\nh4:1 # x\n", &h, &n, &err), 0);
  assert_int_equal(n, 4);
  assert_string_equal(h[0].name, "h1");
  assert_int_equal(h[0].limit, 0);
  assert_string_equal(h[1].name, "h2");
  assert_int_equal(h[1].limit, 4);
  assert_string_equal(h[2].name, "h3");
  assert_string_equal(h[3].name, "h4");
  assert_int_equal(h[3].limit, 1);
  tide__ssh_free_hosts(h, n);
}

static void test_parse_hosts_bad(void **state)
{
  const char *bad[] = {"h1:x",  "h1:0", "h1:", ":3",       "-oProxyCommand=x",
                       "h1,h1", "",     " , ", "h1:100001"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    tide__ssh_host *h = NULL;
    size_t n = 0;
    tide_error err;
    assert_int_equal(tide__ssh_parse_hosts(bad[i], &h, &n, &err), TIDE_EUSAGE);
    assert_non_null(strstr(err.text, "--hosts"));
    tide__ssh_free_hosts(h, n);
  }
}

static void test_place_spreads(void **state)
{
  tide__ssh_host h[3] = {{.name = "a"}, {.name = "b", .limit = 2}, {.name = "c"}};
  int seq[6];
  for (int i = 0; i < 6; i++) {
    seq[i] = tide__ssh_place(h, 3, 1, 100);
    h[seq[i]].used++;
  }
  /* round robin while b has room, then a and c take turns */
  int want[6] = {0, 1, 2, 0, 1, 2};
  for (int i = 0; i < 6; i++)
    assert_int_equal(seq[i], want[i]);
  assert_int_equal(tide__ssh_place(h, 3, 1, 100), 0);
  h[0].used++;
  assert_int_equal(tide__ssh_place(h, 3, 1, 100), 2);
  /* a job of 3 does not fit on b (2 of 2) */
  assert_int_equal(tide__ssh_place(h, 3, 3, 100), 2);
}

static void test_place_limits_and_backoff(void **state)
{
  tide__ssh_host h[2] = {{.name = "a", .limit = 4, .used = 3}, {.name = "b", .retry_at = 50}};
  assert_int_equal(tide__ssh_place(h, 2, 1, 10), 0);
  assert_int_equal(tide__ssh_place(h, 2, 2, 10), -1); /* a has room for 1; b backs off */
  assert_int_equal(tide__ssh_place(h, 2, 2, 50), 1);  /* b answers again at 50 */
  assert_int_equal(tide__ssh_place(NULL, 0, 1, 0), -1);
  assert_true(tide__ssh_host_backoff(1) == 5);
  assert_true(tide__ssh_host_backoff(2) == 10);
  assert_true(tide__ssh_host_backoff(4) == 40);
  assert_true(tide__ssh_host_backoff(5) == 60);
  assert_true(tide__ssh_host_backoff(50) == 60);
}

static void test_quote(void **state)
{
  char *q = tide__shell_quote("a b'c");
  assert_string_equal(q, "'a b'\\''c'");
  free(q);
  q = tide__shell_quote("");
  assert_string_equal(q, "''");
  free(q);
}

/* The remote command, run by a real shell with a fake "tide" that prints
 * its arguments one per line: every string arrives intact, once per
 * worker (the TLS files by path), and the environment is exported. */
static void test_remote_command_roundtrip(void **state)
{
  char dir[] = "/tmp/tide-ssh-unit.XXXXXX";
  assert_non_null(mkdtemp(dir));
  char tide[512], out[600];
  snprintf(tide, sizeof tide, "%s/it's a tide", dir);
  snprintf(out, sizeof out, "%s/out", dir);
  FILE *f = fopen(tide, "w");
  assert_non_null(f);
  /* one file per worker: the two run at once */
  fprintf(f,
          "#!/bin/sh\nprintf '%%s\\n' \"$@\" \"ENV=$WEIRD\" >'%s'.$$.tmp\n"
          "mv '%s'.$$.tmp '%s'.$$\n",
          out, out, out);
  fclose(f);
  assert_int_equal(chmod(tide, 0755), 0);
  const char *workers[] = {"w 'one'", "w;two"};
  const char *preload[] = {"/p a/$HOME.so"};
  tide_job job = {.name = "job $(x)",
                  .workers = workers,
                  .nworkers = 2,
                  .nthreads = 3,
                  .scheduler = "tcp://10.0.0.1:8786",
                  .preload = preload,
                  .npreload = 1,
                  .tls_ca_file = "/t s/ca.pem",
                  .tls_cert = "/t s/it's.pem",
                  .tls_key = "/t s/k $x.pem"};
  const char *env[] = {"WEIRD=a 'b' $c"};
  char *cmd = tide__ssh_remote_command(&job, tide, env, 1, 0, 1);
  /* as sshd runs it: in a session of its own, the remote shell gets the
   * one string on its command line and the session on its input, held
   * open until both workers have written, then closed */
  char *q = tide__shell_quote(cmd);
  char *line = NULL;
  assert_true(asprintf(&line, "setsid -w /bin/sh -c %s", q) > 0);
  FILE *session = popen(line, "w");
  assert_non_null(session);
  free(line);
  assert_true(asprintf(&line, "test $(ls '%s'.* 2>/dev/null | grep -vc tmp) = 2", out) > 0);
  int tries = 0;
  while (system(line) != 0 && tries++ < 200)
    usleep(50000);
  free(line);
  assert_int_equal(pclose(session), 0);
  assert_true(asprintf(&line, "cat '%s'.* >'%s' && rm '%s'.*", out, out, out) > 0);
  assert_int_equal(system(line), 0);
  free(line);
  free(q);
  free(cmd);
  f = fopen(out, "r");
  assert_non_null(f);
  char buf[4096];
  size_t len = fread(buf, 1, sizeof buf - 1, f);
  buf[len] = '\0';
  fclose(f);
  /* both workers ran (in either order), with every argument intact */
  assert_non_null(strstr(buf, "worker\ntcp://10.0.0.1:8786\n--name\nw 'one'\n--nthreads\n3\n"
                              "--preload\n/p a/$HOME.so\n--tls-ca-file\n/t s/ca.pem\n"
                              "--tls-cert\n/t s/it's.pem\n--tls-key\n/t s/k $x.pem\n--job\n"
                              "job $(x)\n"));
  assert_non_null(strstr(buf, "--name\nw;two\n"));
  const char *e = buf;
  int nenv = 0;
  while ((e = strstr(e, "ENV=a 'b' $c\n"))) {
    nenv++;
    e++;
  }
  assert_int_equal(nenv, 2);
  unlink(out);
  unlink(tide);
  rmdir(dir);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_hosts),   cmocka_unit_test(test_parse_hosts_bad),
      cmocka_unit_test(test_place_spreads), cmocka_unit_test(test_place_limits_and_backoff),
      cmocka_unit_test(test_quote),         cmocka_unit_test(test_remote_command_roundtrip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
