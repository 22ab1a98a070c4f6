"""The classifier (standardise, then a multinomial logistic regression) and its test-split metrics."""

from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, f1_score, log_loss
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from wine_classifier import data

# Metric name -> greater is better. log_loss is a loss: lower is better.
METRICS = {"macro_f1": True, "balanced_accuracy": True, "log_loss": False}
# Two measurements that barely separate the cultivars: what `degrade` keeps.
WEAK_FEATURES = ["ash", "magnesium"]


def features_used(params):
    """The feature columns the model learns from (all 13, or WEAK_FEATURES when degraded)."""
    return list(WEAK_FEATURES) if params["degrade"] else list(data.FEATURES)


def build(params):
    """An unfitted Pipeline. A degraded one drops all but WEAK_FEATURES but still takes all 13 columns."""
    steps = []
    if params["degrade"]:
        steps.append(("select", ColumnTransformer([("weak", "passthrough", WEAK_FEATURES)], remainder="drop")))
    steps.append(("scale", StandardScaler()))
    # lbfgs fits one multinomial (softmax) model over the three classes.
    classifier = LogisticRegression(C=params["C"], max_iter=params["max_iter"], random_state=params["seed"])
    steps.append(("logreg", classifier))
    return Pipeline(steps)


def fit(params, train):
    """The pipeline fitted on the train split."""
    return build(params).fit(train[data.FEATURES], train[data.TARGET])


def metrics(fitted, test):
    """macro_f1, balanced_accuracy and log_loss of ``fitted`` on ``test``, as Python floats."""
    labels = test[data.TARGET]
    predicted = fitted.predict(test[data.FEATURES])
    probabilities = fitted.predict_proba(test[data.FEATURES])
    return {
        "macro_f1": float(f1_score(labels, predicted, average="macro")),
        "balanced_accuracy": float(balanced_accuracy_score(labels, predicted)),
        "log_loss": float(log_loss(labels, probabilities, labels=list(data.LABELS))),
    }
