#!/usr/bin/env bash
# --backend ssh refuses bad input up front: one `tide: ` line, exit 2, no
# cluster started. The unknown host is looked up inside a rig namespace,
# where no name server is reachable and nothing leaves the machine.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/core_helpers.sh"
source "$TIDE_SRC/tests/lib/hosts.sh"

c() { "$TIDE_BIN" cluster --backend ssh --port 0 --dashboard-port 0 "$@"; }
expect_fail 2 'needs --hosts or --hosts-file' c
expect_fail 2 '--hosts: "h1:x": the worker limit' c --hosts h1:x
expect_fail 2 '--hosts: "h1:0": the worker limit' c --hosts h1,h1:0
expect_fail 2 '--hosts: host "h1" is listed twice' c --hosts h1,h2,h1
expect_fail 2 '--hosts: "-oProxyCommand=x" is not a host name' c --hosts=-oProxyCommand=x
expect_fail 2 '--hosts: no host given' c --hosts ' , '
expect_fail 2 '--hosts-file: cannot read' c --hosts-file "$T_DIR/none"
printf 'h1:2\nh2:zz # bad\n' >"$T_DIR/hosts"
expect_fail 2 '--hosts-file .*/hosts: --hosts: "h2:zz"' c --hosts-file "$T_DIR/hosts"
expect_fail 2 '--remote-env: "1X=y" is not NAME=VALUE' c --hosts h1 --remote-env 1X=y
expect_fail 2 '--remote-env: "NOVALUE" is not NAME=VALUE' c --hosts h1 --remote-env NOVALUE
expect_fail 2 '--ssh-config: cannot read' c --hosts h1 --ssh-config "$T_DIR/none"
expect_fail 2 '--ssh-option: "-v" is not an ssh option' c --hosts h1 --ssh-option=-v
expect_fail 2 'unknown flag "--partition"' c --hosts h1 --partition x

hosts_up 1
expect_fail 2 '--hosts: unknown host "nosuchhost"' ip netns exec "${RIG_NS}h1" "$TIDE_BIN" cluster \
  --backend ssh --port 0 --dashboard-port 0 --hosts nosuchhost
# a rig name resolves through the rig's ssh config: no error about it
expect_fail 2 '--hosts: unknown host "nosuchhost"' ip netns exec "${RIG_NS}h1" "$TIDE_BIN" cluster \
  --backend ssh --port 0 --dashboard-port 0 --ssh-config "$RIG_SSH_CONFIG" --hosts h1,nosuchhost
pass "13 bad flag values and an unknown host: exit 2 with one line each"
