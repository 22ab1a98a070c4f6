"""The validate stage: good data passes; each kind of bad data fails with an exact message."""

import json

import numpy as np
import pytest

from breast_cancer import materialize, schema, validate


def _write(frame, path):
    frame.to_csv(path, index=False)
    return str(path)


def test_good_data_passes(raw_frame, tmp_path):
    summary = validate.validate_csv(_write(raw_frame, tmp_path / "good.csv"))
    assert summary == {
        "path": str(tmp_path / "good.csv"),
        "status": "passed",
        "rows": 569,
        "columns": 31,
        "label_counts": {"malignant": 212, "benign": 357},
    }


def test_column_order_does_not_matter(raw_frame):
    assert not schema.problems(raw_frame[list(reversed(raw_frame.columns))])


# The corruptions data.corruption can apply, and the exact line each one must produce.
EXPECTED = {
    "missing_column": "missing column: mean_radius",
    "wrong_dtype": "column mean_texture: dtype is str, expected float64",
    "nulls": "column mean_smoothness: 3 null value(s) in row(s) 0, 1, 2",
    "out_of_range": "column mean_area: 2 value(s) outside [0, 6000]: -1, 99999 in row(s) 0, 1",
    "bad_label": "column target: label(s) 2 not in [0, 1] in row(s) 0, 5",
}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_each_corruption_fails_with_its_message(raw_frame, tmp_path, kind):
    path = _write(materialize.corrupt(raw_frame, kind), tmp_path / f"{kind}.csv")
    with pytest.raises(validate.DataValidationError) as caught:
        validate.validate_csv(path)
    assert str(caught.value) == f"data validation failed for {path} (1 problem(s)):\n  - {EXPECTED[kind]}"


def test_corruptions_cover_every_kind():
    assert set(materialize.CORRUPTIONS) == set(EXPECTED) | {"none"}


def test_unknown_corruption_is_refused(raw_frame):
    with pytest.raises(ValueError, match=r"^data.corruption must be one of none, missing_column, .*, got 'typo'$"):
        materialize.corrupt(raw_frame, "typo")


def test_several_problems_are_all_listed(raw_frame):
    frame = raw_frame.copy()
    frame["patient_name"] = "x"
    frame = frame.drop(columns=["worst_area"])
    frame.loc[7, "target"] = np.nan
    frame.loc[3, "mean_radius"] = 51.0
    assert schema.problems(frame) == [
        "missing column: worst_area",
        "unexpected column: patient_name",
        "column mean_radius: 1 value(s) outside [0, 50]: 51 in row(s) 3",
        "column target: 1 null value(s) in row(s) 7",
        "column target: dtype is float64, expected int64",
    ]


def test_a_single_label_is_refused(raw_frame):
    frame = raw_frame[raw_frame["target"] == 1]
    assert schema.problems(frame) == ["column target: expected every label of [0, 1], found [1]"]


def test_cli_fails_and_writes_no_report(raw_frame, tmp_path, capsys):
    path = _write(materialize.corrupt(raw_frame, "nulls"), tmp_path / "raw.csv")
    report = tmp_path / "report.json"
    assert validate.main([path, "--report", str(report)]) == 1
    assert capsys.readouterr().err == (
        f"ERROR: data validation failed for {path} (1 problem(s)):\n"
        "  - column mean_smoothness: 3 null value(s) in row(s) 0, 1, 2\n"
    )
    assert not report.exists()


def test_cli_writes_the_report(raw_frame, tmp_path):
    path = _write(raw_frame, tmp_path / "raw.csv")
    report = tmp_path / "reports" / "validation.json"
    assert validate.main([path, "--report", str(report)]) == 0
    assert json.loads(report.read_text())["status"] == "passed"


@pytest.mark.usefixtures("project_copy")
def test_materialize_stage_applies_the_param():
    from breast_cancer import set_params  # pylint: disable=import-outside-toplevel

    set_params.set_params(["data.corruption=bad_label"])
    assert materialize.main([]) == 0
    with pytest.raises(validate.DataValidationError, match="label"):
        validate.validate_csv("data/raw/breast_cancer.csv")
