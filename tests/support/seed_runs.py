"""Log the runs the integration targets read, with the MLflow client of the server under test.

Run it with the Python of the venv whose MLflow matches the server (MLflow 2's client on an MLflow 2
server: MLflow 3's client cannot log a model there), so every model is stored the way that MLflow
version stores it. Prints one JSON object, the ``seed`` variable of the targets:

* ``experiment``/``runs``: three scored runs with a model at ``model`` (good, best, worse);
* ``sources_experiment``/``sources``: runs for the source checks of mlflow_model_version: one with two
  models (``model`` and ``alt``), one with none, one with a single model at ``classifier``, one whose model
  MLflow's own client registered (``registered_by_client``: the source that client stored), and, on
  MLflow 3, one whose logged model ended in LOGGED_MODEL_UPLOAD_FAILED;
* ``artifact_uris``: each run's artifact URI; ``logged_models``: on MLflow 3, each run's logged models by
  name (id and artifact location); empty on MLflow 2.

    python tests/support/seed_runs.py --uri http://127.0.0.1:5000
"""

import argparse
import json
import sys
import warnings


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", required=True, help="tracking URI of the server under test")
    args = parser.parse_args()
    out, sys.stdout = sys.stdout, sys.stderr  # MLflow prints run links to stdout: keep it for the JSON

    warnings.filterwarnings("ignore")
    import logging
    logging.disable(logging.WARNING)
    import mlflow
    import mlflow.sklearn
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    major = int(mlflow.__version__.split(".")[0])
    mlflow.set_tracking_uri(args.uri)
    client = mlflow.MlflowClient(args.uri)
    x = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]])
    y = np.array([0, 1, 0, 1])
    estimator = LogisticRegression().fit(x, y)
    artifact_uris = {}
    logged_models = {}

    def log_model(path):
        # MLflow 3 names a model (a logged model); MLflow 2 puts it at an artifact path of the run.
        where = {"name": path} if major >= 3 else {"artifact_path": path}
        info = mlflow.sklearn.log_model(estimator, input_example=x[:1], pip_requirements=["scikit-learn"], **where)
        if major >= 3:
            model = client.get_logged_model(info.model_id)
            logged_models.setdefault(mlflow.active_run().info.run_id, {})[path] = {
                "model_id": model.model_id, "artifact_uri": model.artifact_location}
        return info

    def log_run(experiment, metrics=None, params=None, tags=None, history=None, models=()):
        mlflow.set_experiment(experiment)
        with mlflow.start_run() as run:
            mlflow.log_params(params or {})
            mlflow.set_tags(tags or {})
            for key, points in (history or {}).items():
                for step, value in enumerate(points):
                    mlflow.log_metric(key, value, step=step)
            mlflow.log_metrics(metrics or {})
            for path in models:
                log_model(path)
            artifact_uris[run.info.run_id] = run.info.artifact_uri
            return run.info.run_id

    experiment = "it-runs"
    runs = {
        "good": log_run(experiment, {"accuracy": 0.95, "roc_auc": 0.97, "loss": 0.12}, params={"C": "1.0"},
                        tags={"git_commit": "c0ffee"}, history={"train_loss": [0.9, 0.5, 0.2]}, models=["model"]),
        "best": log_run(experiment, {"accuracy": 0.97, "roc_auc": 0.99, "loss": 0.08}, params={"C": "2.0"},
                        tags={"git_commit": "beef"}, models=["model"]),
        "worse": log_run(experiment, {"accuracy": 0.80, "roc_auc": 0.85, "loss": 0.40}, params={"C": "0.01"},
                         tags={"git_commit": "beef"}, models=["model"]),
    }

    sources_experiment = "it-sources"
    sources = {
        "two_models": log_run(sources_experiment, models=["model", "alt"]),
        "no_model": log_run(sources_experiment, {"accuracy": 0.5}),
        "classifier": log_run(sources_experiment, models=["classifier"]),
        "client": log_run(sources_experiment, models=["model"]),
    }
    version = mlflow.register_model("runs:/%s/model" % sources["client"], "it-registered-by-client")
    registered_by_client = {"name": version.name, "version": str(version.version), "source": version.source,
                            "run_id": version.run_id}
    if major >= 3:
        from mlflow.entities import LoggedModelStatus
        sources["upload_failed"] = log_run(sources_experiment, models=["model"])
        model_id = logged_models[sources["upload_failed"]]["model"]["model_id"]
        client.finalize_logged_model(model_id, LoggedModelStatus.FAILED)

    json.dump({
        "mlflow_client_version": mlflow.__version__,
        "experiment": experiment,
        "runs": runs,
        "sources_experiment": sources_experiment,
        "sources": sources,
        "registered_by_client": registered_by_client,
        "artifact_uris": artifact_uris,
        "logged_models": logged_models,
    }, out)
    out.write("\n")


if __name__ == "__main__":
    main()
