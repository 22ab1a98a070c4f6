#!/usr/bin/env bash
# The Debian packages the test tiers run as real servers or tools, installed in one apt call before the two lanes
# of `make test` start (two lanes installing at once would race for dpkg's lock): prometheus + promtool (local
# platform, monitoring tier), postgresql (platform tier), chromium + chromium-driver (JupyterHub's browser test),
# haproxy (the serving tier's canary router), prometheus-alertmanager and prometheus-pushgateway (the
# continuous-training tier).
# Installs only what is missing, never starts a service (policy-rc.d answers 101 while apt runs), and does nothing
# without root or apt-get: each tier's run.sh then says what it lacks.
set -euo pipefail
packages=(prometheus postgresql chromium chromium-driver haproxy prometheus-alertmanager prometheus-pushgateway)
need=()
for pkg in "${packages[@]}"; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
((${#need[@]})) || exit 0
if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
  echo "debian-packages: missing ${need[*]} (needs root and apt-get); the tiers that use them will say so" >&2
  exit 0
fi
policy=/usr/sbin/policy-rc.d
made_policy=0
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  made_policy=1
fi
cleanup() { if ((made_policy)); then rm -f "$policy"; fi; }
trap cleanup EXIT
echo "debian-packages: installing ${need[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
