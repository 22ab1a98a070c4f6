#!/usr/bin/env bash
# Monitoring tier: the prometheus role's alert rules (promtool check/test rules) and the grafana role's dashboards
# (their PromQL on a real Prometheus with backfilled series). Needs prometheus and promtool (Debian's prometheus
# package, 2.42): installed here when missing - without starting Debian's service (policy-rc.d answers 101 while
# apt runs). Extra arguments go to pytest.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=${VENV:-$root/.venv}
prometheus=${MLOPS_PROMETHEUS:-/usr/bin/prometheus}
promtool=${MLOPS_PROMTOOL:-/usr/bin/promtool}

if [ ! -x "$prometheus" ] || [ ! -x "$promtool" ]; then
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
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
"$prometheus" --version 2>&1 | head -1

cd "$root"
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/monitoring "$@"
