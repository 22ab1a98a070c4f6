"""Any model project, by variables alone: a plain command without DVC (the wine example), an MLflow Project, an
existing run (what a data scientist logged from a notebook), and a version registered elsewhere."""

import os
import shutil
import textwrap

from conftest import EXAMPLES, WINE, wine_request


def wine(platform, name, playbook="rollout.yml", rc=0, **extra):
    return platform.play(playbook, model_rollout_model_name=name, **dict(WINE, **extra)).check(rc)


def test_plain_command_project_without_dvc_is_promoted(platform, model_name):
    # A seed of this test alone: the command trains here, instead of a run of the same lineage being reused.
    result = wine(platform, model_name, model_rollout_params={"seed": 17})
    model = platform.model(model_name)
    assert model.versions() == [1]
    assert model.alias("champion") == "1"
    version = model.version(1)
    assert version.source.startswith("models:/m-")
    assert model.tags(1)["mlops.rollout.state"] == "PROMOTED"
    run = platform.client().get_run(version.run_id)
    assert run.data.tags["mlops.training_kind"] == "command"
    assert set(["macro_f1", "balanced_accuracy", "log_loss"]) <= set(run.data.metrics)
    lines = result.summary()
    assert lines[0] == "Model %s version 1: PROMOTED to champion" % model_name
    assert lines[1].startswith("Training run %s (trained with command in " % version.run_id)
    assert [line.split()[0] for line in lines[4:6]] == ["macro_f1", "log_loss"]
    # No held-out file: the smoke test used the input example MLflow logged with the model, without labels.
    assert lines[7] == ("Smoke test (the model's input example (serving_input_example.json)): Smoke test passed for "
                        "version 1 of model '%s': every one of the 6 rows got a valid prediction" % model_name)
    model.assert_consistent()
    assert model.predict(wine_request()) == [0, 0, 0]
    # The parameters reach a plain command (MLOPS_PARAMS): a new value trains and registers a new version.
    wine(platform, model_name, model_rollout_params={"seed": 17, "C": 0.5},
         model_rollout_gate_metrics=[{"name": "macro_f1", "min": 0.9, "compare_to_baseline": False}])
    assert model.versions() == [1, 2]
    assert model.run_params(2)["C"] == "0.5"
    model.assert_consistent()


def test_mlflow_project_is_trained_with_mlflow_run(platform, model_name, tmp_path):
    project = tmp_path / "wine_project"
    shutil.copytree(os.path.join(EXAMPLES, "wine_classifier"), project, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    (project / "MLproject").write_text(textwrap.dedent("""\
        name: wine-classifier
        entry_points:
          main:
            parameters:
              C: {type: float, default: 1.0}
            command: "python -m wine_classifier.train --C {C}"
        """))
    result = wine(platform, model_name, model_rollout_project_dir=str(project), model_rollout_training_kind="auto",
                  model_rollout_train_command=[], model_rollout_params={"C": 0.25})
    model = platform.model(model_name)
    assert model.alias("champion") == "1"
    run = platform.client().get_run(model.version(1).run_id)
    assert run.data.tags["mlops.training_kind"] == "mlflow_project"
    assert run.data.params["C"] == "0.25"
    assert result.summary()[1].startswith("Training run %s (trained with mlflow_project in " % run.info.run_id)


def test_existing_run_from_a_notebook_is_adopted_and_promoted(platform, model_name):
    """A data scientist trained in a notebook and logged runs by hand; the rollout promotes the best one."""
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.datasets import load_wine
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame = load_wine(as_frame=True).frame
    frame.columns = [c.replace("/", "_") for c in frame.columns]
    features, target = frame.drop(columns=["target"]), frame["target"]
    experiment = "notebook-%s" % model_name
    mlflow.set_tracking_uri(platform.tracking_uri)
    mlflow.set_experiment(experiment)
    run_ids = {}
    for c_value, score in ((0.01, 0.71), (1.0, 0.97)):
        with mlflow.start_run() as run:
            fitted = make_pipeline(StandardScaler(), LogisticRegression(C=c_value, max_iter=500)).fit(features, target)
            mlflow.log_param("C", c_value)
            mlflow.log_metric("macro_f1", score)
            mlflow.log_metric("log_loss", 0.1)
            mlflow.sklearn.log_model(fitted, name="classifier", signature=infer_signature(features, target),
                                     input_example=features.head(3), serialization_format="cloudpickle")
            run_ids[c_value] = run.info.run_id
    mlflow.set_tracking_uri("")
    result = wine(platform, model_name, model_rollout_training_kind="existing_run", model_rollout_experiment=experiment,
                  model_rollout_run_order_by=["metrics.macro_f1 DESC"])
    model = platform.model(model_name)
    assert model.version(1).run_id == run_ids[1.0]
    assert model.alias("champion") == "1"
    assert result.summary()[1] == ("Training run %s (adopted: Adopted %s (the best finished run of experiment %r by "
                                   "metrics.macro_f1 DESC))" % (run_ids[1.0], run_ids[1.0], experiment))
    model.assert_consistent()


def test_version_registered_elsewhere_is_deployed_by_version(platform, model_name):
    """A run trained outside the collection: the register entry point, then deploy with model_rollout_version."""
    first = wine(platform, model_name, playbook="train.yml")
    model = platform.model(model_name)
    run_id = model.version(1).run_id
    # A second model takes the same run through the register-only entry point.
    other = model_name + "-b"
    registered = platform.play("register.yml", model_rollout_model_name=other, model_rollout_run_id=run_id,
                               **dict(WINE, model_rollout_artifact_path="classifier")).check(0)
    assert registered.summary()[0] == "Model %s version 1: REGISTERED (alias challenger)" % other
    again = platform.play("register.yml", model_rollout_model_name=other, model_rollout_run_id=run_id, **WINE).check(0)
    assert again.recap()["changed"] == "0"
    platform.play("test.yml", model_rollout_model_name=other, model_rollout_version="1", **WINE).check(0)
    platform.play("deploy.yml", model_rollout_model_name=other, model_rollout_version="1", **WINE).check(0)
    assert platform.model(other).alias("champion") == "1"
    assert platform.model(other).version(1).run_id == run_id
    platform.model(other).assert_consistent()
    assert first.summary()[0] == "Model %s version 1: REGISTERED (alias challenger)" % model_name
