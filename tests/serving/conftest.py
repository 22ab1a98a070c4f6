"""Serving tier: mlops.platform.mlserver_model against a real MLServer 1.7.1 and a real `mlflow server`.

Both run on free loopback ports for the whole session. Model versions are logged and registered
with the real mlflow client (test side only), as skops-serialised scikit-learn models that MLServer's
venv loads. The module runs through ansible-playbook; it reaches MLServer and MLflow through
counting proxies (tests/support/fault_proxy.py) so every test can say how many requests a call made,
while the pollers that count failed inference requests talk to MLServer directly.

Run: python -m pytest -q -p no:cacheprovider tests/serving (ANSIBLE_COLLECTIONS_PATH must resolve
mlops.platform to this checkout: `make collection` links it under .cache/collections).
"""

import json
import os
import subprocess
import sys
import time
import uuid
import warnings

import pytest

from support.fault_proxy import FaultProxy
from support.mlflow_server import MlflowServer
from support.mlserver_process import MlserverProcess
from serving_helpers import MEASUREMENTS, MODEL, OTHER, Poller

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PLAYBOOK = os.path.join(HERE, "serve.yml")
INVENTORY = os.path.join(HERE, "inventory.yml")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


# ---------------------------------------------------------------- servers

@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    server = MlflowServer(root=str(tmp_path_factory.mktemp("mlflow")))
    server.start()
    yield server
    server.stop()


def _log_version(mlflow_server, name, flip=False):
    """Log one skops scikit-learn model and register it as the next version of ``name``; returns the version."""
    import numpy as np
    import mlflow
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression
    x = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]])
    y = np.array([1, 0, 1, 0]) if flip else np.array([0, 1, 0, 1])
    mlflow.set_tracking_uri(mlflow_server.uri)
    mlflow.set_experiment("serving")
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            LogisticRegression().fit(x, y), name="model", input_example=x[:1], registered_model_name=name,
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
            pip_requirements=mlflow.sklearn.get_default_pip_requirements(include_skops=True))
    return str(info.registered_model_version)


def _store_path(mlflow_server, client, name, version):
    """Where the MLflow server keeps a version's files on disk (its --artifacts-destination)."""
    uri = client.get_model_version_download_uri(name, version)
    assert uri.startswith("mlflow-artifacts:/"), uri
    return os.path.join(mlflow_server.root, "artifacts", uri.split(":", 1)[1].lstrip("/"))


@pytest.fixture(scope="session")
def registry(mlflow_server):
    """MODEL versions 1 and 2 (opposite predictions), 3 (model file corrupted in MLflow's store: MLServer cannot
    load it), 4 (files without MLmodel: not an MLflow model); OTHER version 1."""
    warnings.filterwarnings("ignore")
    import mlflow
    client = mlflow.MlflowClient(mlflow_server.uri)
    assert _log_version(mlflow_server, MODEL) == "1"
    assert _log_version(mlflow_server, MODEL, flip=True) == "2"
    assert _log_version(mlflow_server, MODEL) == "3"
    with open(os.path.join(_store_path(mlflow_server, client, MODEL, "3"), "model.skops"), "wb") as handle:
        handle.write(b"this is not a skops archive")
    with mlflow.start_run() as run:
        mlflow.log_text("not a model\n", "notes/readme.txt")
    version = client.create_model_version(MODEL, "%s/notes" % run.info.artifact_uri, run_id=run.info.run_id)
    assert str(version.version) == "4"
    assert _log_version(mlflow_server, OTHER) == "1"
    return client


@pytest.fixture(scope="session")
def mlserver(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlserver")
    repository = root / "models"
    repository.mkdir()
    server = MlserverProcess(str(root), str(repository))
    server.artifacts_dir = str(root / "artifacts")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def proxies(mlserver, mlflow_server):
    """Counting proxies the module talks through: .mlserver and .mlflow (.requests: (method, path, by))."""
    with FaultProxy(mlserver.http_port) as mls_proxy, FaultProxy(mlflow_server.port) as mlflow_proxy:
        yield type("Proxies", (), {"mlserver": mls_proxy, "mlflow": mlflow_proxy})


# ---------------------------------------------------------------- the module through ansible-playbook

class Call:
    """One ansible-playbook run of serve.yml: rc, the module's result, wall time, requests it made."""

    def __init__(self, proc, seconds, mlserver_requests, mlflow_requests):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.seconds = seconds
        self.mlserver_requests = mlserver_requests
        self.mlflow_requests = mlflow_requests
        self.result = None
        try:
            play = json.loads(self.stdout)["plays"][0]
            self.result = play["tasks"][0]["hosts"]["localhost"] if play["tasks"] else {}
        except (ValueError, KeyError, IndexError):
            pass

    def loads(self):
        return [r for r in self.mlserver_requests if r[0] == "POST" and r[1].endswith(("/load", "/unload"))]

    def check(self, rc=0):
        assert self.rc == rc and self.result is not None, repr(self)
        return self.result

    def __repr__(self):
        return "rc=%s\n--- stdout ---\n%s\n--- stderr ---\n%s" % (self.rc, self.stdout[-6000:], self.stderr[-3000:])


def run_serve(proxies, mlserver, tmp_path, check=False, diff=False, verbosity=0, background=False, tags=None,
              **module_args):
    """Run serve.yml with the module arguments given (tracking_uri/mlserver_url default to the proxies)."""
    args = {"repository": mlserver.repository, "artifacts_dir": mlserver.artifacts_dir, "wait_timeout": 60}
    args.update(module_args)
    extra = {"mlflow_uri": args.pop("tracking_uri", proxies.mlflow.uri),
             "mlserver_url": args.pop("mlserver_url", proxies.mlserver.uri),
             "serve_args": args}
    path = os.path.join(str(tmp_path), "vars-%s.json" % uuid.uuid4().hex[:8])
    with open(path, "w") as handle:
        json.dump(extra, handle)
    cmd = [ANSIBLE_PLAYBOOK, "-i", INVENTORY, PLAYBOOK, "-e", "@" + path]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    if verbosity:
        cmd.append("-" + "v" * verbosity)
    if tags:
        cmd += ["--tags", tags]
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith("MLFLOW_"))
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": os.environ.get("ANSIBLE_COLLECTIONS_PATH",
                                                   os.path.join(ROOT, ".cache", "collections")),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json" if not verbosity else "default",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
    })
    proxies.mlserver.reset()
    proxies.mlflow.reset()

    def finish(proc, started):
        out, err = proc.communicate(timeout=600)
        seconds = time.monotonic() - started
        done = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
        return Call(done, seconds, list(proxies.mlserver.requests), list(proxies.mlflow.requests))

    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if background:
        return lambda: finish(proc, started)
    return finish(proc, started)


@pytest.fixture
def serve(proxies, mlserver, registry, tmp_path):
    """serve(**module_args) -> Call; serve(..., background=True) -> a function that waits for the Call."""

    def _serve(**kwargs):
        return run_serve(proxies, mlserver, tmp_path, **kwargs)

    return _serve


@pytest.fixture
def poller():
    """poller(url) -> a started Poller; all are stopped at the end of the test."""
    started = []

    def make(url):
        p = Poller(url)
        p.start()
        started.append(p)
        p.wait_for(5)
        return p

    yield make
    for p in started:
        p.stop()


def pytest_terminal_summary(terminalreporter):
    if MEASUREMENTS:
        terminalreporter.section("serving measurements")
        for line in MEASUREMENTS:
            terminalreporter.write_line(line)
