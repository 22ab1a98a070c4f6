"""The AWX tier's fixtures: one real local platform for the session (the rollout tier's harness: supervisord,
`mlflow server`, MLServer, on free loopback ports under a throw-away root), and in front of its MLflow the
authentication stand-in (auth_proxy.py) the jobs' MLflow credential must get through."""

import importlib.util
import os
import secrets
import shutil
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from auth_proxy import AuthProxyProcess  # noqa: E402  pylint: disable=wrong-import-position


def _rollout_harness():
    """tests/rollout/conftest.py, loaded under a name of its own (its Platform brings the platform up)."""
    spec = importlib.util.spec_from_file_location("rollout_harness", os.path.join(ROOT, "tests", "rollout", "conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def harness():
    return _rollout_harness()


@pytest.fixture(scope="session", autouse=True)
def no_mlflow_environment():
    """Jobs see only the MLflow settings their credential injects, as on AWX."""
    saved = dict((k, v) for k, v in os.environ.items() if k.startswith("MLFLOW_"))
    for key in saved:
        del os.environ[key]
    # MLflow's client (the tests read the registry back with it) would start telemetry threads in this process,
    # and the jobs' pty fork must happen in a single-threaded process.
    tracking = os.environ.get("DO_NOT_TRACK")
    os.environ["DO_NOT_TRACK"] = "true"
    yield
    os.environ.update(saved)
    if tracking is None:
        del os.environ["DO_NOT_TRACK"]
    else:
        os.environ["DO_NOT_TRACK"] = tracking


@pytest.fixture(scope="session")
def platform(harness):
    root = tempfile.mkdtemp(prefix="mlops-awx-")
    plat = harness.Platform(root)
    # MLOPS_TEST_VENVS reuses the supervisor/MLServer venvs of another checkout (they take minutes to build).
    venvs = os.environ.get("MLOPS_TEST_VENVS")
    if venvs:
        plat.vars["private_local_supervisor_venv"] = os.path.join(venvs, "supervisor")
        plat.vars["seldon_venv"] = os.path.join(venvs, "mlserver")
        import json
        with open(plat.vars_file, "w") as handle:
            json.dump(plat.vars, handle)
    plat.play("platform.yml").check(0)
    yield plat
    plat.play("platform_stop.yml")
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def mlflow_login():
    return {"username": "awx-runner", "password": "pw-" + secrets.token_hex(12)}


@pytest.fixture(scope="session")
def auth_proxy(platform, mlflow_login):
    port = int(platform.tracking_uri.rsplit(":", 1)[1])
    with AuthProxyProcess(port, username=mlflow_login["username"], password=mlflow_login["password"]) as proxy:
        yield proxy


@pytest.fixture
def workdir(tmp_path):
    return str(tmp_path)
