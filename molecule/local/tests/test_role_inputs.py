"""Bad input fails fast, before anything changes, with a message that says what to fix.

Each case applies one role ad hoc (ansible -m include_role) with the scenario's inventory, so
it runs against the platform converge brought up.
"""

import os
import subprocess
import sys

import pytest

from conftest import SCENARIO_DIR

testinfra_hosts = ["local://"]

ANSIBLE = os.path.join(os.path.dirname(sys.executable), "ansible")
INVENTORY = os.path.join(SCENARIO_DIR, "inventory", "hosts.yml")


def apply_role(role, **extra_vars):
    argv = [ANSIBLE, "localhost", "-i", INVENTORY, "-m", "ansible.builtin.include_role",
            "-a", "name=mlops.platform.%s" % role]
    for key, value in extra_vars.items():
        argv += ["-e", "%s=%s" % (key, value)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("role", ["supervisor", "mlflow", "seldon", "prometheus"])
def test_unknown_target_is_refused(role):
    result = apply_role(role, mlops_target="mainframe")
    assert result.returncode != 0
    assert "value of %s_target must be one of: local, openshift, kubernetes, got: mainframe" % role in result.stdout


@pytest.mark.parametrize("role", ["supervisor", "mlflow", "seldon", "prometheus"])
@pytest.mark.parametrize("target", ["openshift", "kubernetes"])
def test_cluster_targets_are_not_implemented_yet(role, target):
    result = apply_role(role, mlops_target=target)
    assert result.returncode != 0
    assert "The mlops.platform.%s role is not implemented yet for the target '%s'" % (role, target) in result.stdout


@pytest.mark.parametrize("role", ["mlflow", "seldon", "prometheus"])
def test_servers_bind_to_loopback_only(role):
    result = apply_role(role, **{"%s_local_host" % role: "0.0.0.0"})
    assert result.returncode != 0
    assert "%s_local_host is '0.0.0.0': the local platform binds to the loopback interface only" % role in result.stdout


def test_required_model_that_does_not_exist_fails_clearly(platform):
    result = apply_role("seldon", seldon_model_name="no-such-model", seldon_local_wait_for_model="true")
    assert result.returncode != 0
    assert (
        "The model URI models:/no-such-model@champion does not resolve in the MLflow registry at %s"
        % platform.mlflow_url
    ) in result.stdout
    assert not os.path.exists(os.path.join(platform.root, "seldon", "models", "no-such-model"))
