#!/usr/bin/env bash
# --backend ssh: a published dataset spread over 3 hosts (one worker each)
# survives a scale-down to 2 that empties one host: its worker's data moves
# first (retirement, docs/design.md §6), its session and worker are gone
# from the host, the checksums are the same and nothing is recomputed.
source "$TIDE_SRC/tests/lib/harness.sh"
source "$TIDE_SRC/tests/lib/adaptive.sh"
source "$TIDE_SRC/tests/lib/hosts.sh"

metric() { curl -sf --max-time 5 "$DASH_URL/metrics" | awk -v m="$1" '$1 == m || index($1, m "{") == 1 {s += $2} END {print s + 0}'; }

hosts_up 3
start_ssh_cluster --hosts h1:1,h2:1,h3:1 --workers 3
wait_workers 3 30
[ "$(worker_hosts | wc -l)" = 3 ] || fail "3 workers not on 3 hosts: $(worker_hosts)"

# 12 blocks of 1 MiB, spread over the 3 hosts, published
awk 'BEGIN { printf "{\"tasks\": {"
  for (i = 0; i < 12; i++) printf "%s\"d%d\": {\"fn\": \"tide.bytes\", \"args\": [1048576, %d]}", (i ? ", " : ""), i, i
  printf "}, \"outputs\": ["; for (i = 0; i < 12; i++) printf "%s\"d%d\"", (i ? ", " : ""), i; printf "]}\n" }' >"$T_DIR/g.json"
run_graph "$T_DIR/g.json" --publish blocks --timeout 60 >"$T_DIR/before.json" || fail "tide run --publish failed"
[ "$(jq '[.[] | select(.bytes == 1048576)] | length' "$T_DIR/before.json")" = 12 ] ||
  fail "expected 12 blocks of 1 MiB: $(head -c 300 "$T_DIR/before.json")"
holders=$(api /api/v1/identity | jq '[.workers[] | select(.nbytes > 0)] | length')
[ "$holders" -ge 2 ] || fail "data should be spread over several hosts, held by $holders"

"$TIDE_BIN" scale --scheduler-file "$SCHED_FILE" 2 || fail "tide scale 2 failed"
wait_workers 2 60
empty=
for h in $RIG_HOSTS; do worker_hosts | grep -q "^$(host_addr "$h") " || empty=$h; done
[ -n "$empty" ] || fail "no host emptied: $(worker_hosts)"
no_procs() { [ -z "$(host_procs "$empty")" ]; }
wait_for 15 no_procs
"$TIDE_BIN" get --scheduler-file "$SCHED_FILE" blocks >"$T_DIR/after.json" || fail "tide get failed"
diff <(jq -S . "$T_DIR/before.json") <(jq -S . "$T_DIR/after.json") >/dev/null ||
  fail "published checksums changed after the scale-down"
rec=$(metric tide_recomputed_tasks_total)
[ "$rec" = 0 ] || fail "tide_recomputed_tasks_total is $rec after the scale-down, expected 0"
stop_cluster
wait_for 15 hosts_idle
pass "12 MiB published on 3 hosts survived 3 -> 2 (host $empty emptied, no process left on it), same checksums, 0 recomputed"
