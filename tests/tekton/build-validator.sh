#!/usr/bin/env bash
# Build tests/tekton/validator (Tekton's own validation code: github.com/tektoncd/pipeline v1.6.0 and
# github.com/tektoncd/triggers v0.34.0, from the Go module proxy) into the user cache, once per version:
#   ~/.cache/mlops-platform/tekton-validate_pipeline-<v>_triggers-<v>_<go version>_<source hash>/tekton-validate
# Prints the binary's path on its last line. A cache hit builds nothing (< 0.1 s).
# MLOPS_CP_CACHE moves the cache root (the same variable as the control plane's build).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC="$HERE/validator"
CACHE_ROOT="${MLOPS_CP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlops-platform}"

command -v go >/dev/null || { echo "build-validator: no 'go' on PATH (Go 1.24 or newer builds the validator)" >&2; exit 1; }
pipeline="$(awk '$1 == "github.com/tektoncd/pipeline" {print $2}' "$SRC/go.mod")"
triggers="$(awk '$1 == "github.com/tektoncd/triggers" {print $2}' "$SRC/go.mod")"
go_version="$(go env GOVERSION)"
# The source is part of the key: an edited validator is built afresh, an unchanged one never.
source_hash="$(cat "$SRC/go.mod" "$SRC/go.sum" "$SRC/main.go" | sha256sum | cut -c1-12)"
out="$CACHE_ROOT/tekton-validate_pipeline-${pipeline}_triggers-${triggers}_${go_version}_${source_hash}"
bin="$out/tekton-validate"

if [[ -x "$bin" ]]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/tekton-validate.lock"
flock 9
if [[ ! -x "$bin" ]]; then
  start=$SECONDS
  echo "build-validator: building Tekton's validation (pipeline $pipeline, triggers $triggers, $go_version)" >&2
  mkdir -p "$out"
  (cd "$SRC" && CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" \
    go build -trimpath -ldflags "-s -w" -p "${MLOPS_CP_BUILD_JOBS:-2}" -o "$bin.tmp" .)
  mv "$bin.tmp" "$bin"
  echo "build-validator: built in $((SECONDS - start)) s" >&2
fi
echo "$bin"
