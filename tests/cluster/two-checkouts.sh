#!/usr/bin/env bash
# two-checkouts.sh [run-tests.sh args]: prove that two checkouts run their cluster tiers at the
# same time without touching each other. Clones this repository (its committed HEAD) into two
# temporary directories, runs tests/cluster/run-tests.sh in both at once, samples
# `controlplane.sh status --all` while they run, and checks that both tiers passed, that two
# control planes with different owners, state dirs and port blocks were seen running together,
# and that neither left a process or a claimed port block behind. Needs the test venv
# (MLOPS_PYTHON, default .venv/bin/python of this checkout) and the control plane's build cache.
# Arguments go to both run-tests.sh (for example -k admission, or MLOPS_CLUSTER_SKIP_MOLECULE=1
# in the environment for pytest only). Not part of `make test`.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd "$HERE/../.." && pwd -P)"
PYTHON="${MLOPS_PYTHON:-$ROOT/.venv/bin/python}"
[[ -x "$PYTHON" ]] || { echo "no Python at $PYTHON (set MLOPS_PYTHON)" >&2; exit 1; }
export MLOPS_PYTHON="$PYTHON"
unset MLOPS_CP_STATE_DIR MLOPS_CP_PORT_BASE MLOPS_TEST_KUBECONFIG

log() { printf '[two-checkouts] %s\n' "$*" >&2; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/mlops-two-checkouts.XXXXXX")"
# shellcheck disable=SC2317,SC2329  # the EXIT trap calls it
cleanup() {
  local c
  local state
  for c in a b; do
    if [[ -x "$WORK/$c/tests/cluster/controlplane.sh" ]]; then
      "$WORK/$c/tests/cluster/controlplane.sh" down >/dev/null 2>&1 || true
      # the clone goes away, and so does its state dir
      state="$("$WORK/$c/tests/cluster/controlplane.sh" info 2>/dev/null | sed -n 's/^state_dir=//p')"
      if [[ -n "$state" ]]; then rm -rf -- "$state"; fi
    fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

commit="$(git -C "$ROOT" rev-parse HEAD)"
for c in a b; do
  git clone -q "$ROOT" "$WORK/$c"
  git -C "$WORK/$c" checkout -q --detach "$commit"
  mkdir -p "$WORK/$c/.cache/collections/ansible_collections/mlops"
  ln -s "$WORK/$c" "$WORK/$c/.cache/collections/ansible_collections/mlops/platform"
done
log "checkouts of $commit in $WORK/a and $WORK/b"

venv="$(cd "$(dirname "$PYTHON")/.." && pwd)"
t0=$SECONDS
for c in a b; do
  (
    cd "$WORK/$c"
    ANSIBLE_COLLECTIONS_PATH="$WORK/$c/.cache/collections:$venv/lib/ansible-collections" \
      tests/cluster/run-tests.sh "$@" >"$WORK/$c.log" 2>&1
    echo $? >"$WORK/$c.rc"
  ) &
done

# sample which control planes run while both tiers do
seen=""
while [[ ! -f "$WORK/a.rc" || ! -f "$WORK/b.rc" ]]; do
  snapshot="$("$WORK/a/tests/cluster/controlplane.sh" status --all 2>/dev/null | grep 'state=running' || true)"
  if grep -q "checkout=$WORK/a " <<<"$snapshot" && grep -q "checkout=$WORK/b " <<<"$snapshot"; then
    seen="$snapshot"
  fi
  sleep 2
done
wait
elapsed=$((SECONDS - t0))

failed=0
for c in a b; do
  rc="$(cat "$WORK/$c.rc")"
  summary="$(sed 's/\x1b\[[0-9;]*m//g' "$WORK/$c.log" | grep -E '^=+ [0-9]+ (passed|failed)|cluster tier passed' | tr '\n' ' ')"
  log "checkout $c: run-tests.sh exit $rc; $summary"
  if [[ "$rc" != 0 ]]; then
    failed=1
    tail -n 60 "$WORK/$c.log" >&2
  fi
done
if [[ -z "$seen" ]]; then
  log "FAIL: never saw both control planes running at the same time"
  failed=1
else
  log "both running at once:"
  printf '%s\n' "$seen" >&2
  blocks="$(grep -o 'port-block=[0-9]*' <<<"$seen" | sort -u | wc -l)"
  dirs="$(grep -o 'state-dir=[^ ]*' <<<"$seen" | sort -u | wc -l)"
  if ((blocks < 2 || dirs < 2)); then log "FAIL: the two shared a port block or a state dir"; failed=1; fi
fi
for c in a b; do
  rc=0
  "$WORK/$c/tests/cluster/controlplane.sh" status >/dev/null 2>&1 || rc=$?
  if ((rc != 3)); then log "FAIL: checkout $c left a control plane behind (status $rc)"; failed=1; fi
  if pgrep -f -- "$WORK/$c/" >/dev/null; then log "FAIL: a process of checkout $c is still running"; failed=1; fi
done
if "$WORK/a/tests/cluster/controlplane.sh" status --all 2>/dev/null | grep -q "checkout=$WORK/"; then
  log "FAIL: a port block of the temporary checkouts is still claimed"
  failed=1
fi
((failed == 0)) && log "two checkouts ran their cluster tiers at the same time in ${elapsed}s: both passed, nothing shared, nothing left"
exit "$failed"
