"""Integration tier: every MLflow module against a real `mlflow server` on 127.0.0.1.

The server (SQLite backend, local artifacts) is started once per session and
stopped at the end. Runs and models are logged with the real `mlflow` client,
on the test side only; the modules under test speak REST through ansible-core.
"""

import json
import os
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
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


def ansible_env(extra=None):
    env = dict(os.environ)
    for key in list(env):
        if key.startswith("MLFLOW_"):
            del env[key]
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": os.path.join(ROOT, ".cache", "collections"),
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
    server = MlflowServer(root=str(tmp_path_factory.mktemp("mlflow")))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mlflow_client(mlflow_server):
    warnings.filterwarnings("ignore")
    import mlflow  # the real client: test side only
    mlflow.set_tracking_uri(mlflow_server.uri)
    return mlflow.MlflowClient(mlflow_server.uri)


def log_run(mlflow_server, experiment, metrics, params=None, tags=None, history=None, with_model=False):
    """Log one finished run with the real mlflow client; returns the run id."""
    import mlflow
    mlflow.set_tracking_uri(mlflow_server.uri)
    mlflow.set_experiment(experiment)
    with mlflow.start_run() as run:
        mlflow.log_params(params or {})
        mlflow.set_tags(tags or {})
        for key, points in (history or {}).items():
            for step, value in enumerate(points):
                mlflow.log_metric(key, value, step=step)
        mlflow.log_metrics(metrics)
        if with_model:
            import numpy as np
            from sklearn.linear_model import LogisticRegression
            import mlflow.sklearn
            x = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]])
            y = np.array([0, 1, 0, 1])
            model = LogisticRegression().fit(x, y)
            mlflow.sklearn.log_model(model, name="model", input_example=x[:1])
        return run.info.run_id


@pytest.fixture(scope="session")
def seeded(mlflow_server):
    """Runs shared by the playbooks: three scored runs (one with a model and history) and a worse model."""
    experiment = "it-runs"
    runs = {
        "good": log_run(mlflow_server, experiment, {"accuracy": 0.95, "roc_auc": 0.97, "loss": 0.12},
                        params={"C": "1.0"}, tags={"git_commit": "c0ffee"},
                        history={"train_loss": [0.9, 0.5, 0.2]}, with_model=True),
        "best": log_run(mlflow_server, experiment, {"accuracy": 0.97, "roc_auc": 0.99, "loss": 0.08},
                        params={"C": "2.0"}, tags={"git_commit": "beef"}, with_model=True),
        "worse": log_run(mlflow_server, experiment, {"accuracy": 0.80, "roc_auc": 0.85, "loss": 0.40},
                         params={"C": "0.01"}, tags={"git_commit": "beef"}, with_model=True),
    }
    return {"experiment": experiment, "runs": runs}


@pytest.fixture
def play(mlflow_server, seeded, tmp_path):
    """Run a target playbook against the session server with the seeded ids and a unique prefix."""

    def _play(target, check=False, diff=False, verbosity=0, uri=None, env=None, **extra):
        playbook = os.path.join(TARGETS, target + ".yml")
        extra_vars = {
            "mlflow_uri": uri or mlflow_server.uri,
            "prefix": "t%s" % uuid.uuid4().hex[:8],
            "seed": seeded,
        }
        extra_vars.update(extra)
        return run_playbook(playbook, extra_vars, check=check, diff=diff, verbosity=verbosity, env=env,
                            tmp_path=tmp_path)

    return _play
