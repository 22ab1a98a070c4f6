"""Rollout scenarios against the real local platform. Each test has a registered model of its own and sets up the
state it starts from, so they run in any order. Every scenario asserts the play's outcome and message, then reads
the registry and the inference server back."""

import os

import pytest

from conftest import BREAST_CANCER, breast_cancer_request

WEAK = {"model": {"n_estimators": 3, "max_depth": 2}}           # passes the gate's thresholds, easy to beat
DEGRADED = {"train": {"degrade": True}}                         # accuracy ~0.63: the gate rejects it
THRESHOLDS_ONLY = [{"name": "accuracy", "min": 0.5, "compare_to_baseline": False}]
# The example's real held-out accuracy of a healthy model is 8 of 8 rows (model_rollout_smoke_min_accuracy 0.875
# tolerates one miss); a rolled-back-to champion must still get them all but at most one right.


def rollout(platform, name, playbook="rollout.yml", rc=0, **extra):
    return platform.play(playbook, model_rollout_model_name=name, **dict(BREAST_CANCER, **extra)).check(rc)


def champion_of(platform, name, params=None):
    """Set-up: a model whose champion is version 1 (trained with ``params``)."""
    rollout(platform, name, model_rollout_params=params or WEAK)
    assert platform.model(name).alias("champion") == "1"


def test_first_rollout_without_champion_is_promoted(platform, model_name):
    result = rollout(platform, model_name, model_rollout_params=WEAK)
    model = platform.model(model_name)
    assert model.versions() == [1]
    assert (model.alias("champion"), model.alias("challenger")) == ("1", None)
    tags = model.tags(1)
    assert tags["mlops.rollout.state"] == "PROMOTED"
    assert tags["mlops.rollout.previous_champion"] == "none"
    assert tags["mlops.rollout.gate"] == "passed"
    assert tags["mlops.rollout.reason"] == "promoted to champion"
    assert len(tags["mlops.lineage"]) == 64
    lines = result.summary()
    assert lines[0] == "Model %s version 1: PROMOTED to champion" % model_name
    assert lines[2] == ("Gate: Gate passed for version 1 of model '%s': 3 metric(s) ok; no baseline yet (alias "
                        "'champion' is not set): judged on thresholds only" % model_name)
    assert lines[3].split() == ["metric", "candidate", "champion", "verdict"]
    assert [line.split()[0] for line in lines[4:7]] == ["accuracy", "roc_auc", "f1"]
    assert lines[7] == "Serving: %s/v2/models/%s/infer answers with version 1" % (platform.inference, model_name)
    assert lines[8].startswith("Smoke test (held-out file ") and lines[8].endswith(
        "): Smoke test passed for version 1 of model '%s': the served model answered 8 of 8 held-out rows right"
        % model_name)
    assert lines[9].startswith("Sample prediction: row 0 -> ")
    model.assert_consistent()
    assert model.served() == "1"
    assert len(model.predict(breast_cancer_request())) == 4


def test_rerun_without_changes_changes_nothing(platform, model_name):
    champion_of(platform, model_name)
    model = platform.model(model_name)
    result = rollout(platform, model_name, model_rollout_params=WEAK)
    assert result.recap()["changed"] == "0"
    assert model.versions() == [1]
    lines = result.summary()
    assert lines[0] == "Model %s version 1: already the champion, nothing to do" % model_name
    assert lines[1].endswith("(reused: same code, data and parameters)")
    model.assert_consistent()


def test_better_model_is_promoted_old_champion_retired_and_kept_loaded(platform, model_name):
    champion_of(platform, model_name)
    model = platform.model(model_name)
    result = rollout(platform, model_name)
    assert model.versions() == [1, 2]
    assert (model.alias("champion"), model.alias("previous_champion")) == ("2", "1")
    assert model.states() == {1: "RETIRED", 2: "PROMOTED"}
    assert model.tags(1)["mlops.rollout.reason"] == "retired: version 2 replaced it as champion"
    assert model.tags(2)["mlops.rollout.previous_champion"] == "1"
    lines = result.summary()
    assert lines[0] == "Model %s version 2: PROMOTED to champion (version 1 retired)" % model_name
    assert lines[2].startswith("Gate: Gate passed for version 2 of model '%s': 3 metric(s) ok; compared with alias "
                               "champion (version 1)" % model_name)
    assert lines[7] == ("Serving: %s/v2/models/%s/infer answers with version 2, version(s) 1 loaded beside it"
                        % (platform.inference, model_name))
    model.assert_consistent()
    assert model.version_ready(1), "the previous champion stays loaded at its own endpoint for a fast rollback"


def test_worse_model_is_rejected_and_champion_keeps_serving(platform, model_name):
    champion_of(platform, model_name, params={})
    model = platform.model(model_name)
    result = rollout(platform, model_name, rc=2, model_rollout_params=DEGRADED)
    messages = result.fatal_messages()
    assert len(messages) == 1
    assert messages[0].startswith("Gate rejected version 2 of model '%s': accuracy " % model_name)
    assert messages[0].endswith("; compared with alias champion (version 1). "
                                "The champion (version 1) stays in charge; nothing was deployed.")
    assert (model.alias("champion"), model.alias("challenger")) == ("1", "2")
    assert model.states() == {1: "PROMOTED", 2: "REJECTED"}
    assert model.tags(2)["mlops.rollout.gate"] == "rejected"
    assert model.tags(2)["mlops.rollout.verdict"].startswith('{"columns":["metric","candidate","baseline","verdict"]')
    assert not model.version_ready(2)
    model.assert_consistent()
    # The same run is never deployed again: a rerun says so without training.
    again = rollout(platform, model_name, rc=2, model_rollout_params=DEGRADED)
    assert again.fatal_messages()[-1].startswith(
        "Version 2 of model %s has this run (same code, data and parameters) and is REJECTED: Gate rejected version 2"
        % model_name)
    assert model.versions() == [1, 2]


def test_model_that_fails_to_load_is_rolled_back_with_the_servers_reason(platform, model_name):
    champion_of(platform, model_name, params={})
    model = platform.model(model_name)
    rollout(platform, model_name, playbook="train.yml", model_rollout_params={"model": {"seed": 7}})
    rollout(platform, model_name, playbook="test.yml", model_rollout_gate_metrics=THRESHOLDS_ONLY)
    assert model.state(2) == "VALIDATED"
    # Break the registered model's file the way a bad upload would: the skops archive is garbage.
    skops = artifact_file(platform, model, 2, "model.skops")
    with open(skops, "wb") as handle:
        handle.write(b"this is not a zip archive")
    result = rollout(platform, model_name, playbook="deploy.yml", rc=2)
    message = result.fatal_messages()[-1]
    assert message.startswith("Deploying version 2 of model %s failed: MLServer could not load version 2 of model '%s'"
                              % (model_name, model_name))
    assert message.endswith("Rolled back automatically: version 1 serves again and is still champion.")
    assert model.states() == {1: "PROMOTED", 2: "ROLLED_BACK"}
    reason = model.tags(2)["mlops.rollout.reason"]
    assert reason.startswith("MLServer could not load version 2 of model '%s'" % model_name)
    assert "Unknown error" not in reason and "zip" in reason.lower()
    assert not model.version_ready(2)
    model.assert_consistent()


def test_model_that_answers_wrongly_is_rolled_back(platform, model_name):
    champion_of(platform, model_name, params={})
    model = platform.model(model_name)
    result = rollout(platform, model_name, rc=2, model_rollout_params={"train": {"degrade": True}, "model": {"seed": 11}},
                     model_rollout_gate_metrics=THRESHOLDS_ONLY)
    message = result.fatal_messages()[-1]
    assert message.startswith("Deploying version 2 of model %s failed: Smoke test failed for version 2 of model '%s': "
                              "the served model answered " % (model_name, model_name))
    assert "held-out rows right, 0.875 of them are required" in message
    assert message.endswith("Rolled back automatically: version 1 serves again and is still champion.")
    assert model.states() == {1: "PROMOTED", 2: "ROLLED_BACK"}
    assert model.tags(2)["mlops.rollout.reason"].startswith("Smoke test failed for version 2 of model '%s': the served "
                                                            "model answered " % model_name)
    model.assert_consistent()


def test_rollback_restores_the_previous_champion_once(platform, model_name):
    champion_of(platform, model_name)
    rollout(platform, model_name)
    model = platform.model(model_name)
    assert model.alias("champion") == "2"
    result = rollout(platform, model_name, playbook="rollback.yml",
                     model_rollout_reason="customers report wrong answers since version 2")
    assert result.summary()[0] == ("Model %s: Version 2 of model '%s' is ROLLED_BACK: version 1 is the champion again"
                                   % (model_name, model_name))
    assert (model.alias("champion"), model.alias("previous_champion")) == ("1", None)
    assert model.states() == {1: "PROMOTED", 2: "ROLLED_BACK"}
    assert model.tags(2)["mlops.rollout.reason"] == "customers report wrong answers since version 2"
    model.assert_consistent()
    # The default endpoint answers exactly as version 1 itself does: its real predictions, row for row.
    request = breast_cancer_request(rows=40)
    assert [int(p) for p in model.predict(request)] == own_predictions(platform, model_name, 1, request)
    # A second rollback has nothing more to do, and says so; it changes nothing.
    again = rollout(platform, model_name, playbook="rollback.yml")
    assert again.recap()["changed"] == "0"
    assert again.summary()[0] == ("Model %s: Version 2 of model '%s' was rolled back already: version 1 is the "
                                  "champion again" % (model_name, model_name))
    model.assert_consistent()


def test_first_champion_cannot_be_rolled_back(platform, model_name):
    champion_of(platform, model_name)
    result = rollout(platform, model_name, playbook="rollback.yml", rc=2)
    assert result.fatal_messages() == [
        "Cannot roll back version 1 of model '%s': it is the champion, but no previous champion was recorded (no "
        "previous_champion alias): there is nothing to roll back to. Nothing was changed" % model_name]
    assert platform.model(model_name).alias("champion") == "1"


def test_bad_data_fails_the_train_step_and_registers_nothing(platform, model_name):
    result = rollout(platform, model_name, playbook="train.yml", rc=2, model_rollout_params={"data": {"corruption": "nulls"}})
    message = result.fatal_messages()[-1]
    assert message.startswith("Training failed in ")
    assert "(dvc repro exited 255, stage 'validate'): ERROR: data validation failed" in message
    assert "column mean_smoothness: 3 null value(s) in row(s) 0, 1, 2" in message
    assert message.endswith("Nothing was registered.")
    assert platform.model(model_name).versions() == []


def test_missing_project_dir_fails_clearly(platform, model_name, tmp_path):
    missing = str(tmp_path / "no-such-project")
    result = rollout(platform, model_name, playbook="train.yml", rc=2, model_rollout_project_dir=missing)
    assert result.fatal_messages() == [
        "project_dir %s does not exist or is not a directory: point it at the model project" % missing]
    assert platform.model(model_name).versions() == []


def test_deploy_without_a_candidate_fails_clearly(platform, model_name):
    champion_of(platform, model_name)
    result = rollout(platform, model_name, playbook="deploy.yml", rc=2)
    assert result.fatal_messages() == [
        "Model '%s' has no candidate: the alias challenger is not set and no version was given. Train and register a "
        "candidate first (playbooks/train.yml), or set version." % model_name]


def test_unreachable_mlflow_fails_clearly_and_changes_nothing(platform, model_name, tmp_path):
    work = tmp_path / "work"
    result = platform.play("rollout.yml", model_rollout_model_name=model_name,
                           mlops_mlflow_tracking_uri="http://127.0.0.1:1", model_rollout_work_root=str(work)).check(2)
    assert result.fatal_messages() == [
        "Failed to take the rollout lock of model '%s': Cannot reach the MLflow server at http://127.0.0.1:1: [Errno "
        "111] Connection refused. Start the platform first (make run, or playbooks/platform.yml), or point "
        "mlops_mlflow_tracking_uri at your MLflow server. Nothing was changed." % model_name]
    assert not work.exists()


def own_predictions(platform, name, version, request):
    """What a version predicts for ``request``, loaded straight from MLflow with its own pyfunc flavour."""
    import mlflow.pyfunc
    import pandas as pd
    frame = pd.DataFrame(dict((item["name"], item["data"]) for item in request["inputs"]))
    mlflow.set_tracking_uri(platform.tracking_uri)
    try:
        loaded = mlflow.pyfunc.load_model("models:/%s/%s" % (name, version))
        return [int(v) for v in loaded.predict(frame)]
    finally:
        mlflow.set_tracking_uri("")


def artifact_file(platform, model, version, name):
    """A file of a version's model in the platform's MLflow artifact store."""
    source = model.version(version).source
    model_id = source.rsplit("/", 1)[-1]
    root = os.path.join(platform.vars["mlops_local_root"], "mlflow", "artifacts")
    for dirpath, _dirnames, filenames in os.walk(root):
        if name in filenames and model_id in dirpath.split(os.sep):
            return os.path.join(dirpath, name)
    raise AssertionError("%s of version %s (%s) not found under %s" % (name, version, source, root))


@pytest.mark.parametrize("bad", [{"model_rollout_gate_metrics": []}, {"model_rollout_model_name": "no spaces allowed"}])
def test_bad_variables_are_refused_before_anything_changes(platform, bad):
    extra = dict(BREAST_CANCER, model_rollout_model_name="bad-variables", **{})
    extra.update(bad)
    result = platform.play("rollout.yml", **extra).check(2)
    assert result.fatal_messages()[0].startswith("Invalid rollout variables: model_rollout_model_name (")
    assert result.fatal_messages()[0].endswith("Nothing was changed.")
