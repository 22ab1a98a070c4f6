#!/usr/bin/env bash
# The canary tier (`make canary-test`): the rollout's canary strategy on a real local platform - two MLServers
# behind HAProxy, Prometheus scraping them every second, the example's traffic generator on loopback.
#   tests/canary/run.sh [pytest args]        VENV=<venv> picks the venv (default: .venv of the checkout)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=${VENV:-$root/.venv}
py=$venv/bin/python
if [[ ! -x /usr/sbin/haproxy ]]; then
  echo "canary tier: /usr/sbin/haproxy is missing (tests/support/debian-packages.sh installs Debian's haproxy)" >&2
  exit 1
fi
# The collection under its FQCN, as `make collection` links it.
mkdir -p "$root/.cache/collections/ansible_collections/mlops"
ln -sfn "$root" "$root/.cache/collections/ansible_collections/mlops/platform"
export ANSIBLE_COLLECTIONS_PATH=$root/.cache/collections:$venv/lib/ansible-collections
export PATH=$venv/bin:$PATH
cd "$root"
exec "$py" -m pytest -q -s -p no:cacheprovider tests/canary "$@"
