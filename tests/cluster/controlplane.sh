#!/usr/bin/env bash
# Embedded Kubernetes control plane for the cluster test tier: etcd, kube-apiserver,
# kube-controller-manager and kube-scheduler built from the Go modules of one pinned Kubernetes
# release, KWOK as the kubelets, and stand-ins for the operators our roles talk to (KWOK stages,
# admission policies and one small stand-in controller). One control plane per checkout.
#
#   controlplane.sh build         build once into ~/.cache/mlops-platform/<versions>/bin
#   controlplane.sh up            start this checkout's control plane on 127.0.0.1 (build first if
#                                 needed), or reuse the running one (fixtures re-applied, KWOK and
#                                 the stand-in controller restarted when their config changed);
#                                 last line of stdout: KUBECONFIG=<path>
#   controlplane.sh down          stop what `up` started; returns when every process is gone
#   controlplane.sh status        exit 0 running and ready, 3 not running, 1 broken; names the owner
#   controlplane.sh status --all  every control plane of this user on this machine
#   controlplane.sh env           print `export KUBECONFIG=...`
#   controlplane.sh info          machine-readable key=value lines (ports, PIDs, paths)
#
# Isolation: the state directory and the port block are derived from the checkout's path, so two
# checkouts never share either. Everything listens on 127.0.0.1. See tests/cluster/README.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd "$HERE/../.." && pwd -P)"

# ---- pinned versions (the cache key is made of these and the Go version) -------------------
K8S_VERSION="v1.36.3"      # k8s.io/kubernetes; staging modules at v0.<minor>.<patch>
ETCD_VERSION="v3.6.8"      # go.etcd.io/etcd/server/v3: the etcd that k8s v1.36.3 pins
KWOK_VERSION="v0.8.0"      # sigs.k8s.io/kwok

# ---- this checkout's state directory -------------------------------------------------------
# <parent>/cp-<first 12 hex of sha256(checkout path)>; the parent is per user.
CHECKOUT_ID="$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)"
STATE_PARENT="${XDG_RUNTIME_DIR:-/tmp}/mlops-platform-$(id -u)"
STATE_DIR="${MLOPS_CP_STATE_DIR:-$STATE_PARENT/cp-$CHECKOUT_ID}"
CURRENT="$STATE_DIR/current"          # symlink to this run's dir, which lives in STATE_DIR
CLAIMS="$STATE_PARENT/port-blocks"    # <base> -> the state dir that holds that port block

# ---- ports: a block of 100 below the kernel's ephemeral range, chosen per checkout ---------
# Offsets inside a block; the block base comes from the checkout id (next free block when taken)
# or from MLOPS_CP_PORT_BASE. The chosen block is recorded in the run dir.
PORT_BLOCKS=220                       # bases 10000, 10100, ... 31900
OFF_APISERVER=43 OFF_KWOK=47 OFF_KCM=57 OFF_SCHED=59 OFF_ETCD_CLIENT=79 OFF_ETCD_PEER=80

READY_TIMEOUT="${MLOPS_CP_READY_TIMEOUT:-120}"   # seconds, for each wait in `up`
STOP_TIMEOUT=15                                   # seconds per process before SIGKILL in `down`
LOCK_TIMEOUT="${MLOPS_CP_LOCK_TIMEOUT:-300}"      # seconds to wait for another up/down here
BUILD_JOBS="${MLOPS_CP_BUILD_JOBS:-2}"
# MLOPS_CP_BARE=1: a plain cluster (nodes, pods, volumes), no fixtures and no operator stand-ins;
# what a kind cluster looks like to the tier (test_harness_lifecycle.py points the tests at one).
BARE="${MLOPS_CP_BARE:-0}"

CACHE_ROOT="${MLOPS_CP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlops-platform}"

# Start order; `down` stops in reverse.
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok mlops-standin-controller)
BINARIES=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok)

# What KWOK and the stand-in controller read; a change restarts them when a running control
# plane is reused.
KWOK_CONFIG=("$HERE/kwok/kwok.yaml" "$HERE/kwok/stages-workloads.yaml")
((BARE)) || KWOK_CONFIG+=("$HERE/kwok/stages-standins.yaml")
STANDIN_SOURCE=("$HERE/standins/mlops_standin_controller.py")

log() { printf '[controlplane] %s\n' "$*" >&2; }
die() { printf '[controlplane] ERROR: %s\n' "$*" >&2; exit 1; }

cache_key() {
  printf 'k8s-%s_etcd-%s_kwok-%s_%s' "$K8S_VERSION" "$ETCD_VERSION" "$KWOK_VERSION" "$(go env GOVERSION)"
}

require_go() {
  command -v go >/dev/null || die "go is not on PATH: Go >= 1.26 builds the control plane"
}

# ============================================================================================
# build
# ============================================================================================
# k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces every staging module
# (k8s.io/api, k8s.io/apiserver, ...) with a directory of its own repo, and replace directives
# only count in the main module. So a throwaway wrapper module is generated in the cache dir:
# it requires k8s.io/kubernetes and replaces each staging module that k8s.io/kubernetes
# requires (read from its own go.mod in the module cache) with the published v0.Y.Z release.

# Staging modules k8s.io/kubernetes requires at v0.0.0 and replaces with ./staging/...
staging_modules() {
  local kmod="$1" m
  awk '
    $1=="replace" && $2=="(" { inrep=1; next }
    inrep && $1==")" { inrep=0; next }
    inrep && $2=="=>" && $3 ~ /^\.\/staging\// { print $1 }
  ' "$kmod" | while read -r m; do
    # unrequired ones (sample-cli-plugin) are not always published and are not needed
    if grep -Eq "^[[:space:]]+${m//./\\.} v0\\.0\\.0" "$kmod"; then printf '%s\n' "$m"; fi
  done
}

write_wrapper_module() {
  local src="$1" kmod="$2" staging_version="$3" m
  mkdir -p "$src/etcd"
  {
    printf '// Generated by tests/cluster/controlplane.sh; lives only in the build cache.\n'
    printf 'module mlops-platform.invalid/controlplane\n\ngo %s\n\n' "$(awk '$1=="go"{print $2; exit}' "$kmod")"
    printf 'require (\n\tk8s.io/kubernetes %s\n\tgo.etcd.io/etcd/server/v3 %s\n)\n\n' "$K8S_VERSION" "$ETCD_VERSION"
    printf 'replace (\n'
    while read -r m; do
      printf '\t%s => %s %s\n' "$m" "$m" "$staging_version"
    done < <(staging_modules "$kmod")
    printf ')\n'
  } >"$src/go.mod"
  # etcd's own main package sits in the etcd repo's root module, which has replace directives
  # too; its server module exposes the same entry point, so a three-line main is enough.
  cat >"$src/etcd/main.go" <<'EOF'
// Generated by tests/cluster/controlplane.sh; lives only in the build cache.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
}

built() {
  local bin="$1" b
  [[ -f "$bin/../.complete" ]] || return 1
  for b in "${BINARIES[@]}"; do [[ -x "$bin/$b" ]] || return 1; done
}

do_build() {
  require_go
  local key dir bin src kdir kmod staging_version ldflags build_date minor t0 pair cmd
  key="$(cache_key)"
  dir="$CACHE_ROOT/$key"
  bin="$dir/bin"
  if built "$bin"; then
    log "binaries cached in $bin"
    return 0
  fi
  mkdir -p "$dir"
  exec 9>"$dir/.build.lock"
  if ! flock -n 9; then
    log "another build holds $dir/.build.lock; waiting for it (at most 90 minutes)"
    flock -w 5400 9 || die "timed out waiting for the build lock"
    if built "$bin"; then log "binaries cached in $bin"; return 0; fi
  fi
  t0=$SECONDS
  log "building $key into $dir (go build -p $BUILD_JOBS; a cold build takes a while)"
  mkdir -p "$bin"

  # k8s.io/kubernetes's go.mod, from the module cache (downloaded once if needed).
  kdir="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -n "$kdir" && -f "$kdir/go.mod" ]] || die "could not download k8s.io/kubernetes@$K8S_VERSION"
  kmod="$kdir/go.mod"
  staging_version="v0.${K8S_VERSION#v1.}"
  minor="$(cut -d. -f2 <<<"$K8S_VERSION")"

  src="$dir/src"
  rm -rf "$src"
  write_wrapper_module "$src" "$kmod" "$staging_version"

  # What /version reports: the release, and that it was built from the module archive.
  build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  ldflags="-s -w"
  for pair in "gitVersion=$K8S_VERSION" "gitMajor=1" "gitMinor=$minor" \
              "gitTreeState=archive" "buildDate=$build_date"; do
    ldflags+=" -X k8s.io/component-base/version.$pair -X k8s.io/client-go/pkg/version.$pair"
  done

  local -a goenv=(env "GOFLAGS=-mod=mod -buildvcs=false" CGO_ENABLED=0)
  (
    cd "$src"
    for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
      [[ -x "$bin/$cmd" ]] && continue
      log "go build $cmd ($((SECONDS - t0))s)"
      "${goenv[@]}" go build -p "$BUILD_JOBS" -trimpath -ldflags "$ldflags" \
        -o "$bin/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd"
      mv "$bin/$cmd.tmp" "$bin/$cmd"
    done
    if [[ ! -x "$bin/etcd" ]]; then
      log "go build etcd ($((SECONDS - t0))s)"
      "${goenv[@]}" go build -p "$BUILD_JOBS" -trimpath -ldflags "-s -w" -o "$bin/etcd.tmp" ./etcd
      mv "$bin/etcd.tmp" "$bin/etcd"
    fi
  )
  # kwok has no replace directives, so `go install` works; its version is a constant.
  if [[ ! -x "$bin/kwok" ]]; then
    log "go install sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION ($((SECONDS - t0))s)"
    env GOBIN="$bin" CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
      go install -p "$BUILD_JOBS" -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  fi

  "$bin/kube-apiserver" --version >&2
  "$bin/etcd" --version | head -1 >&2
  "$bin/kwok" --version >&2
  printf 'built %s in %ss with %s\n' "$build_date" "$((SECONDS - t0))" "$(go env GOVERSION)" >"$dir/.complete"
  log "build finished in $((SECONDS - t0))s"
}

# ============================================================================================
# processes: a PID file holds "<pid> <start time>", so a reused PID never passes for ours
# ============================================================================================
# proc_alive <pid> <start time>: that very process exists and has not exited (a zombie has)
proc_alive() {
  local pid="$1" start="$2" stat rest state st
  [[ -n "$pid" && -n "$start" ]] || return 1
  stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
  rest="${stat##*) }"
  read -r state _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ st _ <<<"$rest"
  [[ "$state" != Z && "$st" == "$start" ]]
}

# pidfile_alive <file>
pidfile_alive() {
  local pid start
  [[ -f "$1" ]] || return 1
  read -r pid start <"$1" || return 1
  proc_alive "$pid" "$start"
}

pidfile_pid() { local pid _s; read -r pid _s <"$1" && printf '%s\n' "$pid"; }

# start <run> <name> <binary> <args...>: detached, in its own session, logs in the run dir
start() {
  local run="$1" name="$2" exe="$3" pid stat rest st
  shift 3
  # fds 8 and 9 hold our locks: a child must not inherit them
  setsid "$exe" "$@" >>"$run/logs/$name.log" 2>&1 </dev/null 8>&- 9>&- &
  pid=$!
  stat="$(cat "/proc/$pid/stat")" || die "$name (pid $pid) exited at once; see $run/logs/$name.log"
  rest="${stat##*) }"
  read -r _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ st _ <<<"$rest"
  printf '%s %s\n' "$pid" "$st" >"$run/pids/$name"
  log "started $name (pid $pid)"
}

# stop_component <run> <name>: SIGTERM, wait until the PID is gone, SIGKILL after STOP_TIMEOUT;
# fails when the process outlives SIGKILL by 10 s
stop_component() {
  local run="$1" name="$2" file pid deadline
  file="$run/pids/$name"
  pidfile_alive "$file" || { rm -f "$file"; return 0; }
  pid="$(pidfile_pid "$file")"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT))
  while pidfile_alive "$file"; do
    if ((SECONDS >= deadline)); then
      log "$name (pid $pid) ignored SIGTERM for ${STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      deadline=$((SECONDS + 10))
      while pidfile_alive "$file"; do
        ((SECONDS < deadline)) || { log "$name (pid $pid) survived SIGKILL"; return 1; }
        sleep 0.05
      done
      break
    fi
    sleep 0.05
  done
  rm -f "$file"
  log "stopped $name (pid $pid)"
}

# ============================================================================================
# run state
# ============================================================================================
run_dir() { [[ -L "$CURRENT" ]] && readlink "$CURRENT"; }

# load_ports <run>: the port block this run was given
load_ports() {
  local base
  base="$(cat "$1/port-base" 2>/dev/null)" || return 1
  set_ports "$base"
}

set_ports() {
  PORT_BASE="$1"
  APISERVER_PORT=$((PORT_BASE + OFF_APISERVER))
  KWOK_PORT=$((PORT_BASE + OFF_KWOK))
  KCM_PORT=$((PORT_BASE + OFF_KCM))
  SCHED_PORT=$((PORT_BASE + OFF_SCHED))
  ETCD_CLIENT_PORT=$((PORT_BASE + OFF_ETCD_CLIENT))
  ETCD_PEER_PORT=$((PORT_BASE + OFF_ETCD_PEER))
  ALL_PORTS=("$APISERVER_PORT" "$KWOK_PORT" "$KCM_PORT" "$SCHED_PORT" "$ETCD_CLIENT_PORT" "$ETCD_PEER_PORT")
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

curl_api() {
  local run="$1" path="$2"
  curl -sS --max-time 5 --cacert "$run/pki/ca.crt" --cert "$run/pki/admin.crt" \
    --key "$run/pki/admin.key" "https://127.0.0.1:$APISERVER_PORT$path"
}

# started_alive <run>: every component started so far in this run is still alive
started_alive() {
  local run="$1" f
  for f in "$run"/pids/*; do
    [[ -e "$f" ]] || continue
    if ! pidfile_alive "$f"; then
      log "$(basename "$f") exited; last lines of its log:"
      tail -n 15 "$run/logs/$(basename "$f").log" >&2 || true
      return 1
    fi
  done
}

# wait_for <timeout> <what> <command...>: poll until the command succeeds; give up at the
# timeout, or at once when a process of the current run (UP_RUN) has died
UP_RUN=""
wait_for() {
  local timeout="$1" what="$2" deadline
  shift 2
  deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if [[ -n "$UP_RUN" ]] && ! started_alive "$UP_RUN"; then
      log "gave up waiting for $what"
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "timed out after ${timeout}s waiting for $what"
      return 1
    fi
    sleep 0.2
  done
}

# The checks below are called through wait_for.
# shellcheck disable=SC2317,SC2329
api_ready() { [[ "$(curl_api "$1" /readyz)" == "ok" ]]; }
# shellcheck disable=SC2317,SC2329
healthz_ok() { [[ "$(curl -sSk --max-time 5 "$1")" == "ok" ]]; }
# shellcheck disable=SC2317,SC2329
etcd_ok() { curl -sS --max-time 5 "http://127.0.0.1:$ETCD_CLIENT_PORT/health" | grep -q '"health":"true"'; }

# all_true <kubectl...>: every line the command prints ends in =True, and there is at least one.
# Used instead of `kubectl wait --for=condition=...`, which exits at once (not after its
# timeout) when an object has no conditions yet: a just-created CRD or Node.
# shellcheck disable=SC2317,SC2329
all_true() {
  local out
  out="$("$@" 2>/dev/null)" || return 1
  [[ -n "$out" ]] && ! grep -qv '=True$' <<<"$out"
}

is_running() {
  # exit 0: every component alive and the API server ready; 3: nothing here; 1: broken
  local run c
  run="$(run_dir)" || return 3
  [[ -d "$run" ]] || return 3
  load_ports "$run" || return 1
  for c in "${COMPONENTS[@]}"; do
    pidfile_alive "$run/pids/$c" || return 1
  done
  api_ready "$run" || return 1
}

# ============================================================================================
# port blocks: one per control plane on the machine, claimed under a lock
# ============================================================================================
claim_owner_live() {
  # the state dir a claim points to has a current run that still has its API server
  local owner="$1" run
  [[ -L "$owner/current" ]] || return 1
  run="$(readlink "$owner/current")"
  pidfile_alive "$run/pids/kube-apiserver" || [[ -f "$run/starting" ]]
}

# choose_ports <run>: claim a free block, record it in the run dir
choose_ports() {
  local run="$1" h i base owner p busy
  mkdir -p "$CLAIMS"
  exec 8>"$STATE_PARENT/port-blocks.lock"
  flock -w 60 8 || die "timed out waiting for $STATE_PARENT/port-blocks.lock"
  if [[ -n "${MLOPS_CP_PORT_BASE:-}" ]]; then
    local -a candidates=("$MLOPS_CP_PORT_BASE")
  else
    h=$((16#${CHECKOUT_ID:0:8}))
    local -a candidates=()
    for ((i = 0; i < 20; i++)); do candidates+=($((10000 + ((h + i) % PORT_BLOCKS) * 100))); done
  fi
  for base in "${candidates[@]}"; do
    if [[ -L "$CLAIMS/$base" ]]; then
      owner="$(readlink "$CLAIMS/$base")"
      if [[ "$owner" != "$STATE_DIR" ]] && claim_owner_live "$owner"; then
        log "port block $base is held by $owner"
        continue
      fi
    fi
    set_ports "$base"
    busy=""
    for p in "${ALL_PORTS[@]}"; do port_busy "$p" && busy+=" $p"; done
    if [[ -n "$busy" ]]; then
      log "port block $base: port(s)$busy in use by something else"
      continue
    fi
    ln -sfn "$STATE_DIR" "$CLAIMS/$base"
    printf '%s\n' "$base" >"$run/port-base"
    exec 8>&-
    return 0
  done
  exec 8>&-
  if [[ -n "${MLOPS_CP_PORT_BASE:-}" ]]; then
    die "port block MLOPS_CP_PORT_BASE=$MLOPS_CP_PORT_BASE is taken; choose another or unset it"
  fi
  die "no free port block among ${candidates[*]}"
}

release_ports() {
  local base="$1"
  [[ -n "$base" && -L "$CLAIMS/$base" && "$(readlink "$CLAIMS/$base")" == "$STATE_DIR" ]] \
    && rm -f "$CLAIMS/$base"
  return 0
}

# ============================================================================================
# certificates and kubeconfigs (fresh for every run)
# ============================================================================================
gen_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

new_ca() {
  local pki="$1" name="$2" cn="$3"
  gen_key "$pki/$name.key"
  openssl req -x509 -new -key "$pki/$name.key" -days 7 -sha256 -subj "/CN=$cn" \
    -addext 'basicConstraints=critical,CA:TRUE' \
    -addext 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature' \
    -out "$pki/$name.crt" 2>/dev/null
}

# sign_cert <pki> <name> <subject> <extensions> [<ca name>]
sign_cert() {
  local pki="$1" name="$2" subj="$3" ext="$4" ca="${5:-ca}"
  gen_key "$pki/$name.key"
  openssl req -new -key "$pki/$name.key" -subj "$subj" -out "$pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/$ca.crt" -CAkey "$pki/$ca.key" \
    -CAcreateserial -days 7 -sha256 -extfile <(printf '%s\n' "$ext") \
    -out "$pki/$name.crt" 2>/dev/null
  rm -f "$pki/$name.csr"
}

make_pki() {
  local pki="$1" client='basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth'
  mkdir -p "$pki"
  chmod 700 "$pki"
  new_ca "$pki" ca "mlops-platform-embedded-ca-$(date +%s)"
  sign_cert "$pki" apiserver "/CN=kube-apiserver" 'basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local'
  # the aggregation layer's front proxy has a CA of its own
  new_ca "$pki" front-proxy-ca mlops-platform-front-proxy-ca
  sign_cert "$pki" front-proxy-client "/CN=front-proxy-client" "$client" front-proxy-ca
  # the stand-in for OpenShift's service CA signs serving-cert Secrets
  new_ca "$pki" service-ca "mlops-standin-service-serving-signer@$(date +%s)"
  sign_cert "$pki" admin "/O=system:masters/CN=mlops-admin" "$client"
  sign_cert "$pki" kwok "/O=system:masters/CN=mlops-kwok" "$client"
  sign_cert "$pki" standin "/O=system:masters/CN=mlops-standin-controller" "$client"
  sign_cert "$pki" controller-manager "/CN=system:kube-controller-manager" "$client"
  sign_cert "$pki" scheduler "/CN=system:kube-scheduler" "$client"
  # service-account token signing key pair
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pki/sa.key" 2>/dev/null
  openssl pkey -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  chmod 600 "$pki"/*.key
}

# write_kubeconfig <file> <pki> <cert-name> <user>
write_kubeconfig() {
  local file="$1" pki="$2" name="$3" user="$4"
  (
    umask 077
    cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: mlops-embedded
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(base64 -w0 <"$pki/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 <"$pki/$name.crt")
    client-key-data: $(base64 -w0 <"$pki/$name.key")
contexts:
- name: mlops-embedded
  context:
    cluster: mlops-embedded
    user: $user
current-context: mlops-embedded
EOF
  )
}

# ============================================================================================
# fixtures, KWOK and the stand-in controller (fresh start and reuse alike)
# ============================================================================================
kubectl_run() {
  local run="$1"
  shift
  "$BIN/kubectl" --kubeconfig "$run/kubeconfig" --cache-dir "$run/kube-cache" --request-timeout=30s "$@"
}

# The Python that runs the stand-in controller: it needs the `kubernetes` and `cryptography`
# packages (the test venv has both).
standin_python() {
  local p
  for p in "${MLOPS_PYTHON:-}" "$ROOT/.venv/bin/python" python3; do
    [[ -n "$p" ]] || continue
    command -v "$p" >/dev/null 2>&1 || continue
    "$p" -c 'import kubernetes, cryptography, yaml' >/dev/null 2>&1 && { command -v "$p"; return 0; }
  done
  return 1
}

config_hash() { cat "$@" | sha256sum | cut -c1-16; }

# probes that the admission policies are in force (they load through informers, shortly after
# they are created): a Route without a host gets one, a Pod on the host network is refused.
# shellcheck disable=SC2317,SC2329
route_policy_active() {
  local host
  host="$(kubectl_run "$1" create --dry-run=server -n default -o 'jsonpath={.spec.host}' -f - <<'EOF'
{"apiVersion": "route.openshift.io/v1", "kind": "Route",
 "metadata": {"name": "mlops-standin-probe"},
 "spec": {"to": {"kind": "Service", "name": "probe"}}}
EOF
)" || return 1
  [[ "$host" == "mlops-standin-probe-default.apps.embedded.invalid" ]]
}

# shellcheck disable=SC2317,SC2329
scc_policy_active() {
  local out
  out="$(kubectl_run "$1" create --dry-run=server -n default \
      --as=system:serviceaccount:kube-system:replicaset-controller -f - 2>&1 <<'EOF'
{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "mlops-standin-probe"},
 "spec": {"hostNetwork": true, "automountServiceAccountToken": false,
          "containers": [{"name": "probe", "image": "registry.invalid/probe"}]}}
EOF
)" && return 1
  grep -q "ValidatingAdmissionPolicy 'mlops-standin-restricted-v2'" <<<"$out"
}

# shellcheck disable=SC2317,SC2329
crds_established() {
  all_true kubectl_run "$1" get -f "$HERE/crds/" \
    -o 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Established")].status}{"\n"}{end}'
}

# shellcheck disable=SC2317,SC2329
nodes_ready() {
  all_true kubectl_run "$1" get nodes \
    -o 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}'
}

# apply_fixtures <run>: the CRDs (waited for until Established), the nodes and the admission
# policies. Server-side apply with one field manager, so a re-apply on reuse is a no-op unless a
# file changed, and takes back a field a test changed.
APPLY=(apply --server-side --force-conflicts --field-manager=mlops-embedded)
apply_fixtures() {
  local run="$1" log
  log="$run/logs/fixtures.log"
  if ((BARE)); then
    kubectl_run "$run" "${APPLY[@]}" -f "$HERE/kwok/nodes.yaml" >>"$log" 2>&1 \
      || fail_up "$run" "could not create the fake nodes: $(grep -v serverside-applied "$log" | tail -n 5)"
    return 0
  fi
  kubectl_run "$run" "${APPLY[@]}" -f "$HERE/crds/" >>"$log" 2>&1 \
    || fail_up "$run" "could not install the CRD fixtures: $(grep -v serverside-applied "$log" | tail -n 5)"
  wait_for "$READY_TIMEOUT" "the CRD fixtures to be Established" crds_established "$run" \
    || fail_up "$run" "CRD fixtures not established: $(kubectl_run "$run" get -f "$HERE/crds/" 2>&1 | tail -n 5)"
  kubectl_run "$run" "${APPLY[@]}" -f "$HERE/kwok/nodes.yaml" -f "$HERE/admission.yaml" >>"$log" 2>&1 \
    || fail_up "$run" "could not create the nodes and admission policies: $(grep -v serverside-applied "$log" | tail -n 5)"
}

# apply_cluster_objects <run>: once the admission policies are in force (a Route fixture needs its
# host, a namespace its SCC ranges), the objects an OpenShift cluster starts with
apply_cluster_objects() {
  local run="$1" log
  log="$run/logs/fixtures.log"
  ((BARE)) && return 0
  wait_for "$READY_TIMEOUT" "the Route admission policy" route_policy_active "$run" \
    || fail_up "$run" "the Route admission policy is not in force"
  wait_for "$READY_TIMEOUT" "the restricted-v2 admission policy" scc_policy_active "$run" \
    || fail_up "$run" "the restricted-v2 admission policy is not in force"
  kubectl_run "$run" "${APPLY[@]}" -f "$HERE/kwok/cluster-objects.yaml" >>"$log" 2>&1 \
    || fail_up "$run" "could not create the cluster objects: $(grep -v serverside-applied "$log" | tail -n 5)"
}

start_kwok() {
  local run="$1" f
  local -a args=(--kubeconfig="$run/kwok.kubeconfig" --server-address="127.0.0.1:$KWOK_PORT")
  for f in "${KWOK_CONFIG[@]}"; do args+=(--config="$f"); done
  rm -f "$run/pids/kwok"
  start "$run" kwok "$BIN/kwok" "${args[@]}"
  config_hash "${KWOK_CONFIG[@]}" >"$run/config-hash.kwok"
}

start_standin_controller() {
  local run="$1" py
  py="$(standin_python)" || fail_up "$run" "no Python with the kubernetes, cryptography and PyYAML packages for the stand-in controller (set MLOPS_PYTHON)"
  rm -f "$run/standin-controller.ready" "$run/pids/mlops-standin-controller"
  local -a args=("$HERE/standins/mlops_standin_controller.py"
    --kubeconfig "$run/standin.kubeconfig" --ready-file "$run/standin-controller.ready"
    --service-ca-cert "$run/pki/service-ca.crt" --service-ca-key "$run/pki/service-ca.key")
  ((BARE)) && args+=(--only kubelet)
  start "$run" mlops-standin-controller "$py" "${args[@]}"
  { config_hash "${STANDIN_SOURCE[@]}"; printf '%s %s\n' "$py" "$BARE"; } >"$run/config-hash.standin"
}

wait_kwok() {
  local run="$1"
  wait_for "$READY_TIMEOUT" "KWOK /healthz" healthz_ok "http://127.0.0.1:$KWOK_PORT/healthz" \
    || fail_up "$run" "KWOK is not healthy"
}

wait_standin() {
  local run="$1"
  wait_for "$READY_TIMEOUT" "the stand-in controller to sync" test -f "$run/standin-controller.ready" \
    || fail_up "$run" "the stand-in controller did not report ready"
}

# reuse <run>: a running control plane gets this checkout's fixtures, and KWOK and the stand-in
# controller are restarted when what they read changed since they started
reuse() {
  local run="$1" restarted=""
  UP_RUN="$run"
  log "reusing the running control plane (run dir $run): re-applying the fixtures"
  apply_fixtures "$run"
  apply_cluster_objects "$run"
  if [[ "$(config_hash "${KWOK_CONFIG[@]}")" != "$(cat "$run/config-hash.kwok" 2>/dev/null)" ]]; then
    log "the KWOK configuration changed since KWOK started: restarting it"
    stop_component "$run" kwok || fail_up "$run" "could not stop KWOK"
    start_kwok "$run"
    wait_kwok "$run"
    restarted+=" kwok"
  fi
  local want
  want="$({ config_hash "${STANDIN_SOURCE[@]}"; printf '%s %s\n' "$(standin_python)" "$BARE"; })"
  if [[ "$want" != "$(cat "$run/config-hash.standin" 2>/dev/null)" ]]; then
    log "the stand-in controller changed since it started: restarting it"
    stop_component "$run" mlops-standin-controller || fail_up "$run" "could not stop the stand-in controller"
    start_standin_controller "$run"
    wait_standin "$run"
    restarted+=" mlops-standin-controller"
  fi
  log "reused; restarted:${restarted:- nothing}"
}

# ============================================================================================
# up / down
# ============================================================================================
fail_up() {
  local run="$1" msg="$2" c
  log "$msg"
  for c in "${COMPONENTS[@]}"; do
    if [[ -s "$run/logs/$c.log" ]]; then
      log "---- last lines of $c.log ----"
      tail -n 15 "$run/logs/$c.log" >&2
    fi
  done
  if [[ "${MLOPS_CP_KEEP_FAILED:-0}" == 1 ]]; then
    local keep
    keep="$(mktemp -d "${TMPDIR:-/tmp}/mlops-cp-failed.XXXXXX")"
    cp -r "$run/logs" "$keep/"
    log "logs kept in $keep"
  fi
  do_down || true
  exit 1
}

lock_state() {
  mkdir -p "$STATE_DIR"
  chmod 700 "$STATE_PARENT" "$STATE_DIR" 2>/dev/null || true
  exec 9>"$STATE_DIR/lock"
  flock -w "$LOCK_TIMEOUT" 9 || die "another up/down of this checkout holds $STATE_DIR/lock"
}

do_up() {
  lock_state
  local rc=0
  is_running || rc=$?
  BIN="$CACHE_ROOT/$(cache_key)/bin"
  if ((rc == 0)); then
    reuse "$(run_dir)"
    printf 'KUBECONFIG=%s\n' "$(run_dir)/kubeconfig"
    return 0
  fi
  if ((rc == 1)); then
    log "found a broken previous run; stopping it first"
    do_down
  fi
  do_build
  local run t0
  t0=$SECONDS
  printf '%s\n' "$ROOT" >"$STATE_DIR/owner"
  run="$(mktemp -d "$STATE_DIR/run.XXXXXX")"
  touch "$run/starting"
  ln -sfn "$run" "$CURRENT"
  mkdir -p "$run/logs" "$run/pids" "$run/etcd" "$run/kube-cache"
  chmod 700 "$run/etcd"
  UP_RUN="$run"
  trap 'fail_up "$run" "interrupted"' INT TERM
  choose_ports "$run"
  log "checkout $ROOT: state dir $STATE_DIR, port block $PORT_BASE (API server $APISERVER_PORT)"

  make_pki "$run/pki"
  write_kubeconfig "$run/kubeconfig" "$run/pki" admin mlops-admin
  write_kubeconfig "$run/kwok.kubeconfig" "$run/pki" kwok mlops-kwok
  write_kubeconfig "$run/standin.kubeconfig" "$run/pki" standin mlops-standin-controller
  write_kubeconfig "$run/controller-manager.kubeconfig" "$run/pki" controller-manager system:kube-controller-manager
  write_kubeconfig "$run/scheduler.kubeconfig" "$run/pki" scheduler system:kube-scheduler

  start "$run" etcd "$BIN/etcd" \
    --name=mlops-cp --data-dir="$run/etcd" \
    --listen-client-urls="http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --advertise-client-urls="http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster="mlops-cp=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync=true --log-level=warn
  wait_for "$READY_TIMEOUT" "etcd health" etcd_ok || fail_up "$run" "etcd did not become healthy"

  start "$run" kube-apiserver "$BIN/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$APISERVER_PORT" \
    --cert-dir="$run/pki" \
    --tls-cert-file="$run/pki/apiserver.crt" --tls-private-key-file="$run/pki/apiserver.key" \
    --client-ca-file="$run/pki/ca.crt" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$run/pki/sa.pub" \
    --service-account-signing-key-file="$run/pki/sa.key" \
    --service-cluster-ip-range=10.96.0.0/16 \
    --endpoint-reconciler-type=none \
    --requestheader-client-ca-file="$run/pki/front-proxy-ca.crt" \
    --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User \
    --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="$run/pki/front-proxy-client.crt" \
    --proxy-client-key-file="$run/pki/front-proxy-client.key" \
    --authorization-mode=RBAC \
    --allow-privileged=true \
    --profiling=false
  wait_for "$READY_TIMEOUT" "kube-apiserver /readyz" api_ready "$run" \
    || fail_up "$run" "kube-apiserver did not become ready"
  log "kube-apiserver /readyz ok $((SECONDS - t0))s after start (certificates and etcd included)"

  start "$run" kube-controller-manager "$BIN/kube-controller-manager" \
    --kubeconfig="$run/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$run/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$run/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$KCM_PORT" --cert-dir="$run/pki/controller-manager" \
    --leader-elect=false \
    --use-service-account-credentials=true \
    --service-account-private-key-file="$run/pki/sa.key" \
    --root-ca-file="$run/pki/ca.crt" \
    --cluster-signing-cert-file="$run/pki/ca.crt" --cluster-signing-key-file="$run/pki/ca.key" \
    --profiling=false
  start "$run" kube-scheduler "$BIN/kube-scheduler" \
    --kubeconfig="$run/scheduler.kubeconfig" \
    --authentication-kubeconfig="$run/scheduler.kubeconfig" \
    --authorization-kubeconfig="$run/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$SCHED_PORT" --cert-dir="$run/pki/scheduler" \
    --leader-elect=false \
    --profiling=false

  # CRD fixtures before KWOK and the stand-in controller: both resolve their kinds at start.
  apply_fixtures "$run"
  start_kwok "$run"
  start_standin_controller "$run"

  wait_for "$READY_TIMEOUT" "kube-controller-manager /healthz" healthz_ok "https://127.0.0.1:$KCM_PORT/healthz" \
    || fail_up "$run" "kube-controller-manager is not healthy"
  wait_for "$READY_TIMEOUT" "kube-scheduler /healthz" healthz_ok "https://127.0.0.1:$SCHED_PORT/healthz" \
    || fail_up "$run" "kube-scheduler is not healthy"
  wait_kwok "$run"
  wait_for "$READY_TIMEOUT" "the KWOK nodes to be Ready" nodes_ready "$run" \
    || fail_up "$run" "the KWOK nodes did not become Ready"
  # the service-account controller's first work: pods in `default` need its ServiceAccount
  wait_for "$READY_TIMEOUT" "the default ServiceAccount" kubectl_run "$run" get serviceaccount default -n default \
    || fail_up "$run" "kube-controller-manager did not create the default ServiceAccount"
  apply_cluster_objects "$run"
  wait_standin "$run"
  rm -f "$run/starting"
  is_running || fail_up "$run" "a component exited during start-up"

  trap - INT TERM
  log "control plane up in $((SECONDS - t0))s (Kubernetes $K8S_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION); run dir $run"
  printf 'KUBECONFIG=%s\n' "$run/kubeconfig"
}

do_down() {
  local run i c base="" failed=0 p
  run="$(run_dir)" || { log "nothing is running for checkout $ROOT"; return 0; }
  base="$(cat "$run/port-base" 2>/dev/null)" || true
  [[ -n "$base" ]] && set_ports "$base"
  if [[ -d "$run/pids" ]]; then
    for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
      c="${COMPONENTS[$i]}"
      stop_component "$run" "$c" || failed=1
    done
  fi
  ((failed)) && die "some process of $run is still alive; its run dir is kept"
  # every process is gone: their ports must be closed
  if [[ -n "$base" ]]; then
    for p in "${ALL_PORTS[@]}"; do
      ! port_busy "$p" || die "port $p still accepts connections after every process of $run exited"
    done
  fi
  # refuse to remove anything that is not one of our run dirs
  case "$run" in
    "$STATE_DIR"/run.*) rm -rf -- "$run" ;;
    *) log "not removing unexpected run dir $run" ;;
  esac
  rm -f "$CURRENT"
  release_ports "$base"
  log "control plane of checkout $ROOT stopped"
}

down_locked() { lock_state; do_down; }

rss_of() { awk '/^VmRSS/{print $2" "$3}' "/proc/$1/status" 2>/dev/null; }

do_status() {
  if [[ "${1:-}" == --all ]]; then
    status_all
    return 0
  fi
  local rc=0 run c pid owner
  is_running || rc=$?
  run="$(run_dir)" || true
  owner="$(cat "$STATE_DIR/owner" 2>/dev/null || printf '%s' "$ROOT")"
  case "$rc" in
    0) log "running and ready; owned by checkout $owner; API server https://127.0.0.1:$APISERVER_PORT; run dir $run" ;;
    3) log "not running for checkout $ROOT (state dir $STATE_DIR)" ;;
    *) log "broken: some component is down or the API server is not ready (checkout $owner, run dir $run)" ;;
  esac
  if [[ -n "$run" && -d "$run/pids" ]]; then
    for c in "${COMPONENTS[@]}"; do
      if pidfile_alive "$run/pids/$c"; then
        pid="$(pidfile_pid "$run/pids/$c")"
        log "  $c: pid $pid, rss $(rss_of "$pid")"
      else
        log "  $c: not running"
      fi
    done
    ((rc == 0)) && printf 'KUBECONFIG=%s\n' "$run/kubeconfig"
  fi
  return "$rc"
}

# every control plane of this user on this machine, from the port-block claims
status_all() {
  local claim base owner run state
  shopt -s nullglob
  local found=0
  for claim in "$CLAIMS"/*; do
    base="$(basename "$claim")"
    owner="$(readlink "$claim")"
    run="$(readlink "$owner/current" 2>/dev/null || true)"
    if [[ -n "$run" ]] && pidfile_alive "$run/pids/kube-apiserver"; then state=running; else state=stale; fi
    printf 'port-block=%s api=https://127.0.0.1:%s state=%s checkout=%s state-dir=%s\n' \
      "$base" "$((base + OFF_APISERVER))" "$state" "$(cat "$owner/owner" 2>/dev/null || echo '?')" "$owner"
    found=1
  done
  ((found)) || log "no control plane of user $(id -un) is recorded on this machine"
}

do_env() {
  is_running || die "the control plane of checkout $ROOT is not running (tests/cluster/controlplane.sh up)"
  printf 'export KUBECONFIG=%s\n' "$(run_dir)/kubeconfig"
}

do_info() {
  local run c
  printf 'checkout=%s\nstate_dir=%s\nbin_dir=%s\n' "$ROOT" "$STATE_DIR" "$CACHE_ROOT/$(cache_key)/bin"
  run="$(run_dir)" || return 0
  printf 'run_dir=%s\n' "$run"
  if load_ports "$run"; then
    printf 'port_base=%s\napiserver_port=%s\nkwok_port=%s\nkcm_port=%s\nscheduler_port=%s\netcd_client_port=%s\netcd_peer_port=%s\n' \
      "$PORT_BASE" "$APISERVER_PORT" "$KWOK_PORT" "$KCM_PORT" "$SCHED_PORT" "$ETCD_CLIENT_PORT" "$ETCD_PEER_PORT"
  fi
  for c in "${COMPONENTS[@]}"; do
    [[ -f "$run/pids/$c" ]] && printf 'pid_%s=%s\n' "${c//-/_}" "$(cat "$run/pids/$c")"
  done
  return 0
}

main() {
  case "${1:-}" in
    build) do_build ;;
    up) do_up ;;
    down) down_locked ;;
    status) do_status "${2:-}" ;;
    env) do_env ;;
    info) do_info ;;
    *) printf 'usage: %s {build|up|down|status [--all]|env|info}\n' "$0" >&2; exit 2 ;;
  esac
}

# one line: bash has parsed it all before running, so editing this file mid-run is harmless
main "$@"; exit $?
