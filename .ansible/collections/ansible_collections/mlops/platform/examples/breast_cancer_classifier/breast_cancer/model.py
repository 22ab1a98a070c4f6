"""The classifier, its quality metrics and its evaluation plots (shared by `train` and `evaluate`)."""

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    RocCurveDisplay,
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)
from sklearn.pipeline import Pipeline

from breast_cancer import schema

# Headless: scikit-learn's displays import pyplot, which must not look for a display.
matplotlib.use("Agg")

# Features that say little about the diagnosis, used by the worse-model switch (train.degrade).
WEAK_FEATURES = ["mean_fractal_dimension", "texture_error", "smoothness_error", "symmetry_error"]
METRIC_NAMES = ("accuracy", "roc_auc", "precision", "recall", "f1")


def effective_settings(params):
    """Model settings after the worse-model switch: what is trained, and what is logged."""
    model = dict(params["model"])
    features = list(schema.FEATURES)
    if params["train"].get("degrade"):
        model.update(n_estimators=1, max_depth=1)
        features = list(WEAK_FEATURES)
    return model, features


def build(params):
    """An unfitted pipeline: select the features, then a random forest.

    The pipeline always takes every feature column, so a degraded model has the same input
    signature as a good one and is served the same way.
    """
    model, features = effective_settings(params)
    forest = RandomForestClassifier(
        n_estimators=model["n_estimators"],
        max_depth=model["max_depth"],
        min_samples_leaf=model["min_samples_leaf"],
        max_features=model["max_features"],
        random_state=model["seed"],
        n_jobs=1,
    )
    select = ColumnTransformer([("features", "passthrough", features)], remainder="drop")
    return Pipeline([("select", select), ("forest", forest)])


def positive_scores(fitted, frame):
    """Probability of the positive label (1 = benign) for each row."""
    return fitted.predict_proba(frame[schema.FEATURES])[:, list(fitted.classes_).index(1)]


def metrics(y_true, scores, threshold=0.5):
    """The quality metrics the rollout gate reads, rounded so reruns compare equal."""
    y_pred = (scores >= threshold).astype(int)
    values = {
        "accuracy": accuracy_score(y_true, y_pred),
        "roc_auc": roc_auc_score(y_true, scores),
        "precision": precision_score(y_true, y_pred, zero_division=0),
        "recall": recall_score(y_true, y_pred, zero_division=0),
        "f1": f1_score(y_true, y_pred, zero_division=0),
    }
    return {name: round(float(values[name]), 6) for name in METRIC_NAMES}


def confusion(y_true, scores, threshold=0.5):
    """Confusion matrix as a 2x2 list, rows = actual label, columns = predicted label."""
    return confusion_matrix(y_true, (scores >= threshold).astype(int), labels=sorted(schema.LABELS)).tolist()


def roc_points(y_true, scores):
    """ROC curve as a list of (fpr, tpr, threshold)."""
    fpr, tpr, thresholds = roc_curve(y_true, scores)
    return list(zip(fpr.tolist(), tpr.tolist(), thresholds.tolist()))


def _figure():
    """A figure drawn by the Agg canvas, outside pyplot's global state (nothing to close)."""
    figure = Figure(figsize=(4.5, 4), dpi=100)
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def confusion_figure(y_true, scores, threshold=0.5):
    """A matplotlib figure of the confusion matrix."""
    names = [schema.LABELS[label] for label in sorted(schema.LABELS)]
    figure, axes = _figure()
    display = ConfusionMatrixDisplay(confusion_matrix=confusion_matrix(
        y_true, (scores >= threshold).astype(int), labels=sorted(schema.LABELS)), display_labels=names)
    display.plot(ax=axes, cmap="Blues", colorbar=False)
    axes.set_title("Confusion matrix (test split)")
    figure.tight_layout()
    return figure


def roc_figure(y_true, scores):
    """A matplotlib figure of the ROC curve."""
    figure, axes = _figure()
    RocCurveDisplay.from_predictions(y_true, scores, pos_label=1, name="random forest", ax=axes)
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    axes.set_title("ROC curve (test split, positive = benign)")
    figure.tight_layout()
    return figure
