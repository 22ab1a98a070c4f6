#!/usr/bin/env bash
# Continuous-training tier: the model monitor, Prometheus's alerts, Alertmanager, the rulebook and a retraining
# rollout, all real and on loopback (see tests/ct/conftest.py). Needs Debian's prometheus, prometheus-alertmanager and
# prometheus-pushgateway (installed here when missing, without starting their services: policy-rc.d answers 101
# while apt runs) and Java 17 for ansible-rulebook, whose venv the continuous_training role builds in
# .cache/ct-venvs. Extra arguments go to pytest.
#   tests/ct/run.sh [pytest args]        VENV=<venv> picks the venv (default: .venv of the checkout)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=${VENV:-$root/.venv}
packages=(prometheus prometheus-alertmanager prometheus-pushgateway)
need=()
for pkg in "${packages[@]}"; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
if ((${#need[@]})); then
  sudo=
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  policy=/usr/sbin/policy-rc.d
  made_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    made_policy=1
  fi
  trap '[ -z "$made_policy" ] || $sudo rm -f "$policy"' EXIT
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v java >/dev/null || { echo "tests/ct: ansible-rulebook needs Java 17 (openjdk-17-jre-headless) on PATH" >&2; exit 1; }
# The collection under its FQCN, as `make collection` links it.
mkdir -p "$root/.cache/collections/ansible_collections/mlops"
ln -sfn "$root" "$root/.cache/collections/ansible_collections/mlops/platform"
export ANSIBLE_COLLECTIONS_PATH=$root/.cache/collections:$venv/lib/ansible-collections
export PATH=$venv/bin:$PATH
cd "$root"
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/ct "$@"
