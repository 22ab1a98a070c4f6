"""The AWX tier's fixtures: one real local platform for the session (the rollout tier's harness: supervisord,
`mlflow server`, MLServer, on free loopback ports under a throw-away root), and in front of its MLflow the
authentication stand-in (auth_proxy.py) the jobs' MLflow credential must get through."""

import importlib.util
import json
import os
import secrets
import shutil
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request

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
    yield
    os.environ.update(saved)


@pytest.fixture(scope="session")
def platform(harness):
    root = tempfile.mkdtemp(prefix="mlops-awx-")
    plat = harness.Platform(root)
    # MLOPS_TEST_VENVS reuses the supervisor/MLServer venvs of another checkout (they take minutes to build).
    venvs = os.environ.get("MLOPS_TEST_VENVS")
    if venvs:
        plat.vars["private_local_supervisor_venv"] = os.path.join(venvs, "supervisor")
        plat.vars["seldon_venv"] = os.path.join(venvs, "mlserver")
        with open(plat.vars_file, "w") as handle:
            json.dump(plat.vars, handle)
    plat.play("platform.yml", "--skip-tags", "jupyterhub").check(0)  # the jobs need no JupyterHub
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


class Registry:
    """One registered model read back over MLflow's REST API (not MLflow's client: importing it loads numpy's
    thread pools into this process, and the jobs' pty fork must happen in a single-threaded process)."""

    def __init__(self, platform, name):
        self.platform, self.name = platform, name

    def _get(self, endpoint, **params):
        url = "%s/api/2.0/mlflow/%s?%s" % (self.platform.tracking_uri, endpoint, urllib.parse.urlencode(params))
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                return json.load(resp)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise

    def alias(self, alias):
        found = self._get("registered-models/alias", name=self.name, alias=alias)
        return found["model_version"]["version"] if found else None

    def versions(self):
        found = self._get("model-versions/search", filter="name = '%s'" % self.name) or {}
        return sorted(int(v["version"]) for v in found.get("model_versions", []))

    def tags(self, number):
        found = self._get("model-versions/get", name=self.name, version=str(number))
        return dict((t["key"], t["value"]) for t in found["model_version"].get("tags", []))

    def states(self):
        return dict((v, self.tags(v).get("mlops.rollout.state")) for v in self.versions())

    def served(self):
        return self.platform.model(self.name).served()

    def assert_consistent(self):
        states = self.states()
        champion = self.alias("champion")
        assert [str(v) for v, s in states.items() if s == "PROMOTED"] == ([champion] if champion else []), (states, champion)
        assert self.served() == champion, "MLServer serves %s, the registry's champion is %s" % (self.served(), champion)


@pytest.fixture(scope="session")
def registry(platform):
    return lambda name: Registry(platform, name)
