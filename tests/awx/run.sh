#!/usr/bin/env bash
# The AWX tier: the execution environment's build context (ansible-builder create) and what AWX would do with the
# job templates, under ansible-runner against a real local platform (MLflow + MLServer under supervisord).
#   tests/awx/run.sh [pytest args]        VENV=<venv> picks the venv (default: .venv of the checkout)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=${VENV:-$root/.venv}
py=$venv/bin/python
# This tier's packages are pinned in requirements-test.txt; a venv made before they were added gets them here.
if ! "$py" -c 'import ansible_builder, ansible_runner' 2>/dev/null; then
  mapfile -t pins < <(grep -E '^ansible-(builder|runner)==' "$root/requirements-test.txt")
  "$py" -m pip install -q "${pins[@]}"
fi
# The collection under its FQCN, as `make collection` links it.
mkdir -p "$root/.cache/collections/ansible_collections/mlops"
ln -sfn "$root" "$root/.cache/collections/ansible_collections/mlops/platform"
export ANSIBLE_COLLECTIONS_PATH=$root/.cache/collections:$venv/lib/ansible-collections
export PATH=$venv/bin:$PATH
cd "$root"
exec "$py" -m pytest -q -p no:cacheprovider tests/awx "$@"
