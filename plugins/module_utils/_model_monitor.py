# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The model monitor: score the champion on the newest labelled data, measure drift, publish both to Prometheus.

Private to the collection. One pass (``monitor_once``) does, for one registered model:

1. read the champion (alias ``champion``) and the training data reference its rollout recorded at registration
   (the version tag ``mlops.training_data``: a CSV of the rows it was trained on);
2. read the newest labelled rows the project provides (a CSV file, or a command that prints one);
3. send the features to the served champion (the model's default endpoint, V2 inference protocol) and compute the quality metrics the rollout
   gate reads (accuracy, precision, recall, f1, roc_auc) from its answers and the labels;
4. compute the population stability index of every feature of the newest rows against the reference;
5. push the gauges to a Prometheus Pushgateway, grouped by model, so Prometheus scrapes them.

Population stability index (PSI): the reference's values are cut into ``bins`` bins at its quantiles; with ``r_i``
and ``c_i`` the shares of reference and newest rows in bin ``i`` (each at least 0.0001, so an empty bin counts
without dividing by zero), ``PSI = sum((c_i - r_i) * ln(c_i / r_i))``. It is 0 for the same distribution; the
usual reading is < 0.1 no shift, 0.1-0.25 a moderate shift, > 0.25 a large one.

The served champion answers labels, not scores, so ``roc_auc`` is the area under the ROC curve of the labels as
scores (the mean of the true positive and true negative rates) - on the same data it is lower than the AUC of the
probabilities the training run logs; set the gate's threshold alert accordingly.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import io
import math
import os
import time

from ansible.module_utils.six.moves.urllib.parse import quote

from ansible_collections.mlops.platform.plugins.module_utils._http_client import (
    ApiClient,
    ApiError,
    ApiInvalidParameterError,
)
from ansible_collections.mlops.platform.plugins.module_utils._smoke import InferenceClient, v2_from_dataframe_split

#: The model version tag where the rollout records the training data reference at registration.
TRAINING_DATA_TAG = "mlops.training_data"
#: Smallest share of a bin in the PSI (an empty bin counts as this much).
PSI_EPSILON = 1e-4
#: The gauges, as Prometheus names them.
QUALITY_METRIC = "mlops_model_quality"
DRIFT_METRIC = "mlops_model_drift"
ROWS_METRIC = "mlops_model_monitor_rows"
LAST_RUN_METRIC = "mlops_model_monitor_last_run_timestamp_seconds"


class MonitorError(ApiError):
    """One pass could not score the model; the message says what to fix."""


class PushgatewayClient(ApiClient):
    """A Prometheus Pushgateway: one group of gauges per job and model, replaced on every push."""

    service = "Pushgateway"
    service_a = "a Prometheus Pushgateway"
    url_of = "a Prometheus Pushgateway"
    url_option = "pushgateway_url"

    def push(self, job, model, text):
        """PUT replaces every gauge of the group (a feature gone from the data stops being reported)."""
        path = "metrics/job/%s/model/%s" % (quote(job, safe=""), quote(model, safe=""))
        self.request("PUT", path, text=text, text_type="text/plain; version=0.0.4")


# ---------------------------------------------------------------- data

def _number(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def read_csv(text, where):
    """(columns, rows) of a CSV with a header line; rows are lists of strings."""
    reader = csv.reader(io.StringIO(text))
    try:
        columns = next(reader)
    except StopIteration:
        raise MonitorError("%s is empty: a CSV with a header line and labelled rows is needed" % where)
    rows = [row for row in reader if row]
    if not rows:
        raise MonitorError("%s has a header line but no rows" % where)
    for number, row in enumerate(rows, start=2):
        if len(row) != len(columns):
            raise MonitorError("%s line %d has %d fields, the header has %d" % (where, number, len(row), len(columns)))
    return columns, rows


def read_source(path=None, command=None, cwd=None, run_command=None):
    """The CSV text of the newest labelled data: the file ``path``, or what ``command`` (a list) prints.

    ``run_command(argv, cwd)`` runs the command and returns (rc, stdout, stderr): a module's own, or the monitor
    script's (module_utils start no process themselves).
    """
    if command:
        if run_command is None:
            raise MonitorError("data_command needs a command runner")
        rc, out, err = run_command(command, cwd or None)
        if rc != 0:
            raise MonitorError("data_command exited %d: %s" % (rc, (err or out).strip()[-500:]))
        return out, "the output of data_command"
    if not path:
        raise MonitorError("give data_path or data_command: the newest labelled data of the model")
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read(), path
    except OSError as exc:
        raise MonitorError("data_path %s cannot be read: %s" % (path, exc.strerror or exc))


def columns_of(columns, rows, names, where):
    """{name: [float]} of the columns ``names``; a missing column or a non-number is an error."""
    found = {}
    for name in names:
        if name not in columns:
            raise MonitorError("%s has no column %r (it has %s)" % (where, name, ", ".join(columns)))
        index = columns.index(name)
        values = [_number(row[index]) for row in rows]
        if any(value is None for value in values):
            raise MonitorError("%s column %r holds a value that is not a number" % (where, name))
        found[name] = values
    return found


def label(value):
    """A label as the model answers it: 1.0 and "1" are the label 1."""
    number = _number(value)
    if number is not None and number == int(number):
        return int(number)
    return value


# ---------------------------------------------------------------- quality

def quality(labels, predictions, positive=1):
    """accuracy, precision, recall, f1 and roc_auc of ``predictions`` (labels) against ``labels``.

    roc_auc takes the predicted labels as scores: (true positive rate + true negative rate) / 2. A metric that is
    undefined (no positive row, no negative row) is left out.
    """
    if len(labels) != len(predictions):
        raise MonitorError("the model answered %d predictions for %d rows" % (len(predictions), len(labels)))
    if not labels:
        raise MonitorError("no rows to score")
    truth = [label(v) for v in labels]
    guess = [label(v) for v in predictions]
    right = sum(1 for t, g in zip(truth, guess) if t == g)
    tp = sum(1 for t, g in zip(truth, guess) if t == positive and g == positive)
    fp = sum(1 for t, g in zip(truth, guess) if t != positive and g == positive)
    fn = sum(1 for t, g in zip(truth, guess) if t == positive and g != positive)
    tn = len(truth) - tp - fp - fn
    result = {"accuracy": right / len(truth)}
    if tp + fp:
        result["precision"] = tp / (tp + fp)
    if tp + fn:
        result["recall"] = tp / (tp + fn)
    if tp + fp + fn:
        result["f1"] = 2.0 * tp / (2 * tp + fp + fn)
    if tp + fn and tn + fp:
        result["roc_auc"] = (tp / (tp + fn) + tn / (tn + fp)) / 2.0
    return dict((k, round(v, 6)) for k, v in result.items())


# ---------------------------------------------------------------- drift

def bin_edges(reference, bins):
    """The inner cut points of ``bins`` bins at the reference's quantiles (fewer when values repeat)."""
    if bins < 2:
        raise ApiInvalidParameterError("bins must be 2 or more, got %d" % bins)
    ordered = sorted(reference)
    edges = []
    for i in range(1, bins):
        position = i * (len(ordered) - 1) / bins
        low = int(math.floor(position))
        high = min(low + 1, len(ordered) - 1)
        edge = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
        if not edges or edge > edges[-1]:
            edges.append(edge)
    return edges


def shares(values, edges):
    """The share of ``values`` in each bin: (-inf, e0], (e0, e1], ..., (e_last, inf)."""
    counts = [0] * (len(edges) + 1)
    for value in values:
        index = 0
        while index < len(edges) and value > edges[index]:
            index += 1
        counts[index] += 1
    return [max(count / float(len(values)), PSI_EPSILON) for count in counts]


def psi(reference, current, bins=10):
    """Population stability index of ``current`` against ``reference`` (see the module docstring)."""
    if not reference or not current:
        raise MonitorError("the PSI needs reference and current values")
    edges = bin_edges(reference, bins)
    ref, cur = shares(reference, edges), shares(current, edges)
    return round(sum((c - r) * math.log(c / r) for r, c in zip(ref, cur)), 6)


# ---------------------------------------------------------------- exposition

def _escape(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs):
    return "{%s}" % ",".join('%s="%s"' % (k, _escape(v)) for k, v in pairs)


def exposition(model, version, metrics, drift, rows, now):
    """The Prometheus text exposition of one pass."""
    lines = [
        "# HELP %s Quality of the champion on the newest labelled data (the gate's metric names)." % QUALITY_METRIC,
        "# TYPE %s gauge" % QUALITY_METRIC,
    ]
    for name in sorted(metrics):
        lines.append("%s%s %r" % (QUALITY_METRIC, _labels([("model", model), ("version", version), ("metric", name)]),
                                  float(metrics[name])))
    lines += ["# HELP %s Population stability index of a feature of the newest data against the training data."
              % DRIFT_METRIC, "# TYPE %s gauge" % DRIFT_METRIC]
    for feature in sorted(drift):
        lines.append("%s%s %r" % (DRIFT_METRIC, _labels([("model", model), ("version", version), ("feature", feature)]),
                                  float(drift[feature])))
    lines += ["# HELP %s Labelled rows the last pass scored." % ROWS_METRIC, "# TYPE %s gauge" % ROWS_METRIC,
              "%s%s %d" % (ROWS_METRIC, _labels([("model", model), ("version", version)]), rows),
              "# HELP %s When the last pass finished (Unix time)." % LAST_RUN_METRIC,
              "# TYPE %s gauge" % LAST_RUN_METRIC,
              "%s%s %r" % (LAST_RUN_METRIC, _labels([("model", model), ("version", version)]), float(now))]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- one pass

def v2_request(features):
    """The V2 request of the feature columns ({name: [float]}, read_csv never gives no rows): the smoke test's
    pandas request (one FP64 input per column, content type pd, as MLServer's MLflow runtime decodes it)."""
    names = list(features)
    rows = [list(row) for row in zip(*(features[n] for n in names))]
    return v2_from_dataframe_split({"columns": names, "data": rows})[0]


def predictions_of(answer):
    outputs = answer.get("outputs") or []
    if not outputs or not isinstance(outputs[0].get("data"), list):
        raise MonitorError("the inference server's answer has no outputs[0].data")
    return outputs[0]["data"]


def validate_config(cfg):
    """Check one model's monitor settings; raise ApiInvalidParameterError naming the option."""
    for key in ("name", "label_column"):
        if not cfg.get(key):
            raise ApiInvalidParameterError("model monitor: %s is required" % key)
    if bool(cfg.get("data_path")) == bool(cfg.get("data_command")):
        raise ApiInvalidParameterError(
            "model monitor of %s: give exactly one of data_path and data_command" % cfg["name"])
    if cfg.get("data_command") and not isinstance(cfg["data_command"], list):
        raise ApiInvalidParameterError("model monitor of %s: data_command must be a list of arguments" % cfg["name"])
    if int(cfg.get("bins", 10)) < 2:
        raise ApiInvalidParameterError("model monitor of %s: bins must be 2 or more" % cfg["name"])


def monitor_once(cfg, mlflow, inference, pushgateway, job="mlops-model-monitor", clock=time.time, run_command=None):
    """One pass for one model (``cfg``: name, label_column, data_path or data_command, data_dir, features, alias,
    bins, reference, positive_label; ``run_command`` runs data_command, see read_source). Returns {model, version, rows, quality, drift, max_drift}."""
    validate_config(cfg)
    name = cfg["name"]
    alias = cfg.get("alias") or "champion"
    version = mlflow.get_version_by_alias(name, alias)
    tags = dict((t["key"], t.get("value", "")) for t in version.get("tags") or [])
    number = str(version["version"])
    reference_path = cfg.get("reference") or tags.get(TRAINING_DATA_TAG)
    if not reference_path:
        raise MonitorError("version %s of model %s (alias %s) has no %s tag: roll it out with "
                           "model_rollout_training_data set, or set the monitor's reference"
                           % (number, name, alias, TRAINING_DATA_TAG))
    if not os.path.isabs(reference_path):
        raise MonitorError("the training data reference %s of version %s of model %s is not an absolute path"
                           % (reference_path, number, name))
    ref_text, ref_where = read_source(path=reference_path)
    ref_columns, ref_rows = read_csv(ref_text, "the training data reference " + ref_where)
    text, where = read_source(cfg.get("data_path"), cfg.get("data_command"), cfg.get("data_dir"), run_command)
    columns, rows = read_csv(text, where)
    label_column = cfg["label_column"]
    if label_column not in columns:
        raise MonitorError("%s has no label column %r (label_column)" % (where, label_column))
    features = cfg.get("features") or [c for c in ref_columns if c != label_column]
    current = columns_of(columns, rows, features, where)
    reference = columns_of(ref_columns, ref_rows, features, "the training data reference " + ref_where)
    labels = [row[columns.index(label_column)] for row in rows]
    # The model's default endpoint serves the champion (serving changes at promotion, the alias right after it).
    answer = inference.infer(name, None, v2_request(current))
    metrics = quality(labels, predictions_of(answer), positive=label(cfg.get("positive_label", 1)))
    bins = int(cfg.get("bins", 10))
    drift = dict((f, psi(reference[f], current[f], bins)) for f in features)
    now = clock()
    pushgateway.push(job, name, exposition(name, number, metrics, drift, len(rows), now))
    return {"model": name, "version": number, "rows": len(rows), "quality": metrics, "drift": drift,
            "max_drift": max(drift.values()) if drift else 0.0}


def clients(settings):
    """(mlflow, inference, pushgateway) clients from the monitor's settings (urls, token, timeout, retries)."""
    # Imported here: the MLflow client module pulls in the whole registry error mapping.
    from ansible_collections.mlops.platform.plugins.module_utils._mlflow_client import MlflowClient
    common = dict(timeout=settings.get("timeout", 30), retries=settings.get("retries", 2))
    mlflow = MlflowClient(settings["tracking_uri"], token=settings.get("mlflow_token") or None,
                          username=settings.get("mlflow_username") or None,
                          password=settings.get("mlflow_password") or None, **common)
    inference = InferenceClient(settings["inference_url"], **common)
    pushgateway = PushgatewayClient(settings["pushgateway_url"], **common)
    return mlflow, inference, pushgateway
