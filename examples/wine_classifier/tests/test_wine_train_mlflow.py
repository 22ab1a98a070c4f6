"""The training command against a real MLflow server, run the way the rollout runs it.

The rollout creates a run, then runs the command in a copy of the project with MLFLOW_RUN_ID
naming that run: the command must log into exactly that run. By hand (no MLFLOW_RUN_ID) it
creates its own run.
"""

import mlflow
import pytest

from wine_classifier import data

pytestmark = pytest.mark.integration

GIT_COMMIT = "0123456789abcdef0123456789abcdef01234567"
EXPECTED_PARAMS = {
    "C": "0.5", "max_iter": "200", "seed": "42", "test_size": "0.3", "degrade": "False",
    "features": "13", "train_rows": "124", "test_rows": "54",
}
# Test-split metrics with C=0.5 (the other parameters at their defaults), to 4 decimals.
C_HALF_METRICS = {"macro_f1": 0.9829, "balanced_accuracy": 0.9841, "log_loss": 0.0934}
DEGRADED_METRICS = {"macro_f1": 0.4130, "balanced_accuracy": 0.4481, "log_loss": 1.0149}


@pytest.fixture(name="client", scope="module")
def fixture_client(mlflow_server):
    """An MLflow client of the test server; also points this process's fluent API at it."""
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(mlflow_server)
    try:
        yield mlflow.MlflowClient(tracking_uri=mlflow_server)
    finally:
        mlflow.set_tracking_uri(previous)


def rounded(metrics):
    """The metrics to 4 decimals."""
    return {name: round(value, 4) for name, value in metrics.items()}


def logged_models(client, run):
    """The logged models whose source is ``run``."""
    return client.search_logged_models(
        experiment_ids=[run.info.experiment_id], filter_string=f"source_run_id = '{run.info.run_id}'")


def project_files(work):
    """Every file in the work copy except Python's byte-code caches."""
    return sorted(str(path.relative_to(work)) for path in work.rglob("*") if "__pycache__" not in path.parts)


def check_model(client, run):
    """Exactly one logged model, named `classifier`, that loads and predicts its own input example."""
    models = logged_models(client, run)
    assert [item.name for item in models] == ["classifier"]
    assert [output.model_id for output in run.outputs.model_outputs] == [models[0].model_id]
    loaded = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/classifier")
    assert loaded.metadata.model_id == models[0].model_id
    assert loaded.metadata.get_input_schema().input_names() == data.FEATURES
    assert loaded.metadata.saved_input_example_info["type"] == "dataframe"
    example = loaded.input_example
    assert list(example.columns) == data.FEATURES and len(example) == 6
    predictions = [int(label) for label in loaded.predict(example)]
    assert set(predictions) <= set(data.LABELS)
    return predictions


@pytest.mark.usefixtures("clean_env")
def test_logs_into_the_run_the_rollout_created(client, mlflow_server, work_copy, train_command):
    """MLFLOW_RUN_ID set: params, metrics, tags and one model land in exactly that run."""
    experiment_id = client.create_experiment("wine-rollout")
    created = client.create_run(experiment_id, run_name="rollout-wine-1")
    before = project_files(work_copy)
    result = train_command(
        work_copy, mlflow_server,
        MLFLOW_EXPERIMENT_NAME="wine-rollout", MLFLOW_RUN_ID=created.info.run_id, MLOPS_PARAMS='{"C": 0.5}',
        MLOPS_ROLLOUT_ID="rollout-wine-1", GIT_COMMIT=GIT_COMMIT)
    assert result.returncode == 0, result.stderr
    assert f"wine_classifier.train: run {created.info.run_id}: macro_f1=0.9829 " in result.stdout
    # Exactly that run: no other run appeared in the experiment.
    runs = client.search_runs([experiment_id])
    assert [run.info.run_id for run in runs] == [created.info.run_id]
    run = client.get_run(created.info.run_id)
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "rollout-wine-1"
    assert run.data.params == EXPECTED_PARAMS
    assert set(run.data.metrics) == {"macro_f1", "balanced_accuracy", "log_loss"}
    assert rounded(run.data.metrics) == C_HALF_METRICS
    tags = run.data.tags
    assert (tags["mlops.rollout_id"], tags["git_commit"]) == ("rollout-wine-1", GIT_COMMIT)
    assert (tags["mlops.project"], tags["mlops.degraded"]) == ("wine_classifier", "false")
    assert check_model(client, run) == [0, 0, 1, 1, 2, 2]
    # Nothing is written into the project's work directory.
    assert project_files(work_copy) == before


@pytest.mark.usefixtures("clean_env")
def test_by_hand_creates_a_run_in_the_named_experiment(client, mlflow_server, work_copy, train_command):
    """No MLFLOW_RUN_ID: a new run in MLFLOW_EXPERIMENT_NAME (created by MLflow)."""
    result = train_command(work_copy, mlflow_server, ["--degrade"], MLFLOW_EXPERIMENT_NAME="wine-by-hand")
    assert result.returncode == 0, result.stderr
    experiment = client.get_experiment_by_name("wine-by-hand")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    run = runs[0]
    assert f"wine_classifier.train: run {run.info.run_id}: " in result.stdout
    assert run.data.params == dict(EXPECTED_PARAMS, C="1.0", degrade="True", features="2")
    assert rounded(run.data.metrics) == DEGRADED_METRICS
    assert run.data.tags["mlops.degraded"] == "true"
    assert "mlops.rollout_id" not in run.data.tags and "git_commit" not in run.data.tags
    check_model(client, run)


@pytest.mark.usefixtures("clean_env")
def test_by_hand_without_an_experiment_uses_the_default_one(client, mlflow_server, work_copy, train_command):
    """Neither MLFLOW_RUN_ID nor MLFLOW_EXPERIMENT_NAME: a run in wine-classifier."""
    assert client.get_experiment_by_name("wine-classifier") is None
    result = train_command(work_copy, mlflow_server, ["--seed=7"], MLOPS_PARAMS="{}")
    assert result.returncode == 0, result.stderr
    experiment = client.get_experiment_by_name("wine-classifier")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1 and runs[0].data.params["seed"] == "7"
    check_model(client, runs[0])


@pytest.mark.usefixtures("clean_env")
def test_bad_input_leaves_the_run_untouched(client, mlflow_server, work_copy, train_command):
    """Bad input with MLFLOW_RUN_ID set: status 2, and the run gets nothing."""
    experiment_id = client.create_experiment("wine-bad-input")
    created = client.create_run(experiment_id)
    result = train_command(
        work_copy, mlflow_server, MLFLOW_RUN_ID=created.info.run_id, MLOPS_PARAMS='{"C": 0.5, "penalty": "l1"}')
    assert result.returncode == 2
    assert result.stderr == (
        "wine_classifier.train: error: unknown parameter 'penalty' in MLOPS_PARAMS "
        "(known: C, max_iter, seed, test_size, degrade)\n")
    assert result.stdout == ""
    run = client.get_run(created.info.run_id)
    assert run.info.status == "RUNNING"
    assert (run.data.params, run.data.metrics) == ({}, {})
    assert logged_models(client, run) == []
