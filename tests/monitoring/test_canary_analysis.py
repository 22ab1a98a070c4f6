"""mlops.platform.canary_analysis through ansible-playbook (canary_analysis.yml) against a real Prometheus 2.42 whose
TSDB holds canary_series.py's backfilled MLServer series, replayed at canary_series.QUERY_TIME.

The expected values come from canary_series' constants; the rates and buckets there are chosen so that Prometheus's
float arithmetic gives them exactly.
"""

import json
import os
import sys

import pytest

import canary_series as cs
from conftest import ANSIBLE_PLAYBOOK, ROOT, BackfilledPrometheus, run

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from support.server_process import free_port  # noqa: E402  pylint: disable=wrong-import-position

HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN = "s3cret-canary-token"
PASSWORD = "s3cret-canary-password"
MEAN_LATENCY = ("sum(rate(model_infer_request_duration_sum{%s}[%s])) "
                "/ sum(rate(model_infer_request_duration_count{%s}[%s]))")


@pytest.fixture(scope="module")
def canary_prometheus(tmp_path_factory):
    server = BackfilledPrometheus(str(tmp_path_factory.mktemp("canary-prometheus")), cs.openmetrics())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def played(canary_prometheus, tmp_path_factory):
    base = tmp_path_factory.mktemp("canary-analysis")
    # The collection resolves to this checkout, whatever else ANSIBLE_COLLECTIONS_PATH holds.
    namespace = base / "collections" / "ansible_collections" / "mlops"
    namespace.mkdir(parents=True)
    os.symlink(ROOT, str(namespace / "platform"))
    closed_port = free_port()  # nothing listens there
    extra = {"canary_prometheus_url": canary_prometheus.url, "canary_time": cs.QUERY_TIME, "canary_out": str(base),
             "canary_closed_port": closed_port, "ansible_python_interpreter": sys.executable}
    (base / "extra-vars.json").write_text(json.dumps(extra))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_COLLECTIONS_PATH=str(base / "collections"))
    proc = run([ANSIBLE_PLAYBOOK, "-vvv", "-i", "localhost,", os.path.join(HERE, "canary_analysis.yml"),
                "-e", "@" + str(base / "extra-vars.json")], cwd=str(base), env=env)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    # Five cases fail on purpose, each ignored and kept; none other fails.
    assert "ignored=5" in proc.stdout
    with open(str(base / "results.json")) as handle:
        results = json.load(handle)
    return {"results": results, "stdout": proc.stdout + proc.stderr, "url": canary_prometheus.url, "closed_port": closed_port}


@pytest.fixture(scope="module")
def results(played):
    return played["results"]


def matchers(model, version):
    return 'model="%s",version="%s"' % (model, version)


def row(check, canary, primary, passed, reason, max=None, max_ratio=None, min=None, limit=None):  # noqa: A002 pylint: disable=redefined-builtin
    return {"check": check, "canary": canary, "primary": primary, "max": max, "max_ratio": max_ratio, "min": min,
            "limit": limit, "passed": passed, "reason": reason}


PRIMARY_RATIO = cs.error_ratio("healthy", cs.PRIMARY)  # 0.0125, the same primary in every scenario


def error_ratio_row(model, passed, reason):
    return row("error_ratio", cs.error_ratio(model, cs.CANARY), PRIMARY_RATIO, passed, reason, max=0.05, max_ratio=1.5,
               limit=min(0.05, 1.5 * PRIMARY_RATIO))


def latency_row(canary, passed, reason):
    return row("latency_p95", canary, cs.FAST_P95, passed, reason, max=0.5, max_ratio=1.5, limit=1.5 * cs.FAST_P95)


def mean_row(canary, passed, reason):
    return row("mean_latency", canary, 0.0625, passed, reason, max=0.1, limit=0.1)


def test_the_scenarios_hold_what_they_claim():
    assert cs.error_ratio("healthy", cs.PRIMARY) == 0.0125
    assert cs.error_ratio("errors", cs.CANARY) == 0.2
    assert cs.SLOW_P95 == 3 * cs.FAST_P95
    assert cs.requests_per_minute("quiet", cs.CANARY) == 75


def test_healthy_canary_passes(results):
    r = results["healthy"]
    assert (r["decision"], r["failed_checks"], r["rollback"], r["changed"]) == ("pass", 0, False, False)
    assert r["requests"] == cs.requests_per_minute("healthy", cs.CANARY) == 1200
    assert r["time"] == cs.QUERY_TIME
    assert r["verdicts"] == [
        error_ratio_row("healthy", True, "canary error ratio 0.00625 <= max 0.05 and <= 1.5 x primary 0.0125 = 0.01875"),
        latency_row(0.3125, True, "canary p95 latency 0.3125s <= max 0.5s and <= 1.5 x primary 0.3125s = 0.46875s"),
        mean_row(0.0625, True, "canary mean_latency 0.0625 <= max 0.1"),
    ]
    assert r["msg"] == ("pass: canary version 2 of model healthy passed 3 checks over the last 1m (1200 requests); "
                        "failed checks 0 of threshold 5")


def test_every_query_is_returned_as_run(results):
    canary, primary = matchers("healthy", "2"), matchers("healthy", "1")
    latency = ('histogram_quantile(0.95, sum by (le) (rate(rest_server_request_duration_seconds_bucket'
               '{path=~"/v2/models/.+/infer",pod=~"healthy-%s-.*"}[1m])))')
    ratio = ("(sum(rate(model_infer_request_failure_total{%s}[1m])) or vector(0)) / "
             "((sum(rate(model_infer_request_success_total{%s}[1m])) or vector(0)) + "
             "(sum(rate(model_infer_request_failure_total{%s}[1m])) or vector(0)))")
    assert results["healthy"]["queries"] == [
        {"check": "requests", "target": "canary",
         "query": "(sum(increase(model_infer_request_success_total{%s}[1m])) or vector(0)) + "
                  "(sum(increase(model_infer_request_failure_total{%s}[1m])) or vector(0))" % (canary, canary)},
        {"check": "error_ratio", "target": "canary", "query": ratio % (canary, canary, canary)},
        {"check": "error_ratio", "target": "primary", "query": ratio % (primary, primary, primary)},
        {"check": "latency_p95", "target": "canary", "query": latency % "canary"},
        {"check": "latency_p95", "target": "primary", "query": latency % "primary"},
        {"check": "mean_latency", "target": "canary", "query": MEAN_LATENCY % (canary, "1m", canary, "1m")},
        {"check": "mean_latency", "target": "primary", "query": MEAN_LATENCY % (primary, "1m", primary, "1m")},
    ]


def test_check_mode_judges_the_same_and_changes_nothing(results):
    r, full = results["check_mode"], results["healthy"]
    assert r["changed"] is False
    assert (r["decision"], r["verdicts"], r["queries"], r["msg"]) == (
        full["decision"], full["verdicts"], full["queries"], full["msg"])


def test_canary_with_errors_fails_and_counts_one_more_failed_check(results):
    r = results["errors"]
    assert (r["decision"], r["failed_checks"], r["rollback"]) == ("fail", 2, False)
    assert r["requests"] == 1200
    assert r["verdicts"] == [
        error_ratio_row("errors", False, "canary error ratio 0.2 > max 0.05 and > 1.5 x primary 0.0125 = 0.01875"),
        latency_row(0.3125, True, "canary p95 latency 0.3125s <= max 0.5s and <= 1.5 x primary 0.3125s = 0.46875s"),
        mean_row(0.0625, True, "canary mean_latency 0.0625 <= max 0.1"),
    ]
    assert r["msg"] == ("fail: canary error ratio 0.2 > max 0.05 and > 1.5 x primary 0.0125 = 0.01875; "
                        "failed checks 2 of threshold 5")


def test_the_failed_check_that_reaches_the_threshold_rolls_back(results):
    r = results["errors_threshold"]
    assert (r["decision"], r["failed_checks"], r["threshold"], r["rollback"]) == ("fail", 5, 5, True)
    assert r["verdicts"] == [row("error_ratio", 0.2, PRIMARY_RATIO, False, "canary error ratio 0.2 > max 0.05",
                                 max=0.05, limit=0.05)]
    assert r["msg"] == "fail: canary error ratio 0.2 > max 0.05; failed checks 5 of threshold 5: roll back"


def test_default_threshold_is_flaggers_one(results):
    r = results["errors_default"]
    assert (r["decision"], r["failed_checks"], r["threshold"], r["rollback"]) == ("fail", 1, 1, True)
    assert r["msg"] == "fail: canary error ratio 0.2 > max 0.05; failed checks 1 of threshold 1: roll back"


def test_slow_canary_fails_on_latency(results):
    r = results["slow"]
    assert (r["decision"], r["failed_checks"], r["rollback"]) == ("fail", 1, False)
    assert r["verdicts"] == [
        error_ratio_row("slow", True, "canary error ratio 0.00625 <= max 0.05 and <= 1.5 x primary 0.0125 = 0.01875"),
        latency_row(cs.SLOW_P95, False, "canary p95 latency 0.9375s > max 0.5s and > 1.5 x primary 0.3125s = 0.46875s"),
        mean_row(0.1875, False, "canary mean_latency 0.1875 > max 0.1"),
    ]
    assert r["msg"] == ("fail: canary p95 latency 0.9375s > max 0.5s and > 1.5 x primary 0.3125s = 0.46875s; "
                        "canary mean_latency 0.1875 > max 0.1; failed checks 1 of threshold 5")


def test_quiet_canary_holds_and_counts_nothing(results):
    r = results["quiet"]
    assert (r["decision"], r["failed_checks"], r["rollback"]) == ("hold", 2, False)
    assert r["requests"] == 75
    # The rows are still computed (and shown); they do not count.
    assert r["verdicts"] == [
        row("error_ratio", 0.0, PRIMARY_RATIO, True, "canary error ratio 0 <= max 0.05 and <= 1.5 x primary 0.0125 = 0.01875",
            max=0.05, max_ratio=1.5, limit=1.5 * PRIMARY_RATIO),
        latency_row(0.3125, True, "canary p95 latency 0.3125s <= max 0.5s and <= 1.5 x primary 0.3125s = 0.46875s"),
        mean_row(0.0625, True, "canary mean_latency 0.0625 <= max 0.1"),
    ]
    assert r["msg"] == ("hold: the canary served 75 requests in the last 1m, fewer than min_requests 100; "
                        "no check counted; failed checks 2 of threshold 5")


def test_canary_without_data_fails_every_check(results):
    r = results["no_data"]
    assert (r["decision"], r["failed_checks"], r["rollback"], r["requests"]) == ("fail", 1, False, 0)
    assert r["verdicts"] == [
        row("error_ratio", None, PRIMARY_RATIO, False, "no data for the canary error ratio (the query returned NaN)",
            max=0.05, max_ratio=1.5, limit=1.5 * PRIMARY_RATIO),
        latency_row(None, False, "no data for the canary p95 latency (the query returned no series)"),
        mean_row(None, False, "no data for the canary mean_latency (the query returned no series)"),
    ]


def test_raw_selectors_apply_to_the_latency_histogram_too(results):
    r = results["raw"]
    assert (r["decision"], r["failed_checks"], r["requests"]) == ("pass", 0, 2400)
    assert (r["canary_selector"], r["primary_selector"]) == ('pod=~"slow-canary-.*"', 'pod=~"slow-primary-.*"')
    assert r["verdicts"] == [
        row("error_ratio", 0.00625, PRIMARY_RATIO, True, "canary error ratio 0.00625 <= 1 x primary 0.0125 = 0.0125",
            max_ratio=1.0, limit=PRIMARY_RATIO),
        # Exactly at the limit passes.
        row("latency_p95", cs.SLOW_P95, cs.FAST_P95, True,
            "canary p95 latency 0.9375s <= 3 x primary 0.3125s = 0.9375s", max_ratio=3.0, limit=cs.SLOW_P95),
    ]
    assert r["queries"][3]["query"] == (
        'histogram_quantile(0.95, sum by (le) (rate(rest_server_request_duration_seconds_bucket'
        '{path=~"/v2/models/.+/infer",pod=~"slow-canary-.*"}[2m])))')


def test_unreachable_prometheus(played):
    r = played["results"]["unreachable"]
    assert r["failed"] is True
    assert r["msg"] == "Cannot reach Prometheus at http://127.0.0.1:%d: [Errno 111] Connection refused" % played["closed_port"]


def test_bad_check_options(results):
    assert results["unknown_check"]["msg"] == (
        "checks[1] (p99): unknown check 'p99': the built-in checks are error_ratio and latency_p95; "
        "a custom check needs a query")
    assert results["no_limit"]["msg"] == "checks[0] (error_ratio): set max, max_ratio or both"
    assert results["negative"]["msg"] == "checks[0] (latency_p95): max must not be negative, got -0.5"
    for case in ("unknown_check", "no_limit", "negative"):
        assert results[case]["failed"] is True
        assert "decision" not in results[case]


def test_bad_promql_fails_with_prometheus_own_error(played):
    r = played["results"]["bad_promql"]
    query = "sum(rate(model_infer_request_duration_sum{%s}[1m])" % matchers("healthy", "2")
    assert r["failed"] is True
    assert r["msg"] == (
        'Failed to run the broken query of the canary, %s: GET %s/api/v1/query: bad_data: invalid parameter "query": '
        "1:%d: parse error: unclosed left parenthesis" % (query, played["url"], len(query) + 1))
    assert (r["error_code"], r["http_status"]) == ("bad_data", 400)


def test_secrets_never_appear(played):
    # The playbook gives both (the token to a run that succeeds, the password to one that fails); -vvv output and
    # every result must hold neither.
    with open(os.path.join(HERE, "canary_analysis.yml")) as handle:
        playbook = handle.read()
    everything = played["stdout"] + json.dumps(played["results"])
    for secret in (TOKEN, PASSWORD):
        assert secret in playbook
        assert secret not in everything
