#!/usr/bin/env bash
# Installs, with apt-get, every Debian package the build, tests and benchmarks
# need. A no-op when they are all there.
set -euo pipefail
pkgs=(build-essential cmake pkg-config
      libuv1-dev libmsgpack-dev libyaml-dev libjansson-dev libmicrohttpd-dev
      libssl-dev libcurl4-openssl-dev libcmocka-dev uthash-dev
      jq curl procps psmisc python3 netcat-openbsd
      slurm-wlm munge prometheus chromium)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm fetches the dashboard's pinned uPlot at configure time (src/http/dashboard);
# any node install that brings npm will do, so only ask apt when there is none.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ "${TIDE_BENCH_DEPS:-0}" = 1 ]; then
  for p in python3-distributed python3-psutil; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
