"""Fixtures for the wine classifier's tests.

The unit tests need no server. The tests marked ``integration`` start a real ``mlflow server``
on 127.0.0.1 with the collection's own helper (tests/support/mlflow_server.py: SQLite backend,
proxied artifacts, one worker, job execution off) and run the training command in a copy of
the project, the way the rollout does.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
COLLECTION_TESTS = PROJECT.parents[1] / "tests"
for entry in (PROJECT, COLLECTION_TESTS):
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))

from support.mlflow_server import MlflowServer  # noqa: E402  pylint: disable=wrong-import-position

# Variables a developer's shell may have that must not leak into the training command.
CLEARED_VARIABLES = (
    "PYTHONPATH", "MLOPS_PARAMS", "MLOPS_ROLLOUT_ID", "GIT_COMMIT",
    "MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID",
)


def pytest_configure(config):
    """Register the integration marker."""
    config.addinivalue_line("markers", "integration: runs the training command against a real MLflow server")


@pytest.fixture(name="clean_env")
def fixture_clean_env(monkeypatch):
    """This process's environment without any of CLEARED_VARIABLES."""
    for name in CLEARED_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(name="mlflow_server", scope="session")
def fixture_mlflow_server(tmp_path_factory):
    """A real MLflow tracking server; yields its URL and stops it at the end of the session."""
    server = MlflowServer(root=str(tmp_path_factory.mktemp("mlflow")))
    server.start()
    try:
        yield server.uri
    finally:
        server.stop()


@pytest.fixture(name="work_copy")
def fixture_work_copy(tmp_path):
    """A fresh copy of the project, as the rollout makes one per rollout."""
    ignore = shutil.ignore_patterns("__pycache__", ".pytest_cache")
    return Path(shutil.copytree(PROJECT, tmp_path / "work", ignore=ignore))


@pytest.fixture(name="train_command", scope="session")
def fixture_train_command():
    """The run_training function."""
    return run_training


def run_training(work, tracking_uri, args=(), **variables):
    """Run ``python -m wine_classifier.train ARGS`` in ``work`` with MLFLOW_TRACKING_URI and ``variables`` set."""
    env = {name: value for name, value in os.environ.items() if name not in CLEARED_VARIABLES}
    env.update(MLFLOW_TRACKING_URI=tracking_uri, MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR="false", **variables)
    return subprocess.run(
        [sys.executable, "-m", "wine_classifier.train", *args], cwd=work, env=env, capture_output=True, text=True,
        encoding="utf-8", timeout=120, check=False)
