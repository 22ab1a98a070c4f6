"""Faults on the real local platform: a rollout killed at every step, two rollouts of one model at once, the
champion's endpoint under load through a deploy, a rollback and a failed load, and MLflow going away mid-deploy."""

import os
import re
import subprocess
import time

import pytest

from conftest import BREAST_CANCER, WINE, Poller, breast_cancer_request, wine_request
from test_rollout import artifact_file


# These scenarios are about faults, not the gate: any healthy wine model passes it.
WINE_ANY = dict(WINE, model_rollout_gate_metrics=[{"name": "macro_f1", "min": 0.9, "compare_to_baseline": False}])


def wine(platform, name, playbook="rollout.yml", rc=0, **extra):
    return platform.play(playbook, model_rollout_model_name=name, **dict(WINE_ANY, **extra)).check(rc)


def training_processes(marker):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/cmdline" % entry, "rb") as handle:
                    cmdline = handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
            except OSError:
                continue
            if marker in cmdline:
                found.append(int(entry))
    return found


KILL_POINTS = [
    # (where, the task banner that marks it, how, seconds to wait after the banner)
    ("during training", "TASK [mlops.platform.model_rollout : Train the model", "controller", 1.5),
    ("after register", "TASK [mlops.platform.model_rollout : Gate the candidate against the champion]", "everything", 0),
    ("during serving", "TASK [mlops.platform.seldon : Serve the versions on the local MLServer]", "everything", 0.7),
    ("between serving and promote", "TASK [mlops.platform.model_rollout : Make the candidate the champion in the "
                                    "registry]", "everything", 0),
]


@pytest.mark.parametrize("where,banner,how,delay", KILL_POINTS, ids=[k[0] for k in KILL_POINTS])
def test_a_rollout_killed_at_any_step_converges_on_rerun(platform, model_name, where, banner, how, delay):
    wine(platform, model_name)
    model = platform.model(model_name)
    params = {"C": {"during training": 0.11, "after register": 0.12, "during serving": 0.13,
                    "between serving and promote": 0.14}[where]}
    running = platform.start("rollout.yml", model_rollout_model_name=model_name, model_rollout_params=params, **WINE_ANY)
    running.wait_for(banner)
    time.sleep(delay)
    if how == "controller":
        running.kill_controller()
        # The training command stops with the playbook (its module watches Ansible's processes).
        deadline = time.time() + 30
        while training_processes("wine_classifier.train --") or training_processes("-m wine_classifier.train"):
            assert time.time() < deadline, "the training command outlived ansible-playbook"
            time.sleep(0.2)
    else:
        running.kill_everything()
    result = wine(platform, model_name, model_rollout_params=params)
    assert model.alias("champion") == "2", (where, model.states(), result.summary())
    assert model.versions() == [1, 2], "no second version of the same run"
    assert model.states() == {1: "RETIRED", 2: "PROMOTED"}
    assert model.run_params(2)["C"] == str(params["C"])
    model.assert_consistent()
    assert model.predict(wine_request()) == [0, 0, 0]
    if where == "during training":
        killed = platform.client().search_runs(
            [platform.client().get_experiment_by_name("wine-rollouts").experiment_id],
            "tags.`mlops.model` = '%s' and attributes.status = 'KILLED'" % model_name)
        assert len(killed) == 1 and killed[0].data.tags["mlops.note"].startswith("training stopped: Ansible (process ")


def test_two_rollouts_at_once_never_promote_a_model_the_winner_did_not_train(platform, model_name):
    wine(platform, model_name)
    model = platform.model(model_name)
    first = platform.start("rollout.yml", model_rollout_model_name=model_name, model_rollout_params={"C": 0.3},
                           model_rollout_lock_owner="job-A", **WINE_ANY)
    first.wait_for("TASK [mlops.platform.model_rollout : Train the model")
    second = platform.start("rollout.yml", model_rollout_model_name=model_name, model_rollout_params={"C": 0.7},
                            model_rollout_lock_owner="job-B", **WINE_ANY)
    a, b = first.result(), second.result()
    a.check(0)
    b.check(0)
    promoted = {}
    for result, c_value in ((a, "0.3"), (b, "0.7")):
        headline = result.summary()[0]
        match = re.match(r"Model %s version (\d+): PROMOTED to champion" % re.escape(model_name), headline)
        assert match, headline
        promoted[c_value] = match.group(1)
        assert model.run_params(promoted[c_value])["C"] == c_value, "a rollout promoted a model it did not train"
    assert sorted(model.versions()) == [1, 2, 3]
    assert "Waited " in " ".join(b.summary()) and "for the rollout lock held by job-A" in " ".join(b.summary())
    assert model.alias("champion") == promoted["0.7"]
    work_dirs = os.listdir(os.path.join(platform.vars["mlops_local_root"], "rollout", model_name))
    assert len([d for d in work_dirs if not d.endswith(".src")]) >= 2, "each rollout trains in a work dir of its own"
    model.assert_consistent()


def test_the_champion_endpoint_never_fails_during_deploy_rollback_and_a_failed_load(platform, model_name):
    bc = dict(BREAST_CANCER, model_rollout_model_name=model_name)
    platform.play("rollout.yml", model_rollout_params={"model": {"n_estimators": 3, "max_depth": 2}}, **bc).check(0)
    neighbour = model_name + "-wine"
    wine(platform, neighbour)
    model, other = platform.model(model_name), platform.model(neighbour)
    url = "%s/v2/models/%s/infer" % (platform.inference, model_name)
    other_url = "%s/v2/models/%s/infer" % (platform.inference, neighbour)
    with Poller(url, breast_cancer_request()) as champion_poll, Poller(other_url, wine_request()) as other_poll:
        platform.play("rollout.yml", **bc).check(0)                       # deploy: version 2 promoted
        assert model.alias("champion") == "2"
        platform.play("rollback.yml", **bc).check(0)                      # rollback: version 1 again
        assert model.alias("champion") == "1"
        platform.play("train.yml", model_rollout_params={"model": {"seed": 5}}, **bc).check(0)
        platform.play("test.yml", model_rollout_gate_metrics=[{"name": "accuracy", "min": 0.5}], **bc).check(0)
        with open(artifact_file(platform, model, 3, "model.skops"), "wb") as handle:
            handle.write(b"broken")
        platform.play("deploy.yml", **bc).check(2)                         # a failed load: version 3 rolled back
    assert model.state(3) == "ROLLED_BACK"
    assert champion_poll.failures == [], champion_poll.failures[:5]
    assert other_poll.failures == [], "another model's champion stopped answering: %s" % other_poll.failures[:5]
    assert champion_poll.requests > 200 and other_poll.requests > 200
    model.assert_consistent()
    other.assert_consistent()


def test_mlflow_going_away_mid_deploy_is_reported_and_a_rerun_finishes(platform, model_name):
    wine(platform, model_name)
    model = platform.model(model_name)
    supervisorctl = [os.path.join(platform.vars["private_local_supervisor_venv"], "bin", "supervisorctl"), "-c",
                     os.path.join(platform.vars["mlops_local_root"], "supervisor", "supervisord.conf")]
    running = platform.start("rollout.yml", model_rollout_model_name=model_name, model_rollout_params={"C": 0.45}, **WINE_ANY)
    running.wait_for("TASK [mlops.platform.model_rollout : Smoke-test the candidate on its own endpoint]")
    subprocess.run(supervisorctl + ["stop", "mlflow"], check=True, capture_output=True)
    try:
        result = running.result()
        assert result.rc == 2
        message = result.fatal_messages()[-1]
        assert message.startswith("Deploying version 2 of model %s failed: " % model_name)
        assert "The automatic rollback did not finish. It could not record the failure in MLflow (" in message
        assert "version 2 stays DEPLOYING in the registry; run the rollout again once MLflow answers." in message
        assert message.endswith("Serving: the default endpoint answers with version 1; the registry calls version 1 "
                                "champion.")
        assert model.served() == "1"
    finally:
        subprocess.run(supervisorctl + ["start", "mlflow"], check=True, capture_output=True)
        platform.wait_healthy()
    wine(platform, model_name, model_rollout_params={"C": 0.45})
    assert model.states() == {1: "RETIRED", 2: "PROMOTED"}
    model.assert_consistent()
