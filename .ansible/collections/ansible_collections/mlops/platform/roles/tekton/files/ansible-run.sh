#!/usr/bin/env bash
# One entry point of the rollout (a playbook of this collection), on the cloned project, with the run's DVC cache.
set -euo pipefail
if [ -z "$PLAYBOOK" ]; then
  echo "no rollout playbook for this step"
  exit 0
fi
mkdir -p "$HOME" "$WORK_ROOT"
export ANSIBLE_LOCAL_TEMP="$HOME/.ansible/tmp" ANSIBLE_NOCOLOR=1 ANSIBLE_LOCALHOST_WARNING=0
# The training pushes to the DVC remote: botocore takes an S3 endpoint from the environment.
if [ -n "$DVC_S3_ENDPOINT_URL" ]; then
  export AWS_ENDPOINT_URL_S3="$DVC_S3_ENDPOINT_URL"
fi
args=(-i "$INVENTORY" "mlops.platform.$PLAYBOOK"
      -e "model_rollout_project_dir=$PROJECT_DIR"
      -e "model_rollout_work_root=$WORK_ROOT"
      -e "model_rollout_dvc_cache_dir=$DVC_CACHE_DIR"
      -e "model_rollout_dvc_remote=$DVC_REMOTE"
      -e "model_rollout_lock_owner=tekton/$RUN_NAME")
if [ -n "$VERSION" ]; then
  args+=(-e "model_rollout_version=$VERSION")
fi
exec ansible-playbook "${args[@]}"
