#!/usr/bin/env bash
# The cluster test tier (`make cluster-test`, part of `make test`):
#   1. the cluster of tests/cluster/session.sh: MLOPS_TEST_KUBECONFIG, or this checkout's embedded control plane
#      (tests/cluster/controlplane.sh; reused when it runs);
#   2. run `pytest tests/cluster`, then the molecule scenarios `cluster_smoke`, `cluster_platform`, `cluster_jupyterhub`
#      and `cluster_kubernetes`;
#   3. tear down what step 1 started, whatever happened.
# Exits non-zero on any failure, and when pytest ran no test.
# MLOPS_CLUSTER_SKIP_MOLECULE=1 leaves the molecule scenarios out (pytest only).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SESSION_TAG=cluster-test
# shellcheck source=tests/cluster/session.sh
. "$HERE/session.sh"
session_python
session_cluster
# The tests find the cluster through MLOPS_TEST_KUBECONFIG or the checkout's control plane themselves.
session_pytest tests/cluster "$@"

if [[ "${MLOPS_CLUSTER_SKIP_MOLECULE:-0}" != 1 ]]; then
  # cluster_smoke: the harness as a role sees it; cluster_platform: the roles themselves (mlflow, prometheus, grafana,
  # private_cluster) through playbooks/platform.yml and platform_remove.yml with the openshift example inventory;
  # cluster_jupyterhub: the jupyterhub role's cluster backend through the same playbooks, --tags jupyterhub;
  # cluster_kubernetes: the whole platform.yml with the kubernetes example inventory (Ingress, basic-auth, Pod Security);
  # cluster_serving: the seldon role's cluster backend and scripted canaries against a real MLflow and Prometheus.
  scenarios=(cluster_smoke cluster_platform cluster_jupyterhub cluster_kubernetes cluster_serving)
  for scenario in "${scenarios[@]}"; do
    t2=$SECONDS
    (cd "$ROOT" && molecule test -s "$scenario") || {
      rc=$?
      log "molecule scenario $scenario failed (exit $rc)"
      exit "$rc"
    }
    log "molecule $scenario took $((SECONDS - t2)) s"
  done
fi
if [[ -z "${MLOPS_TEST_KUBECONFIG:-}" ]]; then
  "$SESSION_CONTROLPLANE" status 2>&1 | sed 's/^\[controlplane\]/[cluster-test] after the tier:/' >&2 || true
fi
log "cluster tier passed in $((SECONDS - SESSION_T0)) s"
