"""The data, the split, the classifier and its metrics: deterministic, and `degrade` really is worse."""

import pytest

from wine_classifier import data, model, params, train

# Test-split metrics with the default parameters (README "Metrics"), to 4 decimals.
DEFAULT_METRICS = {"macro_f1": 0.9829, "balanced_accuracy": 0.9841, "log_loss": 0.0778}
DEGRADED_METRICS = {"macro_f1": 0.4130, "balanced_accuracy": 0.4481, "log_loss": 1.0149}


def rounded(metrics):
    """The metrics to 4 decimals."""
    return {name: round(value, 4) for name, value in metrics.items()}


def test_data_contract():
    """13 float64 features in a fixed order, an int64 label 0-2, 178 rows, no nulls."""
    frame = data.load_frame()
    assert list(frame.columns) == data.FEATURES + [data.TARGET]
    assert frame.shape == (178, 14)
    assert all(str(dtype) == "float64" for dtype in frame[data.FEATURES].dtypes)
    assert str(frame[data.TARGET].dtype) == "int64"
    assert frame[data.TARGET].value_counts().sort_index().to_dict() == {0: 59, 1: 71, 2: 48}
    assert not frame.isna().any().any()


def test_split_is_stratified_and_repeatable():
    """The same seed gives the same rows; each class keeps its share in the test split."""
    frame = data.load_frame()
    train_rows, test_rows = data.split(frame, seed=42, test_size=0.3)
    assert (len(train_rows), len(test_rows)) == (124, 54)
    assert test_rows[data.TARGET].value_counts().sort_index().to_dict() == {0: 18, 1: 21, 2: 15}
    again = data.split(frame, seed=42, test_size=0.3)[1]
    assert list(again.index) == list(test_rows.index)
    assert list(data.split(frame, seed=7, test_size=0.3)[1].index) != list(test_rows.index)


def test_input_example_has_two_rows_of_each_label_from_the_test_split():
    """The input example: six held-out rows, two per label, no training row."""
    train_rows, test_rows = data.split(data.load_frame(), seed=42, test_size=0.3)
    features, labels = data.input_example(test_rows)
    assert list(features.columns) == data.FEATURES
    assert list(labels) == [0, 0, 1, 1, 2, 2]
    assert set(features.index) <= set(test_rows.index) and not set(features.index) & set(train_rows.index)


def test_same_seed_same_metrics():
    """Two trainings with the same parameters give identical metrics, equal to the README's."""
    first = train.train(dict(params.DEFAULTS)).metrics
    second = train.train(dict(params.DEFAULTS)).metrics
    assert first == second
    assert list(first) == list(model.METRICS) == ["macro_f1", "balanced_accuracy", "log_loss"]
    assert rounded(first) == DEFAULT_METRICS


def test_another_seed_another_split():
    """The seed matters: another one gives other metrics."""
    assert train.train(dict(params.DEFAULTS, seed=7)).metrics != train.train(dict(params.DEFAULTS)).metrics


def test_default_model_predicts_the_input_example_right():
    """The default model gets every row of its input example right."""
    trained = train.train(dict(params.DEFAULTS))
    assert list(trained.fitted.predict(trained.example)) == list(data.input_example(trained.test_rows)[1])
    assert list(trained.fitted.classes_) == list(data.LABELS)


def test_degrade_gives_a_clearly_worse_model_that_takes_the_same_columns():
    """degrade: far worse metrics, same 13 input columns."""
    good = train.train(dict(params.DEFAULTS)).metrics
    degraded = train.train(dict(params.DEFAULTS, degrade=True))
    worse = degraded.metrics
    assert rounded(worse) == DEGRADED_METRICS
    assert worse["macro_f1"] < good["macro_f1"] - 0.5
    assert worse["log_loss"] > good["log_loss"] + 0.9
    assert list(degraded.fitted.feature_names_in_) == data.FEATURES
    assert model.features_used(dict(params.DEFAULTS, degrade=True)) == ["ash", "magnesium"]


@pytest.mark.parametrize("name, greater_is_better", [
    ("macro_f1", True), ("balanced_accuracy", True), ("log_loss", False),
])
def test_metric_directions(name, greater_is_better):
    """log_loss is the only metric where lower is better."""
    assert model.METRICS[name] is greater_is_better


def test_logged_params_and_tags():
    """The params and tags a run gets; the informational variables only when set."""
    resolved = dict(params.DEFAULTS, C=0.5)
    train_rows, test_rows = data.split(data.load_frame(), seed=42, test_size=0.3)
    assert train.logged_params(resolved, train_rows, test_rows) == {
        "C": 0.5, "max_iter": 200, "seed": 42, "test_size": 0.3, "degrade": False,
        "features": 13, "train_rows": 124, "test_rows": 54,
    }
    assert train.run_tags(resolved, {}) == {"mlops.project": "wine_classifier", "mlops.degraded": "false"}
    environ = {"MLOPS_ROLLOUT_ID": "rollout-7", "GIT_COMMIT": "abc123", "OTHER": "x"}
    assert train.run_tags(dict(resolved, degrade=True), environ) == {
        "mlops.project": "wine_classifier", "mlops.degraded": "true",
        "mlops.rollout_id": "rollout-7", "git_commit": "abc123",
    }
    assert "git_commit" not in train.run_tags(resolved, {"GIT_COMMIT": ""})
