"""Transport behaviour against real servers: retries through a fault-injecting loopback proxy, MLflow's
basic-auth app, secrets kept out of -vvv output, and versions whose registration fails."""

import os
import sqlite3
import textwrap
import uuid

import pytest

from conftest import run_playbook
from support.fault_proxy import FaultProxy
from support.mlflow_server import MlflowServer

ADMIN_PASSWORD = "Adm1n-%s" % uuid.uuid4().hex  # generated per run: never a literal in the repo


def write_playbook(tmp_path, tasks):
    path = tmp_path / "play.yml"
    path.write_text(textwrap.dedent("""\
        ---
        - name: Ad hoc
          hosts: localhost
          gather_facts: false
          tasks:
        """) + textwrap.indent(textwrap.dedent(tasks), "    "))
    return str(path)


def model_exists(client, name):
    import mlflow.exceptions
    try:
        client.get_registered_model(name)
        return True
    except mlflow.exceptions.MlflowException:
        return False


# ---------------------------------------------------------------- retries

def test_retries_succeed_after_503s(mlflow_server, mlflow_client, tmp_path):
    name = "retry-%s" % uuid.uuid4().hex[:8]
    with FaultProxy(mlflow_server.port, fail_first=3) as proxy:
        playbook = write_playbook(tmp_path, """\
            - name: Create through a flaky proxy
              mlops.platform.mlflow_registered_model:
                tracking_uri: "{{ uri }}"
                name: "{{ model }}"
                retries: 4
              register: __r
            - name: It worked
              ansible.builtin.assert:
                that: __r is changed
            """)
        result = run_playbook(playbook, {"uri": proxy.uri, "model": name}, tmp_path=tmp_path)
        result.check(0)
        assert proxy.count("proxy") == 3
        # lookup (after 3 failures), create, read back: each reached the server once
        assert [r[:2] for r in proxy.requests if r[2] == "upstream"] == [
            ("GET", "/api/2.0/mlflow/registered-models/get?name=%s" % name),
            ("POST", "/api/2.0/mlflow/registered-models/create"),
            ("GET", "/api/2.0/mlflow/registered-models/get?name=%s" % name),
        ]
    assert model_exists(mlflow_client, name)


def test_retries_exhausted_fail_clearly_and_change_nothing(mlflow_server, mlflow_client, tmp_path):
    name = "exhausted-%s" % uuid.uuid4().hex[:8]
    with FaultProxy(mlflow_server.port, fail_first=100, fail_methods={"POST"}) as proxy:
        playbook = write_playbook(tmp_path, """\
            - name: Create while every write gets 503
              mlops.platform.mlflow_registered_model:
                tracking_uri: "{{ uri }}"
                name: "{{ model }}"
                retries: 2
            """)
        result = run_playbook(playbook, {"uri": proxy.uri, "model": name}, tmp_path=tmp_path)
        result.check(2)
        assert ("\"msg\": \"Failed to create registered model '%s': TEMPORARILY_UNAVAILABLE: injected by the fault proxy\""
                % name) in result.stdout
        assert '"http_status": 503' in result.stdout
        assert proxy.count("proxy") == 3  # the first try and two retries, then it gave up
    assert not model_exists(mlflow_client, name)


def test_no_retries_by_default(mlflow_server, tmp_path):
    with FaultProxy(mlflow_server.port, fail_first=1) as proxy:
        playbook = write_playbook(tmp_path, """\
            - name: Read through a proxy that fails once
              mlops.platform.mlflow_experiment_info:
                tracking_uri: "{{ uri }}"
                name: Default
            """)
        result = run_playbook(playbook, {"uri": proxy.uri}, tmp_path=tmp_path)
        result.check(2)
        assert "Failed to read experiments: TEMPORARILY_UNAVAILABLE: injected by the fault proxy" in result.stdout
        assert proxy.count() == 1


def test_client_errors_are_not_retried(mlflow_server, tmp_path):
    with FaultProxy(mlflow_server.port) as proxy:
        playbook = write_playbook(tmp_path, """\
            - name: A 400 is final
              mlops.platform.mlflow_run_info:
                tracking_uri: "{{ uri }}"
                experiment_ids: ["0"]
                filter: "metrics.x >"
                retries: 5
            """)
        result = run_playbook(playbook, {"uri": proxy.uri}, tmp_path=tmp_path)
        result.check(2)
        assert "INVALID_PARAMETER_VALUE: Invalid clause(s) in filter string" in result.stdout
        # exactly one search, not retried
        assert [r[1].split("?")[0] for r in proxy.requests] == ["/api/2.0/mlflow/runs/search"]


# ---------------------------------------------------------------- basic auth

@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    server = MlflowServer(root=str(tmp_path_factory.mktemp("mlflow-auth")), basic_auth=True,
                          admin_password=ADMIN_PASSWORD)
    server.start()
    yield server
    server.stop()


AUTH_TASKS = """\
    - name: Create a model with basic auth
      mlops.platform.mlflow_registered_model:
        tracking_uri: "{{ uri }}"
        name: "{{ model }}"
        username: "{{ user | default(omit) }}"
        password: "{{ pw | default(omit) }}"
      register: __r
    """


def test_basic_auth_right_credentials(auth_server, tmp_path):
    name = "auth-%s" % uuid.uuid4().hex[:8]
    result = run_playbook(write_playbook(tmp_path, AUTH_TASKS),
                          {"uri": auth_server.uri, "model": name, "user": "admin", "pw": ADMIN_PASSWORD}, tmp_path=tmp_path)
    result.check(0)
    assert "changed=1" in result.stdout


def test_basic_auth_from_mlflow_environment_variables(auth_server, tmp_path):
    name = "auth-env-%s" % uuid.uuid4().hex[:8]
    result = run_playbook(write_playbook(tmp_path, AUTH_TASKS), {"uri": auth_server.uri, "model": name},
                          env={"MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": ADMIN_PASSWORD},
                          tmp_path=tmp_path)
    result.check(0)
    assert "changed=1" in result.stdout


def test_basic_auth_wrong_password(auth_server, tmp_path):
    name = "auth-bad-%s" % uuid.uuid4().hex[:8]
    result = run_playbook(write_playbook(tmp_path, AUTH_TASKS),
                          {"uri": auth_server.uri, "model": name, "user": "admin", "pw": "not-the-password"},
                          tmp_path=tmp_path)
    result.check(2)
    expected = ("Failed to look up registered model '%s': GET %s/api/2.0/mlflow/registered-models/get: HTTP 401, "
                % (name, auth_server.uri))
    assert expected in result.stdout
    assert "(the server rejected the credentials)" in result.stdout
    assert '"error_code": "UNAUTHENTICATED"' in result.stdout
    assert "not-the-password" not in result.output


def test_basic_auth_missing_credentials(auth_server, tmp_path):
    result = run_playbook(write_playbook(tmp_path, AUTH_TASKS), {"uri": auth_server.uri, "model": "anon"},
                          tmp_path=tmp_path)
    result.check(2)
    assert "HTTP 401" in result.stdout
    assert "(the server requires authentication: set username/password or token)" in result.stdout


# ---------------------------------------------------------------- secrets

@pytest.mark.parametrize("how", ["password-option", "wrong-password-option", "token-option", "password-env",
                                 "token-env"])
def test_secrets_never_appear_in_vvv_output(auth_server, mlflow_server, tmp_path, how):
    secret = ADMIN_PASSWORD if how in ("password-option", "password-env") else "Sekr1t-%s" % uuid.uuid4().hex
    tasks = """\
        - name: Talk to MLflow with a secret
          mlops.platform.mlflow_registered_model:
            tracking_uri: "{{ uri }}"
            name: "{{ model }}"
            username: "{{ user | default(omit) }}"
            password: "{{ pw | default(omit) }}"
            token: "{{ tok | default(omit) }}"
            description: a model
          register: __r
        - name: Show everything the module returned
          ansible.builtin.debug:
            var: __r
        """
    extra = {"model": "secret-%s" % uuid.uuid4().hex[:8]}
    env = {}
    if how in ("password-option", "wrong-password-option"):
        # the right password (success path) and a wrong one (failure path): neither may leak
        extra.update(uri=auth_server.uri, user="admin", pw=secret)
    elif how == "password-env":
        extra.update(uri=auth_server.uri)
        env = {"MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": secret}
    elif how == "token-option":
        extra.update(uri=mlflow_server.uri, tok=secret)
    else:
        extra.update(uri=mlflow_server.uri)
        env = {"MLFLOW_TRACKING_TOKEN": secret}
    result = run_playbook(write_playbook(tmp_path, tasks), extra, verbosity=3, env=env, tmp_path=tmp_path)
    result.check(2 if how == "wrong-password-option" else 0)
    assert "Talk to MLflow with a secret" in result.stdout  # the task ran and was logged at -vvv
    assert secret not in result.output
    if how != "wrong-password-option":
        # the whole registered result was printed, and the module ran with the secret (the auth server accepted it)
        assert '"registered_model": {' in result.stdout
        assert '"description": "a model"' in result.stdout


# ---------------------------------------------------------------- failed registration

def _set_status(server, name, version, status, message):
    # Stand-in for an asynchronous registry backend: the local SQLite store registers synchronously and
    # never produces PENDING or FAILED versions, so the test writes the status the way such a backend would.
    with sqlite3.connect(os.path.join(server.root, "mlflow.db")) as conn:
        cur = conn.execute("UPDATE model_versions SET status = ?, status_message = ? WHERE name = ? AND version = ?",
                           (status, message, name, int(version)))
        assert cur.rowcount == 1


@pytest.mark.parametrize("status,expected", [
    ("FAILED_REGISTRATION",
     "Registration of version 1 of model '{name}' failed (FAILED_REGISTRATION): artifact copy failed: bucket is gone"),
    ("PENDING_REGISTRATION",
     "Version 1 of model '{name}' is still PENDING_REGISTRATION after 2s (wait_timeout)"),
])
def test_version_whose_registration_fails(mlflow_server, mlflow_client, seeded, tmp_path, status, expected):
    name = "reg-%s" % uuid.uuid4().hex[:8]
    playbook = write_playbook(tmp_path, """\
        - name: Create the model
          mlops.platform.mlflow_registered_model:
            tracking_uri: "{{ uri }}"
            name: "{{ model }}"
        - name: Register a version
          mlops.platform.mlflow_model_version:
            tracking_uri: "{{ uri }}"
            name: "{{ model }}"
            run_id: "{{ run }}"
            wait_timeout: 2
        """)
    extra = {"uri": mlflow_server.uri, "model": name, "run": seeded["runs"]["good"]}
    run_playbook(playbook, extra, tmp_path=tmp_path).check(0)
    _set_status(mlflow_server, name, "1", status, "artifact copy failed: bucket is gone")
    result = run_playbook(playbook, extra, tmp_path=tmp_path)
    result.check(2)
    assert '"msg": "%s"' % expected.format(name=name) in result.stdout
    # the same source never registers a second version, even after a failed one
    assert [v.version for v in mlflow_client.search_model_versions("name = '%s'" % name)] == ["1"]
