#!/usr/bin/env bash
# The Debian packages the test tiers run as real servers or tools. With no arguments: all of them, installed in one
# apt call before the two lanes of `make test` start (two lanes installing at once would race for dpkg's lock):
# prometheus + promtool (local platform, monitoring tier), postgresql (platform tier), chromium + chromium-driver
# (JupyterHub's browser test), haproxy (the serving tier's canary router), prometheus-alertmanager and
# prometheus-pushgateway (the continuous-training tier). With arguments: those packages (a tier's run.sh, run alone).
# Installs only what is missing (as root, or through sudo), never starts a service (policy-rc.d answers 101 while apt
# runs), and does nothing without root/sudo or apt-get: the tier then says what it lacks.
#   tests/support/debian-packages.sh [package ...]
set -euo pipefail
packages=(prometheus postgresql chromium chromium-driver haproxy prometheus-alertmanager prometheus-pushgateway)
(($#)) && packages=("$@")
need=()
for pkg in "${packages[@]}"; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
((${#need[@]})) || exit 0
sudo=
if [[ "$(id -u)" != 0 ]]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo=sudo; else need_root=1; fi
fi
if [[ -n "${need_root:-}" ]] || ! command -v apt-get >/dev/null; then
  echo "debian-packages: missing ${need[*]} (needs root or sudo, and apt-get); the tiers that use them will say so" >&2
  exit 0
fi
policy=/usr/sbin/policy-rc.d
made_policy=0
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod 755 "$policy"
  made_policy=1
fi
cleanup() { if ((made_policy)); then $sudo rm -f "$policy"; fi; }
trap cleanup EXIT
echo "debian-packages: installing ${need[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
