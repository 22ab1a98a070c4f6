"""Start and stop a real MLServer (1.7.1) on 127.0.0.1 for tests and benchmarks.

MLServer runs from its own venv (``mlserver_venv()``: ``MLOPS_MLSERVER_VENV`` or
``<repo>/.cache/mlops-local-venvs/mlserver``, created there with the pinned packages the first
time, which takes minutes). It binds HTTP, gRPC and metrics to free loopback ports (MLServer binds
0.0.0.0 unless told), loads its model repository at start-up, and runs one inference worker
process (``parallel_workers: 1``), the setting under which MLServer reports why a model failed to
load. The process gets no ``MLFLOW_*`` variables: it must never need MLflow.

``mlserver start <folder>`` makes <folder> the model repository, whatever ``model_repository_root``
says (MLServer 1.7.1, cli/serve.py ``load_settings``), so settings.json goes into the repository
itself and the repository is the folder started; logs and MLServer's .envs/.metrics stay in ``root``.
"""

import json
import os
import subprocess
import sys
import urllib.request

from support.server_process import ServerProcess, free_ports, http_status

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MLSERVER_PACKAGES = ["mlserver==1.7.1", "mlserver-mlflow==1.7.1", "uvloop<0.22", "mlflow==3.17.2",
                     "scikit-learn==1.9.1", "skops==0.16.0"]


def mlserver_venv():
    """The MLServer venv, created with MLSERVER_PACKAGES when it has no bin/mlserver yet."""
    venv = os.environ.get("MLOPS_MLSERVER_VENV") or os.path.join(ROOT, ".cache", "mlops-local-venvs", "mlserver")
    if not os.path.exists(os.path.join(venv, "bin", "mlserver")):
        base = getattr(sys, "_base_executable", None) or sys.executable
        subprocess.run([base, "-m", "venv", venv], check=True)
        subprocess.run([os.path.join(venv, "bin", "python"), "-m", "pip", "install", "-q"] + MLSERVER_PACKAGES,
                       check=True)
    return venv


class MlserverProcess(ServerProcess):
    name = "MLServer"
    stop_timeout = 30

    def __init__(self, root, repository, parallel_workers=1, venv=None):
        super().__init__(os.path.join(root, "mlserver.log"))
        self.root = root
        self.repository = repository
        self.venv = venv or mlserver_venv()
        self.http_port, self.grpc_port, self.metrics_port = free_ports(3)
        self.url = "http://127.0.0.1:%d" % self.http_port
        self.parallel_workers = parallel_workers
        self.starts = 0

    def write_settings(self):
        os.makedirs(self.root, exist_ok=True)
        os.makedirs(self.repository, exist_ok=True)
        with open(os.path.join(self.repository, "settings.json"), "w") as handle:
            json.dump({
                "debug": False,
                "host": "127.0.0.1",
                "http_port": self.http_port,
                "grpc_port": self.grpc_port,
                "metrics_port": self.metrics_port,
                "parallel_workers": self.parallel_workers,
                "load_models_at_startup": True,
                "model_repository_root": self.repository,
            }, handle, indent=2)

    def launch(self):
        """Start the process without waiting for it."""
        self.write_settings()
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith("MLFLOW_"))
        self.spawn([os.path.join(self.venv, "bin", "mlserver"), "start", self.repository], env=env, cwd=self.root)
        self.starts += 1
        return self

    def start(self, timeout=180):
        self.launch()
        return self.wait_ready(lambda: self.status("/v2/health/ready") == 200, timeout, "get ready", interval=0.25)

    def status(self, path):
        return http_status(self.url + path, timeout=5)

    def metadata(self, model, version=None):
        path = "/v2/models/%s" % model + ("/versions/%s" % version if version else "")
        with urllib.request.urlopen(self.url + path, timeout=5) as resp:
            return json.load(resp)

    def restart(self, timeout=180):
        self.stop()
        return self.start(timeout)
