#!/usr/bin/env bash
# Read the rollout state into the Task's results (report), judge the deployed champion (analyze) or record the
# run's outcome on the candidate (record): playbooks/pipeline.yml.
set -euo pipefail
mkdir -p "$HOME"
export ANSIBLE_LOCAL_TEMP="$HOME/.ansible/tmp" ANSIBLE_NOCOLOR=1 ANSIBLE_LOCALHOST_WARNING=0
exec ansible-playbook -i "$INVENTORY" mlops.platform.pipeline \
  -e "pipeline_step=$STEP" \
  -e "pipeline_results_dir=${RESULT_VERSION_PATH%/*}" \
  -e "pipeline_version=$VERSION" \
  -e "pipeline_status=$STATUS" \
  -e "pipeline_run=$RUN_NAME" \
  -e "pipeline_commit=$COMMIT"
