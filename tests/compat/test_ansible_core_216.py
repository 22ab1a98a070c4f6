"""The compat tier: the collection on the OLDEST ansible-core it supports (meta/runtime.yml: requires_ansible
>=2.16.0), which the other tiers (the newest core of the test venv) cannot show.

* The unit tests run again inside the ansible-core 2.16 venv (``make compat-test`` does that before this file).
* compat.yml runs modules with that venv's ansible-playbook and Python - AnsiballZ, AnsibleModule and
  ansible.module_utils.urls of 2.16 - against a real ``mlflow server``, and the Prometheus and HAProxy clients
  against a closed port and a missing socket, so their own messages must come back, not a TypeError of an older core.

The venv: ``MLOPS_CORE216_VENV``, default ``<repo>/.cache/core216-venv`` (the Makefile builds it from
tests/compat/requirements-core216.txt).
"""

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from support.mlflow_server import MlflowServer  # noqa: E402  pylint: disable=wrong-import-position
from support.server_process import free_port  # noqa: E402  pylint: disable=wrong-import-position

VENV = os.environ.get("MLOPS_CORE216_VENV") or os.path.join(ROOT, ".cache", "core216-venv")


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    playbook = os.path.join(VENV, "bin", "ansible-playbook")
    assert os.path.exists(playbook), "no ansible-core 2.16 venv at %s (make compat-test builds it)" % VENV
    base = tmp_path_factory.mktemp("compat")
    namespace = base / "collections" / "ansible_collections" / "mlops"
    namespace.mkdir(parents=True)
    os.symlink(ROOT, str(namespace / "platform"))
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith("MLFLOW_"))
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_COLLECTIONS_PATH=str(base / "collections"), ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    with MlflowServer(root=str(base / "mlflow")) as server:
        extra = {"compat_tracking_uri": server.uri, "compat_closed_port": free_port(), "compat_out": str(base),
                 "ansible_python_interpreter": os.path.join(VENV, "bin", "python")}
        proc = subprocess.run([playbook, "-i", "localhost,", os.path.join(HERE, "compat.yml"), "-e", json.dumps(extra)],
                              capture_output=True, text=True, env=env, cwd=str(base), timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    with open(str(base / "answers.json")) as handle:
        found = json.load(handle)
    found["closed_port"] = extra["compat_closed_port"]
    found["out"] = str(base)
    return found


def test_the_playbook_ran_on_ansible_core_2_16(answers):
    assert answers["ansible_version"].startswith("2.16.")


def test_the_mlflow_modules_change_state_once_and_read_it_back(answers):
    assert answers["experiment"] == {"changed": True, "name": "compat-216"}
    assert answers["experiment_again"] == {"changed": False}
    assert answers["model"] == {"changed": True}
    assert answers["lock"] == {"changed": True, "has_token": True}
    assert answers["unlock"] == {"failed": False, "msg": "Released the lock on model 'compat-216-model'"}
    assert answers["info"]["failed"] is False
    assert "champion" in answers["info"]["keys"]


def test_the_prometheus_client_reports_the_closed_port(answers):
    assert answers["prometheus"] == {
        "failed": True,
        "msg": "Cannot reach Prometheus at http://127.0.0.1:%d: [Errno 111] Connection refused" % answers["closed_port"]}


def test_the_haproxy_client_reports_the_missing_socket(answers):
    assert answers["haproxy"]["failed"] is True
    assert answers["haproxy"]["msg"].startswith(
        "Cannot reach the HAProxy runtime API at %s/no-such.sock: " % answers["out"]), answers["haproxy"]["msg"]


def test_the_kubernetes_client_reports_the_closed_port(answers):
    # the connection came from module_defaults for group/mlops.platform.kubernetes; the token is never shown
    assert answers["kube"] == {
        "failed": True,
        "msg": "Cannot reach the Kubernetes API server at https://127.0.0.1:%d: [Errno 111] Connection refused"
               % answers["closed_port"]}
