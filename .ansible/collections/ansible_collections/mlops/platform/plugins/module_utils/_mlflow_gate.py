# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The metric gate: may a candidate model go on? Pure judging logic plus the lookups feeding it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

from ansible_collections.mlops.platform.plugins.module_utils._mlflow_client import (
    MlflowError,
    MlflowInvalidParameterError,
    MlflowNotFoundError,
)
from ansible_collections.mlops.platform.plugins.module_utils._api_module import failed_to
from ansible_collections.mlops.platform.plugins.module_utils._mlflow_registry import (
    get_registered_model,
    get_version,
    validate_alias,
    version_for_alias,
)

# The argspec of one metric rule (documented once: doc fragment mlops.platform.mlflow.gate_metrics).
RULE_OPTIONS = dict(
    name=dict(type="str", required=True),
    greater_is_better=dict(type="bool", default=True),
    min=dict(type="float"),
    max=dict(type="float"),
    min_absolute_change=dict(type="float"),
    min_relative_change=dict(type="float"),
    compare_to_baseline=dict(type="bool", default=True),
)

PASS = "pass"
FAIL = "fail"


def _fmt(value):
    return "%.6g" % value


def judge_metric(rule, candidate, baseline, has_baseline):
    """Judge one metric. ``candidate``/``baseline`` are floats or None (not logged).

    Returns a row: metric, candidate, baseline, thresholds, changes, verdict, reason.
    """
    name = rule["name"]
    gib = rule.get("greater_is_better", True)
    row = {
        "metric": name,
        "candidate": candidate,
        "baseline": baseline,
        "greater_is_better": gib,
        "min": rule.get("min"),
        "max": rule.get("max"),
        "min_absolute_change": rule.get("min_absolute_change"),
        "min_relative_change": rule.get("min_relative_change"),
        "absolute_change": None,
        "relative_change": None,
    }
    reasons = []
    if candidate is None:
        row.update(verdict=FAIL, reason="metric %r is not logged on the candidate" % name)
        return row
    if isinstance(candidate, float) and math.isnan(candidate):
        row.update(verdict=FAIL, reason="metric %r is NaN on the candidate" % name)
        return row
    if rule.get("min") is not None and candidate < rule["min"]:
        reasons.append("%s %s is below the minimum %s" % (name, _fmt(candidate), _fmt(rule["min"])))
    if rule.get("max") is not None and candidate > rule["max"]:
        reasons.append("%s %s is above the maximum %s" % (name, _fmt(candidate), _fmt(rule["max"])))

    if has_baseline and rule.get("compare_to_baseline", True):
        if baseline is None:
            reasons.append("metric %r is not logged on the baseline, so the candidate cannot be compared" % name)
        else:
            # Improvement is positive when the candidate is better, whichever way "better" points.
            improvement = (candidate - baseline) if gib else (baseline - candidate)
            row["absolute_change"] = improvement
            if baseline != 0:
                row["relative_change"] = improvement / abs(baseline)
            min_abs = rule.get("min_absolute_change")
            min_rel = rule.get("min_relative_change")
            if min_abs is None and min_rel is None:
                min_abs = 0.0  # default: the candidate must not be worse than the baseline
            if min_abs is not None and improvement < min_abs:
                reasons.append("%s improves on the baseline by %s (%s -> %s); at least %s is required"
                               % (name, _fmt(improvement), _fmt(baseline), _fmt(candidate), _fmt(min_abs)))
            if min_rel is not None:
                if baseline == 0:
                    reasons.append("%s: the baseline is 0, so a relative change cannot be computed" % name)
                elif row["relative_change"] < min_rel:
                    reasons.append("%s improves on the baseline by %s relative (%s -> %s); at least %s is required"
                                   % (name, _fmt(row["relative_change"]), _fmt(baseline), _fmt(candidate), _fmt(min_rel)))
    if reasons:
        row.update(verdict=FAIL, reason="; ".join(reasons))
    else:
        row.update(verdict=PASS, reason="ok" if has_baseline else "ok (thresholds only: no baseline)")
    return row


def validate_rules(rules):
    seen = set()
    for index, rule in enumerate(rules):
        where = "metrics[%d] (%s)" % (index, rule["name"])
        if rule["name"] in seen:
            raise MlflowInvalidParameterError("%s: metric %r is listed twice" % (where, rule["name"]))
        seen.add(rule["name"])
        if rule.get("min") is not None and rule.get("max") is not None and rule["min"] > rule["max"]:
            raise MlflowInvalidParameterError("%s: min %s is greater than max %s" % (where, rule["min"], rule["max"]))


def _subject(client, name, ref, role):
    """Resolve a candidate/baseline reference to {kind, ref, version, run_id, metrics} or None (alias unset)."""
    if ref.get("run_id"):
        try:
            run = client.get_run(ref["run_id"])
        except MlflowNotFoundError:
            raise MlflowNotFoundError("%s run %r does not exist" % (role, ref["run_id"]), "RESOURCE_DOES_NOT_EXIST", 404)
        return {"reference": "run %s" % ref["run_id"], "version": None, "run_id": ref["run_id"],
                "metrics": dict((m["key"], m.get("value")) for m in run.get("data", {}).get("metrics", []))}
    if ref.get("alias"):
        validate_alias(ref["alias"], "%s alias" % role)
        version = version_for_alias(client, name, ref["alias"])
        if version is None:
            return None
        reference = "alias %s (version %s)" % (ref["alias"], version["version"])
    else:
        version = get_version(client, name, ref["version"])
        reference = "version %s" % version["version"]
    run_id = version.get("run_id")
    if not run_id:
        raise MlflowInvalidParameterError(
            "%s %s of model %r has no run, so it has no metrics to judge" % (role, reference, name))
    try:
        run = client.get_run(run_id)
    except MlflowNotFoundError:
        raise MlflowNotFoundError("the run %s of %s %s of model %r does not exist" % (run_id, role, reference, name),
                                  "RESOURCE_DOES_NOT_EXIST", 404)
    return {"reference": reference, "version": str(version["version"]), "run_id": run_id,
            "metrics": dict((m["key"], m.get("value")) for m in run.get("data", {}).get("metrics", []))}


def judge(client, name, rules, candidate_ref, baseline_ref):
    """Judge a candidate against a baseline on ``rules``; the gate's result dict (no ``_failed``)."""
    validate_rules(rules)
    baseline_ref = baseline_ref or {}
    try:
        if (candidate_ref.get("alias") or candidate_ref.get("version")) or baseline_ref:
            get_registered_model(client, name)
        candidate = _subject(client, name, candidate_ref, "candidate")
        if candidate is None:
            raise MlflowNotFoundError("candidate alias %r is not set on model %r" % (candidate_ref["alias"], name),
                                      "RESOURCE_DOES_NOT_EXIST", 404)
        baseline = _subject(client, name, baseline_ref, "baseline") if baseline_ref else None
    except MlflowError as exc:
        raise failed_to("evaluate the gate for model %r" % name, exc)

    has_baseline = baseline is not None
    if not baseline_ref:
        baseline_note = "no baseline requested: judged on thresholds only"
    elif not has_baseline:
        baseline_note = "no baseline yet (alias %r is not set): judged on thresholds only" % baseline_ref["alias"]
    elif (candidate["version"], candidate["run_id"]) == (baseline["version"], baseline["run_id"]):
        baseline_note = "the candidate is the baseline (%s)" % baseline["reference"]
    else:
        baseline_note = "compared with %s" % baseline["reference"]

    results = [judge_metric(rule, _metric(candidate, rule["name"]), _metric(baseline, rule["name"]), has_baseline)
               for rule in rules]
    failed = [r for r in results if r["verdict"] == FAIL]
    passed = not failed
    if passed:
        msg = "Gate passed for %s of model %r: %d metric(s) ok; %s" % (candidate["reference"], name, len(results), baseline_note)
    else:
        msg = "Gate rejected %s of model %r: %s; %s" % (
            candidate["reference"], name, "; ".join(r["reason"] for r in failed), baseline_note)
    return {
        "changed": False,
        "passed": passed,
        "msg": msg,
        "baseline_found": has_baseline,
        "baseline_note": baseline_note,
        "candidate": candidate,
        "baseline": baseline,
        "results": results,
    }


def evaluate_gate(module):
    p = module.params
    result = judge(module.client, p["name"], p["metrics"], p["candidate"], p["baseline"])
    if not result["passed"] and p["fail_on_reject"]:
        result["_failed"] = True
    return result


def _metric(subject, key):
    if subject is None:
        return None
    value = subject["metrics"].get(key)
    return None if value is None else float(value)
