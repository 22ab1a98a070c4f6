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
"$root/tests/support/debian-packages.sh" prometheus prometheus-alertmanager prometheus-pushgateway
command -v java >/dev/null || { echo "tests/ct: ansible-rulebook needs Java 17 (openjdk-17-jre-headless) on PATH" >&2; exit 1; }
# The collection under its FQCN, as `make collection` links it.
mkdir -p "$root/.cache/collections/ansible_collections/mlops"
ln -sfn "$root" "$root/.cache/collections/ansible_collections/mlops/platform"
export ANSIBLE_COLLECTIONS_PATH=$root/.cache/collections:$venv/lib/ansible-collections
export PATH=$venv/bin:$PATH
cd "$root"
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/ct "$@"
