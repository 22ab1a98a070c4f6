"""Continuous-training tier: the whole loop on the local target, every component real and on loopback.

One local platform for the session (playbooks/platform.yml --skip-tags jupyterhub, as tests/rollout brings it up:
MLflow, MLServer, Prometheus) on free ports under a throw-away root, with Prometheus evaluating every second and the
continuous-training alerts holding for 5 s. A first rollout of the example makes a champion; then
playbooks/continuous_training.yml starts the Pushgateway and the model monitor (scoring the champion on a CSV of the
newest labelled rows the test writes), Alertmanager (group_wait 1s) and the rulebook. Everything is stopped at the
end, the continuous-training programs first (the platform's stop playbook does not know them).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
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
BIN = os.path.dirname(sys.executable)
ANSIBLE_PLAYBOOK = os.path.join(BIN, "ansible-playbook")
EXAMPLE = os.path.join(ROOT, "examples", "breast_cancer_classifier")
VENVS = os.path.join(ROOT, ".cache", "mlops-local-venvs")
# ansible-rulebook's venv, built by the continuous_training role the first time (kept between runs).
RULEBOOK_VENV = os.path.join(ROOT, ".cache", "ct-venvs", "ansible-rulebook")
RULEBOOK = os.path.join(ROOT, "extensions", "eda", "rulebooks", "continuous_training.yml")
# The shift the test applies to the newest data (examples' data.drift): the champion's accuracy drops to ~0.62 and
# the worst_* features' PSI far above 0.25.
DRIFT = 0.5
# How long the alerts must hold (prometheus_alert_*_for) and Alertmanager's group_wait, as the tier sets them.
ALERT_FOR = "5s"
GROUP_WAIT = "1s"


class Result:
    def __init__(self, rc, stdout, stderr):
        self.rc, self.stdout, self.stderr = rc, stdout, stderr

    def fatal_messages(self):
        found = []
        for line in self.stdout.splitlines():
            if line.startswith("fatal: [localhost]: FAILED! => "):
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

    def check(self, rc=0):
        if self.rc != rc:
            pytest.fail("ansible-playbook exited %s, expected %s\n%s\n%s" % (
                self.rc, rc, "\n".join(self.stdout.splitlines()[-80:]), self.stderr[-3000:]), pytrace=False)
        return self


def http_json(url, body=None, timeout=10):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.load(resp)


def wait_until(what, probe, timeout, interval=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("%s did not happen within %ss" % (what, timeout))


def write_newest_data(path, drift):
    """The example's labelled rows, shifted by ``drift`` (breast_cancer.materialize --drift), as the newest data."""
    proc = subprocess.run([sys.executable, "-m", "breast_cancer.materialize", "--drift", str(drift), "--out", "-"],
                          cwd=EXAMPLE, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    with open(path + ".tmp", "w") as handle:
        handle.write(proc.stdout)
    os.replace(path + ".tmp", path)


def ansible_env():
    """The environment of an ansible-playbook run of this tier (no MLFLOW_* of the caller's)."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".cache", "collections"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_STDOUT_CALLBACK="default",
               ANSIBLE_CALLBACK_RESULT_FORMAT="json", PYTHONUNBUFFERED="1",
               PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    for key in [k for k in env if k.startswith("MLFLOW_")]:
        del env[key]
    return env


class Platform:
    def __init__(self, root, model):
        self.root = root
        self.model = model
        names = ("mlflow", "http", "grpc", "metrics", "prometheus", "pushgateway", "alertmanager", "webhook")
        self.ports = dict(zip(names, free_ports(len(names))))
        self.tracking_uri = "http://127.0.0.1:%d" % self.ports["mlflow"]
        self.prometheus = "http://127.0.0.1:%d" % self.ports["prometheus"]
        self.pushgateway = "http://127.0.0.1:%d" % self.ports["pushgateway"]
        self.alertmanager = "http://127.0.0.1:%d" % self.ports["alertmanager"]
        self.local_root = os.path.join(root, "platform")
        self.newest_data = os.path.join(root, "newest.csv")
        self.platform_vars = {
            "mlops_local_root": self.local_root,
            "mlops_mlflow_tracking_uri": self.tracking_uri,
            "mlops_inference_url": "http://127.0.0.1:%d" % self.ports["http"],
            "mlops_inference_metrics_url": "http://127.0.0.1:%d/metrics" % self.ports["metrics"],
            "mlops_prometheus_url": self.prometheus,
            "mlops_pushgateway_url": self.pushgateway,
            "mlops_alertmanager_url": self.alertmanager,
            "seldon_grpc_port": self.ports["grpc"],
            # The loop needs no canary (tests/canary runs it, on ports of its own).
            "mlops_canary_enabled": False,
            "private_local_supervisor_venv": os.path.join(VENVS, "supervisor"),
            "seldon_venv": os.path.join(VENVS, "mlserver"),
            "mlflow_venv": os.path.dirname(BIN),
            "mlflow_venv_install": False,
            "model_rollout_deploy_timeout": 90,
            "model_rollout_lock_ttl": 120,
            "model_rollout_experiment": "ct-breast-cancer",
        }
        self.vars = dict(self.platform_vars, **{
            # Prometheus evaluates every second and the alerts hold 5 s: the loop runs in seconds, not minutes.
            "prometheus_scrape_interval": "1s",
            "prometheus_alert_quality_for": ALERT_FOR,
            "prometheus_alert_drift_for": ALERT_FOR,
            "model_monitor_models": [{"name": model, "label_column": "target", "data_path": self.newest_data}],
            "model_monitor_interval": 2,
            "continuous_training_webhook_port": self.ports["webhook"],
            "continuous_training_group_wait": GROUP_WAIT,
            "continuous_training_group_interval": "5s",
            "continuous_training_repeat_interval": "1h",
            "continuous_training_rulebook_venv": RULEBOOK_VENV,
            # The project now trains on the shifted population: what a retraining rollout runs with.
            # (ansible-rulebook runs it with a copy of the inventory elsewhere: the project path is absolute.)
            "continuous_training_rollout_vars": dict(self.platform_vars, model_rollout_params={"data": {"drift": DRIFT}},
                                                     model_rollout_project_dir=EXAMPLE),
        })
        self.vars_file = os.path.join(root, "vars.json")
        with open(self.vars_file, "w") as handle:
            json.dump(self.vars, handle)

    @staticmethod
    def env():
        return ansible_env()

    def play(self, playbook, *args, **extra):
        cmd = [ANSIBLE_PLAYBOOK, "-i", INVENTORY, os.path.join(PLAYBOOKS, playbook), "-e", "@" + self.vars_file]
        if extra:
            handle, path = tempfile.mkstemp(suffix=".json", dir=self.root)
            with os.fdopen(handle, "w") as out:
                json.dump(extra, out)
            cmd += ["-e", "@" + path]
        proc = subprocess.run(cmd + list(args), capture_output=True, text=True, env=self.env(), timeout=1200,
                              check=False)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    # -- reading the real servers back ---------------------------------------------------

    def log(self, program):
        path = os.path.join(self.local_root, "supervisor", "logs", "%s.log" % program)
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except OSError:
            return ""

    def client(self):
        import mlflow
        return mlflow.MlflowClient(self.tracking_uri)

    def versions(self, name):
        return sorted(int(v.version) for v in self.client().search_model_versions("name = '%s'" % name))

    def version(self, name, number):
        return self.client().get_model_version(name, str(number))

    def champion(self, name):
        return self.client().get_model_version_by_alias(name, "champion").version

    def pushed(self, name):
        """{(metric family, label value): value} the Pushgateway holds for ``name`` (metric / feature label)."""
        with urllib.request.urlopen(self.pushgateway + "/metrics", timeout=5) as resp:
            text = resp.read().decode()
        found = {}
        pattern = re.compile(r'^(mlops_model_quality|mlops_model_drift)\{([^}]*)\} (\S+)$')
        for line in text.splitlines():
            match = pattern.match(line)
            if not match:
                continue
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2)))
            if labels.get("model") != name:
                continue
            key = labels.get("metric") or labels.get("feature")
            found[(match.group(1), labels.get("version"), key)] = float(match.group(3))
        return found

    def alerts(self, name):
        """The alert names Prometheus holds for model ``name``, with their state."""
        body = http_json(self.prometheus + "/api/v1/alerts")
        return sorted((a["labels"]["alertname"], a["state"]) for a in body["data"]["alerts"]
                      if a["labels"].get("model") == name)


@pytest.fixture(scope="session")
def platform():
    root = tempfile.mkdtemp(prefix="mlops-ct-")
    plat = Platform(root, "ct-bc-%s" % uuid.uuid4().hex[:6])
    started = []
    try:
        plat.play("platform.yml", "--skip-tags", "jupyterhub").check(0)
        started.append("platform")
        # The champion, trained on the population as it was (data.drift 0).
        plat.play("rollout.yml", model_rollout_model_name=plat.model).check(0)
        write_newest_data(plat.newest_data, 0.0)
        plat.play("continuous_training.yml").check(0)
        started.append("ct")
        yield plat
    finally:
        if "ct" in started:
            plat.play("continuous_training.yml", continuous_training_state="stopped", model_monitor_state="stopped")
        plat.play("platform_stop.yml")
        shutil.rmtree(root, ignore_errors=True)
