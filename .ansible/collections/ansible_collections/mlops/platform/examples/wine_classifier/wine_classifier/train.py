"""Train the wine classifier and log it to MLflow: ``python -m wine_classifier.train [--NAME VALUE ...]``.

The whole contract with whoever runs it (a person, or mlops.platform's rollout):

- reads MLFLOW_TRACKING_URI (plus MLFLOW_TRACKING_USERNAME/PASSWORD or MLFLOW_TRACKING_TOKEN),
  MLFLOW_EXPERIMENT_NAME and MLFLOW_RUN_ID the way MLflow's own client does: it calls
  ``mlflow.start_run()`` without arguments, which resumes the run MLFLOW_RUN_ID names, or else
  creates a run in MLFLOW_EXPERIMENT_NAME (DEFAULT_EXPERIMENT when that is unset too);
- reads parameter overrides from MLOPS_PARAMS (a JSON object) and the arguments (see params.py);
- tags the run with MLOPS_ROLLOUT_ID and GIT_COMMIT when they are set;
- logs the effective parameters, the test-split metrics (model.METRICS) and exactly one model,
  under ARTIFACT_NAME, with a signature and an input example.

Bad input (an unknown parameter, a bad value, MLOPS_PARAMS that is not a JSON object) is found
before MLflow is contacted: one line on stderr, exit status 2, nothing logged.
"""

import os
import sys
from typing import NamedTuple

from wine_classifier import data, model
from wine_classifier import params as params_mod

PROG = "wine_classifier.train"
PROJECT = "wine_classifier"
DEFAULT_EXPERIMENT = "wine-classifier"
ARTIFACT_NAME = "classifier"
EXIT_BAD_INPUT = 2
TAG_PROJECT = "mlops.project"
TAG_DEGRADED = "mlops.degraded"
# environment variable -> run tag, set only when the variable is set and not empty.
ENV_TAGS = {"MLOPS_ROLLOUT_ID": "mlops.rollout_id", "GIT_COMMIT": "git_commit"}


def run_tags(params, environ):
    """The tags the run gets: the project, whether it is degraded, and the informational variables."""
    tags = {TAG_PROJECT: PROJECT, TAG_DEGRADED: str(params["degrade"]).lower()}
    tags.update({tag: environ[name] for name, tag in ENV_TAGS.items() if environ.get(name)})
    return tags


class Trained(NamedTuple):
    """What one training gives: the fitted pipeline, its test-split metrics, the split and the input example."""

    fitted: object
    metrics: dict
    train_rows: object
    test_rows: object
    example: object


def logged_params(params, train_rows, test_rows):
    """The parameters recorded on the run: every effective parameter, plus what the data gave."""
    logged = dict(params)
    logged.update(features=len(model.features_used(params)), train_rows=len(train_rows), test_rows=len(test_rows))
    return logged


def train(params):
    """Split, fit on the train split, score on the test split."""
    train_rows, test_rows = data.split(data.load_frame(), params["seed"], params["test_size"])
    fitted = model.fit(params, train_rows)
    return Trained(fitted, model.metrics(fitted, test_rows), train_rows, test_rows, data.input_example(test_rows)[0])


def log_run(params, trained, environ):
    """Log everything to the active MLflow run (resumed or new); return (run id, logged model info)."""
    # Imported here so that bad input is reported without paying for (or configuring) MLflow.
    import mlflow  # pylint: disable=import-outside-toplevel
    import mlflow.sklearn  # pylint: disable=import-outside-toplevel
    from mlflow.models import infer_signature  # pylint: disable=import-outside-toplevel

    if not any(environ.get(name) for name in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID")):
        mlflow.set_experiment(DEFAULT_EXPERIMENT)
    features = trained.train_rows[data.FEATURES]
    signature = infer_signature(features, trained.fitted.predict(features))
    # No arguments: MLflow resumes the run MLFLOW_RUN_ID names, or creates one in the experiment.
    with mlflow.start_run() as run:
        mlflow.set_tags(run_tags(params, environ))
        mlflow.log_params(logged_params(params, trained.train_rows, trained.test_rows))
        mlflow.log_metrics(trained.metrics)
        info = mlflow.sklearn.log_model(
            trained.fitted,
            name=ARTIFACT_NAME,
            signature=signature,
            input_example=trained.example,
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
            # Every type in this pipeline is one skops trusts by default: nothing to add.
            skops_trusted_types=[],
            pip_requirements=mlflow.sklearn.get_default_pip_requirements(include_skops=True),
        )
    return run.info.run_id, info


def main(argv=None):
    """Parse and check the parameters, train, log; return the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    environ = os.environ
    if "-h" in argv or "--help" in argv:
        print(params_mod.usage(PROG))
        return 0
    try:
        params = params_mod.resolve(argv, environ)
    except params_mod.ParamError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    trained = train(params)
    run_id, info = log_run(params, trained, environ)
    scores = " ".join(f"{name}={value:.4f}" for name, value in trained.metrics.items())
    print(f"{PROG}: run {run_id}: {scores}; model {ARTIFACT_NAME} ({info.model_uri})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
