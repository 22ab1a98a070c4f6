"""Unit tests of _canary: every decision path (pass, hold, fail, rollback at the threshold), the verdict rows and
their exact reasons (absolute and relative limits, a primary at 0, NaN, no data, several series, infinities), the
queries built, and the input refused with messages naming the option.

The analysis runs on ``FakePrometheus.query``, a fake query function that answers from a table by what a query
asks for (the kind of query and the target its selector names); the monitoring tier runs the same code against a
real Prometheus.
"""

from __future__ import absolute_import, division, print_function

import copy

import pytest

from ansible_collections.mlops.platform.plugins.module_utils._http_client import (
    ApiConnectionError,
    ApiInvalidParameterError,
)
from ansible_collections.mlops.platform.plugins.module_utils import _canary as canary

AT = 1704067500
NOW = 1800000000.5
NAN = float("nan")
INF = float("inf")
CANARY = 'model="iris",version="2"'
PRIMARY = 'model="iris",version="1"'


class FakePrometheus(object):
    """A fake query function: answers by (kind, target) from ``answers``; records every (expr, at)."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    @staticmethod
    def kind(expr):
        if expr.startswith("(sum(increase("):
            return "requests"
        if expr.startswith("histogram_quantile("):
            return "latency_p95"
        if "model_infer_request_failure_total" in expr:
            return "error_ratio"
        return "custom"

    @staticmethod
    def target(expr):
        if 'version="2"' in expr or "canary" in expr:
            return "canary"
        if 'version="1"' in expr or "primary" in expr:
            return "primary"
        raise AssertionError("the query names neither target: %s" % expr)

    def query(self, expr, at=None):
        self.calls.append((expr, at))
        answer = self.answers[(self.kind(expr), self.target(expr))]
        if isinstance(answer, Exception):
            raise answer
        if answer is None:
            return []
        if isinstance(answer, list):
            return answer
        return [({}, float(answer))]


def params(**overrides):
    """The module's params: the argspec's defaults, the suboptions of every check filled in as Ansible does."""
    p = dict((key, spec.get("default")) for key, spec in canary.ANALYSIS_ARGSPEC.items())
    p.update(model="iris", primary_version="1", canary_version="2", time=AT,
             checks=[{"name": "error_ratio", "max": 0.05}])
    p.update(overrides)
    p["checks"] = [dict(dict((key, None) for key in canary.CHECK_OPTIONS), **check) for check in p["checks"]]
    return p


def analyze(answers, **overrides):
    fake = FakePrometheus(answers)
    result = canary.analyze(params(**overrides), fake.query, lambda: NOW)
    return result, fake


def row(check, canary_value, primary, passed, reason, max=None, max_ratio=None, min=None, limit=None):  # noqa: A002 pylint: disable=redefined-builtin
    return {"check": check, "canary": canary_value, "primary": primary, "max": max, "max_ratio": max_ratio, "min": min,
            "limit": limit, "passed": passed, "reason": reason}


HEALTHY = {("requests", "canary"): 1200, ("error_ratio", "canary"): 0.00625, ("error_ratio", "primary"): 0.0125,
           ("latency_p95", "canary"): 0.3125, ("latency_p95", "primary"): 0.3125}
LATENCY = {"primary_latency_selector": 'pod=~"iris-primary-.*"', "canary_latency_selector": 'pod=~"iris-canary-.*"'}


def answers(**changes):
    table = dict(HEALTHY)
    for key, value in changes.items():
        kind, target = key.rsplit("__", 1)
        table[(kind, target)] = value
    return table


# ---------------------------------------------------------------- decisions

def test_pass_keeps_failed_checks_and_does_not_roll_back():
    result, _fake = analyze(answers(), checks=[{"name": "error_ratio", "max": 0.05, "max_ratio": 1.5},
                                               {"name": "latency_p95", "max": 0.5}],
                            failed_checks=2, threshold=5, **LATENCY)
    assert (result["decision"], result["failed_checks"], result["rollback"], result["changed"]) == ("pass", 2, False, False)
    assert result["requests"] == 1200
    assert result["verdicts"] == [
        row("error_ratio", 0.00625, 0.0125, True, "canary error ratio 0.00625 <= max 0.05 and <= 1.5 x primary 0.0125 = 0.01875",
            max=0.05, max_ratio=1.5, limit=1.5 * 0.0125),
        row("latency_p95", 0.3125, 0.3125, True, "canary p95 latency 0.3125s <= max 0.5s", max=0.5, limit=0.5),
    ]
    assert result["msg"] == ("pass: canary version 2 of model iris passed 2 checks over the last 1m (1200 requests); "
                             "failed checks 2 of threshold 5")


def test_fail_counts_one_more_failed_check_with_the_exact_reason():
    result, _fake = analyze(answers(error_ratio__canary=0.2), threshold=5)
    assert (result["decision"], result["failed_checks"], result["rollback"]) == ("fail", 1, False)
    assert result["verdicts"] == [row("error_ratio", 0.2, 0.0125, False, "canary error ratio 0.2 > max 0.05",
                                      max=0.05, limit=0.05)]
    assert result["msg"] == "fail: canary error ratio 0.2 > max 0.05; failed checks 1 of threshold 5"


def test_the_failed_check_that_reaches_the_threshold_rolls_back():
    result, _fake = analyze(answers(error_ratio__canary=0.2), failed_checks=4, threshold=5)
    assert (result["decision"], result["failed_checks"], result["rollback"]) == ("fail", 5, True)
    assert result["msg"] == "fail: canary error ratio 0.2 > max 0.05; failed checks 5 of threshold 5: roll back"


def test_below_the_threshold_no_rollback():
    result, _fake = analyze(answers(error_ratio__canary=0.2), failed_checks=3, threshold=5)
    assert (result["failed_checks"], result["rollback"]) == (4, False)


def test_default_threshold_is_one_as_in_flagger():
    assert canary.ANALYSIS_ARGSPEC["threshold"]["default"] == 1
    result, _fake = analyze(answers(error_ratio__canary=0.2))
    assert (result["decision"], result["failed_checks"], result["threshold"], result["rollback"]) == ("fail", 1, 1, True)


def test_every_failed_row_is_in_the_message():
    result, _fake = analyze(answers(error_ratio__canary=0.2, latency_p95__canary=0.9375),
                            checks=[{"name": "error_ratio", "max": 0.05}, {"name": "latency_p95", "max_ratio": 1.5}],
                            threshold=3, **LATENCY)
    assert result["failed_checks"] == 1
    assert result["msg"] == ("fail: canary error ratio 0.2 > max 0.05; canary p95 latency 0.9375s > 1.5 x primary "
                             "0.3125s = 0.46875s; failed checks 1 of threshold 3")


def test_hold_on_too_few_requests_counts_nothing_even_when_a_check_fails():
    result, _fake = analyze(answers(requests__canary=6, error_ratio__canary=0.5), min_requests=10, failed_checks=2,
                            threshold=5)
    assert (result["decision"], result["failed_checks"], result["rollback"], result["requests"]) == ("hold", 2, False, 6)
    # The row is computed and shown, but it does not count.
    assert result["verdicts"] == [row("error_ratio", 0.5, 0.0125, False, "canary error ratio 0.5 > max 0.05",
                                      max=0.05, limit=0.05)]
    assert result["msg"] == ("hold: the canary served 6 requests in the last 1m, fewer than min_requests 10; "
                             "no check counted; failed checks 2 of threshold 5")


def test_exactly_min_requests_is_judged():
    result, _fake = analyze(answers(requests__canary=10), min_requests=10)
    assert result["decision"] == "pass"


def test_default_min_requests_holds_only_a_canary_without_requests():
    assert canary.ANALYSIS_ARGSPEC["min_requests"]["default"] == 1
    result, _fake = analyze(answers(requests__canary=0, error_ratio__canary=NAN))
    assert (result["decision"], result["failed_checks"]) == ("hold", 0)
    assert result["msg"] == ("hold: the canary served 0 requests in the last 1m, fewer than min_requests 1; "
                             "no check counted; failed checks 0 of threshold 1")
    result, _fake = analyze(answers(requests__canary=1))
    assert result["decision"] == "pass"


def test_hold_after_the_threshold_was_reached_still_says_roll_back():
    result, _fake = analyze(answers(requests__canary=0), failed_checks=5, threshold=5)
    assert (result["decision"], result["failed_checks"], result["rollback"]) == ("hold", 5, True)
    assert result["msg"].endswith("failed checks 5 of threshold 5: roll back")


def test_fractional_request_count_from_increase():
    result, _fake = analyze(answers(requests__canary=9.75), min_requests=10)
    assert result["decision"] == "hold"
    assert result["msg"].startswith("hold: the canary served 9.75 requests in the last 1m")


def test_requests_without_an_answer_count_as_none():
    result, _fake = analyze(answers(requests__canary=None))
    assert (result["requests"], result["decision"]) == (0.0, "hold")


# ---------------------------------------------------------------- no data, NaN, infinities

def test_no_data_for_the_canary_fails_the_check():
    result, _fake = analyze(answers(error_ratio__canary=None), min_requests=0)
    assert result["decision"] == "fail"
    assert result["verdicts"] == [row("error_ratio", None, 0.0125, False,
                                      "no data for the canary error ratio (the query returned no series)",
                                      max=0.05, limit=0.05)]


def test_nan_for_the_canary_is_no_data():
    result, _fake = analyze(answers(error_ratio__canary=NAN), min_requests=0)
    assert result["verdicts"][0]["canary"] is None
    assert result["verdicts"][0]["passed"] is False
    assert result["verdicts"][0]["reason"] == "no data for the canary error ratio (the query returned NaN)"
    assert result["msg"] == ("fail: no data for the canary error ratio (the query returned NaN); "
                             "failed checks 1 of threshold 1: roll back")


def test_several_series_for_one_check():
    two = [({"pod": "a"}, 0.1), ({"pod": "b"}, 0.2)]
    result, _fake = analyze(answers(custom__canary=two, custom__primary=0.1),
                            checks=[{"name": "pods", "query": "max by (pod) (x{$selector})", "max": 1}])
    assert result["verdicts"][0]["reason"] == (
        "no data for the canary pods (the query returned 2 series; a check needs one value: aggregate them (sum, max ...))")


def test_infinite_canary_value_fails_and_shows_null():
    result, _fake = analyze(answers(custom__canary=INF, custom__primary=1.0),
                            checks=[{"name": "slowness", "query": "x{$selector} / 0", "max": 1}])
    assert result["verdicts"] == [row("slowness", None, 1.0, False, "canary slowness +Inf > max 1", max=1.0, limit=1.0)]


def test_no_data_for_the_primary_fails_a_relative_limit():
    result, _fake = analyze(answers(error_ratio__primary=None), checks=[{"name": "error_ratio", "max": 0.05,
                                                                         "max_ratio": 1.5}])
    assert result["verdicts"] == [row(
        "error_ratio", 0.00625, None, False,
        "no data for the primary error ratio (the query returned no series), so max_ratio 1.5 cannot be applied",
        max=0.05, max_ratio=1.5, limit=0.05)]
    assert result["decision"] == "fail"


def test_no_data_for_the_primary_without_a_relative_limit_is_ignored():
    result, _fake = analyze(answers(error_ratio__primary=NAN))
    assert result["verdicts"] == [row("error_ratio", 0.00625, None, True, "canary error ratio 0.00625 <= max 0.05",
                                      max=0.05, limit=0.05)]


def test_both_limits_broken_and_the_primary_missing_are_all_said():
    result, _fake = analyze(answers(latency_p95__canary=0.9375, latency_p95__primary=None),
                            checks=[{"name": "latency_p95", "max": 0.5, "max_ratio": 1.5}], **LATENCY)
    assert result["verdicts"][0]["reason"] == (
        "canary p95 latency 0.9375s > max 0.5s; no data for the primary p95 latency (the query returned no series), "
        "so max_ratio 1.5 cannot be applied")


# ---------------------------------------------------------------- relative limits

def test_relative_limit_against_a_primary_at_zero_allows_only_zero():
    check = [{"name": "error_ratio", "max_ratio": 1.5}]
    result, _fake = analyze(answers(error_ratio__canary=0.0, error_ratio__primary=0.0), checks=check)
    assert result["verdicts"] == [row("error_ratio", 0.0, 0.0, True, "canary error ratio 0 <= 1.5 x primary 0 = 0",
                                      max_ratio=1.5, limit=0.0)]
    result, _fake = analyze(answers(error_ratio__canary=0.001, error_ratio__primary=0.0), checks=check)
    assert result["verdicts"] == [row("error_ratio", 0.001, 0.0, False, "canary error ratio 0.001 > 1.5 x primary 0 = 0",
                                      max_ratio=1.5, limit=0.0)]


def test_limit_is_the_lower_of_max_and_the_relative_one():
    check = [{"name": "latency_p95", "max": 0.4, "max_ratio": 2}]
    result, _fake = analyze(answers(latency_p95__canary=0.45), checks=check, **LATENCY)
    # 2 x 0.3125 = 0.625 would allow it; max 0.4 does not.
    assert result["verdicts"] == [row("latency_p95", 0.45, 0.3125, False, "canary p95 latency 0.45s > max 0.4s",
                                      max=0.4, max_ratio=2.0, limit=0.4)]


def test_exactly_at_the_limit_passes():
    result, _fake = analyze(answers(latency_p95__canary=0.9375), checks=[{"name": "latency_p95", "max_ratio": 3}],
                            **LATENCY)
    assert result["verdicts"][0]["passed"] is True
    assert result["verdicts"][0]["reason"] == "canary p95 latency 0.9375s <= 3 x primary 0.3125s = 0.9375s"


def test_custom_check_with_a_minimum():
    check = [{"name": "throughput", "query": "sum(rate(x{$selector}[$interval]))", "min": 5}]
    result, _fake = analyze(answers(custom__canary=3, custom__primary=20), checks=check)
    assert result["verdicts"] == [row("throughput", 3.0, 20.0, False, "canary throughput 3 < min 5", min=5.0)]
    result, _fake = analyze(answers(custom__canary=7, custom__primary=20), checks=check)
    assert result["verdicts"][0]["reason"] == "canary throughput 7 >= min 5"


def test_custom_check_with_every_limit():
    check = [{"name": "mean_latency", "query": "m{$selector}", "min": 0.01, "max": 0.1, "max_ratio": 1.5}]
    result, _fake = analyze(answers(custom__canary=0.0625, custom__primary=0.0625), checks=check)
    assert result["verdicts"][0]["reason"] == (
        "canary mean_latency 0.0625 <= max 0.1 and <= 1.5 x primary 0.0625 = 0.09375 and >= min 0.01")
    assert result["verdicts"][0]["limit"] == 0.09375


# ---------------------------------------------------------------- queries

def test_queries_are_built_from_the_options_and_all_run_at_one_instant():
    result, fake = analyze(answers(custom__canary=1, custom__primary=1), time=None, interval="5m",
                           checks=[{"name": "error_ratio", "max": 0.05}, {"name": "latency_p95", "max": 0.5},
                                   {"name": "ratio", "query": "a{${selector}}[$interval] / b{$selector,code=\"500\"}",
                                    "max": 1}],
                           **LATENCY)
    ratio = ("(sum(rate(model_infer_request_failure_total{%s}[5m])) or vector(0)) / "
             "((sum(rate(model_infer_request_success_total{%s}[5m])) or vector(0)) + "
             "(sum(rate(model_infer_request_failure_total{%s}[5m])) or vector(0)))")
    latency = ('histogram_quantile(0.95, sum by (le) (rate(rest_server_request_duration_seconds_bucket'
               '{path=~"/v2/models/.+/infer",pod=~"iris-%s-.*"}[5m])))')
    expected = [
        ("requests", "canary", "(sum(increase(model_infer_request_success_total{%s}[5m])) or vector(0)) + "
                               "(sum(increase(model_infer_request_failure_total{%s}[5m])) or vector(0))" % (CANARY, CANARY)),
        ("error_ratio", "canary", ratio % (CANARY, CANARY, CANARY)),
        ("error_ratio", "primary", ratio % (PRIMARY, PRIMARY, PRIMARY)),
        ("latency_p95", "canary", latency % "canary"),
        ("latency_p95", "primary", latency % "primary"),
        ("ratio", "canary", 'a{%s}[5m] / b{%s,code="500"}' % (CANARY, CANARY)),
        ("ratio", "primary", 'a{%s}[5m] / b{%s,code="500"}' % (PRIMARY, PRIMARY)),
    ]
    assert result["queries"] == [{"check": c, "target": t, "query": q} for c, t, q in expected]
    assert fake.calls == [(q, NOW) for _c, _t, q in expected]
    assert result["time"] == NOW


def test_given_time_is_passed_as_given():
    result, fake = analyze(answers(), time="2024-01-01T00:05:00Z")
    assert set(at for _expr, at in fake.calls) == set(["2024-01-01T00:05:00Z"])
    assert result["time"] == "2024-01-01T00:05:00Z"


def test_other_metric_and_label_names():
    result, _fake = analyze(answers(), model_label="model_name", version_label="model_version",
                            success_metric="ok_total", failure_metric="model_infer_request_failure_total")
    assert result["canary_selector"] == 'model_name="iris",model_version="2"'
    assert result["queries"][0]["query"] == (
        '(sum(increase(ok_total{model_name="iris",model_version="2"}[1m])) or vector(0)) + '
        '(sum(increase(model_infer_request_failure_total{model_name="iris",model_version="2"}[1m])) or vector(0))')


def test_label_values_are_quoted():
    result, _fake = analyze(answers(), model='ir"is\\', primary_version="1", canary_version="2")
    assert result["canary_selector"] == 'model="ir\\"is\\\\",version="2"'


def test_raw_selectors_with_or_without_braces_apply_to_the_latency_histogram():
    result, _fake = analyze(answers(), model=None, primary_version=None, canary_version=None,
                            primary_selector='pod=~"iris-primary-.*"', canary_selector=' {pod=~"iris-canary-.*"} ',
                            checks=[{"name": "latency_p95", "max": 0.5}], latency_selector="")
    assert (result["primary_selector"], result["canary_selector"]) == ('pod=~"iris-primary-.*"', 'pod=~"iris-canary-.*"')
    assert result["queries"][1]["query"] == (
        'histogram_quantile(0.95, sum by (le) (rate(rest_server_request_duration_seconds_bucket{pod=~"iris-canary-.*"}[1m])))')
    assert result["msg"].startswith('pass: canary {pod=~"iris-canary-.*"} passed 1 check over the last 1m')


def test_latency_selectors_override_raw_selectors():
    result, _fake = analyze(answers(), model=None, primary_version=None, canary_version=None,
                            primary_selector='job="primary"', canary_selector='job="canary"',
                            checks=[{"name": "latency_p95", "max": 0.5}], **LATENCY)
    assert 'pod=~"iris-canary-.*"' in result["queries"][1]["query"]


def test_a_rejected_query_names_the_check_target_and_query():
    rejected = ApiInvalidParameterError('GET http://127.0.0.1:9090/api/v1/query: bad_data: invalid parameter "query": '
                                        "1:8: parse error: unexpected end of input", "bad_data", 400)
    with pytest.raises(ApiInvalidParameterError) as info:
        analyze(answers(custom__canary=rejected), checks=[{"name": "broken", "query": "x{$selector", "max": 1}])
    assert str(info.value) == (
        'Failed to run the broken query of the canary, x{model="iris",version="2": GET http://127.0.0.1:9090/api/v1/'
        'query: bad_data: invalid parameter "query": 1:8: parse error: unexpected end of input')
    assert (info.value.error_code, info.value.status) == ("bad_data", 400)


def test_connection_errors_pass_unchanged():
    down = ApiConnectionError("Cannot reach Prometheus at http://127.0.0.1:9090: [Errno 111] Connection refused")
    with pytest.raises(ApiConnectionError) as info:
        analyze(answers(requests__canary=down))
    assert str(info.value) == "Cannot reach Prometheus at http://127.0.0.1:9090: [Errno 111] Connection refused"


# ---------------------------------------------------------------- bad input

BAD_INPUT = [
    (dict(checks=[]), "checks must list at least one check"),
    (dict(checks=[{"name": "p99", "max": 1}]),
     "checks[0] (p99): unknown check 'p99': the built-in checks are error_ratio and latency_p95; a custom check needs a "
     "query"),
    (dict(checks=[{"name": "error_ratio"}]), "checks[0] (error_ratio): set max, max_ratio or both"),
    (dict(checks=[{"name": "error_ratio", "max": -0.05}]), "checks[0] (error_ratio): max must not be negative, got -0.05"),
    (dict(checks=[{"name": "error_ratio", "max_ratio": -1}]),
     "checks[0] (error_ratio): max_ratio must not be negative, got -1"),
    (dict(checks=[{"name": "x", "query": "a{$selector}", "max_ratio": -1}]),
     "checks[0] (x): max_ratio must not be negative, got -1"),
    (dict(checks=[{"name": "error_ratio", "max": NAN}]), "checks[0] (error_ratio): max must be a finite number, got nan"),
    (dict(checks=[{"name": "error_ratio", "max": 0.05, "min": 0.01}]),
     "checks[0] (error_ratio): min is for custom checks; error_ratio has max and max_ratio"),
    (dict(checks=[{"name": "error_ratio", "max": 0.05, "query": "x{$selector}"}]),
     "checks[0] (error_ratio): query is for custom checks; error_ratio is built in"),
    (dict(checks=[{"name": "error_ratio", "max": 0.05}, {"name": "error_ratio", "max": 0.1}]),
     "checks[1] (error_ratio): check 'error_ratio' is listed twice"),
    (dict(checks=[{"name": "x", "query": "a{$selector}"}]), "checks[0] (x): set max, min, max_ratio or a combination"),
    (dict(checks=[{"name": "x", "query": "a{$selector}", "min": 2, "max": 1}]), "checks[0] (x): min 2 is greater than max 1"),
    (dict(checks=[{"name": "x", "query": "sum(a)", "max": 1}]),
     "checks[0] (x): query must contain $selector (replaced by the canary's and the primary's label matchers)"),
    (dict(checks=[{"name": "x", "query": "a{$selector}[$__rate_interval] / $b", "max": 1}]),
     "checks[0] (x): unknown placeholder $__rate_interval, $b in query: use $selector and $interval"),
    (dict(checks=[{"name": "latency_p95", "max": 0.5}]),
     'checks[0] (latency_p95): set primary_latency_selector and canary_latency_selector (for example '
     'pod=~"iris-primary-.*"): model and the versions select the serving counters only, since MLServer\'s latency '
     "histogram (rest_server_request_duration_seconds) has no model or version label"),
    (dict(checks=[{"name": "error_ratio", "max": 1}, {"name": "latency_p95", "max": 0.5}],
          primary_latency_selector='pod="a"', canary_latency_selector='{pod="a"}'),
     'checks[1] (latency_p95): the primary and the canary select the same rest_server_request_duration_seconds '
     'series (pod="a"): give them different latency selectors'),
    (dict(interval="1 minute"), "interval must be a Prometheus duration such as 1m, 30s or 1h30m, got '1 minute'"),
    (dict(interval="0m"), "interval must be a Prometheus duration such as 1m, 30s or 1h30m, got '0m'"),
    (dict(interval=""), "interval must be a Prometheus duration such as 1m, 30s or 1h30m, got ''"),
    (dict(min_requests=-1), "min_requests must be 0 or more, got -1"),
    (dict(threshold=0), "threshold must be 1 or more, got 0"),
    (dict(failed_checks=-1), "failed_checks must be 0 or more, got -1"),
    (dict(time="yesterday"),
     "time must be Unix seconds or an RFC 3339 timestamp (for example 2024-01-01T00:30:00Z), got 'yesterday'"),
    (dict(time=True), "time must be Unix seconds or an RFC 3339 timestamp, got True"),
    (dict(canary_version="1"),
     'the primary and the canary select the same series (model="iris",version="1"): give them different versions or '
     "selectors"),
    (dict(version_label="ver-sion"), "version_label must be a Prometheus label name, got 'ver-sion'"),
    (dict(failure_metric="model infer"), "failure_metric must be a Prometheus metric name, got 'model infer'"),
    (dict(model=None, primary_version=None, canary_version=None, primary_selector="{}", canary_selector='a="b"'),
     "primary_selector must hold at least one label matcher"),
]


@pytest.mark.parametrize("overrides, message", BAD_INPUT)
def test_bad_input_is_refused_before_any_query(overrides, message):
    fake = FakePrometheus(answers())
    with pytest.raises(ApiInvalidParameterError) as info:
        canary.analyze(params(**overrides), fake.query, lambda: NOW)
    assert str(info.value) == message
    assert fake.calls == []


@pytest.mark.parametrize("value", [AT, 1704067500.25, "1704067500", "2024-01-01T00:05:00Z", "2024-01-01T00:05:00.5+01:00"])
def test_accepted_times(value):
    assert canary.validate_time(value) == value


@pytest.mark.parametrize("interval", ["1m", "30s", "1h30m", "500ms", "2d"])
def test_accepted_intervals(interval):
    canary.validate_interval(interval)


def test_params_are_not_changed():
    p = params(checks=[{"name": "error_ratio", "max": 0.05}])
    before = copy.deepcopy(p)
    canary.analyze(p, FakePrometheus(answers()).query, lambda: NOW)
    assert p == before


# ---------------------------------------------------------------- pieces

def test_fmt():
    assert [canary.fmt(v) for v in (0.2, 0.0, 1200.0, 1234567.0, -3.0, 0.018750000000000003, 1e-7, 1234567.5, 1e20,
                                    INF, -INF, NAN)] == [
        "0.2", "0", "1200", "1234567", "-3", "0.01875", "1e-07", "1.23457e+06", "1e+20", "+Inf", "-Inf", "NaN"]


def test_decide_table():
    passed, failed = {"passed": True}, {"passed": False}
    assert canary.decide(100, [passed, passed], 100, 0, 1) == ("pass", 0, False)
    assert canary.decide(99, [failed], 100, 0, 1) == ("hold", 0, False)
    assert canary.decide(100, [passed, failed], 100, 0, 2) == ("fail", 1, False)
    assert canary.decide(100, [failed], 100, 1, 2) == ("fail", 2, True)
    assert canary.decide(100, [], 0, 0, 1) == ("pass", 0, False)


# ---------------------------------------------------------------- rounds (repeat_every)

class Clock(object):
    """A clock that only sleep() moves: the rounds' timing without waiting."""

    def __init__(self):
        self.now = NOW
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class Sequence(object):
    """Answers of successive rounds: round i answers from tables[i] (the last one repeats)."""

    def __init__(self, tables, clock):
        self.tables, self.clock, self.start = tables, clock, clock.now

    def query(self, expr, at=None):
        index = min(len(self.clock.sleeps) - 1, len(self.tables) - 1)
        return FakePrometheus(self.tables[index]).query(expr, at)


def rounds(tables, **overrides):
    clock = Clock()
    overrides.setdefault("time", None)
    result = canary.analyze_until_decided(params(**overrides), Sequence(tables, clock).query, clock, clock.sleep)
    return result, clock


def test_one_round_without_repeat_every():
    result, clock = rounds([answers()])
    assert (result["decision"], result["timed_out"], clock.sleeps) == ("pass", False, [])
    assert [r["decision"] for r in result["rounds"]] == ["pass"]


def test_rounds_wait_first_then_hold_until_enough_traffic_then_pass():
    result, clock = rounds([answers(requests__canary=3), answers(requests__canary=3), answers()],
                           repeat_every=5, timeout=60, min_requests=10)
    assert clock.sleeps == [5, 5, 5]
    assert [r["decision"] for r in result["rounds"]] == ["hold", "hold", "pass"]
    assert (result["decision"], result["rollback"], result["timed_out"], result["failed_checks"]) == (
        "pass", False, False, 0)


def test_failed_checks_add_up_over_rounds_until_the_threshold():
    result, clock = rounds([answers(error_ratio__canary=0.2)], repeat_every=5, timeout=60, threshold=3,
                           failed_checks=1)
    assert [r["failed_checks"] for r in result["rounds"]] == [2, 3]
    assert (result["decision"], result["rollback"], result["timed_out"]) == ("fail", True, False)
    assert clock.sleeps == [5, 5]


def test_rounds_time_out_undecided():
    result, clock = rounds([answers(requests__canary=2)], repeat_every=5, timeout=12, min_requests=10)
    assert clock.sleeps == [5, 5]
    assert (result["decision"], result["rollback"], result["timed_out"]) == ("hold", False, True)
    assert result["msg"].startswith("timed out after 2 round(s) in 12 s without a decision (last: hold: ")


@pytest.mark.parametrize("overrides,message", [
    ({"repeat_every": -1}, "repeat_every must be 0 (one round) or a number of seconds, got -1"),
    ({"repeat_every": 10, "timeout": 5}, "timeout (5 s) must be at least repeat_every (10 s)"),
    ({"repeat_every": 10, "time": AT}, "time replays one past window: it cannot be combined with repeat_every"),
    ({"repeat_every": 10, "interval": "often"},
     "interval must be a Prometheus duration such as 1m, 30s or 1h30m, got 'often'"),
])
def test_rounds_refuse_bad_input_before_waiting(overrides, message):
    clock = Clock()
    p = params(**dict({"time": None}, **overrides))
    with pytest.raises(ApiInvalidParameterError) as err:
        canary.analyze_until_decided(p, FakePrometheus(answers()).query, clock, clock.sleep)
    assert str(err.value) == message
    assert clock.sleeps == []
