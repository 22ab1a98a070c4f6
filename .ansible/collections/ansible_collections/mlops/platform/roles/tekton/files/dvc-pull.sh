#!/usr/bin/env bash
# Point the project's DVC at the cache claim and the S3 remote (keys from the Secret, never written to a file), then
# pull what dvc.lock names.
set -euo pipefail
cd "$PROJECT_DIR"
mkdir -p "$DVC_CACHE_DIR"
dvc config --local cache.dir "$DVC_CACHE_DIR"
dvc config --local cache.shared group
if [ -z "$DVC_REMOTE" ]; then
  echo "no DVC remote (tekton_dvc_remote is empty): nothing to pull"
  exit 0
fi
if [ -z "${AWS_ACCESS_KEY_ID:-}" ] || [ -z "${AWS_SECRET_ACCESS_KEY:-}" ]; then
  echo "the Secret $DVC_SECRET has no AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: DVC cannot read $DVC_REMOTE" >&2
  exit 1
fi
dvc remote add --local --force --default mlops "$DVC_REMOTE"
if [ -n "$DVC_S3_ENDPOINT_URL" ]; then
  dvc remote modify --local mlops endpointurl "$DVC_S3_ENDPOINT_URL"
fi
# Outputs of stages that never ran (or were never pushed) are not an error: the validation needs the data it needs.
dvc pull --allow-missing
