"""The series of the canary analysis tests (test_canary_analysis.py), in OpenMetrics text for promtool's backfill.

Named as MLServer 1.7.1 names them (see README.md): per model and version the counters
model_infer_request_success_total / _failure_total and the summary model_infer_request_duration; per serving pod the
REST server's histogram rest_server_request_duration_seconds (app_name, method, path as the route template,
status_code; no model label) with prometheus_client's default buckets; plus the labels a PodMonitor scrape adds
(namespace, pod, job).

One scenario per model, each with a primary (version 1) and a canary (version 2) in pods of their own:
healthy, errors (20 % of the canary's requests fail), slow (the canary's p95 is 3x the primary's) and quiet (the
canary gets 75 requests a minute). Ten minutes at 15 s steps from T0, every rate constant.

The rates are sums of powers of two, so that Prometheus's float arithmetic gives the exact values below: rate()
over a window whose samples sit on its edges is increase / seconds, and histogram_quantile's interpolation of these
buckets is exact (the expected p95 values are worked out next to FAST and SLOW).
"""

T0 = 1704067200  # 2024-01-01 00:00:00 UTC
STEP = 15
SAMPLES = 41  # T0 .. T0 + 10 min
QUERY_TIME = T0 + 5 * 60  # on a sample, so a 1m window holds 5 samples at its edges
NAMESPACE = "mlops-models"
PRIMARY = "1"
CANARY = "2"

BUCKETS = ["0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75", "1.0", "2.5", "5.0", "7.5",
           "10.0", "+Inf"]
# Cumulative requests per second at or below each bound, for 20 requests per second.
# FAST: p95 rank = 0.95 * 20 = 19 falls in (0.25, 0.5] (18.75 below, 1 inside): 0.25 + 0.25 * 0.25 / 1 = 0.3125.
FAST = [0, 1, 4, 8, 12, 15, 18.75, 19.75, 20, 20, 20, 20, 20, 20, 20]
FAST_P95 = 0.3125
# SLOW: rank 19 falls in (0.75, 1.0] (18.25 below, 1 inside): 0.75 + 0.25 * 0.75 / 1 = 0.9375, 3 x FAST_P95.
SLOW = [0, 0, 0, 1, 2, 4, 8, 12, 18.25, 19.25, 20, 20, 20, 20, 20]
SLOW_P95 = 0.9375

# Per scenario and version: requests per second, failed requests per second, histogram, mean latency (summary).
PRIMARY_SERIES = {"rps": 20.0, "failures": 0.25, "histogram": FAST, "mean": 0.0625}
SCENARIOS = {
    "healthy": {PRIMARY: PRIMARY_SERIES, CANARY: {"rps": 20.0, "failures": 0.125, "histogram": FAST, "mean": 0.0625}},
    "errors": {PRIMARY: PRIMARY_SERIES, CANARY: {"rps": 20.0, "failures": 4.0, "histogram": FAST, "mean": 0.0625}},
    "slow": {PRIMARY: PRIMARY_SERIES, CANARY: {"rps": 20.0, "failures": 0.125, "histogram": SLOW, "mean": 0.1875}},
    # 1.25 requests per second: 75 in a minute. Its histogram is FAST / 16, so its p95 is FAST_P95 too.
    "quiet": {PRIMARY: PRIMARY_SERIES,
              CANARY: {"rps": 1.25, "failures": 0.0, "histogram": [b / 16.0 for b in FAST], "mean": 0.0625}},
}


def pod(model, version):
    return "%s-%s-7d9f8-abcde" % (model, "primary" if version == PRIMARY else "canary")


def _labels(**labels):
    return "{" + ",".join('%s="%s"' % item for item in sorted(labels.items())) + "}"


def _counter(name, labels, per_second):
    # Every per-step increment is a multiple of 1/64 and every value below 2**40: exact in a float, printed exactly.
    return ["%s%s %r %d" % (name, labels, per_second * STEP * i, T0 + STEP * i) for i in range(SAMPLES)]


def openmetrics(namespace=NAMESPACE, models=None, pod_name=None):
    """The series as OpenMetrics text. ``models`` maps a model name to the scenario it plays (default: one model per
    scenario, named after it); ``pod_name(model, version)`` names its pods (default: pod())."""
    models = models or dict((name, name) for name in SCENARIOS)
    pod_name = pod_name or pod
    families = {"success": [], "failure": [], "count": [], "sum": [], "bucket": [], "rest_count": [], "rest_sum": []}
    for model, scenario in sorted(models.items()):
        for version, s in sorted(SCENARIOS[scenario].items()):
            scrape = {"namespace": namespace, "job": namespace + "/mlserver", "pod": pod_name(model, version)}
            infer = _labels(model=model, version=version, **scrape)
            families["success"] += _counter("model_infer_request_success_total", infer, s["rps"] - s["failures"])
            families["failure"] += _counter("model_infer_request_failure_total", infer, s["failures"])
            families["count"] += _counter("model_infer_request_duration_count", infer, s["rps"])
            families["sum"] += _counter("model_infer_request_duration_sum", infer, s["rps"] * s["mean"])
            rest = dict(scrape, app_name="mlserver", method="POST", path="/v2/models/{model_name}/infer",
                        status_code="200")
            for bound, per_second in zip(BUCKETS, s["histogram"]):
                families["bucket"] += _counter("rest_server_request_duration_seconds_bucket",
                                               _labels(le=bound, **rest), per_second)
            families["rest_count"] += _counter("rest_server_request_duration_seconds_count", _labels(**rest), s["rps"])
            families["rest_sum"] += _counter("rest_server_request_duration_seconds_sum", _labels(**rest),
                                             s["rps"] * s["mean"])
    out = ["# HELP model_infer_request_success Model infer request success count",
           "# TYPE model_infer_request_success counter"] + families["success"]
    out += ["# HELP model_infer_request_failure Model infer request failure count",
            "# TYPE model_infer_request_failure counter"] + families["failure"]
    out += ["# HELP model_infer_request_duration Model infer request duration",
            "# TYPE model_infer_request_duration summary"] + families["count"] + families["sum"]
    out += ["# HELP rest_server_request_duration_seconds HTTP request duration, in seconds",
            "# TYPE rest_server_request_duration_seconds histogram"]
    out += families["bucket"] + families["rest_count"] + families["rest_sum"]
    out.append("# EOF")
    return "\n".join(out) + "\n"


def requests_per_minute(model, version):
    return SCENARIOS[model][version]["rps"] * 60


def error_ratio(model, version):
    s = SCENARIOS[model][version]
    return s["failures"] / s["rps"]
