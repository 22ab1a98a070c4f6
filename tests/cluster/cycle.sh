#!/usr/bin/env bash
# cycle.sh [N]: N consecutive `up`/`down` cycles (default 30) of this checkout's embedded control
# plane, to prove `up` and `down` reliable. Each cycle:
#   up     must exit 0 and print KUBECONFIG=<path>
#   check  the API server is ready, every CRD fixture is Established, both nodes are Ready, the
#          stand-in controller is synced, and a Pod goes Running (the whole chain: admission,
#          scheduler, kubelet stand-in, KWOK)
#   down   must exit 0; then every PID `up` recorded must be gone and every port of its block closed
# Prints one line per cycle and a summary (failures, up/down times); exits 1 if any cycle failed.
# Refuses to run while this checkout's control plane is up (it would stop it). Not part of
# `make test`: 30 cycles take about 8 minutes.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
CP="$HERE/controlplane.sh"
N="${1:-30}"
[[ "$N" =~ ^[0-9]+$ && "$N" -gt 0 ]] || { echo "usage: $0 [cycles]" >&2; exit 2; }

log() { printf '[cycle] %s\n' "$*" >&2; }

rc=0
"$CP" status >/dev/null 2>&1 || rc=$?
if ((rc != 3)); then
  log "this checkout's control plane is running (or broken): run '$CP down' first"
  exit 1
fi

LOGDIR="$(mktemp -d "${TMPDIR:-/tmp}/mlops-cycle.XXXXXX")"
failures=0
ups=()
downs=()

# gone <pid> <start time>: that process has exited (or was reaped)
gone() {
  local stat rest state st
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
  rest="${stat##*) }"
  read -r state _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ st _ <<<"$rest"
  [[ "$state" == Z || "$st" != "$2" ]]
}

check_cycle() {
  local kubeconfig="$1" kubectl="$2" out ns
  "$kubectl" --kubeconfig "$kubeconfig" get --raw /readyz >/dev/null || { echo "readyz"; return 1; }
  out="$("$kubectl" --kubeconfig "$kubeconfig" get crd \
    -o 'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Established")].status}{"\n"}{end}')"
  if [[ -z "$out" ]] || grep -qv '^True$' <<<"$out"; then echo "CRDs not Established: $out"; return 1; fi
  out="$("$kubectl" --kubeconfig "$kubeconfig" get nodes \
    -o 'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}')"
  [[ "$out" == $'True\nTrue' ]] || { echo "nodes not Ready: $out"; return 1; }
  ns="cycle-$RANDOM"
  "$kubectl" --kubeconfig "$kubeconfig" create namespace "$ns" >/dev/null
  local deadline=$((SECONDS + 30)) phase=""
  until "$kubectl" --kubeconfig "$kubeconfig" get serviceaccount default -n "$ns" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { echo "no default ServiceAccount"; return 1; }
    sleep 0.2
  done
  "$kubectl" --kubeconfig "$kubeconfig" run probe -n "$ns" --image=registry.invalid/probe:1 --restart=Never >/dev/null
  until [[ "$phase" == Running ]]; do
    ((SECONDS < deadline)) || { echo "probe pod is $phase"; return 1; }
    sleep 0.2
    phase="$("$kubectl" --kubeconfig "$kubeconfig" get pod probe -n "$ns" -o 'jsonpath={.status.phase}')"
  done
}

for ((i = 1; i <= N; i++)); do
  t0=$(date +%s.%N)
  status="ok"
  if ! out="$("$CP" up 2>"$LOGDIR/up-$i.log")"; then
    status="FAIL up (log $LOGDIR/up-$i.log)"
  fi
  t1=$(date +%s.%N)
  info="$("$CP" info 2>/dev/null || true)"
  if [[ "$status" == ok ]]; then
    kubeconfig="${out##*KUBECONFIG=}"
    kubectl="$(sed -n 's/^bin_dir=//p' <<<"$info")/kubectl"
    if ! why="$(check_cycle "$kubeconfig" "$kubectl" 2>&1)"; then
      status="FAIL check: $why"
    fi
  fi
  t2=$(date +%s.%N)
  if ! "$CP" down 2>"$LOGDIR/down-$i.log"; then
    status="FAIL down (log $LOGDIR/down-$i.log)"
  fi
  t3=$(date +%s.%N)
  # every PID gone, every port closed, right after down returned
  while IFS='=' read -r key value; do
    [[ "$key" == pid_* ]] || continue
    read -r pid start <<<"$value"
    gone "$pid" "$start" || status="FAIL ${key#pid_} (pid $pid) alive after down"
  done <<<"$info"
  base="$(sed -n 's/^port_base=//p' <<<"$info")"
  if [[ -n "$base" ]]; then
    for ((p = base; p < base + 100; p++)); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then status="FAIL port $p open after down"; fi
    done
  fi
  up_s="$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')"
  down_s="$(awk -v a="$t2" -v b="$t3" 'BEGIN{printf "%.1f", b-a}')"
  ups+=("$up_s")
  downs+=("$down_s")
  [[ "$status" == ok ]] || failures=$((failures + 1))
  printf 'cycle %2d/%d: up %5ss  down %4ss  %s\n' "$i" "$N" "$up_s" "$down_s" "$status"
done

stats() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END{printf "min %.1fs  median %.1fs  max %.1fs", a[1], a[int((NR+1)/2)], a[NR]}'; }
printf 'cycles %d, failures %d; up: %s; down: %s; logs in %s\n' "$N" "$failures" "$(stats "${ups[@]}")" \
  "$(stats "${downs[@]}")" "$LOGDIR"
((failures == 0))
