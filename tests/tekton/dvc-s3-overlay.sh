#!/usr/bin/env bash
# Install requirements-dvc-s3.txt (no dependencies: the rest is in the test venv) into
# <root>/.cache/tekton-dvc-s3/<hash of the file>; prints the directory. A second call installs nothing.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PYTHON="${MLOPS_PYTHON:-$ROOT/.venv/bin/python}"
key="$(sha256sum "$HERE/requirements-dvc-s3.txt" | cut -c1-12)"
dir="$ROOT/.cache/tekton-dvc-s3/$key"
if [[ ! -f "$dir/.done" ]]; then
  rm -rf "$dir.tmp"
  "$PYTHON" -m pip install -q --no-deps --target "$dir.tmp" -r "$HERE/requirements-dvc-s3.txt" >&2
  rm -rf "$dir"
  mv "$dir.tmp" "$dir"
  touch "$dir/.done"
fi
echo "$dir"
