"""The smoke test's judgement and the shapes of rows it accepts."""

import pytest

from ansible_collections.mlops.platform.plugins.module_utils import _smoke as s


def answer(data):
    return {"model_name": "m", "outputs": [{"name": "output-1", "data": data}]}


def test_dataframe_split_becomes_a_pandas_v2_request_with_inferred_types():
    request, rows = s.v2_from_dataframe_split({"columns": ["a", "b", "c"], "data": [[1, 2.5, "x"], [3, 4, "y"]]})
    assert rows == 2
    assert request == {"parameters": {"content_type": "pd"}, "inputs": [
        {"name": "a", "datatype": "INT64", "shape": [2], "data": [1, 3]},
        {"name": "b", "datatype": "FP64", "shape": [2], "data": [2.5, 4.0]},
        {"name": "c", "datatype": "BYTES", "shape": [2], "data": ["x", "y"]}]}


@pytest.mark.parametrize("document", [
    {"dataframe_split": {"columns": ["a"], "data": [[1.0]]}, "labels": [1]},
    {"v2_request": {"inputs": [{"name": "a", "datatype": "FP64", "shape": [1], "data": [1.0]}]}, "labels": [1]},
    {"inputs": [{"name": "a", "datatype": "FP64", "shape": [1], "data": [1.0]}], "labels": [1]},
    {"columns": ["a"], "data": [[1.0]], "labels": [1]},
])
def test_every_document_shape_gives_one_row_and_its_label(document):
    request, rows, labels = s.request_from_document(document, "f.json")
    assert (rows, labels) == (1, [1])
    assert request["inputs"][0]["name"] == "a"


def test_unknown_document_is_refused_with_what_is_understood():
    with pytest.raises(s.ApiInvalidParameterError) as err:
        s.request_from_document({"rows": []}, "held.json")
    assert str(err.value) == ("held.json has no input the smoke test understands: give 'dataframe_split' "
                              "({columns, data}), 'v2_request' or V2 'inputs' (and optionally 'labels')")


def test_labels_judge_accuracy_with_exact_message():
    passed, _p, right, msg = s.judge(answer([1, 0, 1, 1]), 4, [1, 0, 0, 0], 0.75)
    assert (passed, right) == (False, 2)
    assert msg == ("the served model answered 2 of 4 held-out rows right, 0.75 of them are required "
                   "(predicted [1, 0, 1, 1], expected [1, 0, 0, 0])")
    assert s.judge(answer([1, 0, 0, 1]), 4, [1, 0, 0, 0], 0.75)[0] is True
    assert s.judge(answer([1.0, 0.0]), 2, [1, 0], 1.0)[0] is True  # 1.0 == 1


def test_without_labels_every_row_needs_a_valid_prediction():
    assert s.judge(answer([0.2, 1.5]), 2, None, 1.0)[3] == "every one of the 2 rows got a valid prediction"
    passed, _p, _r, msg = s.judge(answer([0.2, float("nan"), None]), 3, None, 1.0)
    assert (passed, msg) == (False, "the served model gave no valid prediction for row(s) 1, 2")
    assert s.judge(answer([1]), 2, None, 1.0)[3] == "the served model answered 1 predictions for 2 rows"
    assert s.judge({"outputs": []}, 2, None, 1.0)[0] is False


def test_input_example_is_found_in_a_model_dir(tmp_path):
    (tmp_path / "serving_input_example.json").write_text('{"dataframe_split": {"columns": ["a"], "data": [[1]]}}')
    document, path = s.input_example(str(tmp_path))
    assert path.endswith("serving_input_example.json") and "dataframe_split" in document
    with pytest.raises(s.ApiInvalidParameterError) as err:
        s.input_example(str(tmp_path / "nothing"))
    assert "has no input example (serving_input_example.json or input_example.json)" in str(err.value)
