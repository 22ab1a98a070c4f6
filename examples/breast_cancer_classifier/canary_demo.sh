#!/usr/bin/env bash
# `make run`'s canary: traffic through the local router (breast_cancer.traffic, in the background) while
# playbooks/rollout.yml rolls out a retrained candidate as a canary (canary-demo.yml). The traffic stops with the
# rollout, whatever its outcome; the exit status is the rollout's.
#   examples/breast_cancer_classifier/canary_demo.sh <python> <router url>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
python=${1:?the python of the venv}
router=${2:-http://127.0.0.1:8090}
(cd "$here" && exec "$python" -m breast_cancer.traffic --url "$router" --rate 20 --seconds 900 --report 30) &
traffic=$!
trap 'kill "$traffic" 2>/dev/null || true; wait "$traffic" 2>/dev/null || true' EXIT
cd "$root"
ansible-playbook -i inventories/local playbooks/rollout.yml -e "@$here/canary-demo.yml"
