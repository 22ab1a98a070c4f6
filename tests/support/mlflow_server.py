"""Start and stop a real `mlflow server` on 127.0.0.1 for tests and benchmarks.

SQLite backend, local artifact root, one worker, job execution off: the light
server a test needs. ``basic_auth=True`` runs MLflow's own ``basic-auth`` app
with an admin user whose password the caller chooses. ``venv`` runs the
``mlflow`` of another virtual environment (an MLflow 2.x server, say); by
default it is the one next to the running interpreter.
"""

import os
import shutil
import sys
import tempfile

from support.server_process import ServerProcess, free_port


def mlflow_executable(venv=None):
    if venv:
        return os.path.join(venv, "bin", "mlflow")
    here = os.path.join(os.path.dirname(sys.executable), "mlflow")
    return here if os.path.exists(here) else shutil.which("mlflow")


class MlflowServer(ServerProcess):
    name = "mlflow server"

    def __init__(self, root=None, basic_auth=False, admin_password="unused-Admin-Pw-1", port=None, venv=None):
        self.root = root or tempfile.mkdtemp(prefix="mlops-mlflow-")
        super().__init__(os.path.join(self.root, "server.log"))
        self.venv = venv
        # The Python of the same MLflow: a client of the server's own version runs there.
        self.python = os.path.join(venv, "bin", "python") if venv else sys.executable
        self.port = port or free_port()
        self.basic_auth = basic_auth
        self.admin_password = admin_password
        self.uri = "http://127.0.0.1:%d" % self.port

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
        self.spawn(cmd, env=env)
        return self.wait_http(self.uri + "/health", timeout)
