"""Start and stop a real `mlflow server` on 127.0.0.1 for tests and benchmarks.

SQLite backend, local artifact root, one worker, job execution off: the light
server a test needs. ``basic_auth=True`` runs MLflow's own ``basic-auth`` app
with an admin user whose password the caller chooses. ``venv`` runs the
``mlflow`` of another virtual environment (an MLflow 2.x server, say); by
default it is the one next to the running interpreter.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_ports(count):
    """count distinct free ports: every socket stays bound until all are drawn (free_port() called in a row may
    hand out the same port twice, once the first socket is closed)."""
    socks = []
    try:
        while len(socks) < count:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(sock)
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def mlflow_executable(venv=None):
    if venv:
        return os.path.join(venv, "bin", "mlflow")
    here = os.path.join(os.path.dirname(sys.executable), "mlflow")
    return here if os.path.exists(here) else shutil.which("mlflow")


class MlflowServer:
    def __init__(self, root=None, basic_auth=False, admin_password="unused-Admin-Pw-1", port=None, venv=None):
        self.root = root or tempfile.mkdtemp(prefix="mlops-mlflow-")
        self.venv = venv
        # The Python of the same MLflow: a client of the server's own version runs there.
        self.python = os.path.join(venv, "bin", "python") if venv else sys.executable
        self.port = port or free_port()
        self.basic_auth = basic_auth
        self.admin_password = admin_password
        self.uri = "http://127.0.0.1:%d" % self.port
        self.proc = None
        self.log_path = os.path.join(self.root, "server.log")

    def start(self, timeout=120):
        env = dict(os.environ)
        env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
        for key in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"):
            env.pop(key, None)
        cmd = [
            mlflow_executable(self.venv), "server",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--backend-store-uri", "sqlite:///%s" % os.path.join(self.root, "mlflow.db"),
            "--artifacts-destination", os.path.join(self.root, "artifacts"),
            "--serve-artifacts",
            "--workers", "1",
        ]
        if self.basic_auth:
            ini = os.path.join(self.root, "basic_auth.ini")
            with open(ini, "w") as handle:
                handle.write(
                    "[mlflow]\n"
                    "default_permission = READ\n"
                    "database_uri = sqlite:///%s\n"
                    "admin_username = admin\n"
                    "admin_password = %s\n"
                    "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
                    % (os.path.join(self.root, "auth.db"), self.admin_password))
            env["MLFLOW_AUTH_CONFIG_PATH"] = ini
            env["MLFLOW_FLASK_SERVER_SECRET_KEY"] = "test-only-flask-secret-%d" % self.port
            cmd += ["--app-name", "basic-auth"]
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("mlflow server exited with %s; log:\n%s" % (self.proc.returncode, self.log_tail()))
            try:
                with urllib.request.urlopen(self.uri + "/health", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError("mlflow server did not answer /health within %ss; log:\n%s" % (timeout, self.log_tail()))

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, "rb") as handle:
                return b"\n".join(handle.read().splitlines()[-lines:]).decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if getattr(self, "_log", None):
            self._log.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
