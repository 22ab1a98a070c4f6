# shellcheck shell=bash
# The start of every tier that needs a Kubernetes API, sourced (not run) by tests/cluster/run-tests.sh and
# tests/tekton/run.sh after they set SESSION_TAG (the prefix of their log lines):
#   session_python     the test venv's Python first on PATH (MLOPS_PYTHON; default .venv/bin/python), and the
#                      collection where ansible-playbook finds it (.cache/collections, what `make collection` does);
#   session_cluster    SESSION_KUBECONFIG: MLOPS_TEST_KUBECONFIG when set (a real cluster), else this checkout's
#                      embedded control plane, reused when it runs (and then left running), else brought up here
#                      and stopped on exit whatever happened;
#   session_pytest     pytest with the given arguments from the checkout; a run that collects no test fails (exit 5).
# shellcheck disable=SC2034  # SESSION_* are read by the scripts that source this one

SESSION_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SESSION_CONTROLPLANE="$SESSION_ROOT/tests/cluster/controlplane.sh"
SESSION_T0=$SECONDS
_session_started=0

log() { printf '[%s] %s\n' "${SESSION_TAG:?}" "$*" >&2; }

# shellcheck disable=SC2317  # invoked by the EXIT trap
_session_cleanup() {
  local rc=$?
  if ((_session_started)); then
    log "stopping the embedded control plane this run started"
    "$SESSION_CONTROLPLANE" down >/dev/null || rc=1
  fi
  exit "$rc"
}
trap _session_cleanup EXIT
trap 'exit 130' INT TERM

session_python() {
  PYTHON="${MLOPS_PYTHON:-$SESSION_ROOT/.venv/bin/python}"
  [[ -x "$PYTHON" ]] || { log "no Python at $PYTHON: run 'make venv' first (or set MLOPS_PYTHON)"; exit 1; }
  PATH="$(dirname "$PYTHON"):$PATH"
  MLOPS_PYTHON="$PYTHON"
  ANSIBLE_COLLECTIONS_PATH="${ANSIBLE_COLLECTIONS_PATH:-$SESSION_ROOT/.cache/collections}"
  export PATH MLOPS_PYTHON ANSIBLE_COLLECTIONS_PATH
  mkdir -p "$SESSION_ROOT/.cache/collections/ansible_collections/mlops"
  ln -sfn "$SESSION_ROOT" "$SESSION_ROOT/.cache/collections/ansible_collections/mlops/platform"
}

session_cluster() {
  if [[ -n "${MLOPS_TEST_KUBECONFIG:-}" ]]; then
    [[ -r "$MLOPS_TEST_KUBECONFIG" ]] || { log "MLOPS_TEST_KUBECONFIG=$MLOPS_TEST_KUBECONFIG is not readable"; exit 1; }
    log "using the cluster in MLOPS_TEST_KUBECONFIG=$MLOPS_TEST_KUBECONFIG"
    SESSION_KUBECONFIG="$MLOPS_TEST_KUBECONFIG"
    return
  fi
  if "$SESSION_CONTROLPLANE" status >/dev/null 2>&1; then
    log "reusing this checkout's running control plane (left running afterwards)"
  else
    _session_started=1
  fi
  local up_out
  up_out="$("$SESSION_CONTROLPLANE" up)"
  SESSION_KUBECONFIG="$(tail -n 1 <<<"$up_out")"
  SESSION_KUBECONFIG="${SESSION_KUBECONFIG#KUBECONFIG=}"
  [[ -r "$SESSION_KUBECONFIG" ]] || { log "controlplane.sh up gave no kubeconfig: $up_out"; exit 1; }
  log "control plane ready after $((SECONDS - SESSION_T0)) s"
}

session_pytest() {
  local rc=0 t=$SECONDS
  (cd "$SESSION_ROOT" && "$PYTHON" -m pytest -p no:cacheprovider "$@") || rc=$?
  ((rc != 5)) || { log "pytest collected no test: failing the tier"; exit 5; }
  ((rc == 0)) || { log "pytest failed (exit $rc)"; exit "$rc"; }
  log "pytest took $((SECONDS - t)) s"
}
