"""The prepare stage: a deterministic split and a held-out smoke file."""

import hashlib
from pathlib import Path

import pytest

from breast_cancer import materialize, paths, prepare, schema


def _digest(path):
    return hashlib.md5(Path(path).read_bytes(), usedforsecurity=False).hexdigest()


def _run_stages():
    assert materialize.main([]) == 0
    assert prepare.main([]) == 0
    return {name: _digest(name) for name in (paths.TRAIN_DATA, paths.TEST_DATA, paths.HELDOUT)}


@pytest.mark.usefixtures("project_copy")
def test_prepare_is_byte_for_byte_deterministic():
    first = _run_stages()
    for name in first:
        Path(name).unlink()
    assert _run_stages() == first


def test_split_depends_on_the_seed_and_is_stratified(raw_frame):
    train_a, test_a = prepare.split(raw_frame, seed=42, test_size=0.25)
    train_b, test_b = prepare.split(raw_frame, seed=42, test_size=0.25)
    test_c = prepare.split(raw_frame, seed=7, test_size=0.25)[1]
    assert train_a.equals(train_b) and test_a.equals(test_b)
    assert list(test_a.index) != list(test_c.index)
    assert len(test_a) == 143 and len(train_a) == 426
    assert set(train_a.index).isdisjoint(test_a.index)
    ratio = raw_frame[schema.TARGET].mean()
    assert abs(test_a[schema.TARGET].mean() - ratio) < 0.01


def test_heldout_rows_are_balanced_typical_test_rows(raw_frame):
    train, test = prepare.split(raw_frame, seed=42, test_size=0.25)
    rows = prepare.heldout_rows(train, test, 8)
    assert len(rows) == 8
    assert set(rows.index) <= set(test.index)
    assert sorted(rows[schema.TARGET].value_counts().to_dict().items()) == [(0, 4), (1, 4)]
    assert list(rows.index) == [index for index in test.index if index in set(rows.index)]


def test_heldout_rows_too_many(raw_frame):
    train, test = prepare.split(raw_frame, seed=42, test_size=0.25)
    with pytest.raises(ValueError, match=r"^the test split has 53 rows of label 0, 100 wanted$"):
        prepare.heldout_rows(train, test, 200)


def test_heldout_document_shapes(raw_frame):
    train, test = prepare.split(raw_frame, seed=42, test_size=0.25)
    document = prepare.heldout_document(prepare.heldout_rows(train, test, 4))
    assert len(document["labels"]) == 4
    assert document["dataframe_split"]["columns"] == schema.FEATURES
    assert len(document["dataframe_split"]["data"]) == 4 and len(document["dataframe_split"]["data"][0]) == 30
    request = document["v2_request"]
    assert request["parameters"] == {"content_type": "pd"}
    assert [item["name"] for item in request["inputs"]] == schema.FEATURES
    assert all(item["shape"] == [4] and item["datatype"] == "FP64" and len(item["data"]) == 4 for item in request["inputs"])
    first_column = [row[0] for row in document["dataframe_split"]["data"]]
    assert request["inputs"][0]["data"] == first_column
