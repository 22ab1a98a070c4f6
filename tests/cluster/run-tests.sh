#!/usr/bin/env bash
# The cluster test tier (`make cluster-test`, part of `make test`):
#   1. bring up the embedded control plane (tests/cluster/controlplane.sh), unless
#      MLOPS_TEST_KUBECONFIG points at an existing cluster;
#   2. run `pytest tests/cluster`, then the molecule scenarios `cluster_smoke` and `cluster_platform`;
#   3. tear down what step 1 started, whatever happened.
# Exits non-zero on any failure, and when pytest ran no test.
# MLOPS_CLUSTER_SKIP_MOLECULE=1 leaves the molecule scenarios out (pytest only).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CONTROLPLANE="$HERE/controlplane.sh"
PYTHON="${MLOPS_PYTHON:-$ROOT/.venv/bin/python}"
started=0

log() { printf '[cluster-test] %s\n' "$*" >&2; }

cleanup() {
  local rc=$?
  if ((started)); then
    log "tearing down the embedded control plane"
    "$CONTROLPLANE" down || rc=1
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

t0=$SECONDS
if [[ -n "${MLOPS_TEST_KUBECONFIG:-}" ]]; then
  [[ -r "$MLOPS_TEST_KUBECONFIG" ]] || { log "MLOPS_TEST_KUBECONFIG=$MLOPS_TEST_KUBECONFIG is not readable"; exit 1; }
  log "using the cluster in MLOPS_TEST_KUBECONFIG=$MLOPS_TEST_KUBECONFIG"
  kubeconfig="$MLOPS_TEST_KUBECONFIG"
else
  if "$CONTROLPLANE" status >/dev/null 2>&1; then
    log "reusing this checkout's running control plane (left running afterwards)"
  else
    started=1
  fi
  up_out="$("$CONTROLPLANE" up)"
  kubeconfig="$(tail -n 1 <<<"$up_out")"
  kubeconfig="${kubeconfig#KUBECONFIG=}"
  [[ -r "$kubeconfig" ]] || { log "controlplane.sh up gave no kubeconfig: $up_out"; exit 1; }
fi
log "control plane ready after $((SECONDS - t0))s"

t1=$SECONDS
rc=0
(cd "$ROOT" && "$PYTHON" -m pytest tests/cluster -p no:cacheprovider "$@") || rc=$?
if ((rc == 5)); then
  log "pytest collected no test: failing the tier"
  exit 5
fi
((rc == 0)) || { log "pytest failed (exit $rc)"; exit "$rc"; }
log "pytest took $((SECONDS - t1))s"

if [[ "${MLOPS_CLUSTER_SKIP_MOLECULE:-0}" != 1 ]]; then
  t2=$SECONDS
  (cd "$ROOT" && molecule test -s cluster_smoke) || {
    rc=$?
    log "molecule scenario cluster_smoke failed (exit $rc)"
    exit "$rc"
  }
  log "molecule cluster_smoke took $((SECONDS - t2))s"
  # The roles themselves (mlflow, prometheus, grafana, private_cluster) through playbooks/platform.yml and
  # platform_remove.yml with the openshift example inventory, on the same control plane.
  scenarios=(cluster_platform)
  for scenario in "${scenarios[@]}"; do
    t2=$SECONDS
    (cd "$ROOT" && molecule test -s "$scenario") || {
      rc=$?
      log "molecule scenario $scenario failed (exit $rc)"
      exit "$rc"
    }
    log "molecule $scenario took $((SECONDS - t2))s"
  done
fi
if [[ -z "${MLOPS_TEST_KUBECONFIG:-}" ]]; then
  "$CONTROLPLANE" status 2>&1 | sed 's/^\[controlplane\]/[cluster-test] after the tier:/' >&2 || true
fi
log "cluster tier passed in $((SECONDS - t0))s"
