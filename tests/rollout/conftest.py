"""Rollout tier: the model_rollout role and playbooks end to end on the local target.

A real local platform (supervisord, `mlflow server`, MLServer, Prometheus) is brought up once for
this module with playbooks/platform.yml, on test ports under a throw-away root, and stopped with
playbooks/platform_stop.yml at the end. Venvs are shared with the molecule scenario in .cache/.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request

import pytest
import yaml

from support.mlflow_server import free_port

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PLAYBOOKS = os.path.join(ROOT, "playbooks")
INVENTORY = os.path.join(ROOT, "inventories", "local")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
MODEL = "breast-cancer-classifier"


class Result:
    def __init__(self, proc):
        self.rc, self.stdout, self.stderr = proc.returncode, proc.stdout, proc.stderr

    def fatal_messages(self):
        """The msg of every failed task that was not rescued or ignored, in order."""
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


class Platform:
    def __init__(self, root):
        self.root = root
        self.venvs = os.path.join(ROOT, ".cache", "mlops-local-venvs")
        self.vars = {
            "mlops_target": "local",
            "mlops_local_root": os.path.join(root, "platform"),
            "mlflow_local_port": free_port(),
            "seldon_local_http_port": free_port(),
            "seldon_local_grpc_port": free_port(),
            "seldon_local_metrics_port": free_port(),
            "prometheus_local_port": free_port(),
            "supervisor_local_venv": os.path.join(self.venvs, "supervisor"),
            "seldon_local_venv": os.path.join(self.venvs, "mlserver"),
            "mlflow_local_venv": os.path.dirname(os.path.dirname(sys.executable)),
            "mlflow_local_venv_install": False,
            "model_rollout_deploy_timeout": 60,
        }
        self.vars_file = os.path.join(root, "vars.json")
        with open(self.vars_file, "w") as handle:
            json.dump(self.vars, handle)
        self.tracking_uri = "http://127.0.0.1:%d" % self.vars["mlflow_local_port"]
        self.inference = "http://127.0.0.1:%d" % self.vars["seldon_local_http_port"]

    def play(self, playbook, **extra):
        cmd = [ANSIBLE_PLAYBOOK, "-i", INVENTORY, os.path.join(PLAYBOOKS, playbook), "-e", "@" + self.vars_file]
        if extra:
            handle, path = tempfile.mkstemp(suffix=".json", dir=self.root)
            with os.fdopen(handle, "w") as out:
                json.dump(extra, out)
            cmd += ["-e", "@" + path]
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".cache", "collections"),
                   ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_STDOUT_CALLBACK="default",
                   ANSIBLE_CALLBACK_RESULT_FORMAT="json")
        for key in [k for k in env if k.startswith("MLFLOW_")]:
            del env[key]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1500, check=False)
        return Result(proc)

    # -- reading the real servers back --------------------------------------------------

    def client(self):
        import mlflow
        return mlflow.MlflowClient(self.tracking_uri)

    def alias(self, alias):
        import mlflow.exceptions
        try:
            return self.client().get_model_version_by_alias(MODEL, alias).version
        except mlflow.exceptions.MlflowException:
            return None

    def versions(self):
        return sorted(int(v.version) for v in self.client().search_model_versions("name = '%s'" % MODEL))

    def tags(self, version):
        return self.client().get_model_version(MODEL, str(version)).tags

    def served_version(self):
        """(version, uri) MLServer serves: the version its model settings name, proven loaded by MLServer's
        versioned readiness endpoint (V2 protocol), which answers 200 only for the version it has loaded."""
        with open(os.path.join(self.vars["mlops_local_root"], "seldon", "models", MODEL, "model-settings.json")) as handle:
            settings = json.load(handle)["parameters"]
        url = "%s/v2/models/%s/versions/%s/ready" % (self.inference, MODEL, settings["version"])
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert resp.status == 200
        return settings["version"], settings["uri"]

    def predict_heldout(self):
        """Send the held-out rows to MLServer; return (predictions, expected labels)."""
        work = os.path.join(self.vars["mlops_local_root"], "rollout", MODEL)
        with open(os.path.join(work, "data", "prepared", "heldout.json")) as handle:
            heldout = json.load(handle)
        request = urllib.request.Request("%s/v2/models/%s/infer" % (self.inference, MODEL),
                                         data=json.dumps(heldout["v2_request"]).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as resp:
            answer = json.load(resp)
        return [int(x) for x in answer["outputs"][0]["data"]], heldout["labels"]

    def artifact_dir_of(self, version):
        """Local directory of a version's logged model in the platform's MLflow artifact store."""
        model_id = self.client().get_model_version(MODEL, str(version)).source.split("/")[-1]
        for dirpath, dirnames, _files in os.walk(os.path.join(self.vars["mlops_local_root"], "mlflow")):
            if os.path.basename(dirpath) == model_id and "artifacts" in dirnames:
                return os.path.join(dirpath, "artifacts")
        raise AssertionError("artifacts of %s not found" % model_id)


@pytest.fixture(scope="module")
def platform():
    root = tempfile.mkdtemp(prefix="mlops-rollout-")
    plat = Platform(root)
    plat.play("platform.yml").check(0)
    yield plat
    plat.play("platform_stop.yml")
    shutil.rmtree(root, ignore_errors=True)


def load_yaml(path):
    with open(path) as handle:
        return yaml.safe_load(handle)
