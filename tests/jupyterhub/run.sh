#!/usr/bin/env bash
# The JupyterHub tier: a real local platform with JupyterHub, a notebook run on a user server's kernel that
# becomes the served champion, and a headless Chromium logging in. From the repository root:
#   VENV=/path/to/venv tests/jupyterhub/run.sh [pytest args]
# Installs what the tier needs and a fresh machine lacks: Debian's chromium and chromium-driver (apt, as root or
# with sudo). Python packages come from requirements-test.txt (the venv); JupyterHub, JupyterLab, Node.js and
# configurable-http-proxy are installed by the jupyterhub role itself into .cache/mlops-local-venvs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"

if ! [ -x /usr/bin/chromium ] || ! [ -x /usr/bin/chromedriver ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
    echo "jupyterhub tier: installing chromium and chromium-driver (apt)"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
fi
"$PY" -c 'import selenium' 2>/dev/null || "$PY" -m pip install -q "$(grep '^selenium==' "$ROOT/requirements-test.txt")"
# test_cluster_config.py loads the cluster configuration with a real JupyterHub: in the venv, or in the Python named by
# MLOPS_HUB_PYTHON (requirements-test.txt pins them; `make venv` installs them).
HUB_PY="${MLOPS_HUB_PYTHON:-$PY}"
if ! "$HUB_PY" -c 'import jupyterhub, kubespawner, oauthenticator, jupyterhub_idle_culler' 2>/dev/null; then
    mapfile -t HUB_PINS < <(grep -E '^(jupyterhub|jupyterhub-kubespawner|oauthenticator|jupyterhub-idle-culler)==' "$ROOT/requirements-test.txt")
    "$HUB_PY" -m pip install -q "${HUB_PINS[@]}"
fi

# The collection as the playbooks load it (the Makefile's `collection` target does the same).
mkdir -p "$ROOT/.cache/collections/ansible_collections/mlops"
ln -sfn "$ROOT" "$ROOT/.cache/collections/ansible_collections/mlops/platform"
export ANSIBLE_COLLECTIONS_PATH="$ROOT/.cache/collections${ANSIBLE_COLLECTIONS_PATH:+:$ANSIBLE_COLLECTIONS_PATH}"
export PATH="$VENV/bin:$PATH"

cd "$ROOT"
exec "$PY" -m pytest -q -p no:cacheprovider tests/jupyterhub "$@"
