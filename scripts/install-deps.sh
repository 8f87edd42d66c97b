#!/usr/bin/env bash
# Installs, with apt-get, the Debian packages one task needs and nothing
# more: the build alone by default (`make`), plus what the demo, the tests
# or the benchmarks run (`make demo`, `make test`, `make bench`), or the
# fuzzing needs (`make fuzz`). A no-op when they are all there.
# Usage: scripts/install-deps.sh [--demo] [--test] [--bench] [--fuzz]
set -euo pipefail

# The build: compiler, CMake and the -dev libraries. cmocka too, because
# `make` builds the unit tests with everything else (CMake looks for it
# once, at configure time).
pkgs=(build-essential cmake pkg-config
      libuv1-dev libmsgpack-dev libyaml-dev libjansson-dev libmicrohttpd-dev
      libssl-dev libcmocka-dev uthash-dev)
# scripts/demo.sh reads the scheduler file and the dashboard API.
demo=(jq curl)
# The integration tests: jq and curl as above, pkill/pgrep (procps), bc
# (timings in failure messages), a one-node SLURM (scripts/slurm-up.sh
# starts slurmctld, slurmd and munged), promtool (package prometheus) to
# lint /metrics, and chromium for the dashboard browser test (driven by
# node, which the build's npm brings).
# clang-format checks the C style (.clang-format) in test_layout_format;
# the openssl tool makes certificates and plays foreign peers in test_tls_*.
# Grid Engine (qmaster, execd, qsub/qstat/qdel) for the SGE tests; its
# debconf questions are answered below (scripts/sge-up.sh makes its own cell).
# The multi-host tests run sshd in network namespaces (scripts/hosts-up.sh).
# Debian's python3 with python3-msgpack speaks the wire protocol by hand in
# tests/lib/raw_client.py (test_core_wedges).
tests=(jq curl procps bc slurm-wlm munge prometheus chromium clang-format openssl
       gridengine-master gridengine-exec gridengine-client
       openssh-server openssh-client iproute2 python3 python3-msgpack)
# `make fuzz` (fuzz/): clang with its libFuzzer, ASan and UBSan runtimes
# (libclang-rt-dev: libclang_rt.fuzzer and the sanitizers of Debian's clang).
fuzz=(clang libclang-rt-dev)
# bench/run.sh: the same tools, and Dask for the side-by-side figures.
# and GNU parallel beside tide submit (cmd_array).
bench=(jq curl procps openssl python3 python3-distributed python3-psutil parallel)

for a in "$@"; do
  case "$a" in
  --demo) pkgs+=("${demo[@]}") ;;
  --test) pkgs+=("${tests[@]}") ;;
  --bench) pkgs+=("${bench[@]}") ;;
  --fuzz) pkgs+=("${fuzz[@]}") ;;
  *) echo "usage: install-deps.sh [--demo] [--test] [--bench] [--fuzz]" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${pkgs[@]}"; do
  [[ " ${missing[*]} " == *" $p "* ]] && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm fetches the dashboard's pinned uPlot at configure time
# (src/http/dashboard/assets.cmake); any node install that brings npm will
# do, so only ask apt when there is none.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
if [[ " ${missing[*]} " == *" gridengine-"* ]]; then
  # Without answers gridengine-common asks whether to configure a cell and
  # for the master's name; scripts/sge-up.sh configures its own cell.
  printf '%s\n' "gridengine-common shared/gridengineconfig boolean false" \
    "gridengine-common shared/gridenginemaster string localhost" \
    "gridengine-common shared/gridenginecell string default" | $SUDO debconf-set-selections
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
