"""Unit tests of the gate's judging rules (pure logic; the integration tier runs them on a real server)."""

from __future__ import absolute_import, division, print_function

import pytest

from ansible_collections.mlops.platform.plugins.module_utils._mlflow_client import MlflowInvalidParameterError
from ansible_collections.mlops.platform.plugins.module_utils._mlflow_gate import judge_metric, validate_rules


def rule(**kw):
    base = {"name": "auc", "greater_is_better": True, "min": None, "max": None,
            "min_absolute_change": None, "min_relative_change": None, "compare_to_baseline": True}
    base.update(kw)
    return base


def test_missing_candidate_metric_fails():
    row = judge_metric(rule(), None, 0.9, True)
    assert (row["verdict"], row["reason"]) == ("fail", "metric 'auc' is not logged on the candidate")


def test_nan_candidate_fails():
    assert judge_metric(rule(), float("nan"), 0.9, True)["reason"] == "metric 'auc' is NaN on the candidate"


def test_missing_baseline_metric_fails():
    row = judge_metric(rule(), 0.9, None, True)
    assert row["verdict"] == "fail"
    assert row["reason"] == "metric 'auc' is not logged on the baseline, so the candidate cannot be compared"


def test_no_baseline_uses_thresholds_only():
    row = judge_metric(rule(min=0.8), 0.85, None, False)
    assert (row["verdict"], row["reason"]) == ("pass", "ok (thresholds only: no baseline)")
    assert judge_metric(rule(min=0.9), 0.85, None, False)["reason"] == "auc 0.85 is below the minimum 0.9"


def test_default_is_not_worse_than_baseline():
    assert judge_metric(rule(), 0.9, 0.9, True)["verdict"] == "pass"
    row = judge_metric(rule(), 0.89, 0.9, True)
    assert row["reason"] == "auc improves on the baseline by -0.01 (0.9 -> 0.89); at least 0 is required"


def test_lower_is_better_flips_the_direction():
    row = judge_metric(rule(name="loss", greater_is_better=False, max=0.3), 0.2, 0.25, True)
    assert row["verdict"] == "pass"
    assert row["absolute_change"] == pytest.approx(0.05)
    assert row["relative_change"] == pytest.approx(0.2)
    row = judge_metric(rule(name="loss", greater_is_better=False, max=0.3), 0.35, 0.25, True)
    assert row["reason"] == ("loss 0.35 is above the maximum 0.3; "
                             "loss improves on the baseline by -0.1 (0.25 -> 0.35); at least 0 is required")


def test_negative_min_absolute_change_tolerates_a_bounded_regression():
    assert judge_metric(rule(min_absolute_change=-0.02), 0.89, 0.9, True)["verdict"] == "pass"
    assert judge_metric(rule(min_absolute_change=-0.02), 0.87, 0.9, True)["verdict"] == "fail"


def test_relative_change():
    assert judge_metric(rule(min_relative_change=0.1), 1.1, 1.0, True)["verdict"] == "pass"
    row = judge_metric(rule(min_relative_change=0.1), 1.05, 1.0, True)
    assert row["reason"] == "auc improves on the baseline by 0.05 relative (1 -> 1.05); at least 0.1 is required"
    row = judge_metric(rule(min_relative_change=0.1), 0.5, 0.0, True)
    assert row["reason"] == "auc: the baseline is 0, so a relative change cannot be computed"


def test_compare_to_baseline_false():
    assert judge_metric(rule(min=0.5, compare_to_baseline=False), 0.6, 0.9, True)["verdict"] == "pass"


def test_validate_rules():
    with pytest.raises(MlflowInvalidParameterError) as err:
        validate_rules([rule(min=0.9, max=0.8)])
    assert str(err.value) == "metrics[0] (auc): min 0.9 is greater than max 0.8"
    with pytest.raises(MlflowInvalidParameterError) as err:
        validate_rules([rule(), rule()])
    assert str(err.value) == "metrics[1] (auc): metric 'auc' is listed twice"
