"""Integration tier: every MLflow module against real `mlflow server`s on 127.0.0.1.

Two servers, each SQLite + local artifacts, started once per session and stopped at the end: MLflow 3
(the main venv) and MLflow 2 (MLFLOW2_VENV, built by `make mlflow2-venv`; the tier builds it when it is
missing). Runs and models are logged by support/seed_runs.py with the client of the server's own
version, on the test side only; the modules under test speak REST through ansible-core.

The targets (targets/<name>/tasks/main.yml + aliases) run through `ansible-test integration --local`
in a copy of the collection under ansible_collections/mlops/platform. The connection, a name prefix
unique to the call and the seed go into that copy's tests/integration/integration_config.yml, which
ansible-test hands to the target as variables (README.md in this directory).
"""

import json
import os
import shutil
import subprocess
import sys
import uuid
import warnings

import pytest

from support.mlflow_server import MlflowServer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TARGETS = os.path.join(HERE, "targets")
INVENTORY = os.path.join(HERE, "inventory.yml")
BIN = os.path.dirname(sys.executable)
ANSIBLE_PLAYBOOK = os.path.join(BIN, "ansible-playbook")
ANSIBLE_TEST = os.path.join(BIN, "ansible-test")
SEED_RUNS = os.path.join(ROOT, "tests", "support", "seed_runs.py")
# The MLflow 2.x server (and its client, which logs the seed runs). Built by `make mlflow2-venv`.
MLFLOW2_VENV = os.environ.get("MLOPS_TEST_MLFLOW2_VENV", os.path.join(ROOT, ".cache", "mlflow2-venv"))


def discover_targets():
    """The test targets on disk: every directory of targets/ but the setup_ ones (ansible-test hides those)."""
    return sorted(name for name in os.listdir(TARGETS)
                  if os.path.isdir(os.path.join(TARGETS, name)) and not name.startswith("setup_"))


def ansible_env(extra=None, collections=True):
    env = dict(os.environ)
    for key in list(env):
        if key.startswith("MLFLOW_") or (key.startswith("ANSIBLE_") and not collections):
            del env[key]
    if collections:
        env["ANSIBLE_COLLECTIONS_PATH"] = os.path.join(ROOT, ".cache", "collections")
    env.update({
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_STDOUT_CALLBACK": "default",
    })
    env.update(extra or {})
    return env


class PlaybookResult:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    @property
    def output(self):
        return self.stdout + self.stderr

    def failures(self):
        """The failed tasks' blocks of output, or the tail when there is none."""
        blocks, keep = [], False
        for line in self.stdout.splitlines():
            if line.startswith("TASK ["):
                keep = False
                task = line
            if line.startswith(("fatal:", "failed:")) and "...ignoring" not in line:
                keep = True
                blocks.append(task)
            if keep:
                blocks.append(line)
        return "\n".join(blocks[-200:]) or self.stdout[-4000:]

    def __repr__(self):
        return "rc=%s\n--- failed tasks ---\n%s\n--- stderr ---\n%s" % (self.rc, self.failures(), self.stderr[-3000:])

    def check(self, rc=0):
        if self.rc != rc:
            pytest.fail("ansible-playbook exited %s, expected %s\n%r" % (self.rc, rc, self), pytrace=False)


def run_playbook(playbook, extra_vars=None, check=False, diff=False, verbosity=0, env=None, tmp_path=None):
    cmd = [ANSIBLE_PLAYBOOK, "-i", INVENTORY, playbook]
    if extra_vars:
        path = os.path.join(str(tmp_path or "/tmp"), "extra-vars-%s.json" % uuid.uuid4().hex)
        with open(path, "w") as handle:
            json.dump(extra_vars, handle)
        cmd += ["-e", "@" + path]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    if verbosity:
        cmd.append("-" + "v" * verbosity)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ansible_env(env), timeout=600, check=False)
    return PlaybookResult(proc)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """The MLflow 3 server (the main venv's mlflow). The transport, auth and fault tests use this one."""
    server = MlflowServer(root=str(tmp_path_factory.mktemp("mlflow")))
    server.start()
    yield server
    server.stop()


def mlflow2_venv():
    """MLFLOW2_VENV, built with the Makefile's recipe when its stamp is missing (a fresh machine)."""
    if not os.path.exists(os.path.join(MLFLOW2_VENV, ".stamp")):
        if "MLOPS_TEST_MLFLOW2_VENV" in os.environ:
            pytest.fail("MLOPS_TEST_MLFLOW2_VENV=%s has no .stamp: is it a venv built by `make mlflow2-venv`?"
                        % MLFLOW2_VENV, pytrace=False)
        proc = subprocess.run(["make", "-C", ROOT, "mlflow2-venv"],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            pytest.fail("`make mlflow2-venv` failed:\n%s%s" % (proc.stdout[-3000:], proc.stderr[-3000:]),
                        pytrace=False)
    return MLFLOW2_VENV


@pytest.fixture(scope="session")
def mlflow2_server(tmp_path_factory):
    """An MLflow 2.x server (MLFLOW2_VENV: mlflow 2.22.1, SQLAlchemy < 2.1)."""
    server = MlflowServer(root=str(tmp_path_factory.mktemp("mlflow2")), venv=mlflow2_venv())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mlflow_client(mlflow_server):
    warnings.filterwarnings("ignore")
    import mlflow  # the real client: test side only
    mlflow.set_tracking_uri(mlflow_server.uri)
    return mlflow.MlflowClient(mlflow_server.uri)


def seed_server(server):
    """Log the seed runs with the client of the server's own MLflow version; returns the ``seed`` variable."""
    proc = subprocess.run([server.python, SEED_RUNS, "--uri", server.uri], capture_output=True, text=True,
                          timeout=600, check=False)
    if proc.returncode != 0:
        pytest.fail("seeding %s failed:\n%s" % (server.uri, proc.stderr[-4000:]), pytrace=False)
    return json.loads(proc.stdout)


@pytest.fixture(scope="session")
def seeded(mlflow_server):
    """Runs shared by the targets on the MLflow 3 server (tests/support/seed_runs.py says which)."""
    return seed_server(mlflow_server)


@pytest.fixture(scope="session")
def seeded2(mlflow2_server):
    return seed_server(mlflow2_server)


@pytest.fixture(scope="session", params=["mlflow3", "mlflow2"])
def server_under_test(request):
    """(server, seed) of each MLflow major version the targets run against."""
    if request.param == "mlflow3":
        return request.getfixturevalue("mlflow_server"), request.getfixturevalue("seeded")
    return request.getfixturevalue("mlflow2_server"), request.getfixturevalue("seeded2")


@pytest.fixture(scope="session")
def collection_copy(tmp_path_factory):
    """This collection copied to <tmp>/ansible_collections/mlops/platform, where ansible-test can run it."""
    dest = tmp_path_factory.mktemp("ansible-test") / "ansible_collections" / "mlops" / "platform"
    skip_at_root = {".git", ".venv", ".cache"}

    def ignore(directory, names):
        skip = {n for n in names if n in ("__pycache__", ".pytest_cache")}
        if os.path.samefile(directory, ROOT):
            skip |= skip_at_root & set(names)
        elif os.path.samefile(directory, os.path.join(ROOT, "tests")):
            skip |= {"output"} & set(names)
        elif os.path.samefile(directory, HERE):
            skip |= {"integration_config.yml"} & set(names)  # a hand-run's settings must not leak into the tier
        return skip

    shutil.copytree(ROOT, str(dest), ignore=ignore, symlinks=True)
    return str(dest)


def run_target(collection, target, variables, timeout=600):
    """``ansible-test integration --local <target>`` in the copy, with ``variables`` in integration_config.yml."""
    with open(os.path.join(collection, "tests", "integration", "integration_config.yml"), "w") as handle:
        json.dump(variables, handle)  # JSON is YAML
    cmd = [ANSIBLE_TEST, "integration", "--local", "--python", "%d.%d" % sys.version_info[:2], "--color", "no",
           target]
    proc = subprocess.run(cmd, cwd=collection, capture_output=True, text=True, env=ansible_env(collections=False),
                          timeout=timeout, check=False)
    return PlaybookResult(proc)


@pytest.fixture
def play(server_under_test, collection_copy):
    """Run a target against the server under test with its seed and a name prefix of its own."""
    server, seed = server_under_test

    def _play(target):
        return run_target(collection_copy, target, {
            "mlflow_uri": server.uri,
            "prefix": "t%s" % uuid.uuid4().hex[:8],
            "seed": seed,
        })

    return _play
