"""Each target runs a module's behaviours end to end: check mode (read back), the change, the same call again,
diff, and bad input with the exact message. A target fails on its first broken assertion.

Every target runs through `ansible-test integration`, against the MLflow 3 server and the MLflow 2 server."""

import subprocess
import sys

import pytest

from conftest import ANSIBLE_TEST, ansible_env, discover_targets

TARGETS = discover_targets()


@pytest.mark.parametrize("target", TARGETS)
def test_target(play, target):
    result = play(target)
    result.check(rc=0)
    assert "failed=0" in result.stdout


def test_ansible_test_sees_the_same_targets(collection_copy):
    """The layout is the one ansible-test understands: it lists exactly the targets the tier runs."""
    proc = subprocess.run([ANSIBLE_TEST, "integration", "--local", "--python", "%d.%d" % sys.version_info[:2],
                           "--list-targets"], cwd=collection_copy, capture_output=True, text=True,
                          env=ansible_env(collections=False), timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert sorted(proc.stdout.split()) == TARGETS
    assert set(TARGETS) >= {"bad_input", "mlflow_experiment", "mlflow_run_info", "mlflow_registered_model",
                            "mlflow_model_version", "mlflow_model_version_info", "mlflow_model_alias",
                            "mlflow_model_gate"}
