"""Stage `train`: fit the classifier, log the run to MLflow, write outputs/run.json.

MLflow settings come from the environment the way MLflow's own client reads them:
MLFLOW_TRACKING_URI (plus MLFLOW_TRACKING_USERNAME/PASSWORD or MLFLOW_TRACKING_TOKEN when the
server wants them) and MLFLOW_EXPERIMENT_NAME, which wins over ``train.experiment_name``.

The run gets the effective parameters, the test-split metrics, the confusion matrix and ROC
curve as PNG artifacts, the training/test data sets as run inputs, the model (artifact name
``model``, with signature and input example) and the lineage tags (see TAG_* below). The same
model is downloaded to models/model, DVC's copy of exactly what the tracking server holds.
"""

import json
import os
import shutil
import sys
import tempfile
import warnings
from urllib.parse import urlsplit, urlunsplit

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
import pandas as pd
from mlflow.data.pandas_dataset import from_pandas
from mlflow.models import infer_signature

from breast_cancer import lineage, model, paths, schema
from breast_cancer import params as params_mod

TAG_GIT_COMMIT = "git_commit"
TAG_DATA_HASH = "dvc_data_hash"
TAG_PARAMS_HASH = "mlops.params_hash"
TAG_TRAIN_HASH = "mlops.dvc_train_hash"
TAG_TEST_HASH = "mlops.dvc_test_hash"
TAG_DEGRADED = "mlops.degraded"
TAG_PROJECT = "mlops.project"
PROJECT = "breast_cancer_classifier"
MODEL_NAME = "model"
SKOPS_TRUSTED_TYPES = ["sklearn.tree._tree.Tree"]


def experiment_name(params):
    """MLFLOW_EXPERIMENT_NAME when set, else train.experiment_name."""
    return os.environ.get("MLFLOW_EXPERIMENT_NAME") or params["train"]["experiment_name"]


def public_uri(uri):
    """The tracking URI without any user:password@ part, safe to write to a file."""
    parts = urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def logged_params(params, train, test):
    """The parameters recorded on the run: the effective model settings and the pipeline's inputs."""
    settings, features = model.effective_settings(params)
    flat = {f"model.{key}": value for key, value in settings.items()}
    flat.update({
        "features": len(features),
        "train.degrade": bool(params["train"].get("degrade")),
        "split.seed": params["split"]["seed"],
        "split.test_size": params["split"]["test_size"],
        "data.corruption": params["data"]["corruption"],
        "train_rows": len(train),
        "test_rows": len(test),
    })
    return flat


def lineage_tags(params):
    """The tags that trace the run to code, data and parameters."""
    return {
        TAG_GIT_COMMIT: lineage.git_commit(),
        TAG_DATA_HASH: lineage.dvc_hash(paths.RAW_DATA),
        TAG_TRAIN_HASH: lineage.dvc_hash(paths.TRAIN_DATA),
        TAG_TEST_HASH: lineage.dvc_hash(paths.TEST_DATA),
        TAG_PARAMS_HASH: lineage.params_hash(),
        TAG_DEGRADED: str(bool(params["train"].get("degrade"))).lower(),
        TAG_PROJECT: PROJECT,
    }


# Known-harmless MLflow warnings: a local path matches the same dataset-source class twice, and
# the label column is an integer column (labels are never missing; validate guarantees it).
_HARMLESS_WARNINGS = (
    "The specified dataset source can be interpreted in multiple ways",
    "Hint: Inferred schema contains integer column",
)


def _ignore_harmless_warnings():
    for message in _HARMLESS_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=UserWarning)


def _download_model(model_uri, destination):
    """Replace ``destination`` with the logged model's files."""
    os.makedirs(os.path.dirname(destination) or ".", exist_ok=True)
    staging = tempfile.mkdtemp(prefix="model-", dir=os.path.dirname(destination) or ".")
    try:
        local = mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=staging)
        if os.path.exists(destination):
            shutil.rmtree(destination)
        shutil.move(local, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def serving_faults(params):
    """The serving faults params.yaml asks for: {} for none (see breast_cancer/serving_faults.py)."""
    serving = params.get("serving") or {}
    faults = {"error_every": int(serving.get("error_every") or 0),
              "delay_seconds": float(serving.get("delay_seconds") or 0.0)}
    return faults if faults["error_every"] or faults["delay_seconds"] else {}


def _log_model(params, fitted, signature, example):
    """Log the classifier as the run's model; with serving faults, wrapped in serving_faults.py."""
    sklearn_options = {
        "serialization_format": mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
        # skops refuses types it cannot vet; the forest's tree storage is one. This model was
        # fitted a few lines above, so its trees are trusted (recorded in the MLmodel file).
        "skops_trusted_types": SKOPS_TRUSTED_TYPES,
    }
    requirements = mlflow.sklearn.get_default_pip_requirements(include_skops=True)
    faults = serving_faults(params)
    if not faults:
        return mlflow.sklearn.log_model(fitted, name=MODEL_NAME, signature=signature, input_example=example,
                                        pip_requirements=requirements, **sklearn_options)
    with tempfile.TemporaryDirectory(prefix="classifier-") as staging:
        inner = os.path.join(staging, "classifier")
        mlflow.sklearn.save_model(fitted, inner, **sklearn_options)
        return mlflow.pyfunc.log_model(
            name=MODEL_NAME, python_model=os.path.join(os.path.dirname(__file__), "serving_faults.py"),
            artifacts={"classifier": inner}, model_config=faults, signature=signature, input_example=example,
            pip_requirements=requirements)


def log_run(params, fitted, train, test, scores):
    """Log everything about one training to a new MLflow run; return the run.json document."""
    test_metrics = model.metrics(test[schema.TARGET], scores)
    tags = lineage_tags(params)
    features = train[schema.FEATURES]
    signature = infer_signature(features, fitted.predict(features))
    experiment = mlflow.set_experiment(experiment_name(params))
    run_name = f"train-{tags[TAG_PARAMS_HASH][:8]}-{tags[TAG_DATA_HASH][:8]}"
    with mlflow.start_run(experiment_id=experiment.experiment_id, run_name=run_name) as run:
        mlflow.set_tags(tags)
        mlflow.log_params(logged_params(params, train, test))
        mlflow.log_metrics(test_metrics)
        mlflow.log_figure(model.confusion_figure(test[schema.TARGET], scores), "plots/confusion_matrix.png")
        mlflow.log_figure(model.roc_figure(test[schema.TARGET], scores), "plots/roc_curve.png")
        mlflow.log_artifact(paths.PARAMS, "pipeline")
        for frame, source, context in ((train, paths.TRAIN_DATA, "training"), (test, paths.TEST_DATA, "test")):
            dataset = from_pandas(
                frame, source=source, targets=schema.TARGET, name=f"breast_cancer_{context}", digest=lineage.dvc_hash(source))
            mlflow.log_input(dataset, context=context)
        info = _log_model(params, fitted, signature, features.head(3))
    _download_model(info.model_uri, paths.MODEL_DIR)
    return {
        "run_id": run.info.run_id,
        "run_name": run_name,
        "experiment_id": experiment.experiment_id,
        "experiment_name": experiment.name,
        "tracking_uri": public_uri(mlflow.get_tracking_uri()),
        "artifact_uri": run.info.artifact_uri,
        "model_uri": f"runs:/{run.info.run_id}/{MODEL_NAME}",
        "model_id": info.model_id,
        "logged_model_uri": info.model_uri,
        "metrics": test_metrics,
        "tags": tags,
    }


def main():
    _ignore_harmless_warnings()
    # A progress bar per artifact download is noise in a pipeline log.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    params = params_mod.load()
    train = pd.read_csv(paths.TRAIN_DATA)
    test = pd.read_csv(paths.TEST_DATA)
    fitted = model.build(params).fit(train[schema.FEATURES], train[schema.TARGET])
    scores = model.positive_scores(fitted, test)
    document = log_run(params, fitted, train, test, scores)
    os.makedirs(os.path.dirname(paths.RUN_INFO), exist_ok=True)
    with open(paths.RUN_INFO, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, sort_keys=True)
        handle.write("\n")
    print(f"run {document['run_id']} in experiment {document['experiment_name']!r}: {document['metrics']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
