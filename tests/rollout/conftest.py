"""Rollout tier: the model_rollout role and playbooks end to end on the local target.

One real local platform (supervisord, `mlflow server`, MLServer, Prometheus) is brought up for the whole session
with playbooks/platform.yml, on free loopback ports under a throw-away root, and stopped with
playbooks/platform_stop.yml at the end. Venvs are shared with the molecule scenario in .cache/.

Scenarios do not depend on each other's order: each one works on a registered model of its own (a fresh name),
and sets up the state it starts from. Training runs are shared through one experiment per project, so a
scenario that needs a champion trained with some parameters reuses the run another scenario trained with the
same parameters (the rollout's own lineage reuse) instead of training again.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest

from support.server_process import free_ports

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PLAYBOOKS = os.path.join(ROOT, "playbooks")
INVENTORY = os.path.join(ROOT, "inventories", "local")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
EXAMPLES = os.path.join(ROOT, "examples")
VENVS = os.path.join(ROOT, ".cache", "mlops-local-venvs")

# The bundled examples, as a user would describe them to the role (the local inventory describes the first).
BREAST_CANCER = {"model_rollout_experiment": "breast-cancer-rollouts"}
WINE = {
    "model_rollout_project_dir": os.path.join(EXAMPLES, "wine_classifier"),
    "model_rollout_training_kind": "command",
    "model_rollout_train_command": ["python", "-m", "wine_classifier.train"],
    "model_rollout_lineage_command": "",
    "model_rollout_params_file": "",
    "model_rollout_exclude": [".git", "__pycache__", ".pytest_cache", "tests", "mlruns", "mlflow.db"],
    "model_rollout_artifact_path": "classifier",
    "model_rollout_heldout_file": "",
    "model_rollout_experiment": "wine-rollouts",
    "model_rollout_gate_metrics": [
        {"name": "macro_f1", "min": 0.95, "min_absolute_change": -0.01},
        {"name": "log_loss", "greater_is_better": False, "max": 0.2},
    ],
}


class Result:
    def __init__(self, rc, stdout, stderr):
        self.rc, self.stdout, self.stderr = rc, stdout, stderr

    def fatal_messages(self):
        """The msg of every failed task that was not rescued or ignored, in order."""
        found = []
        lines = self.stdout.splitlines()
        for index, line in enumerate(lines):
            if line.startswith("fatal: [localhost]: FAILED! => "):
                following = index + 1 < len(lines) and "...ignoring" in lines[index + 1]
                if following:
                    continue
                try:
                    found.append(json.loads(line.split("=> ", 1)[1]).get("msg", ""))
                except ValueError:
                    found.append(line)
        return found

    def recap(self):
        for line in self.stdout.splitlines():
            if line.startswith("localhost") and "ok=" in line:
                return dict(part.split("=") for part in line.split(":", 1)[1].split())
        return {}

    def summary(self):
        """The lines of the rollout summary."""
        lines, keep = [], False
        for line in self.stdout.splitlines():
            if "Show the rollout summary" in line:
                keep = True
            elif keep and (line.startswith("PLAY RECAP") or line.startswith("TASK [")):
                break
            elif keep:
                text = line.strip().strip(",")
                if text.startswith('"') and text.endswith('"'):
                    lines.append(json.loads(text))
        return lines

    def check(self, rc=0):
        if self.rc != rc:
            pytest.fail("ansible-playbook exited %s, expected %s\n%s\n%s" % (
                self.rc, rc, "\n".join(self.stdout.splitlines()[-100:]), self.stderr[-3000:]), pytrace=False)
        return self


class Platform:
    def __init__(self, root):
        self.root = root
        names = ("mlflow", "http", "grpc", "metrics", "prometheus")
        ports = dict(zip(names, free_ports(len(names))))
        self.tracking_uri = "http://127.0.0.1:%d" % ports["mlflow"]
        self.inference = "http://127.0.0.1:%d" % ports["http"]
        self.vars = {
            "mlops_local_root": os.path.join(root, "platform"),
            "mlops_mlflow_tracking_uri": self.tracking_uri,
            "mlops_inference_url": self.inference,
            "mlops_inference_metrics_url": "http://127.0.0.1:%d/metrics" % ports["metrics"],
            "mlops_prometheus_url": "http://127.0.0.1:%d" % ports["prometheus"],
            "seldon_grpc_port": ports["grpc"],
            # The tiers that share this platform need no canary; tests/canary turns it on with ports of its own.
            "mlops_canary_enabled": False,
            "private_local_supervisor_venv": os.path.join(VENVS, "supervisor"),
            "seldon_venv": os.path.join(VENVS, "mlserver"),
            "mlflow_venv": os.path.dirname(os.path.dirname(sys.executable)),
            "mlflow_venv_install": False,
            "model_rollout_deploy_timeout": 90,
            # A crashed holder on this host is noticed at once; elsewhere the lease would expire after this.
            "model_rollout_lock_ttl": 120,
        }
        self.vars_file = os.path.join(root, "vars.json")
        with open(self.vars_file, "w") as handle:
            json.dump(self.vars, handle)

    def env(self):
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".cache", "collections"),
                   ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_STDOUT_CALLBACK="default",
                   ANSIBLE_CALLBACK_RESULT_FORMAT="json", PYTHONUNBUFFERED="1")
        for key in [k for k in env if k.startswith("MLFLOW_")]:
            del env[key]
        return env

    def command(self, playbook, extra):
        cmd = [ANSIBLE_PLAYBOOK, "-i", INVENTORY, os.path.join(PLAYBOOKS, playbook), "-e", "@" + self.vars_file]
        if extra:
            handle, path = tempfile.mkstemp(suffix=".json", dir=self.root)
            with os.fdopen(handle, "w") as out:
                json.dump(extra, out)
            cmd += ["-e", "@" + path]
        return cmd

    def play(self, playbook, *args, **extra):
        proc = subprocess.run(self.command(playbook, extra) + list(args), capture_output=True, text=True,
                              env=self.env(), timeout=1500, check=False)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def start(self, playbook, **extra):
        """ansible-playbook in the background, its output in a file; for kills and concurrency."""
        log = tempfile.NamedTemporaryFile(prefix="play-", suffix=".log", dir=self.root, delete=False)
        proc = subprocess.Popen(self.command(playbook, extra), stdout=log, stderr=subprocess.STDOUT, text=True,
                                env=self.env(), start_new_session=True)
        return Running(proc, log.name)

    def wait_healthy(self, timeout=120):
        """Until MLflow answers /health again."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.tracking_uri + "/health", timeout=2).close()
                return
            except (urllib.error.URLError, OSError):
                time.sleep(0.5)
        raise AssertionError("MLflow did not answer /health within %ss" % timeout)

    # -- reading the real servers back --------------------------------------------------

    def client(self):
        import mlflow
        return mlflow.MlflowClient(self.tracking_uri)

    def model(self, name):
        return Model(self, name)

    def http(self, url, body=None, timeout=10):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.load(resp)


class Running:
    def __init__(self, proc, log):
        self.proc, self.log = proc, log

    def output(self):
        with open(self.log) as handle:
            return handle.read()

    def wait_for(self, text, timeout=600):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text in self.output():
                return
            if self.proc.poll() is not None:
                raise AssertionError("ansible-playbook ended (rc %s) before %r:\n%s" % (
                    self.proc.returncode, text, self.output()[-4000:]))
            time.sleep(0.05)
        raise AssertionError("%r did not appear within %ss" % (text, timeout))

    def kill_controller(self):
        """SIGKILL ansible-playbook alone, the way a cancelled job's controller dies (its task's worker lives on)."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def kill_everything(self):
        """SIGKILL ansible-playbook and every process under it at once (a power loss on the controller)."""
        victims = [self.proc.pid] + descendants(self.proc.pid)
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(timeout=30)

    def result(self, timeout=1500):
        self.proc.wait(timeout=timeout)
        out = self.output()
        return Result(self.proc.returncode, out, "")


def descendants(pid):
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                data = handle.read()
        except OSError:
            continue
        parent = int(data[data.rfind(")") + 2:].split()[1])
        children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class Model:
    """One registered model of the platform, read back with MLflow's own client and MLServer's API."""

    def __init__(self, platform, name):
        self.platform, self.name = platform, name

    def alias(self, alias):
        import mlflow.exceptions
        try:
            return self.platform.client().get_model_version_by_alias(self.name, alias).version
        except mlflow.exceptions.MlflowException:
            return None

    def versions(self):
        import mlflow.exceptions
        try:
            found = self.platform.client().search_model_versions("name = '%s'" % self.name)
        except mlflow.exceptions.MlflowException:
            return []
        return sorted(int(v.version) for v in found)

    def version(self, number):
        return self.platform.client().get_model_version(self.name, str(number))

    def tags(self, number):
        return self.version(number).tags

    def state(self, number):
        return self.tags(number).get("mlops.rollout.state")

    def states(self):
        return dict((v, self.state(v)) for v in self.versions())

    def run_params(self, number):
        return self.platform.client().get_run(self.version(number).run_id).data.params

    def served(self):
        """The registry version MLServer says answers at the default endpoint (None when nothing does)."""
        try:
            meta = self.platform.http("%s/v2/models/%s/versions/champion" % (self.platform.inference, self.name))
        except urllib.error.HTTPError:
            return None
        prefix = "models:/%s/" % self.name
        for item in meta.get("versions") or []:
            if item.startswith(prefix):
                return item[len(prefix):]
        return None

    def version_ready(self, number):
        try:
            urllib.request.urlopen("%s/v2/models/%s/versions/%s/ready" % (self.platform.inference, self.name, number),
                                   timeout=5).close()
            return True
        except (urllib.error.URLError, OSError):
            return False

    def predict(self, request, version=None):
        path = "/versions/%s" % version if version else ""
        answer = self.platform.http("%s/v2/models/%s%s/infer" % (self.platform.inference, self.name, path), request)
        return answer["outputs"][0]["data"]

    def assert_consistent(self):
        """The invariants a rerun must leave: one PROMOTED version and it is the champion, serving it."""
        states = self.states()
        promoted = [str(v) for v, s in states.items() if s == "PROMOTED"]
        champion = self.alias("champion")
        assert promoted == ([champion] if champion else []), (states, champion)
        assert self.served() == champion, "MLServer serves %s, the registry's champion is %s" % (self.served(), champion)
        runs = [self.version(v).run_id for v in self.versions()]
        assert len(runs) == len(set(runs)), "a run was registered twice: %s" % runs


class Poller:
    """Hammer an endpoint from a thread; count every request and every failure."""

    def __init__(self, url, body, interval=0.02):
        self.url, self.body, self.interval = url, body, interval
        self.requests = 0
        self.failures = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        data = json.dumps(self.body).encode()
        while not self._stop.is_set():
            self.requests += 1
            try:
                req = urllib.request.Request(self.url, data=data, headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=10) as resp:
                    json.load(resp)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                self.failures.append(repr(exc)[:200])
            time.sleep(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=30)


@pytest.fixture(scope="session")
def platform():
    root = tempfile.mkdtemp(prefix="mlops-rollout-")
    plat = Platform(root)
    # The rollouts need MLflow, Prometheus and MLServer; JupyterHub has a tier of its own (tests/jupyterhub).
    plat.play("platform.yml", "--skip-tags", "jupyterhub").check(0)
    yield plat
    plat.play("platform_stop.yml")
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def model_name(request):
    """A registered model of this test alone."""
    return "%s-%s" % (request.node.name.replace("test_", "").replace("_", "-")[:40], uuid.uuid4().hex[:6])


def breast_cancer_request(rows=4):
    """A V2 request with the first rows of the breast-cancer data, in the example's column names."""
    from sklearn.datasets import load_breast_cancer
    frame = load_breast_cancer(as_frame=True).frame.head(rows)
    inputs = [{"name": column.replace(" ", "_"), "datatype": "FP64", "shape": [rows], "data": frame[column].tolist()}
              for column in frame.columns if column != "target"]
    return {"parameters": {"content_type": "pd"}, "inputs": inputs}


def wine_request(rows=3):
    from sklearn.datasets import load_wine
    frame = load_wine(as_frame=True).frame.head(rows)
    inputs = [{"name": column.replace("/", "_"), "datatype": "FP64", "shape": [rows], "data": frame[column].tolist()}
              for column in frame.columns if column != "target"]
    return {"parameters": {"content_type": "pd"}, "inputs": inputs}
