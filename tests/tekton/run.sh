#!/usr/bin/env bash
# The Tekton tier: Tekton's own validation of the rendered objects, the role on the embedded control plane, and the
# pipeline's steps run for real on this machine against a local platform and a real S3 server.
#   tests/tekton/run.sh [pytest args]          (MLOPS_PYTHON: the test venv's python; default .venv/bin/python)
# 1. builds (or finds in ~/.cache/mlops-platform) the validator (Go, from the module proxy) and SeaweedFS, and
#    installs DVC's S3 plugin into .cache/tekton-dvc-s3 (requirements-dvc-s3.txt; PYTHONPATH of the steps only);
# 2. the cluster of tests/cluster/session.sh: MLOPS_TEST_KUBECONFIG, or this checkout's embedded control plane
#    (reused when it runs; what this script started it stops, whatever happened);
# 3. runs pytest tests/tekton; fails when pytest fails or collects no test.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SESSION_TAG=tekton-test
# shellcheck source=tests/cluster/session.sh
. "$ROOT/tests/cluster/session.sh"
session_python

MLOPS_TEKTON_VALIDATOR="$("$HERE/build-validator.sh" | tail -n 1)"
MLOPS_SEAWEEDFS="$("$ROOT/tests/support/seaweedfs.sh" build | tail -n 1)"
MLOPS_TEKTON_DVC_S3="$("$HERE/dvc-s3-overlay.sh" | tail -n 1)"
export MLOPS_TEKTON_VALIDATOR MLOPS_SEAWEEDFS MLOPS_TEKTON_DVC_S3
log "validator and SeaweedFS ready after $((SECONDS - SESSION_T0)) s"

session_cluster
MLOPS_TEKTON_KUBECONFIG="$SESSION_KUBECONFIG"
export MLOPS_TEKTON_KUBECONFIG

session_pytest tests/tekton -q "$@"
log "done in $((SECONDS - SESSION_T0)) s"
