#!/usr/bin/env bash
# The Tekton tier: Tekton's own validation of the rendered objects, the role on the embedded control plane, and the
# pipeline's steps run for real on this machine against a local platform and a real S3 server.
#   tests/tekton/run.sh [pytest args]          (MLOPS_PYTHON: the test venv's python; default .venv/bin/python)
# 1. builds (or finds in ~/.cache/mlops-platform) the validator (Go, from the module proxy) and SeaweedFS, and
#    installs DVC's S3 plugin into .cache/tekton-dvc-s3 (requirements-dvc-s3.txt; PYTHONPATH of the steps only);
# 2. brings up this checkout's embedded control plane unless one runs (then it is reused and left running) or
#    MLOPS_TEST_KUBECONFIG names a cluster; what this script started it stops, whatever happened;
# 3. runs pytest tests/tekton; fails when pytest fails or collects no test.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CONTROLPLANE="$ROOT/tests/cluster/controlplane.sh"
PYTHON="${MLOPS_PYTHON:-$ROOT/.venv/bin/python}"
started=0

log() { printf '[tekton-test] %s\n' "$*" >&2; }

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  local rc=$?
  if ((started)); then
    log "stopping the embedded control plane this run started"
    "$CONTROLPLANE" down >/dev/null || rc=1
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[[ -x "$PYTHON" ]] || { log "no Python at $PYTHON: run 'make venv' first (or set MLOPS_PYTHON)"; exit 1; }
PATH="$(dirname "$PYTHON"):$PATH"
MLOPS_PYTHON="$PYTHON"
export PATH MLOPS_PYTHON
export ANSIBLE_COLLECTIONS_PATH="${ANSIBLE_COLLECTIONS_PATH:-$ROOT/.cache/collections}"
# The collection as ansible-playbook finds it (what `make collection` does).
mkdir -p "$ROOT/.cache/collections/ansible_collections/mlops"
ln -sfn "$ROOT" "$ROOT/.cache/collections/ansible_collections/mlops/platform"

t0=$SECONDS
MLOPS_TEKTON_VALIDATOR="$("$HERE/build-validator.sh" | tail -n 1)"
MLOPS_SEAWEEDFS="$("$ROOT/tests/support/seaweedfs.sh" build | tail -n 1)"
MLOPS_TEKTON_DVC_S3="$("$HERE/dvc-s3-overlay.sh" | tail -n 1)"
export MLOPS_TEKTON_VALIDATOR MLOPS_SEAWEEDFS MLOPS_TEKTON_DVC_S3
log "validator and SeaweedFS ready after $((SECONDS - t0)) s"

if [[ -n "${MLOPS_TEST_KUBECONFIG:-}" ]]; then
  [[ -r "$MLOPS_TEST_KUBECONFIG" ]] || { log "MLOPS_TEST_KUBECONFIG=$MLOPS_TEST_KUBECONFIG is not readable"; exit 1; }
  MLOPS_TEKTON_KUBECONFIG="$MLOPS_TEST_KUBECONFIG"
else
  "$CONTROLPLANE" status >/dev/null 2>&1 || started=1
  up_out="$("$CONTROLPLANE" up)"
  MLOPS_TEKTON_KUBECONFIG="$(tail -n 1 <<<"$up_out")"
  MLOPS_TEKTON_KUBECONFIG="${MLOPS_TEKTON_KUBECONFIG#KUBECONFIG=}"
  [[ -r "$MLOPS_TEKTON_KUBECONFIG" ]] || { log "controlplane.sh up gave no kubeconfig: $up_out"; exit 1; }
fi
export MLOPS_TEKTON_KUBECONFIG
log "cluster ready after $((SECONDS - t0)) s"

rc=0
(cd "$ROOT" && "$PYTHON" -m pytest tests/tekton -q -p no:cacheprovider "$@") || rc=$?
((rc != 5)) || { log "pytest collected no test: failing the tier"; exit 5; }
log "done in $((SECONDS - t0)) s (pytest exit $rc)"
exit "$rc"
