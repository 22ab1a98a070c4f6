"""The model monitor's logic: quality metrics, the population stability index, the exposition text, one pass."""

import math

import pytest

from ansible_collections.mlops.platform.plugins.module_utils import _model_monitor as m
from ansible_collections.mlops.platform.plugins.module_utils._http_client import ApiInvalidParameterError


def test_quality_of_labels():
    labels = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    predicted = [1, 1, 1, 0, 0, 0, 0, 0, 1, 1]
    # tp 3, fn 1, fp 2, tn 4
    assert m.quality(labels, predicted) == {
        "accuracy": 0.7, "precision": 0.6, "recall": 0.75, "f1": round(6 / 9.0, 6), "roc_auc": round((0.75 + 4 / 6.0) / 2, 6)}


def test_quality_reads_labels_as_the_model_answers_them():
    # CSV labels are strings; 1.0 and "1" are the label 1.
    assert m.quality(["1", "0", "1.0"], [1, 0, 1])["accuracy"] == 1.0


def test_quality_leaves_out_what_is_undefined():
    assert m.quality([0, 0], [0, 0]) == {"accuracy": 1.0}


def test_quality_refuses_a_short_answer():
    with pytest.raises(m.MonitorError, match=r"^the model answered 1 predictions for 2 rows$"):
        m.quality([0, 1], [0])


def test_psi_of_the_same_distribution_is_zero():
    values = [float(i) for i in range(100)]
    assert m.psi(values, list(values)) == 0.0


def test_psi_by_hand():
    reference = [1.0, 2.0, 3.0, 4.0]
    # Two bins cut at the median 2.5: reference shares 0.5 / 0.5; current 0.25 / 0.75.
    assert m.bin_edges(reference, 2) == [2.5]
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert m.psi(reference, [1.0, 3.0, 4.0, 5.0], bins=2) == round(expected, 6)


def test_psi_counts_an_empty_bin_without_dividing_by_zero():
    reference = [float(i) for i in range(10)]
    shifted = [100.0] * 10
    expected = 9 * (m.PSI_EPSILON - 0.1) * math.log(m.PSI_EPSILON / 0.1) + (1.0 - 0.1) * math.log(1.0 / 0.1)
    assert m.psi(reference, shifted, bins=10) == round(expected, 6)


def test_repeated_values_give_fewer_bins():
    # quantile positions 2.25, 4.5 and 6.75 of 10 sorted values: 1.0, 1.0 (repeated, dropped) and 2.75
    assert m.bin_edges([1.0] * 6 + [2.0, 3.0, 4.0, 5.0], 4) == [1.0, 2.75]


def test_bins_must_be_two_or_more():
    with pytest.raises(ApiInvalidParameterError, match=r"^bins must be 2 or more, got 1$"):
        m.bin_edges([1.0], 1)


def test_exposition_text():
    text = m.exposition("bc", "3", {"accuracy": 0.5}, {"a": 0.25}, 7, 1700000000.0)
    assert 'mlops_model_quality{model="bc",version="3",metric="accuracy"} 0.5\n' in text
    assert 'mlops_model_drift{model="bc",version="3",feature="a"} 0.25\n' in text
    assert 'mlops_model_monitor_rows{model="bc",version="3"} 7\n' in text
    assert 'mlops_model_monitor_last_run_timestamp_seconds{model="bc",version="3"} 1700000000.0\n' in text
    assert "# TYPE mlops_model_drift gauge\n" in text


def test_label_values_are_escaped():
    assert m._labels([("model", 'a"b\\c')]) == '{model="a\\"b\\\\c"}'


@pytest.mark.parametrize("text,message", [
    ("", "f is empty: a CSV with a header line and labelled rows is needed"),
    ("a,b\n", "f has a header line but no rows"),
    ("a,b\n1\n", "f line 2 has 1 fields, the header has 2"),
])
def test_bad_csv(text, message):
    with pytest.raises(m.MonitorError) as err:
        m.read_csv(text, "f")
    assert str(err.value) == message


@pytest.mark.parametrize("cfg,message", [
    ({"label_column": "y", "data_path": "/d"}, "model monitor: name is required"),
    ({"name": "bc", "data_path": "/d"}, "model monitor: label_column is required"),
    ({"name": "bc", "label_column": "y"}, "model monitor of bc: give exactly one of data_path and data_command"),
    ({"name": "bc", "label_column": "y", "data_path": "/d", "data_command": ["x"]},
     "model monitor of bc: give exactly one of data_path and data_command"),
    ({"name": "bc", "label_column": "y", "data_command": "x"}, "model monitor of bc: data_command must be a list of arguments"),
    ({"name": "bc", "label_column": "y", "data_path": "/d", "bins": 1}, "model monitor of bc: bins must be 2 or more"),
])
def test_bad_config(cfg, message):
    with pytest.raises(ApiInvalidParameterError) as err:
        m.validate_config(cfg)
    assert str(err.value) == message


class FakeMlflow:
    def __init__(self, tags):
        self.tags = tags

    def get_version_by_alias(self, name, alias):
        assert (name, alias) == ("bc", "champion")
        return {"version": "4", "tags": [{"key": k, "value": v} for k, v in self.tags.items()]}


class FakeInference:
    def __init__(self):
        self.requests = []

    def infer(self, name, version, request):
        self.requests.append((name, version, request))
        # predicts 1 when x > 5
        return {"outputs": [{"name": "p", "data": [1 if x > 5 else 0 for x in request["inputs"][0]["data"]]}]}


class FakePushgateway:
    def __init__(self):
        self.pushed = []

    def push(self, job, model, text):
        self.pushed.append((job, model, text))


def write(tmp_path, name, rows):
    path = tmp_path / name
    path.write_text("x,y\n" + "".join("%s,%s\n" % row for row in rows))
    return str(path)


def test_one_pass_scores_the_champion_and_measures_drift(tmp_path):
    reference = write(tmp_path, "train.csv", [(float(i), int(i > 5)) for i in range(10)])
    newest = write(tmp_path, "newest.csv", [(float(i) + 3, int(i > 5)) for i in range(10)])
    inference, push = FakeInference(), FakePushgateway()
    result = m.monitor_once({"name": "bc", "label_column": "y", "data_path": newest, "bins": 2},
                            FakeMlflow({m.TRAINING_DATA_TAG: reference}), inference, push, clock=lambda: 5.0)
    # rows 0..9 shifted by 3: x > 5 for i >= 3, labelled 1 only for i > 5 -> 3 wrong.
    assert result["quality"]["accuracy"] == 0.7
    assert result["version"] == "4" and result["rows"] == 10
    # median cut 4.5: reference 5/5, newest (3..12) 2/8.
    expected = round((0.2 - 0.5) * math.log(0.2 / 0.5) + (0.8 - 0.5) * math.log(0.8 / 0.5), 6)
    assert result["drift"] == {"x": expected} and result["max_drift"] == expected
    assert inference.requests[0][:2] == ("bc", None)  # the default endpoint: the served champion
    assert inference.requests[0][2]["inputs"][0]["name"] == "x"
    job, model, text = push.pushed[0]
    assert (job, model) == ("mlops-model-monitor", "bc")
    assert 'mlops_model_quality{model="bc",version="4",metric="accuracy"} 0.7' in text
    assert 'mlops_model_monitor_last_run_timestamp_seconds{model="bc",version="4"} 5.0' in text


def test_a_champion_without_a_reference_is_an_error_that_says_what_to_do(tmp_path):
    newest = write(tmp_path, "newest.csv", [(1.0, 0)])
    push = FakePushgateway()
    with pytest.raises(m.MonitorError) as err:
        m.monitor_once({"name": "bc", "label_column": "y", "data_path": newest}, FakeMlflow({}), FakeInference(), push)
    assert str(err.value) == ("version 4 of model bc (alias champion) has no mlops.training_data tag: roll it out with "
                              "model_rollout_training_data set, or set the monitor's reference")
    assert push.pushed == []


def test_a_missing_label_column_is_named(tmp_path):
    reference = write(tmp_path, "train.csv", [(1.0, 0)])
    newest = tmp_path / "newest.csv"
    newest.write_text("x,label\n1,0\n")
    with pytest.raises(m.MonitorError) as err:
        m.monitor_once({"name": "bc", "label_column": "y", "data_path": str(newest)},
                       FakeMlflow({m.TRAINING_DATA_TAG: reference}), FakeInference(), FakePushgateway())
    assert str(err.value) == "%s has no label column 'y' (label_column)" % newest


def test_data_command_output_is_the_data():
    calls = []

    def run(argv, cwd):
        calls.append((argv, cwd))
        return 0, "x,y\n1,0\n", ""

    text, where = m.read_source(command=["print-data"], cwd="/srv/project", run_command=run)
    assert (text, where) == ("x,y\n1,0\n", "the output of data_command")
    assert calls == [(["print-data"], "/srv/project")]


def test_a_failing_data_command_says_how():
    with pytest.raises(m.MonitorError) as err:
        m.read_source(command=["print-data"], run_command=lambda argv, cwd: (3, "", "no data\n"))
    assert str(err.value) == "data_command exited 3: no data"


def test_pushgateway_push_replaces_the_models_group(monkeypatch):
    client = m.PushgatewayClient("http://127.0.0.1:9091")
    calls = []
    monkeypatch.setattr(client, "request", lambda *a, **k: calls.append((a, k)))
    client.push("mlops-model-monitor", "a/b", "x 1\n")
    assert calls == [(("PUT", "metrics/job/mlops-model-monitor/model/a%2Fb"),
                      {"text": "x 1\n", "text_type": "text/plain; version=0.0.4"})]


def test_the_request_is_the_smoke_tests_pandas_request():
    assert m.v2_request({"a": [1.0, 2.5], "b": [3.0, 4.0]}) == {
        "parameters": {"content_type": "pd"},
        "inputs": [{"name": "a", "datatype": "FP64", "shape": [2], "data": [1.0, 2.5]},
                   {"name": "b", "datatype": "FP64", "shape": [2], "data": [3.0, 4.0]}]}
