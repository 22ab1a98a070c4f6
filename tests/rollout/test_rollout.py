"""Rollout scenarios against the real local platform, in order (each builds on the registry state the
previous one left). Every scenario asserts the play's outcome and message, then reads the registry and
the inference server back."""

import glob
import os

from conftest import MODEL

WEAK = {"model": {"n_estimators": 3, "max_depth": 2}}          # passes the gate's thresholds, easy to beat
DEGRADED = {"train": {"degrade": True}}                        # accuracy ~0.63: the gate rejects it
THRESHOLDS_ONLY = [{"name": "accuracy", "min": 0.5, "compare_to_baseline": False}]


def summary_lines(result):
    lines, keep = [], False
    for line in result.stdout.splitlines():
        if "Show the rollout summary" in line:
            keep = True
        elif keep and line.startswith("PLAY RECAP"):
            break
        elif keep:
            lines.append(line.strip().strip('",'))
    return lines


def test_first_rollout_without_champion_is_promoted(platform):
    result = platform.play("rollout.yml", model_rollout_params=WEAK).check(0)
    assert platform.versions() == [1]
    assert platform.alias("champion") == "1"
    assert platform.alias("challenger") is None
    tags = platform.tags(1)
    assert tags["mlops.rollout.state"] == "PROMOTED"
    assert tags["mlops.rollout.previous_champion"] == "none"
    assert tags["mlops.rollout.gate"] == "passed"
    assert tags["git_commit"] != ""
    lines = summary_lines(result)
    assert "Model breast-cancer-classifier version 1: PROMOTED to champion" in lines
    assert any(l.startswith("Gate: Gate passed for version 1 of model 'breast-cancer-classifier': 3 metric(s) ok; "
                            "no baseline yet (alias 'champion' is not set): judged on thresholds only") for l in lines)
    assert any(l.startswith("Sample prediction: held-out row 0 -> ") for l in lines)
    assert platform.served_version() == ("1", "models:/%s/1" % MODEL)
    predicted, expected = platform.predict_heldout()
    assert predicted == expected


def test_rerun_without_changes_changes_nothing(platform):
    before = platform.versions()
    result = platform.play("rollout.yml", model_rollout_params=WEAK).check(0)
    assert result.recap()["changed"] == "0"
    assert platform.versions() == before
    assert "Model breast-cancer-classifier version 1: already the champion, nothing to do" in summary_lines(result)


def test_better_model_is_promoted_and_old_champion_recorded(platform):
    result = platform.play("rollout.yml").check(0)
    assert platform.versions() == [1, 2]
    assert platform.alias("champion") == "2"
    assert platform.alias("previous_champion") == "1"
    assert platform.tags(2)["mlops.rollout.previous_champion"] == "1"
    assert platform.tags(2)["mlops.rollout.state"] == "PROMOTED"
    assert any(l.startswith("Gate: Gate passed for version 2 of model 'breast-cancer-classifier': 3 metric(s) ok; "
                            "compared with alias champion (version 1)") for l in summary_lines(result))
    assert platform.served_version() == ("2", "models:/%s/2" % MODEL)


def test_worse_model_is_rejected_and_champion_keeps_serving(platform):
    result = platform.play("rollout.yml", model_rollout_params=DEGRADED).check(2)
    messages = result.fatal_messages()
    assert len(messages) == 1
    assert messages[0].startswith("Gate rejected version 3 of model 'breast-cancer-classifier': accuracy ")
    assert messages[0].endswith("; compared with alias champion (version 2). "
                                "The champion (version 2) stays in charge; nothing was deployed.")
    assert platform.alias("champion") == "2"
    assert platform.alias("challenger") == "3"
    assert platform.tags(3)["mlops.rollout.state"] == "REJECTED"
    assert platform.tags(3)["mlops.rollout.gate"] == "rejected"
    assert platform.served_version() == ("2", "models:/%s/2" % MODEL)
    predicted, expected = platform.predict_heldout()
    assert predicted == expected


def test_model_that_fails_to_load_is_rolled_back(platform):
    params = {"model": {"seed": 7}}
    platform.play("train.yml", model_rollout_params=params).check(0)
    platform.play("test.yml", model_rollout_gate_metrics=THRESHOLDS_ONLY).check(0)
    assert platform.tags(4)["mlops.rollout.state"] == "VALIDATED"
    # Break the registered model the way a bad upload would: its MLmodel file is gone.
    artifacts = platform.artifact_dir_of(4)
    os.rename(os.path.join(artifacts, "MLmodel"), os.path.join(artifacts, "MLmodel.broken"))
    try:
        result = platform.play("deploy.yml", model_rollout_deploy_timeout=30).check(2)
    finally:
        os.rename(os.path.join(artifacts, "MLmodel.broken"), os.path.join(artifacts, "MLmodel"))
    message = result.fatal_messages()[-1]
    assert message.startswith("Deploying version 4 of model breast-cancer-classifier failed: ")
    assert message.endswith("Rolled back automatically: version 2 serves again and is still champion.")
    assert platform.alias("champion") == "2"
    assert platform.tags(4)["mlops.rollout.state"] == "ROLLED_BACK"
    assert platform.tags(4)["mlops.rollout.previous_champion"] == "2"
    assert platform.served_version() == ("2", "models:/%s/2" % MODEL)
    predicted, expected = platform.predict_heldout()
    assert predicted == expected


def test_model_that_answers_wrongly_is_rolled_back(platform):
    params = {"train": {"degrade": True}, "model": {"seed": 11}}
    result = platform.play("rollout.yml", model_rollout_params=params,
                           model_rollout_gate_metrics=THRESHOLDS_ONLY).check(2)
    message = result.fatal_messages()[-1]
    assert message.startswith("Deploying version 5 of model breast-cancer-classifier failed: Smoke test failed: "
                              "the served model answered ")
    assert "held-out rows right, 0.875 of them are required" in message
    assert message.endswith("Rolled back automatically: version 2 serves again and is still champion.")
    assert platform.alias("champion") == "2"
    assert platform.tags(5)["mlops.rollout.state"] == "ROLLED_BACK"
    assert platform.served_version() == ("2", "models:/%s/2" % MODEL)


def test_rollback_playbook_restores_the_previous_champion(platform):
    result = platform.play("rollback.yml").check(0)
    assert "Rolled back model breast-cancer-classifier from version 2 to version 1" in result.stdout
    assert platform.alias("champion") == "1"
    assert platform.alias("previous_champion") is None
    assert platform.tags(2)["mlops.rollout.state"] == "ROLLED_BACK"
    assert platform.served_version() == ("1", "models:/%s/1" % MODEL)
    predicted, expected = platform.predict_heldout()
    assert sum(p == e for p, e in zip(predicted, expected)) >= 7
    # A second rollback has nowhere to go: version 1 was the first champion.
    again = platform.play("rollback.yml").check(2)
    assert again.fatal_messages() == [
        "Version 1 of model breast-cancer-classifier is the champion, but no previous champion was recorded "
        "(no previous_champion alias, no mlops.rollout.previous_champion tag): there is nothing to roll back to. "
        "Nothing was changed."]
    assert platform.alias("champion") == "1"


def test_bad_data_fails_the_train_step_and_registers_nothing(platform):
    before = platform.versions()
    result = platform.play("train.yml", model_rollout_params={"data": {"corruption": "nulls"}}).check(2)
    message = result.fatal_messages()[-1]
    assert message.startswith("The model pipeline failed in ")
    assert "column mean_smoothness: 3 null value(s) in row(s) 0, 1, 2" in message
    assert message.endswith("Nothing was registered.")
    assert platform.versions() == before


def test_missing_project_dir_fails_clearly(platform, tmp_path):
    before = platform.versions()
    missing = str(tmp_path / "no-such-project")
    result = platform.play("train.yml", model_rollout_project_dir=missing).check(2)
    assert result.fatal_messages() == [
        "model_rollout_project_dir %s is not a model project: it has no dvc.yaml (missing directory, or a wrong "
        "path). Set model_rollout_project_dir, or model_rollout_project_git_url. Nothing was changed." % missing]
    assert platform.versions() == before


def test_unknown_model_name_fails_clearly(platform):
    result = platform.play("deploy.yml", model_rollout_model_name="no-such-model").check(2)
    assert result.fatal_messages() == [
        "Failed to read versions of model 'no-such-model': Registered model 'no-such-model' does not exist"]
    assert platform.alias("champion") == "1"


def test_unreachable_mlflow_fails_clearly_and_changes_nothing(platform, tmp_path):
    work = os.path.join(platform.vars["mlops_local_root"], "rollout", "unreachable")
    result = platform.play("rollout.yml", model_rollout_tracking_uri="http://127.0.0.1:1",
                           model_rollout_work_dir=work).check(2)
    messages = result.fatal_messages()
    assert messages[-1].startswith("The MLflow tracking server at http://127.0.0.1:1 does not answer (")
    assert messages[-1].endswith("Start the platform first (make run, or playbooks/platform.yml) or set "
                                 "model_rollout_tracking_uri. Nothing was changed.")
    assert not glob.glob(work)
