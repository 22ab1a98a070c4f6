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
  "$root/tests/support/debian-packages.sh" prometheus
fi
"$prometheus" --version 2>&1 | head -1

cd "$root"
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/monitoring "$@"
