"""Tekton tier: the CD4ML pipeline of roles/tekton.

- Tekton's own validation code (tests/tekton/validator, built from the Go module proxy by build-validator.sh and
  cached under ~/.cache/mlops-platform) checks every Pipeline, Task and TriggerTemplate the role renders.
- The role applies its objects on the embedded control plane (tests/cluster/controlplane.sh; Tekton's CRDs are
  fixtures there and no step container ever runs), or on MLOPS_TEST_KUBECONFIG's cluster.
- The pipeline's steps run for real on this machine, in the pipeline's order, with the scripts taken from the
  rendered Tasks, against a local platform (MLflow + MLServer under supervisord) and a real S3 server (SeaweedFS).
"""

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests"))


@pytest.fixture(scope="session")
def validator():
    """The path of the tekton-validate binary (built once per source and Go version)."""
    if os.environ.get("MLOPS_TEKTON_VALIDATOR"):
        return os.environ["MLOPS_TEKTON_VALIDATOR"]
    proc = subprocess.run([os.path.join(HERE, "build-validator.sh")], capture_output=True, text=True, check=False,
                          timeout=1800)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def validate(validator, *paths):
    """Run the validator; its exit status and one result per object (JSON lines)."""
    proc = subprocess.run([validator, "-json"] + list(paths), capture_output=True, text=True, check=False, timeout=60)
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return proc.returncode, results, proc.stderr
