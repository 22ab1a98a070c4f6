# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Canary analysis with Flagger's semantics: one analysis step of a canary against its primary.

Private to the collection: the logic behind ``mlops.platform.canary_analysis``. No I/O: every number comes from a
``query(expr, at=...)`` function (``PrometheusClient.query`` in the module, a fake in the unit tests) that returns
[(labels, float)].

One step, as Flagger runs it at each analysis interval:

1. the canary's request count over the window (``interval``, the rate window);
2. fewer than ``min_requests``: **hold** - no check counts, ``failed_checks`` stays, nothing may be promoted;
3. else every check: the canary's value against an absolute limit (``max``/``min``) and/or a limit relative to
   the primary (``max_ratio`` x the primary's value); all passed: **pass**, else **fail** and
   ``failed_checks + 1``;
4. ``rollback`` once ``failed_checks`` has reached ``threshold`` (Flagger's ``analysis.threshold``, default 1).

No data for the canary (no series, or NaN) fails the check: like Flagger's "no values found", a canary that cannot
be measured is never promoted. A check the primary cannot be compared with (no data for the primary) fails when
it has ``max_ratio`` and ignores the primary otherwise.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re

from ansible_collections.mlops.platform.plugins.module_utils._api_module import failed_to
from ansible_collections.mlops.platform.plugins.module_utils._http_client import ApiInvalidParameterError

ERROR_RATIO = "error_ratio"
LATENCY_P95 = "latency_p95"
BUILTIN_CHECKS = (ERROR_RATIO, LATENCY_P95)

PASS = "pass"
HOLD = "hold"
FAIL = "fail"

# The argspec of one check (documented in plugins/modules/canary_analysis.py).
CHECK_OPTIONS = dict(
    name=dict(type="str", required=True),
    max=dict(type="float"),
    max_ratio=dict(type="float"),
    min=dict(type="float"),
    query=dict(type="str"),
)

# MLServer 1.7.1's series (see roles/prometheus/defaults/main.yml and tests/monitoring/README.md).
ANALYSIS_ARGSPEC = dict(
    model=dict(type="str"),
    model_label=dict(type="str", default="model"),
    version_label=dict(type="str", default="version"),
    primary_version=dict(type="str"),
    canary_version=dict(type="str"),
    primary_selector=dict(type="str"),
    canary_selector=dict(type="str"),
    success_metric=dict(type="str", default="model_infer_request_success_total"),
    failure_metric=dict(type="str", default="model_infer_request_failure_total"),
    latency_metric=dict(type="str", default="rest_server_request_duration_seconds"),
    latency_selector=dict(type="str", default='path=~"/v2/models/.+/infer"'),
    primary_latency_selector=dict(type="str"),
    canary_latency_selector=dict(type="str"),
    interval=dict(type="str", default="1m"),
    min_requests=dict(type="int", default=1),
    checks=dict(type="list", elements="dict", options=CHECK_OPTIONS, required=True),
    failed_checks=dict(type="int", default=0),
    threshold=dict(type="int", default=1),
    time=dict(type="raw"),
    repeat_every=dict(type="int", default=0),
    timeout=dict(type="int", default=600),
)
ANALYSIS_MUTUALLY_EXCLUSIVE = [("primary_selector", "primary_version"), ("canary_selector", "canary_version"),
                               ("primary_selector", "model"), ("canary_selector", "model")]
ANALYSIS_REQUIRED_ONE_OF = [("primary_selector", "primary_version"), ("canary_selector", "canary_version")]
ANALYSIS_REQUIRED_TOGETHER = [("primary_latency_selector", "canary_latency_selector")]
ANALYSIS_REQUIRED_BY = {"primary_version": "model", "canary_version": "model"}

_DURATION_RE = re.compile(r"^(?:[0-9]+y)?(?:[0-9]+w)?(?:[0-9]+d)?(?:[0-9]+h)?(?:[0-9]+m)?(?:[0-9]+s)?(?:[0-9]+ms)?$")
_RFC3339_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})$")
_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_PLACEHOLDER_RE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_PLACEHOLDERS = ("selector", "interval")


# ---------------------------------------------------------------- formatting

def fmt(value):
    """A number in a message: integers whole, others to 6 significant digits, NaN and infinities as Prometheus writes them."""
    if value == float("inf"):
        return "+Inf"
    if value == float("-inf"):
        return "-Inf"
    if math.isnan(value):
        return "NaN"
    if value == int(value) and abs(value) < 1e15:
        return "%d" % value  # a count: 1234567, not 1.23457e+06
    return "%.6g" % value


def _label(name):
    return {ERROR_RATIO: "error ratio", LATENCY_P95: "p95 latency"}.get(name, name)


def _unit(name):
    return "s" if name == LATENCY_P95 else ""


def _finite(value):
    return value if value is not None and not math.isinf(value) else None


# ---------------------------------------------------------------- PromQL

def quote_label_value(value):
    """A label value as a PromQL string literal."""
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def join_matchers(*parts):
    """Label matchers (without braces) joined into one list; empty parts are dropped."""
    return ",".join(part for part in parts if part)


def bare_matchers(selector):
    """A selector given with or without its braces, without them."""
    selector = (selector or "").strip()
    if selector.startswith("{") and selector.endswith("}"):
        selector = selector[1:-1].strip()
    return selector


def requests_query(success_metric, failure_metric, selector, interval):
    """Requests the selected series served over the window: successful + failed (0 when there is no series)."""
    return "(sum(increase(%s{%s}[%s])) or vector(0)) + (sum(increase(%s{%s}[%s])) or vector(0))" % (
        success_metric, selector, interval, failure_metric, selector, interval)


def error_ratio_query(success_metric, failure_metric, selector, interval):
    """Failed / all requests over the window; NaN without requests. A missing failure series counts as 0."""
    failures = "(sum(rate(%s{%s}[%s])) or vector(0))" % (failure_metric, selector, interval)
    successes = "(sum(rate(%s{%s}[%s])) or vector(0))" % (success_metric, selector, interval)
    return "%s / (%s + %s)" % (failures, successes, failures)


def latency_query(latency_metric, selector, interval, quantile=0.95):
    """The quantile of the request duration histogram over the window, across every series selected."""
    return "histogram_quantile(%s, sum by (le) (rate(%s_bucket{%s}[%s])))" % (
        quantile, latency_metric, selector, interval)


def custom_query(template, selector, interval):
    """A custom check's PromQL with $selector and $interval replaced."""
    values = {"selector": selector, "interval": interval}
    return _PLACEHOLDER_RE.sub(lambda match: values[match.group(1) or match.group(2)], template)


# ---------------------------------------------------------------- input

def _where(index, check):
    return "checks[%d] (%s)" % (index, check["name"])


def validate_checks(checks):
    """Refuse checks that cannot be judged; every message names the check by its place and name."""
    if not checks:
        raise ApiInvalidParameterError("checks must list at least one check")
    seen = set()
    for index, check in enumerate(checks):
        where = _where(index, check)
        name = check["name"]
        if name in seen:
            raise ApiInvalidParameterError("%s: check %r is listed twice" % (where, name))
        seen.add(name)
        builtin = name in BUILTIN_CHECKS
        if not builtin and check.get("query") is None:
            raise ApiInvalidParameterError(
                "%s: unknown check %r: the built-in checks are %s; a custom check needs a query"
                % (where, name, " and ".join(BUILTIN_CHECKS)))
        for key in ("max", "max_ratio", "min"):
            value = check.get(key)
            if value is not None and (math.isnan(value) or math.isinf(value)):
                raise ApiInvalidParameterError("%s: %s must be a finite number, got %s" % (where, key, value))
        if check.get("max_ratio") is not None and check["max_ratio"] < 0:
            raise ApiInvalidParameterError("%s: max_ratio must not be negative, got %s" % (where, fmt(check["max_ratio"])))
        if builtin:
            if check.get("query") is not None:
                raise ApiInvalidParameterError("%s: query is for custom checks; %s is built in" % (where, name))
            if check.get("min") is not None:
                raise ApiInvalidParameterError("%s: min is for custom checks; %s has max and max_ratio" % (where, name))
            if check.get("max") is None and check.get("max_ratio") is None:
                raise ApiInvalidParameterError("%s: set max, max_ratio or both" % where)
            if check.get("max") is not None and check["max"] < 0:
                raise ApiInvalidParameterError("%s: max must not be negative, got %s" % (where, fmt(check["max"])))
        else:
            if all(check.get(key) is None for key in ("max", "max_ratio", "min")):
                raise ApiInvalidParameterError("%s: set max, min, max_ratio or a combination" % where)
            if check.get("min") is not None and check.get("max") is not None and check["min"] > check["max"]:
                raise ApiInvalidParameterError("%s: min %s is greater than max %s"
                                               % (where, fmt(check["min"]), fmt(check["max"])))
            placeholders = [braced or bare for braced, bare in _PLACEHOLDER_RE.findall(check["query"])]
            unknown = sorted(set(p for p in placeholders if p not in _PLACEHOLDERS))
            if unknown:
                raise ApiInvalidParameterError("%s: unknown placeholder %s in query: use $selector and $interval"
                                               % (where, ", ".join("$" + p for p in unknown)))
            if "selector" not in placeholders:
                raise ApiInvalidParameterError(
                    "%s: query must contain $selector (replaced by the canary's and the primary's label matchers)"
                    % where)


def validate_time(value):
    """The evaluation time as Prometheus takes it (Unix seconds or RFC 3339); None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ApiInvalidParameterError("time must be Unix seconds or an RFC 3339 timestamp, got %r" % (value,))
    if isinstance(value, (int, float)):
        return value
    text = str(value).strip()
    try:
        float(text)
        return text
    except ValueError:
        pass
    if _RFC3339_RE.match(text):
        return text
    raise ApiInvalidParameterError(
        "time must be Unix seconds or an RFC 3339 timestamp (for example 2024-01-01T00:30:00Z), got %r" % (text,))


def validate_interval(interval):
    if not interval or not _DURATION_RE.match(interval) or not re.search(r"[1-9]", interval):
        raise ApiInvalidParameterError(
            "interval must be a Prometheus duration such as 1m, 30s or 1h30m, got %r" % (interval,))


def _targets(params):
    """{target: (selector, latency selector, words)} of the primary and the canary, from the options."""
    model_label, version_label = params["model_label"], params["version_label"]
    for option in ("model_label", "version_label"):
        if not _LABEL_RE.match(params[option] or ""):
            raise ApiInvalidParameterError("%s must be a Prometheus label name, got %r" % (option, params[option]))
    for option in ("success_metric", "failure_metric", "latency_metric"):
        if not _NAME_RE.match(params[option] or ""):
            raise ApiInvalidParameterError("%s must be a Prometheus metric name, got %r" % (option, params[option]))
    targets = {}
    for target in ("primary", "canary"):
        raw = params.get("%s_selector" % target)
        if raw is not None:
            selector = bare_matchers(raw)
            if not selector:
                raise ApiInvalidParameterError("%s_selector must hold at least one label matcher" % target)
            words = "{%s}" % selector
            latency = bare_matchers(params.get("%s_latency_selector" % target)) or selector
        else:
            version = params["%s_version" % target]
            selector = join_matchers("%s=%s" % (model_label, quote_label_value(params["model"])),
                                     "%s=%s" % (version_label, quote_label_value(version)))
            words = "version %s of model %s" % (version, params["model"])
            latency = bare_matchers(params.get("%s_latency_selector" % target))
        targets[target] = (selector, latency, words)
    if targets["primary"][0] == targets["canary"][0]:
        raise ApiInvalidParameterError(
            "the primary and the canary select the same series (%s): give them different versions or selectors"
            % targets["canary"][0])
    return targets


def validate(params):
    """(targets, at) after refusing bad input; the messages name the option to change."""
    validate_interval(params["interval"])
    if params["min_requests"] < 0:
        raise ApiInvalidParameterError("min_requests must be 0 or more, got %d" % params["min_requests"])
    if params["threshold"] < 1:
        raise ApiInvalidParameterError("threshold must be 1 or more, got %d" % params["threshold"])
    if params["failed_checks"] < 0:
        raise ApiInvalidParameterError("failed_checks must be 0 or more, got %d" % params["failed_checks"])
    validate_checks(params["checks"])
    targets = _targets(params)
    for index, check in enumerate(params["checks"]):
        if check["name"] != LATENCY_P95:
            continue
        if not (targets["primary"][1] and targets["canary"][1]):
            raise ApiInvalidParameterError(
                "%s: set primary_latency_selector and canary_latency_selector (for example pod=~\"%s-primary-.*\"): "
                "model and the versions select the serving counters only, since MLServer's latency histogram (%s) "
                "has no model or version label" % (_where(index, check), params["model"], params["latency_metric"]))
        if targets["primary"][1] == targets["canary"][1]:
            raise ApiInvalidParameterError(
                "%s: the primary and the canary select the same %s series (%s): give them different latency "
                "selectors" % (_where(index, check), params["latency_metric"], targets["canary"][1]))
    return targets, validate_time(params["time"])


# ---------------------------------------------------------------- judging

def reading(samples):
    """(value, problem) of a check's query result: one finite or infinite float, or None and why not."""
    if not samples:
        return None, "the query returned no series"
    if len(samples) > 1:
        return None, "the query returned %d series; a check needs one value: aggregate them (sum, max ...)" % len(samples)
    value = samples[0][1]
    if math.isnan(value):
        return None, "the query returned NaN"
    return value, None


def judge_check(check, canary, primary):
    """One verdict row. ``canary`` and ``primary`` are ``reading()`` pairs (value, problem)."""
    name = check["name"]
    label, unit = _label(name), _unit(name)
    canary_value, canary_problem = canary
    primary_value, primary_problem = primary
    max_ratio = check.get("max_ratio")
    row = {
        "check": name,
        "canary": _finite(canary_value),
        "primary": _finite(primary_value),
        "max": check.get("max"),
        "max_ratio": max_ratio,
        "min": check.get("min"),
        "limit": None,
        "passed": False,
        "reason": None,
    }
    relative = None
    if max_ratio is not None and primary_value is not None:
        relative = max_ratio * primary_value
    bounds = [b for b in (check.get("max"), relative) if b is not None]
    row["limit"] = _finite(min(bounds)) if bounds else None

    if canary_value is None:
        row["reason"] = "no data for the canary %s (%s)" % (label, canary_problem)
        return row
    held, broken = [], []
    if check.get("max") is not None:
        (broken if canary_value > check["max"] else held).append(
            "%s max %s%s" % (">" if canary_value > check["max"] else "<=", fmt(check["max"]), unit))
    if relative is not None:
        over = canary_value > relative
        (broken if over else held).append("%s %s x primary %s%s = %s%s" % (
            ">" if over else "<=", fmt(max_ratio), fmt(primary_value), unit, fmt(relative), unit))
    if check.get("min") is not None:
        under = canary_value < check["min"]
        (broken if under else held).append("%s min %s%s" % ("<" if under else ">=", fmt(check["min"]), unit))
    subject = "canary %s %s%s" % (label, fmt(canary_value), unit)
    parts = []
    if broken:
        parts.append("%s %s" % (subject, " and ".join(broken)))
    if max_ratio is not None and primary_value is None:
        parts.append("no data for the primary %s (%s), so max_ratio %s cannot be applied"
                     % (label, primary_problem, fmt(max_ratio)))
    if parts:
        row["reason"] = "; ".join(parts)
        return row
    row["passed"] = True
    row["reason"] = "%s %s" % (subject, " and ".join(held))
    return row


def decide(requests, rows, min_requests, failed_checks, threshold):
    """(decision, failed_checks after this step, rollback)."""
    if requests < min_requests:
        decision = HOLD
    elif all(row["passed"] for row in rows):
        decision = PASS
    else:
        decision = FAIL
        failed_checks += 1
    return decision, failed_checks, failed_checks >= threshold


def summary(decision, requests, rows, params, targets, failed_checks, rollback):
    """The one line of ``msg``."""
    tally = "failed checks %d of threshold %d%s" % (failed_checks, params["threshold"], ": roll back" if rollback else "")
    if decision == HOLD:
        return ("hold: the canary served %s requests in the last %s, fewer than min_requests %d; no check counted; %s"
                % (fmt(requests), params["interval"], params["min_requests"], tally))
    if decision == PASS:
        return "pass: canary %s passed %d check%s over the last %s (%s requests); %s" % (
            targets["canary"][2], len(rows), "" if len(rows) == 1 else "s", params["interval"], fmt(requests), tally)
    return "fail: %s; %s" % ("; ".join(row["reason"] for row in rows if not row["passed"]), tally)


# ---------------------------------------------------------------- one analysis step

def _queries(params, targets, check, target):
    selector, latency, _words = targets[target]
    name, interval = check["name"], params["interval"]
    if name == ERROR_RATIO:
        return error_ratio_query(params["success_metric"], params["failure_metric"], selector, interval)
    if name == LATENCY_P95:
        return latency_query(params["latency_metric"], join_matchers(params["latency_selector"], latency), interval)
    return custom_query(check["query"], selector, interval)


def analyze(params, query, now):
    """One analysis step: the module's result (see RETURN in plugins/modules/canary_analysis.py).

    ``query(expr, at=...)`` returns [(labels, float)]; ``now()`` is the evaluation time when ``time`` is not given,
    taken once so that every query sees the same instant.
    """
    targets, at = validate(params)
    if at is None:
        at = now()
    ran = []

    def run(check, target, expr):
        ran.append({"check": check, "target": target, "query": expr})
        try:
            return query(expr, at=at)
        except ApiInvalidParameterError as exc:
            raise failed_to("run the %s query of the %s, %s" % (check, target, expr), exc)

    interval = params["interval"]
    requests_samples = run("requests", "canary", requests_query(
        params["success_metric"], params["failure_metric"], targets["canary"][0], interval))
    requests, _problem = reading(requests_samples)
    requests = requests if requests is not None and not math.isinf(requests) else 0.0

    rows = []
    for check in params["checks"]:
        canary = reading(run(check["name"], "canary", _queries(params, targets, check, "canary")))
        primary = reading(run(check["name"], "primary", _queries(params, targets, check, "primary")))
        rows.append(judge_check(check, canary, primary))

    decision, failed_checks, rollback = decide(requests, rows, params["min_requests"], params["failed_checks"],
                                               params["threshold"])
    return {
        "changed": False,
        "decision": decision,
        "rollback": rollback,
        "failed_checks": failed_checks,
        "threshold": params["threshold"],
        "requests": requests,
        "min_requests": params["min_requests"],
        "interval": interval,
        "time": at,
        "canary_selector": targets["canary"][0],
        "primary_selector": targets["primary"][0],
        "verdicts": rows,
        "queries": ran,
        "msg": summary(decision, requests, rows, params, targets, failed_checks, rollback),
    }


def analyze_until_decided(params, query, clock, sleep):
    """Analysis rounds every ``repeat_every`` seconds until one decides (see RETURN of canary_analysis).

    With ``repeat_every`` 0 this is one round, :func:`analyze`. Otherwise each round waits ``repeat_every`` seconds
    first (so that its window holds traffic at the weights the caller just set), then judges; a pass or a rollback
    ends the rounds, a hold or a failed check below the threshold waits for the next round, as Flagger re-runs a step
    until it passes. Past ``timeout`` seconds the rounds end undecided with ``timed_out`` (Flagger's progress deadline):
    the caller's policy decides what that means (the rollout rolls back).
    """
    every, timeout = params["repeat_every"], params["timeout"]
    if every < 0:
        raise ApiInvalidParameterError("repeat_every must be 0 (one round) or a number of seconds, got %d" % every)
    if not every:
        result = analyze(params, query, clock)
        result.update(timed_out=False, rounds=[_round(result)])
        return result
    if params["time"] is not None:
        raise ApiInvalidParameterError("time replays one past window: it cannot be combined with repeat_every")
    if timeout < every:
        raise ApiInvalidParameterError("timeout (%d s) must be at least repeat_every (%d s)" % (timeout, every))
    validate(params)  # refuse bad input before the first wait
    deadline = clock() + timeout
    failed, rounds = params["failed_checks"], []
    while True:
        sleep(every)
        result = analyze(dict(params, failed_checks=failed), query, clock)
        rounds.append(_round(result))
        failed = result["failed_checks"]
        if result["decision"] == PASS or result["rollback"]:
            result.update(timed_out=False, rounds=rounds)
            return result
        if clock() + every > deadline:
            result.update(timed_out=True, rounds=rounds, msg="timed out after %d round(s) in %d s without a decision "
                          "(last: %s)" % (len(rounds), timeout, result["msg"]))
            return result


def _round(result):
    return {"time": result["time"], "decision": result["decision"], "requests": result["requests"],
            "failed_checks": result["failed_checks"], "msg": result["msg"]}
