"""JupyterHub tier: the jupyterhub role on the local target, a notebook run in a user server, and a real browser.

One real local platform (supervisord, `mlflow server`, MLServer, Prometheus and JupyterHub with its
configurable-http-proxy) is brought up for the whole session with playbooks/platform.yml, on free loopback ports
under a throw-away root, and stopped with playbooks/platform_stop.yml at the end. The platform helpers are the
rollout tier's (tests/rollout/conftest.py, loaded under another module name, not edited). Venvs are shared with
the other tiers in .cache/mlops-local-venvs, so a rerun installs nothing.

The MLflow connection carries a username and a password (the local MLflow has no authentication and ignores
them): the tests check that they reach every kernel and that the password shows up in no log, file or page.
"""

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import pytest

from support.server_process import free_port

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def _load_rollout_helpers():
    spec = importlib.util.spec_from_file_location("rollout_platform_helpers", os.path.join(ROOT, "tests", "rollout", "conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


rollout = _load_rollout_helpers()
VENVS = rollout.VENVS
SINGLEUSER_VENV = os.path.join(VENVS, "jupyterhub-singleuser")
NOTEBOOK = os.path.join(ROOT, "examples", "notebooks", "train.ipynb")
USER = "scientist"
MLFLOW_USERNAME = "notebook-user"


def _free(port):
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_block(size=3):
    """A free port whose next size-1 ports are free too (the proxy, its API and the hub)."""
    for _attempt in range(50):
        port = free_port()
        if port + size < 65536 and all(_free(port + offset) for offset in range(1, size)):
            return port
    raise AssertionError("no block of %d free loopback ports" % size)


class Hub:
    """The hub of the platform, read back over HTTP like a client does."""

    def __init__(self, platform, url):
        self.platform, self.url = platform, url
        self.dir = os.path.join(platform.vars["mlops_local_root"], "jupyterhub")

    def password(self):
        with open(os.path.join(self.dir, "password")) as handle:
            return handle.read().strip()

    def request(self, method, path, body=None, token=None, timeout=30):
        """(status, JSON or text) of a request to the hub's public URL; HTTP errors are answers too."""
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "token %s" % token
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, text = resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode()
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, text

    def token(self, password, note="jupyterhub tier"):
        """A token of USER, requested with the shared password (the hub's REST API asks the authenticator)."""
        return self.request("POST", "/hub/api/users/%s/tokens" % USER,
                            {"auth": {"username": USER, "password": password}, "note": note})

    def start_server(self, token, timeout=180):
        """Start USER's server through the REST API and wait until the hub says it is ready."""
        status, answer = self.request("POST", "/hub/api/users/%s/server" % USER, token=token)
        assert status in (201, 202, 400), (status, answer)
        if status == 400:
            assert "is already running" in str(answer), answer
        deadline = time.time() + timeout
        while time.time() < deadline:
            status, user = self.request("GET", "/hub/api/users/%s" % USER, token=token)
            assert status == 200, (status, user)
            server = user["servers"].get("")
            if server and server["ready"]:
                return server
            time.sleep(1)
        raise AssertionError("the server of %s was not ready within %ss" % (USER, timeout))

    def run_notebook(self, token, notebook, output, parameters):
        """Execute a notebook on a kernel of USER's server (tests/jupyterhub/run_notebook.py)."""
        env = {"PATH": "/usr/bin:/bin", "HOME": self.platform.root, "JUPYTERHUB_TEST_TOKEN": token}
        proc = subprocess.run(
            [os.path.join(SINGLEUSER_VENV, "bin", "python"), os.path.join(HERE, "run_notebook.py"),
             "--server", "%s/user/%s" % (self.url, USER), "--notebook", notebook, "--output", output,
             "--parameters", json.dumps(parameters)],
            capture_output=True, text=True, env=env, timeout=600, check=False)
        assert proc.returncode == 0, "the notebook failed:\n%s\n%s" % (proc.stdout[-3000:], proc.stderr[-5000:])
        with open(output) as handle:
            return json.load(handle)


def cell_text(cell):
    """What a cell printed or returned, as one string."""
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append("".join(output["text"]))
        elif output.get("output_type") in ("execute_result", "display_data"):
            parts.append("".join(output.get("data", {}).get("text/plain", "")))
        elif output.get("output_type") == "error":
            parts.append("%s: %s" % (output["ename"], output["evalue"]))
    return "".join(parts)


@pytest.fixture(scope="session")
def platform():
    root = tempfile.mkdtemp(prefix="mlops-jhub-")
    plat = rollout.Platform(root)
    port = free_port_block()
    plat.mlflow_password = "pw-%s" % uuid.uuid4().hex
    plat.vars.update({
        "mlops_jupyterhub_url": "http://127.0.0.1:%d" % port,
        "mlops_mlflow_connection": {"tracking_uri": plat.tracking_uri, "username": MLFLOW_USERNAME,
                                    "password": plat.mlflow_password},
        "jupyterhub_venv": os.path.join(VENVS, "jupyterhub"),
        "jupyterhub_singleuser_venv": SINGLEUSER_VENV,
        "jupyterhub_admin_users": ["hubadmin"],
    })
    with open(plat.vars_file, "w") as handle:
        json.dump(plat.vars, handle)
    started = time.time()
    plat.first_play = plat.play("platform.yml").check(0)
    plat.first_play_seconds = time.time() - started
    yield plat
    plat.play("platform_stop.yml")
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def hub(platform):
    return Hub(platform, platform.vars["mlops_jupyterhub_url"])


@pytest.fixture(scope="session")
def token(hub):
    status, answer = hub.token(hub.password())
    assert status == 201, (status, answer)
    return answer["token"]
