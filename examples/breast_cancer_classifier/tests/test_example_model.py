"""The classifier: reproducible, and the worse-model switch really is worse."""

import copy

import pytest

from breast_cancer import model, prepare, schema
from breast_cancer import params as params_mod


@pytest.fixture(name="split_data", scope="module")
def _split_data(raw_frame):
    return prepare.split(raw_frame, seed=42, test_size=0.25)


@pytest.fixture(name="params", scope="module")
def _params(project_dir):
    return params_mod.load(str(project_dir / "params.yaml"))


def _fit(params, split_data):
    train = split_data[0]
    return model.build(params).fit(train[schema.FEATURES], train[schema.TARGET])


def _metrics(fitted, split_data):
    test = split_data[1]
    return model.metrics(test[schema.TARGET], model.positive_scores(fitted, test))


def test_same_inputs_same_metrics(params, split_data):
    first = _metrics(_fit(params, split_data), split_data)
    second = _metrics(_fit(params, split_data), split_data)
    assert first == second
    assert list(first) == list(model.METRIC_NAMES)


def test_default_model_is_good(params, split_data):
    metrics = _metrics(_fit(params, split_data), split_data)
    assert metrics["accuracy"] >= 0.93
    assert metrics["roc_auc"] >= 0.98


def test_degrade_switch_gives_a_worse_model_with_the_same_inputs(params, split_data):
    good = _metrics(_fit(params, split_data), split_data)
    worse_params = copy.deepcopy(params)
    worse_params["train"]["degrade"] = True
    fitted = _fit(worse_params, split_data)
    worse = _metrics(fitted, split_data)
    for name in ("accuracy", "roc_auc", "precision", "f1"):
        assert worse[name] < good[name] - 0.1, name
    assert worse["roc_auc"] < 0.7
    # Still takes every feature column: it is served with the same request as a good model.
    assert list(fitted.feature_names_in_) == schema.FEATURES
    settings, features = model.effective_settings(worse_params)
    assert (settings["n_estimators"], settings["max_depth"], features) == (1, 1, model.WEAK_FEATURES)


def test_heldout_rows_are_predicted_right_by_the_default_model(params, split_data):
    train, test = split_data
    rows = prepare.heldout_rows(train, test, params["split"]["heldout_rows"])
    fitted = _fit(params, split_data)
    assert list(fitted.predict(rows[schema.FEATURES])) == list(rows[schema.TARGET])


def test_plots_render(split_data, params):
    test = split_data[1]
    scores = model.positive_scores(_fit(params, split_data), test)
    for figure in (model.confusion_figure(test[schema.TARGET], scores), model.roc_figure(test[schema.TARGET], scores)):
        figure.canvas.draw()
        assert figure.canvas.get_width_height() == (450, 400)
    assert model.confusion(test[schema.TARGET], scores)[0][0] > 40
