#!/usr/bin/env bash
# Clone one revision of the model project (shallow) into the output workspace; the commit becomes a result.
set -euo pipefail
dest="$WORKSPACE_OUTPUT_PATH/$PARAM_SUBDIRECTORY"
mkdir -p "$dest"
find "$dest" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
git -c init.defaultBranch=main init -q "$dest"
git -C "$dest" remote add origin "$PARAM_URL"
git -C "$dest" fetch -q --depth "$PARAM_DEPTH" origin "$PARAM_REVISION"
git -C "$dest" checkout -q --detach FETCH_HEAD
commit="$(git -C "$dest" rev-parse HEAD)"
printf '%s' "$commit" > "$RESULT_COMMIT_PATH"
printf '%s' "$PARAM_URL" > "$RESULT_URL_PATH"
echo "cloned $PARAM_URL at $PARAM_REVISION: $commit"
