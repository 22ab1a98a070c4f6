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


def apply_role(role, tasks_from=None, env=None, **extra_vars):
    args = "name=mlops.platform.%s" % role + (" tasks_from=%s" % tasks_from if tasks_from else "")
    argv = [ANSIBLE, "localhost", "-i", INVENTORY, "-m", "ansible.builtin.include_role", "-a", args]
    for key, value in extra_vars.items():
        argv += ["-e", "%s=%s" % (key, value)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False,
                          env=dict(os.environ, **(env or {})))


@pytest.mark.parametrize("role", ["mlflow", "prometheus", "jupyterhub", "seldon"])
def test_an_unknown_target_is_refused_by_the_argument_spec(role):
    result = apply_role(role, mlops_target="mainframe")
    assert result.returncode != 0
    assert "value of %s_target must be one of: local, openshift, kubernetes, got: mainframe" % role in result.stdout


@pytest.mark.parametrize("role,variable,url,derived", [
    ("mlflow", "mlops_mlflow_tracking_uri", "http://0.0.0.0:25500", "mlflow_tracking_uri"),
    ("seldon", "mlops_inference_url", "http://0.0.0.0:28580", "seldon_inference_url"),
    ("prometheus", "mlops_prometheus_url", "http://0.0.0.0:29590", "prometheus_url"),
])
def test_servers_bind_to_loopback_only(role, variable, url, derived):
    result = apply_role(role, **{variable: url})
    assert result.returncode != 0
    assert "%s_host is '0.0.0.0' (from %s %s)" % (role, derived, url) in result.stdout
    assert "the local platform binds" in result.stdout


@pytest.mark.parametrize("entry", ["program", "venv", None])
def test_the_private_helper_refuses_to_run_on_its_own(entry):
    result = apply_role("private_local", tasks_from=entry, private_local_program_name="x", private_local_venv_path="/tmp/x")
    assert result.returncode != 0
    assert ("mlops.platform.private_local is a private helper of the collection's roles (entry point '%s')"
            % (entry or "main")) in result.stdout


def test_serving_a_version_mlflow_does_not_have_fails_clearly(platform):
    # Ad hoc there are no module_defaults: MLflow's own environment variable names the server.
    result = apply_role("seldon", tasks_from="serve", env={"MLFLOW_TRACKING_URI": platform.mlflow_url},
                        seldon_model_name="breast-cancer-classifier", seldon_serve_default_version="99")
    assert result.returncode != 0
    assert "Cannot serve version 99 of model 'breast-cancer-classifier': MLflow has no such version" in result.stdout
    assert not os.path.exists(os.path.join(platform.root, "seldon", "artifacts", "breast-cancer-classifier", "99"))
