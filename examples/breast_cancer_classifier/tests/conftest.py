"""Fixtures for the example project's tests.

The fast tests need no server. Tests marked ``integration`` run the real DVC pipeline in a
copy of the project against a real ``mlflow server`` started here on 127.0.0.1 (SQLite
backend, artifacts in a temporary directory) and stopped at the end of the session.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))

# What a work copy of the project needs; everything else (data, outputs, caches) is produced.
PROJECT_FILES = ("breast_cancer", "dvc.yaml", "params.yaml", "requirements.txt", ".dvcignore")


def pytest_configure(config):
    config.addinivalue_line("markers", "integration: runs the DVC pipeline against a real MLflow server (slower)")


def copy_project(destination, with_dvc_dir=False):
    """Copy the project's sources to ``destination`` (optionally with the shipped .dvc/config)."""
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        source = PROJECT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, destination / name)
    if with_dvc_dir:
        (destination / ".dvc").mkdir()
        shutil.copy2(PROJECT / ".dvc" / "config", destination / ".dvc" / "config")
    return destination


@pytest.fixture(scope="session")
def project_dir():
    """The project directory in the source tree (read it, never write to it)."""
    return PROJECT


@pytest.fixture(scope="session")
def make_copy():
    """The copy_project function, for tests that need more than one copy."""
    return copy_project


@pytest.fixture
def project_copy(tmp_path, monkeypatch):
    """A fresh copy of the project as the working directory (stages use relative paths)."""
    work = copy_project(tmp_path / "project")
    monkeypatch.chdir(work)
    return work


@pytest.fixture(scope="session")
def raw_frame():
    from breast_cancer import materialize  # pylint: disable=import-outside-toplevel

    return materialize.load_frame()


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url):
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A real MLflow tracking server on 127.0.0.1; yields its URL."""
    root = tmp_path_factory.mktemp("mlflow")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
    command = [
        str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
        "--backend-store-uri", f"sqlite:///{root}/mlflow.db", "--default-artifact-root", str(root / "artifacts"),
        "--workers", "1",
    ]
    with open(root / "server.log", "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)  # pylint: disable=consider-using-with
    try:
        deadline = time.monotonic() + 180
        while not _healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = (root / "server.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"mlflow server did not become healthy at {url}:\n{tail}")
            time.sleep(0.5)
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
