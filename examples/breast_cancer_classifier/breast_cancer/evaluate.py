"""Stage `evaluate`: score the model exactly as it was logged, for DVC's metrics and plots.

It loads models/model (the logged model, downloaded by `train`) through MLflow's pyfunc
loader, the path a serving runtime takes, and checks that:

* its metrics on the test split equal the ones logged on the run (outputs/run.json), so the
  artifact the registry will point at is the one that was measured;
* it predicts the held-out smoke rows (data/prepared/heldout.json); their accuracy is
  reported as ``heldout_accuracy`` and the predictions are written next to the metrics.

No tracking server is needed. Outputs: metrics/metrics.json (a DVC metrics file: compare runs
with ``dvc metrics show``/``diff``), metrics/roc_curve.csv and metrics/confusion.csv (DVC plots),
outputs/heldout_predictions.json (what the model predicts for each held-out row, for a smoke
test that compares a served model's answers with the local ones).
"""

import csv
import json
import math
import os
import sys

import mlflow.pyfunc
import pandas as pd

from breast_cancer import model, paths, schema


class EvaluationMismatch(Exception):
    """The downloaded model does not score what its run logged."""


def _write_csv(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def compare(measured, logged, tolerance=1e-6):
    """Raise EvaluationMismatch when a metric differs from the logged one."""
    differing = {
        name: (logged.get(name), value)
        for name, value in measured.items()
        if logged.get(name) is None or not math.isclose(value, logged[name], abs_tol=tolerance)
    }
    if differing:
        details = ", ".join(f"{name}: logged {old}, measured {new}" for name, (old, new) in sorted(differing.items()))
        raise EvaluationMismatch(f"models/model does not reproduce the metrics logged on its run ({details})")


def evaluate(model_dir, test, heldout, logged_metrics):
    """Return (metrics document, held-out predictions, ROC rows, confusion rows)."""
    serving = mlflow.pyfunc.load_model(model_dir)
    try:
        sk_model = serving.get_raw_model()  # the same estimator, for its probabilities
    except NotImplementedError:
        sk_model = serving.unwrap_python_model()  # the serving-fault wrapper, which scores like it
    scores = model.positive_scores(sk_model, test)
    measured = model.metrics(test[schema.TARGET], scores)
    compare(measured, logged_metrics)
    smoke = pd.DataFrame(heldout["dataframe_split"]["data"], columns=heldout["dataframe_split"]["columns"])
    predicted = [int(label) for label in serving.predict(smoke)]
    hits = sum(int(p == e) for p, e in zip(predicted, heldout["labels"]))
    document = dict(measured, heldout_accuracy=round(hits / len(predicted), 6), test_rows=len(test))
    y_pred = (scores >= 0.5).astype(int)
    confusion = list(zip(test[schema.TARGET].tolist(), y_pred.tolist()))
    return document, predicted, model.roc_points(test[schema.TARGET], scores), confusion


def main():
    test = pd.read_csv(paths.TEST_DATA)
    with open(paths.HELDOUT, encoding="utf-8") as handle:
        heldout = json.load(handle)
    with open(paths.RUN_INFO, encoding="utf-8") as handle:
        run = json.load(handle)
    try:
        document, predicted, roc, confusion = evaluate(paths.MODEL_DIR, test, heldout, run["metrics"])
    except EvaluationMismatch as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 1
    os.makedirs(os.path.dirname(paths.METRICS), exist_ok=True)
    with open(paths.METRICS, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, sort_keys=True)
        handle.write("\n")
    _write_csv(paths.ROC_PLOT, ["fpr", "tpr", "threshold"], roc)
    _write_csv(paths.CONFUSION_PLOT, ["actual", "predicted"], confusion)
    with open(paths.HELDOUT_PREDICTIONS, "w", encoding="utf-8") as handle:
        json.dump({"run_id": run["run_id"], "labels": heldout["labels"], "predictions": predicted}, handle, indent=2)
        handle.write("\n")
    print(f"run {run['run_id']}: {document}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
