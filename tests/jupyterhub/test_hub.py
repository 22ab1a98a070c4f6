"""The jupyterhub role on the local target: idempotence, check mode, bad input, secrets, and notebook -> champion."""

import glob
import hashlib
import json
import os
import stat
import uuid

import pytest

from conftest import MLFLOW_USERNAME, NOTEBOOK, USER, cell_text, rollout


def test_the_play_says_where_to_log_in_and_never_the_password(platform, hub):
    password_file = os.path.join(hub.dir, "password")
    expected = "JupyterHub: %s - log in as user %s, with the password in %s (cat %s)" % (
        hub.url, USER, password_file, password_file)
    assert '"msg": "%s"' % expected in platform.first_play.stdout
    assert hub.password() not in platform.first_play.stdout + platform.first_play.stderr
    print("first platform.yml (all components): %.1f s" % platform.first_play_seconds)


def test_rerun_and_check_mode_change_nothing(platform):
    again = platform.play("platform.yml", "--tags", "jupyterhub").check(0)
    assert again.recap()["changed"] == "0", again.stdout[-3000:]
    check = platform.play("platform.yml", "--tags", "jupyterhub", "--check").check(0)
    assert check.recap()["changed"] == "0", check.stdout[-3000:]


def test_secret_files_are_private_and_the_configuration_holds_no_secret(platform, hub):
    for name in ("password", "admin-password", "mlflow-credentials.json", "jupyterhub_config.py", "jupyterhub_cookie_secret"):
        mode = stat.S_IMODE(os.stat(os.path.join(hub.dir, name)).st_mode)
        assert mode == 0o600, "%s has mode %o" % (name, mode)
    assert stat.S_IMODE(os.stat(hub.dir).st_mode) == 0o700
    with open(os.path.join(hub.dir, "password")) as handle:
        user_password = handle.read().strip()
    with open(os.path.join(hub.dir, "admin-password")) as handle:
        admin_password = handle.read().strip()
    assert len(user_password) == 20 and len(admin_password) == 40 and user_password != admin_password
    with open(os.path.join(hub.dir, "jupyterhub_config.py")) as handle:
        config = handle.read()
    for secret in (user_password, admin_password, platform.mlflow_password):
        assert secret not in config
    with open(os.path.join(hub.dir, "mlflow-credentials.json")) as handle:
        assert json.load(handle) == {"MLFLOW_TRACKING_USERNAME": MLFLOW_USERNAME,
                                     "MLFLOW_TRACKING_PASSWORD": platform.mlflow_password}


BAD_INPUTS = [
    ({"mlops_jupyterhub_url": "http://0.0.0.0:18000"},
     "The host of jupyterhub_url is '0.0.0.0' (from http://0.0.0.0:18000): the local platform binds JupyterHub to the "
     "loopback interface only (127.0.0.1); its single-user servers run as this user, unisolated."),
    ({"jupyterhub_allowed_users": []},
     "Nobody could log in to JupyterHub: set jupyterhub_allowed_users (names), jupyterhub_allowed_groups (groups of the "
     "cluster's OAuth provider) or jupyterhub_allow_all: true - JupyterHub's authenticators (oauthenticator since 16) "
     "let nobody in without an allow policy. jupyterhub_allowed_groups applies to a cluster target only (the local "
     "authenticator has no groups)."),
    ({"jupyterhub_environment": {"MLFLOW_TRACKING_PASSWORD": "in-the-open"}},
     "Invalid MLflow settings for the user servers: jupyterhub_mlflow_tracking_uri must be an http(s):// URL (got "
     "'%(uri)s'); jupyterhub_mlflow_connection (mlops_mlflow_connection) takes username and password together, or a "
     "token, not both; credentials go into the connection, never into jupyterhub_environment (it is not secret)."),
    ({"jupyterhub_hub_port": "{{ jupyterhub_proxy_api_port }}"},
     "Invalid local JupyterHub settings: jupyterhub_local_root, jupyterhub_dir and both venvs must be absolute paths "
     "and jupyterhub_home_template an absolute path with {username}; jupyterhub_url (mlops_jupyterhub_url) must be an "
     "http:// URL (got '%(url)s'); its port, jupyterhub_proxy_api_port and jupyterhub_hub_port (%(port)s, %(api)s, "
     "%(api)s) must be three different TCP ports; the timeouts must be positive."),
]


@pytest.mark.parametrize("extra,message", BAD_INPUTS,
                         ids=["public-host", "nobody-allowed", "secret-in-environment", "same-ports"])
def test_bad_input_is_refused_with_a_message_naming_the_option(platform, hub, extra, message):
    port = int(hub.url.rsplit(":", 1)[1])
    message = message % {"uri": platform.tracking_uri, "url": hub.url, "port": port, "api": port + 1}
    result = platform.play("platform.yml", "--tags", "jupyterhub", **extra).check(2)
    assert result.fatal_messages() == [message]
    assert "in-the-open" not in result.stdout


def test_an_unknown_target_is_refused_by_the_argument_spec(platform):
    result = platform.play("platform.yml", "--tags", "jupyterhub", jupyterhub_target="mainframe").check(2)
    [message] = result.fatal_messages()
    assert "value of jupyterhub_target must be one of: local, openshift, kubernetes, got: mainframe" in message, message


def test_a_token_needs_the_right_password(hub):
    status, _answer = hub.token("not-the-password")
    assert status == 403
    status, answer = hub.token(hub.password())
    assert status == 201 and answer["user"] == USER and len(answer["token"]) >= 32


def _environment_probe(path):
    """A notebook that tells what MLflow settings the kernel has (the password only as a hash)."""
    code = ("import hashlib, json, os\n"
            "print(json.dumps({'uri': os.environ.get('MLFLOW_TRACKING_URI'),\n"
            "                  'username': os.environ.get('MLFLOW_TRACKING_USERNAME'),\n"
            "                  'password_sha256': hashlib.sha256(os.environ.get('MLFLOW_TRACKING_PASSWORD', '').encode()).hexdigest(),\n"
            "                  'home': os.environ.get('HOME'), 'cwd': os.getcwd()}))")
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
                "cells": [{"cell_type": "code", "id": "probe", "metadata": {}, "execution_count": None, "outputs": [],
                           "source": code}]}
    with open(path, "w") as handle:
        json.dump(notebook, handle)


def test_every_kernel_gets_mlflow_and_its_credentials(platform, hub, token):
    hub.start_server(token)
    probe = os.path.join(platform.root, "probe.ipynb")
    _environment_probe(probe)
    done = hub.run_notebook(token, probe, probe + ".out", {})
    seen = json.loads(cell_text(done["cells"][0]))
    home = os.path.join(hub.dir, "users", USER)
    assert seen == {"uri": platform.tracking_uri, "username": MLFLOW_USERNAME,
                    "password_sha256": hashlib.sha256(platform.mlflow_password.encode()).hexdigest(),
                    "home": home, "cwd": home}


def test_a_notebook_run_becomes_the_served_champion(platform, hub, token):
    """The workshop's path: a notebook in JupyterHub logs a run, the rollout adopts it, MLServer serves it."""
    hub.start_server(token)
    experiment = "notebook-%s" % uuid.uuid4().hex[:8]
    done = hub.run_notebook(token, NOTEBOOK, os.path.join(platform.root, "train.out.ipynb"),
                            {"experiment_name": experiment})
    printed = cell_text(done["cells"][-1])
    run_id = printed.rsplit("run_id:", 1)[1].strip()
    client = platform.client()
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == experiment
    assert set(run.data.metrics) == {"accuracy", "f1", "roc_auc"}
    assert run.data.params["model"] == "logistic_regression"

    name = "notebook-model-%s" % uuid.uuid4().hex[:6]
    rollout_vars = {
        "model_rollout_model_name": name,
        "model_rollout_training_kind": "existing_run",
        "model_rollout_experiment": experiment,
        "model_rollout_run_order_by": ["metrics.roc_auc DESC"],
        "model_rollout_artifact_path": "model",
        "model_rollout_heldout_file": "",
        "model_rollout_smoke_min_accuracy": 1.0,
        "model_rollout_gate_metrics": [{"name": "roc_auc", "min": 0.95}, {"name": "accuracy", "min": 0.9}],
    }
    platform.play("rollout.yml", **rollout_vars).check(0)
    model = platform.model(name)
    champion = model.alias("champion")
    assert model.versions() == [1] and champion == "1"
    assert model.version(champion).run_id == run_id
    assert model.state(champion) == "PROMOTED"
    assert model.served() == champion
    model.assert_consistent()

    # The served model answers as the notebook's model does, row for row.
    import mlflow
    import mlflow.pyfunc
    from sklearn.datasets import load_breast_cancer
    mlflow.set_tracking_uri(platform.tracking_uri)
    mlflow.set_registry_uri(platform.tracking_uri)
    request = rollout.breast_cancer_request(rows=6)
    frame = load_breast_cancer(as_frame=True).data.head(6).rename(columns=lambda column: column.replace(" ", "_"))
    local = mlflow.pyfunc.load_model("models:/%s@champion" % name)
    expected = [int(value) for value in local.predict(frame)]
    assert [int(value) for value in model.predict(request)] == expected
    assert expected == load_breast_cancer().target[:6].tolist()

    # A rerun adopts the same run: no second version, nothing changes.
    platform.play("rollout.yml", **rollout_vars).check(0)
    assert model.versions() == [1] and model.alias("champion") == "1"


def test_no_secret_in_logs_pages_or_verbose_output(platform, hub, token):
    hub.start_server(token)
    secrets = {"MLflow password": platform.mlflow_password, "user password": hub.password()}
    with open(os.path.join(hub.dir, "admin-password")) as handle:
        secrets["admin password"] = handle.read().strip()
    verbose = platform.play("platform.yml", "--tags", "jupyterhub", "-vvv").check(0)
    places = {"platform.yml -vvv": verbose.stdout + verbose.stderr}
    logs = glob.glob(os.path.join(platform.vars["mlops_local_root"], "supervisor", "**", "*.log"), recursive=True)
    assert any(path.endswith("jupyterhub.log") for path in logs), logs
    for path in logs:
        with open(path, errors="replace") as handle:
            places[path] = handle.read()
    for path in ("/hub/login", "/hub/home", "/hub/token", "/user/%s/lab" % USER, "/user/%s/api/kernelspecs" % USER):
        status, page = hub.request("GET", path, token=token)
        assert status == 200, (path, status)
        places[path] = json.dumps(page) if not isinstance(page, str) else page
    for where, text in places.items():
        for what, secret in secrets.items():
            assert secret not in text, "the %s is in %s" % (what, where)
