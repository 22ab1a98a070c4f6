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


def load_rollout_platform():
    """The rollout tier's Platform (playbooks/platform.yml on free ports under a throw-away root), reused as is."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("rollout_platform", os.path.join(ROOT, "tests", "rollout", "conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def render(vars_, out, tmpdir):
    """Render the tekton role's objects with these variables (entry point render); the objects, as a list."""
    import yaml
    path = os.path.join(tmpdir, "render-vars-%d.json" % len(os.listdir(tmpdir)))
    with open(path, "w") as handle:
        json.dump(dict(vars_, tekton_test_out=out), handle)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".cache", "collections"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                           os.path.join(HERE, "playbooks", "render.yml"), "-e", "@" + path],
                          capture_output=True, text=True, env=env, check=False, timeout=300)
    return proc, (list(yaml.safe_load_all(open(out))) if proc.returncode == 0 else None)
