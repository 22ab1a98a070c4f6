"""The rollout workflow of awx/job_templates.yml as AWX runs it: each node a separate ansible-runner job with the
MLflow credential's injected environment, against the real local platform behind an authenticating stand-in;
the model and the candidate version travel from node to node only through the jobs' set_stats artifacts."""

import os
import uuid

import pytest
import yaml

import awx_emulation as awx

# The bundled DVC example, trained small (it passes the gate's thresholds); the local inventory describes it.
TRAIN_VARS = {"model_rollout_experiment": "awx-breast-cancer", "model_rollout_params": {"model": {"n_estimators": 3, "max_depth": 2}}}


@pytest.fixture(scope="module")
def data():
    return awx.load_data()


def launch_vars(platform):
    """What the platform's inventory would say on AWX: its ports and venvs. The MLflow URI is the credential's."""
    found = dict(platform.vars)
    del found["mlops_mlflow_tracking_uri"]
    return found


def credentials(data, auth_proxy, login, **override):
    inputs = {"tracking_uri": auth_proxy.uri, "username": login["username"], "password": login["password"]}
    inputs.update(override)
    return {data["mlops_awx_credential"]["name"]: inputs}


def walk(workflow):
    """The workflow's nodes in run order along success links (one root, a chain)."""
    nodes = dict((n["identifier"], n) for n in workflow["nodes"])
    children = set(c for n in workflow["nodes"] for c in n["success_nodes"])
    roots = [i for i in nodes if i not in children]
    assert len(roots) == 1, roots
    order, current = [], roots[0]
    while current:
        order.append(nodes[current])
        following = nodes[current]["success_nodes"]
        assert len(following) <= 1
        current = following[0] if following else None
    return order


def run_workflow(data, platform, auth_proxy, login, workdir, first_node_vars, creds=None):
    """Run mlops-rollout node by node as AWX does: a node runs when its parent succeeded, with the artifacts of
    every node before it. Returns the jobs that ran."""
    workflow = [w for w in data["mlops_awx_workflows"] if w["name"] == "mlops-rollout"][0]
    jobs, artifacts = [], {}
    for index, node in enumerate(walk(workflow)):
        extra = dict(launch_vars(platform), **(first_node_vars if index == 0 else {}))
        job = awx.run_job(data, node["job_template"], workdir, creds or credentials(data, auth_proxy, login),
                          extra_vars=extra, artifacts=artifacts)
        jobs.append(job)
        if job.status != "successful":
            break
        artifacts.update(job.artifacts())
    return jobs


def test_train_test_deploy_hands_the_candidate_on_through_set_stats(data, platform, registry, auth_proxy, mlflow_login, workdir):
    name = "awx-rollout-%s" % uuid.uuid4().hex[:6]
    auth_proxy.reset()
    # Only the train node is told the model: test and deploy learn it (and the version) from the artifacts.
    jobs = run_workflow(data, platform, auth_proxy, mlflow_login, workdir, dict(TRAIN_VARS, model_rollout_model_name=name))
    assert [(j.name, j.status, j.rc) for j in jobs] == [
        ("mlops-train", "successful", 0), ("mlops-test", "successful", 0), ("mlops-deploy", "successful", 0)], [
        (j.name, j.failures(), j.stdout()[-3000:]) for j in jobs if j.status != "successful"]
    handed = {"model_rollout_model_name": name, "model_rollout_version": "1"}
    for job in jobs:
        assert job.artifacts() == handed, job.name
    # The next job got them as extra vars, over the inventory's own model name (breast-cancer-classifier).
    for job in jobs[1:]:
        with open(os.path.join(job.private_data_dir, "env", "extravars")) as handle:
            given = yaml.safe_load(handle)
        assert {k: given[k] for k in handed} == handed, job.name
    assert "Hand the model and version on to the next job" in jobs[0].played_tasks()
    # The registry and the inference server say the same: version 1 is the champion and serves.
    model = registry(name)
    assert model.versions() == [1]
    assert model.alias("champion") == "1"
    assert model.tags(1)["mlops.rollout.state"] == "PROMOTED"
    assert model.tags(1)["mlops.rollout.gate"] == "passed"
    model.assert_consistent()
    assert model.served() == "1"
    # Every MLflow call of the three jobs went through the authentication with the injected credential.
    passed, refused = auth_proxy.counts()
    assert refused == [] and passed > 20, (passed, refused[:5])
    # The secret reached the job's process environment only: no output, event or log of a job has it.
    for job in jobs:
        for path in job.output_files():
            with open(path, errors="replace") as handle:
                assert mlflow_login["password"] not in handle.read(), path


def test_rejected_candidate_stops_the_workflow_and_the_champion_stays(data, platform, registry, auth_proxy, mlflow_login, workdir):
    name = "awx-reject-%s" % uuid.uuid4().hex[:6]
    first = run_workflow(data, platform, auth_proxy, mlflow_login, workdir, dict(TRAIN_VARS, model_rollout_model_name=name))
    assert [j.status for j in first] == ["successful"] * 3
    degraded = dict(TRAIN_VARS, model_rollout_model_name=name, model_rollout_params={"train": {"degrade": True}})
    jobs = run_workflow(data, platform, auth_proxy, mlflow_login, workdir, degraded)
    assert [(j.name, j.status) for j in jobs] == [("mlops-train", "successful"), ("mlops-test", "failed")]
    assert jobs[0].artifacts() == {"model_rollout_model_name": name, "model_rollout_version": "2"}
    failures = jobs[1].failures()
    assert len(failures) == 1
    assert failures[0].startswith("Gate rejected version 2 of model '%s': accuracy " % name), failures
    assert failures[0].endswith("The champion (version 1) stays in charge; nothing was deployed.")
    # A failed job hands nothing on: the deploy node never ran.
    assert jobs[1].artifacts() == {}
    model = registry(name)
    assert model.states() == {1: "PROMOTED", 2: "REJECTED"}
    assert model.served() == "1"


def test_wrong_password_fails_the_job_with_the_servers_reason_and_no_secret(
        data, platform, registry, auth_proxy, mlflow_login, workdir):
    name = "awx-badpw-%s" % uuid.uuid4().hex[:6]
    wrong = "wrong-" + uuid.uuid4().hex
    auth_proxy.reset()
    job = awx.run_job(data, "mlops-train", workdir, credentials(data, auth_proxy, mlflow_login, password=wrong),
                      extra_vars=dict(launch_vars(platform), model_rollout_model_name=name))
    assert (job.status, job.rc) == ("failed", 2)
    failures = job.failures()
    assert len(failures) == 1, failures
    assert failures == [
        "Failed to take the rollout lock of model '%s': GET %s/api/2.0/mlflow/registered-models/get: HTTP 401, You are "
        "not authenticated (auth stand-in) (the server rejected the credentials). Nothing was changed." % (name, auth_proxy.uri)]
    passed, refused = auth_proxy.counts()
    assert passed == 0 and refused[:1] == [("GET", "/api/2.0/mlflow/registered-models/get?name=%s" % name)], refused
    assert job.artifacts() == {}
    for path in job.output_files():
        with open(path, errors="replace") as handle:
            text = handle.read()
        assert wrong not in text and mlflow_login["password"] not in text, path
    assert registry(name).versions() == []
