#!/usr/bin/env bash
# SeaweedFS (Apache-2.0), the S3 server of the Postgres + S3 tests: built once from the Go module
# proxy and cached under ~/.cache/mlops-platform, keyed by its version and the Go version.
#   tests/support/seaweedfs.sh build   # prints the path of the `weed` binary (builds it when missing)
#   tests/support/seaweedfs.sh path    # prints the path, exits 1 when it is not built
# `go install` cannot build it: its go.mod has a replace directive, and replace directives only count
# in the main module. So the module source is downloaded (`go mod download`), copied to a writable
# directory and built there with its own go.mod. Nothing of it is committed or shipped.
set -euo pipefail
VERSION="${MLOPS_SEAWEEDFS_VERSION:-v0.0.0-20261109003541-7506e5f91cd6}"
MODULE=github.com/seaweedfs/seaweedfs
GO="${GO:-go}"
command -v "$GO" >/dev/null || { echo "seaweedfs.sh: no Go toolchain (go) on PATH" >&2; exit 1; }
GOVERSION="$("$GO" env GOVERSION)"
CACHE_ROOT="${MLOPS_CP_CACHE:-$HOME/.cache/mlops-platform}"
DIR="$CACHE_ROOT/seaweedfs-${VERSION}_${GOVERSION}"
BIN="$DIR/bin/weed"

case "${1:-build}" in
  path)
    [[ -x "$BIN" ]] && { echo "$BIN"; exit 0; }
    exit 1 ;;
  build) ;;
  *) echo "usage: $0 build|path" >&2; exit 2 ;;
esac

[[ -x "$BIN" ]] && { echo "$BIN"; exit 0; }
mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9
[[ -x "$BIN" ]] && { echo "$BIN"; exit 0; }
t0=$SECONDS
echo "seaweedfs.sh: building $MODULE@$VERSION with $GOVERSION (first time only; about 5 min on 2 cores)" >&2
src="$(cd "$DIR" && GOFLAGS=-mod=mod "$GO" mod download -json "$MODULE@$VERSION" | "${MLOPS_PYTHON:-python3}" -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
work="$DIR/src"
rm -rf "$work"
cp -r "$src" "$work"
chmod -R u+w "$work"
mkdir -p "$DIR/bin"
(cd "$work" && CGO_ENABLED=0 "$GO" build -trimpath -p "${MLOPS_CP_BUILD_JOBS:-2}" -ldflags '-s -w' -o "$BIN.tmp" ./weed)
mv "$BIN.tmp" "$BIN"
rm -rf "$work"
echo "seaweedfs.sh: built in $((SECONDS - t0)) s" >&2
echo "$BIN"
