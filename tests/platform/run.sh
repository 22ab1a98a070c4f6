#!/usr/bin/env bash
# Platform tier: MLflow on a real PostgreSQL + S3 (SeaweedFS) on 127.0.0.1, with what the mlflow role renders for a
# cluster, and its backups and restore. Installs what is missing, then runs pytest tests/platform.
#   tests/platform/run.sh [pytest args]        (VENV=/path/to/venv; default: the checkout's .venv)
# Needs: Debian's postgresql (installed here when no pg_ctl is under /usr/lib/postgresql/*/bin; root), a Go
# toolchain for SeaweedFS (built once into ~/.cache/mlops-platform by tests/support/seaweedfs.sh), and the venv's
# psycopg2-binary and boto3 (requirements-test.txt).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
[[ -x "$PY" ]] || { echo "run.sh: no venv at $VENV (make venv, or VENV=...)" >&2; exit 1; }

if ! compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null; then
  if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
    echo "run.sh: PostgreSQL is missing (no /usr/lib/postgresql/*/bin/pg_ctl): install Debian's postgresql package" >&2
    exit 1
  fi
  echo "run.sh: installing PostgreSQL (Debian's postgresql package)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
# The Debian package starts a cluster of its own on 5432; the tier starts its own on a free port and leaves that one be.

"$PY" -c 'import psycopg2, boto3, prometheus_flask_exporter' 2>/dev/null || "$PY" -m pip install -q -r <(grep -E '^(psycopg2-binary|boto3|prometheus-flask-exporter)==' "$ROOT/requirements-test.txt")
MLOPS_PYTHON="$PY" "$ROOT/tests/support/seaweedfs.sh" build >/dev/null

# The collection as ansible-playbook finds it (what `make collection` does).
mkdir -p "$ROOT/.cache/collections/ansible_collections/mlops"
ln -sfn "$ROOT" "$ROOT/.cache/collections/ansible_collections/mlops/platform"

cd "$ROOT"
exec "$PY" -m pytest -q -p no:cacheprovider tests/platform "$@"
