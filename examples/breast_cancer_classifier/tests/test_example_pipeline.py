"""The whole pipeline, the way a playbook runs it: a work copy, `dvc init --no-scm`, a local
remote, `dvc repro` against a real MLflow server, `dvc push`; then the bad-data and
worse-model switches."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent


def _env(tracking_uri, experiment):
    env = dict(os.environ)
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        MLFLOW_TRACKING_URI=tracking_uri,
        MLFLOW_EXPERIMENT_NAME=experiment,
        GIT_COMMIT="0123456789abcdef0123456789abcdef01234567",
    )
    env.pop("PYTHONPATH", None)
    return env


def _dvc(work, env, *args, check=True):
    result = subprocess.run([str(BIN / "dvc"), *args], cwd=work, env=env, capture_output=True, text=True, encoding="utf-8", timeout=600, check=False)
    if check and result.returncode != 0:
        pytest.fail(f"dvc {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def _set(work, env, *assignments):
    subprocess.run([sys.executable, "-m", "breast_cancer.set_params", *assignments], cwd=work, env=env, check=True, capture_output=True)


def _json(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


@pytest.fixture(name="pipeline", scope="module")
def _pipeline(tmp_path_factory, mlflow_server, make_copy):
    return _first_repro(tmp_path_factory, mlflow_server, make_copy)


def _first_repro(tmp_path_factory, mlflow_server, make_copy):
    """A work copy initialised like a playbook does, after one successful `dvc repro`."""
    root = tmp_path_factory.mktemp("pipeline")
    work = make_copy(root / "work")
    env = _env(mlflow_server, "example-pipeline-test")
    _dvc(work, env, "init", "--no-scm", "-q")
    _dvc(work, env, "remote", "add", "-d", "local", str(root / "remote"))
    first = _dvc(work, env, "repro")
    return {"work": work, "env": env, "remote": root / "remote", "first": first, "run": _json(work / "outputs/run.json")}


def test_repro_runs_every_stage(pipeline):
    for stage in ("materialize", "validate", "prepare", "train", "evaluate"):
        assert f"Running stage '{stage}'" in pipeline["first"].stdout


def test_run_json_for_the_playbook(pipeline, mlflow_server):
    run = pipeline["run"]
    assert set(run) == {
        "run_id", "run_name", "experiment_id", "experiment_name", "tracking_uri", "artifact_uri",
        "model_uri", "model_id", "logged_model_uri", "metrics", "tags",
    }
    assert run["model_uri"] == f"runs:/{run['run_id']}/model"
    assert run["logged_model_uri"] == f"models:/{run['model_id']}"
    assert run["experiment_name"] == "example-pipeline-test"
    assert run["tracking_uri"] == mlflow_server
    assert set(run["metrics"]) == {"accuracy", "roc_auc", "precision", "recall", "f1"}
    assert run["metrics"]["roc_auc"] > 0.98


def test_mlflow_run_has_everything(pipeline, mlflow_server, monkeypatch):
    import mlflow  # pylint: disable=import-outside-toplevel

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    client = mlflow.MlflowClient(tracking_uri=mlflow_server)
    run_doc = pipeline["run"]
    run = client.get_run(run_doc["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.metrics == run_doc["metrics"]
    assert run.data.params["model.n_estimators"] == "100"
    assert run.data.params["train.degrade"] == "False"
    assert run.data.params["split.seed"] == "42"
    lock = yaml.safe_load((pipeline["work"] / "dvc.lock").read_text())
    raw_md5 = lock["stages"]["materialize"]["outs"][0]["md5"]
    tags = run.data.tags
    assert tags["git_commit"] == "0123456789abcdef0123456789abcdef01234567"
    assert tags["dvc_data_hash"] == raw_md5
    assert len(tags["mlops.params_hash"]) == 64
    assert {key: tags[key] for key in run_doc["tags"]} == run_doc["tags"]
    plots = sorted(item.path for item in client.list_artifacts(run.info.run_id, "plots"))
    assert plots == ["plots/confusion_matrix.png", "plots/roc_curve.png"]
    local = client.download_artifacts(run.info.run_id, "plots/roc_curve.png", str(pipeline["work"] / "check"))
    assert Path(local).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [item.dataset.name for item in run.inputs.dataset_inputs] == ["breast_cancer_training", "breast_cancer_test"]
    # The model: loadable by the run URI, with its signature and input example, predicting the smoke rows.
    model = mlflow.pyfunc.load_model(run_doc["model_uri"])
    assert model.metadata.signature.inputs.input_names()[:2] == ["mean_radius", "mean_texture"]
    assert model.metadata.saved_input_example_info is not None
    heldout = _json(pipeline["work"] / "data/prepared/heldout.json")
    import pandas as pd  # pylint: disable=import-outside-toplevel

    frame = pd.DataFrame(heldout["dataframe_split"]["data"], columns=heldout["dataframe_split"]["columns"])
    assert [int(label) for label in model.predict(frame)] == heldout["labels"]


def test_evaluate_writes_dvc_metrics(pipeline):
    metrics = _json(pipeline["work"] / "metrics/metrics.json")
    assert {key: metrics[key] for key in pipeline["run"]["metrics"]} == pipeline["run"]["metrics"]
    assert metrics["heldout_accuracy"] == 1.0
    shown = _dvc(pipeline["work"], pipeline["env"], "metrics", "show", "--json")
    assert "roc_auc" in shown.stdout
    predictions = _json(pipeline["work"] / "outputs/heldout_predictions.json")
    assert predictions["predictions"] == predictions["labels"]


def test_second_repro_does_nothing(pipeline):
    again = _dvc(pipeline["work"], pipeline["env"], "repro")
    assert "Running stage" not in again.stdout
    assert "Data and pipelines are up to date." in again.stdout
    assert _json(pipeline["work"] / "outputs/run.json") == pipeline["run"]


def test_push_fills_the_remote(pipeline):
    pushed = _dvc(pipeline["work"], pipeline["env"], "push")
    assert "pushed" in pushed.stdout
    stored = [path for path in pipeline["remote"].rglob("*") if path.is_file()]
    assert len(stored) >= 8
    assert _dvc(pipeline["work"], pipeline["env"], "status", "--cloud").stdout.strip() == "Cache and remote 'local' are in sync."


def test_bad_data_stops_the_pipeline_at_validate(pipeline):
    work, env = pipeline["work"], pipeline["env"]
    _set(work, env, "data.corruption=nulls")
    try:
        failed = _dvc(work, env, "repro", check=False)
    finally:
        _set(work, env, "data.corruption=none")
    assert failed.returncode != 0
    assert "ERROR: data validation failed for data/raw/breast_cancer.csv (1 problem(s)):\n" \
        "  - column mean_smoothness: 3 null value(s) in row(s) 0, 1, 2" in failed.stderr
    assert "failed to reproduce 'validate'" in failed.stderr
    assert "Running stage 'train'" not in failed.stdout
    assert _json(work / "outputs/run.json") == pipeline["run"]


def test_worse_model_switch_logs_a_worse_run(pipeline):
    work, env = pipeline["work"], pipeline["env"]
    _set(work, env, "train.degrade=true")
    try:
        _dvc(work, env, "repro")
        worse = _json(work / "outputs/run.json")
    finally:
        _set(work, env, "train.degrade=false")
    good = pipeline["run"]
    assert worse["run_id"] != good["run_id"]
    assert worse["tags"]["mlops.degraded"] == "true"
    assert worse["tags"]["mlops.params_hash"] != good["tags"]["mlops.params_hash"]
    assert worse["tags"]["dvc_data_hash"] == good["tags"]["dvc_data_hash"]
    assert worse["metrics"]["accuracy"] < good["metrics"]["accuracy"] - 0.2
    assert worse["metrics"]["roc_auc"] < 0.7


def test_shipped_dvc_config_works_without_init(tmp_path, mlflow_server, make_copy):
    """A copy that keeps the shipped .dvc/config needs no `dvc init`; the remote is overridden locally."""
    work = make_copy(tmp_path / "work", with_dvc_dir=True)
    env = _env(mlflow_server, "example-pipeline-test")
    _dvc(work, env, "remote", "modify", "--local", "local", "url", str(tmp_path / "remote"))
    assert _dvc(work, env, "remote", "list").stdout.split() == ["local", str(tmp_path / "remote"), "(default)"]
    _dvc(work, env, "repro", "validate")
    assert "1 file pushed" in _dvc(work, env, "push").stdout
    assert not list(work.rglob(".gitignore")), "core.no_scm: DVC must not write .gitignore files"
