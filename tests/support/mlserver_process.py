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
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

from support.mlflow_server import free_ports

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


class MlserverProcess:
    def __init__(self, root, repository, parallel_workers=1, venv=None):
        self.root = root
        self.repository = repository
        self.venv = venv or mlserver_venv()
        self.http_port, self.grpc_port, self.metrics_port = free_ports(3)
        self.url = "http://127.0.0.1:%d" % self.http_port
        self.parallel_workers = parallel_workers
        self.proc = None
        self.log_path = os.path.join(root, "mlserver.log")
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
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([os.path.join(self.venv, "bin", "mlserver"), "start", self.repository],
                                     cwd=self.root, stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        self.starts += 1
        return self

    def start(self, timeout=180):
        self.launch()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("MLServer exited with %s; log:\n%s" % (self.proc.returncode, self.log_tail()))
            if self.status("/v2/health/ready") == 200:
                return self
            time.sleep(0.25)
        self.stop()
        raise RuntimeError("MLServer was not ready within %ss; log:\n%s" % (timeout, self.log_tail()))

    def status(self, path):
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except (urllib.error.URLError, OSError):
            return None

    def metadata(self, model, version=None):
        path = "/v2/models/%s" % model + ("/versions/%s" % version if version else "")
        with urllib.request.urlopen(self.url + path, timeout=5) as resp:
            return json.load(resp)

    def log_tail(self, lines=60):
        try:
            with open(self.log_path, "rb") as handle:
                return b"\n".join(handle.read().splitlines()[-lines:]).decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_exit(self, timeout):
        """The exit code once the process ended by itself, or None if it still runs after ``timeout``."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None

    def restart(self, timeout=180):
        self.stop()
        return self.start(timeout)
