# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deploy smoke test: send rows to a served model over the Open Inference (V2) protocol, judge the answers."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import math
import os

from ansible_collections.mlops.platform.plugins.module_utils._http_client import (
    ApiClient,
    ApiInvalidParameterError,
)

# Files MLflow writes next to a logged model's MLmodel when it has an input example.
INPUT_EXAMPLE_FILES = ("serving_input_example.json", "input_example.json")


class InferenceClient(ApiClient):
    """A V2 inference server (MLServer, Seldon, KServe ...)."""

    service = "inference server"
    service_a = "an inference server"
    url_of = "an Open Inference (V2) protocol server"

    def infer(self, name, version, request):
        path = "v2/models/%s%s/infer" % (name, "/versions/%s" % version if version else "")
        return self.request("POST", path, body=request)


def _datatype(values):
    kinds = set()
    for value in values:
        if isinstance(value, bool):
            kinds.add("BOOL")
        elif isinstance(value, int):
            kinds.add("INT64")
        elif isinstance(value, float):
            kinds.add("FP64")
        elif value is None:
            continue
        else:
            kinds.add("BYTES")
    if kinds <= {"INT64"} and kinds:
        return "INT64"
    if kinds <= {"INT64", "FP64"} and kinds:
        return "FP64"
    if kinds == {"BOOL"}:
        return "BOOL"
    return "BYTES"


def v2_from_dataframe_split(split):
    """MLflow's ``dataframe_split`` ({columns, data}) as a V2 request MLServer decodes into a DataFrame."""
    columns = split.get("columns")
    rows = split.get("data")
    if not isinstance(columns, list) or not isinstance(rows, list) or not rows:
        raise ApiInvalidParameterError("dataframe_split needs 'columns' (a list) and 'data' (a non-empty list of rows)")
    inputs = []
    for index, column in enumerate(columns):
        values = [row[index] for row in rows]
        datatype = _datatype(values)
        if datatype == "FP64":
            values = [None if v is None else float(v) for v in values]
        inputs.append({"name": str(column), "datatype": datatype, "shape": [len(rows)], "data": values})
    return {"parameters": {"content_type": "pd"}, "inputs": inputs}, len(rows)


def request_from_document(document, where):
    """(V2 request, row count, labels or None) from a held-out document or an MLflow input example."""
    if not isinstance(document, dict):
        raise ApiInvalidParameterError("%s must hold a JSON object" % where)
    labels = document.get("labels")
    inputs = document.get("inputs")
    is_v2 = isinstance(inputs, list) and bool(inputs) and isinstance(inputs[0], dict) and "datatype" in inputs[0]
    if "v2_request" in document or is_v2:
        request = document.get("v2_request", document)
        rows = request["inputs"][0].get("shape", [0])[0] if request.get("inputs") else 0
        return request, rows, labels
    if "dataframe_split" in document:
        request, rows = v2_from_dataframe_split(document["dataframe_split"])
        return request, rows, labels
    if "columns" in document and "data" in document:
        request, rows = v2_from_dataframe_split(document)
        return request, rows, labels
    raise ApiInvalidParameterError(
        "%s has no input the smoke test understands: give 'dataframe_split' ({columns, data}), 'v2_request' or "
        "V2 'inputs' (and optionally 'labels')" % where)


def read_json(path, option):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (IOError, OSError) as exc:
        raise ApiInvalidParameterError("%s %s cannot be read: %s" % (option, path, exc.strerror or exc))
    except ValueError as exc:
        raise ApiInvalidParameterError("%s %s is not JSON: %s" % (option, path, exc))


def input_example(model_dir):
    """The input example MLflow logged with a model, from a local copy of its files."""
    for name in INPUT_EXAMPLE_FILES:
        path = os.path.join(model_dir, name)
        if os.path.exists(path):
            return read_json(path, "the model's input example"), path
    raise ApiInvalidParameterError(
        "The model in %s has no input example (%s): log the model with input_example=..., or give the smoke test "
        "a held-out file or an input" % (model_dir, " or ".join(INPUT_EXAMPLE_FILES)))


def _valid(value):
    if value is None:
        return False
    if isinstance(value, float):
        return not (math.isnan(value) or math.isinf(value))
    return True


def _same(predicted, expected):
    try:
        return float(predicted) == float(expected)
    except (TypeError, ValueError):
        return str(predicted) == str(expected)


def judge(answer, rows, labels, min_accuracy):
    """(passed, predictions, right, message) for a V2 answer."""
    outputs = answer.get("outputs") or []
    if not outputs:
        return False, [], 0, "the served model answered without outputs: %s" % json.dumps(answer)[:300]
    predictions = outputs[0].get("data") or []
    if rows and len(predictions) != rows:
        return False, predictions, 0, "the served model answered %d predictions for %d rows" % (len(predictions), rows)
    invalid = [i for i, value in enumerate(predictions) if not _valid(value)]
    if invalid:
        return False, predictions, 0, "the served model gave no valid prediction for row(s) %s" % (
            ", ".join(str(i) for i in invalid[:20]))
    if labels is None:
        return True, predictions, len(predictions), "every one of the %d rows got a valid prediction" % len(predictions)
    if len(labels) != len(predictions):
        return False, predictions, 0, "the held-out file has %d labels for %d rows" % (len(labels), len(predictions))
    right = sum(1 for p, e in zip(predictions, labels) if _same(p, e))
    needed = min_accuracy * len(labels)
    if right + 1e-9 >= needed:
        return True, predictions, right, "the served model answered %d of %d held-out rows right" % (right, len(labels))
    return False, predictions, right, (
        "the served model answered %d of %d held-out rows right, %s of them are required (predicted %s, expected %s)"
        % (right, len(labels), min_accuracy, json.dumps(predictions), json.dumps(labels)))


def smoke_test(module):
    p = module.params
    if p["input"] is not None:
        request, rows, labels = request_from_document(p["input"], "input")
        source = "the given input"
    elif p["heldout_file"] and (os.path.exists(p["heldout_file"]) or not p["model_dir"]):
        request, rows, labels = request_from_document(read_json(p["heldout_file"], "heldout_file"), p["heldout_file"])
        source = "held-out file %s" % p["heldout_file"]
    elif p["model_dir"]:
        document, path = input_example(p["model_dir"])
        request, rows, labels = request_from_document(document, path)
        source = "the model's input example (%s)%s" % (
            os.path.basename(path), "; the held-out file %s does not exist" % p["heldout_file"] if p["heldout_file"] else "")
    else:
        raise ApiInvalidParameterError("give input, heldout_file or model_dir (for the model's logged input example)")
    if p["labels"] is not None:
        labels = p["labels"]
    client = InferenceClient(p["url"], token=p["token"], validate_certs=p["validate_certs"], ca_path=p["ca_path"],
                             timeout=p["timeout"], retries=p["retries"])
    answer = client.infer(p["name"], p["version"], request)
    passed, predictions, right, msg = judge(answer, rows, labels, p["min_accuracy"])
    target = "version %s of model %r" % (p["version"], p["name"]) if p["version"] else "model %r" % p["name"]
    result = {"changed": False, "passed": passed, "predictions": predictions, "labels": labels, "right": right,
              "rows": len(predictions), "source": source, "model_version": answer.get("model_version"),
              "msg": ("Smoke test passed for %s: %s" if passed else "Smoke test failed for %s: %s") % (target, msg)}
    if not passed:
        result["_failed"] = True
    return result
