"""The population-shift switch (data.drift): materialize scales every worst_* feature, and prints labelled rows."""

import io
import subprocess
import sys

import pandas as pd
import pytest

from breast_cancer import materialize, schema

PROJECT = __import__("conftest").PROJECT


def test_drift_scales_the_worst_features_only(raw_frame):
    shifted = materialize.shift(raw_frame, 0.5)
    worst = [c for c in schema.FEATURES if c.startswith("worst_")]
    others = [c for c in raw_frame.columns if c not in worst]
    assert len(worst) == 10
    pd.testing.assert_frame_equal(shifted[worst], raw_frame[worst] * 1.5)
    pd.testing.assert_frame_equal(shifted[others], raw_frame[others])


def test_no_drift_is_the_data_as_it_is(raw_frame):
    assert materialize.shift(raw_frame, 0.0) is raw_frame


@pytest.mark.parametrize("value", [-1.0, 5.5, "big", True])
def test_a_bad_drift_is_refused(raw_frame, value):
    with pytest.raises(ValueError) as err:
        materialize.shift(raw_frame, value)
    assert str(err.value) == "data.drift must be a number above -1 and at most 5, got %r" % (value,)


def test_out_dash_prints_the_shifted_labelled_rows(raw_frame):
    proc = subprocess.run([sys.executable, "-m", "breast_cancer.materialize", "--drift", "0.5", "--out", "-"],
                          cwd=str(PROJECT), capture_output=True, text=True, timeout=120, check=True)
    printed = pd.read_csv(io.StringIO(proc.stdout))
    assert list(printed.columns) == schema.COLUMNS
    assert len(printed) == len(raw_frame)
    assert printed["worst_area"].tolist() == pytest.approx((raw_frame["worst_area"] * 1.5).tolist())
