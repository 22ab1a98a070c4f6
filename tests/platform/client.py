"""MLflow's own client against the platform's server, in a process of its own with no S3 credentials at all.

    client.py log URI     two runs, each with a note (notes/readme.txt) and a scikit-learn model named model;
                          prints {"runs": [...], "model_ids": [...], "experiment_id": ...}
    client.py fetch URI MODEL ALIAS DIR
                          downloads the run's note and the model models:/MODEL@ALIAS into DIR, and predicts
                          with it; prints {"note": ..., "model_files": [...], "prediction": [...]}
MLFLOW_TRACKING_USERNAME/PASSWORD carry the basic-auth login. Artifacts go through the server (--serve-artifacts).
"""

import json
import os
import sys
import warnings

NOTE = "run %d of the platform tier: artifacts through the MLflow server into S3\n"


def log(uri):
    import mlflow
    import mlflow.sklearn
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("platform-tier")
    x = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]])
    y = np.array([0, 1, 0, 1])
    runs, model_ids = [], []
    for index in (1, 2):
        with mlflow.start_run() as run:
            mlflow.log_metric("accuracy", 0.5 + index / 10.0)
            mlflow.log_text(NOTE % index, "notes/readme.txt")
            info = mlflow.sklearn.log_model(LogisticRegression(C=float(index)).fit(x, y), name="model",
                                            input_example=x[:1], pip_requirements=["scikit-learn"])
            runs.append(run.info.run_id)
            model_ids.append(info.model_id)
            experiment_id = run.info.experiment_id
    return {"runs": runs, "model_ids": model_ids, "experiment_id": experiment_id, "s3_settings": s3_settings()}


def s3_settings():
    """Every S3 setting this process has: its own environment's AWS_* and MLFLOW_S3_* (the test sets none, and
    points AWS_CONFIG_FILE/AWS_SHARED_CREDENTIALS_FILE at /dev/null, instance metadata off), and what boto3 would find."""
    import boto3
    found = sorted(k for k in os.environ if (k.startswith("AWS_") or k.startswith("MLFLOW_S3_"))
                   and k not in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_EC2_METADATA_DISABLED"))
    return {"environment": found, "boto3_credentials": boto3.session.Session().get_credentials() is not None}


def fetch(uri, model, alias, directory):
    import mlflow
    import numpy as np
    mlflow.set_tracking_uri(uri)
    client = mlflow.MlflowClient(uri)
    version = client.get_model_version_by_alias(model, alias)
    note_dir = mlflow.artifacts.download_artifacts(run_id=version.run_id, artifact_path="notes/readme.txt",
                                                   dst_path=os.path.join(directory, "note"))
    with open(note_dir) as handle:
        note = handle.read()
    model_dir = mlflow.artifacts.download_artifacts("models:/%s@%s" % (model, alias), dst_path=os.path.join(directory, "model"))
    loaded = mlflow.pyfunc.load_model(model_dir)
    prediction = loaded.predict(np.array([[0.0, 1.0], [1.0, 0.0]])).tolist()
    return {"note": note, "model_files": sorted(os.listdir(model_dir)), "prediction": prediction, "version": version.version}


def main(argv):
    warnings.filterwarnings("ignore")
    import logging
    logging.disable(logging.WARNING)
    out, sys.stdout = sys.stdout, sys.stderr  # MLflow prints run links to stdout: keep it for the JSON
    if argv[0] == "log":
        result = log(argv[1])
    else:
        result = fetch(*argv[1:5])
    out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
