"""The series backfilled into the monitoring tier's Prometheus, in OpenMetrics text.

Named as the real exporters name them: MLServer 1.7.1 (measured on a running MLServer: the counters
model_infer_request_success_total / _failure_total and the summary model_infer_request_duration per model and
version; the REST server's histogram rest_server_request_duration_seconds with app_name, method, path - the route
template - and status_code, and the default prometheus_client buckets), plus the labels a PodMonitor scrape adds
(namespace, pod, job), and the model-quality gauges the roles name (mlops_model_quality per model, version and
metric; mlops_model_champion, value the champion's version).

One hour at 15 s steps from T0. Every rate is constant, so the expected answers follow from the constants below:
tests compute them from these, not from literals.
"""

T0 = 1704067200  # 2024-01-01 00:00:00 UTC
STEP = 15
SAMPLES = 241  # T0 .. T0 + 60 min
QUERY_TIME = T0 + 50 * 60
NAMESPACE = "mlops-models"
MODEL = "iris"
PRIMARY = "1"
CANARY = "2"
# Per model version: inference requests per second, failed requests per second, mean latency (seconds), and the pod.
SERVING = {
    PRIMARY: {"rps": 10.0, "failures": 0.1, "latency": 0.05, "pod": "iris-primary-7d9f8-abcde"},
    CANARY: {"rps": 2.0, "failures": 0.5, "latency": 0.08, "pod": "iris-canary-5c6b7-fghij"},
}
# MLServer's REST histogram buckets (prometheus_client's defaults) and, per pod, the share of requests at or below
# each bound (cumulative), per second = share * rps.
BUCKETS = ["0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75", "1.0", "2.5", "5.0", "7.5",
           "10.0", "+Inf"]
SHARES = {
    PRIMARY: [0.0, 0.1, 0.3, 0.6, 0.8, 0.9, 0.95, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
    CANARY: [0.0, 0.0, 0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
}
# Gate metrics per version, and the champion: version 1 for the first 30 minutes, then version 2.
QUALITY = {PRIMARY: {"accuracy": 0.93, "f1": 0.91}, CANARY: {"accuracy": 0.96, "f1": 0.94}}
CHAMPION_SWITCH = T0 + 30 * 60


def _labels(**labels):
    return "{" + ",".join('%s="%s"' % item for item in sorted(labels.items())) + "}"


def _counter_lines(name, labels, per_second):
    return ["%s%s %r %d" % (name, labels, round(per_second * STEP * i, 6), T0 + STEP * i) for i in range(SAMPLES)]


def openmetrics():
    out = []
    scrape = {"namespace": NAMESPACE, "job": NAMESPACE + "/mlserver"}
    infer = dict((v, _labels(model=MODEL, version=v, **dict(scrape, pod=s["pod"]))) for v, s in SERVING.items())

    out += ["# HELP model_infer_request_success Model infer request success count",
            "# TYPE model_infer_request_success counter"]
    for version, s in SERVING.items():
        out += _counter_lines("model_infer_request_success_total", infer[version], s["rps"] - s["failures"])
    out += ["# HELP model_infer_request_failure Model infer request failure count",
            "# TYPE model_infer_request_failure counter"]
    for version, s in SERVING.items():
        out += _counter_lines("model_infer_request_failure_total", infer[version], s["failures"])
    out += ["# HELP model_infer_request_duration Model infer request duration",
            "# TYPE model_infer_request_duration summary"]
    for version, s in SERVING.items():
        out += _counter_lines("model_infer_request_duration_count", infer[version], s["rps"])
        out += _counter_lines("model_infer_request_duration_sum", infer[version], s["rps"] * s["latency"])

    out += ["# HELP rest_server_request_duration_seconds HTTP request duration, in seconds",
            "# TYPE rest_server_request_duration_seconds histogram"]
    for version, s in SERVING.items():
        rest = dict(scrape, pod=s["pod"], app_name="mlserver", method="POST", path="/v2/models/{model_name}/infer",
                    status_code="200")
        for bound, share in zip(BUCKETS, SHARES[version]):
            out += _counter_lines("rest_server_request_duration_seconds_bucket", _labels(le=bound, **rest),
                                  share * s["rps"])
        out += _counter_lines("rest_server_request_duration_seconds_count", _labels(**rest), s["rps"])
        out += _counter_lines("rest_server_request_duration_seconds_sum", _labels(**rest), s["rps"] * s["latency"])

    out += ["# HELP mlops_model_quality Gate metric of a model version", "# TYPE mlops_model_quality gauge"]
    for version, metrics in QUALITY.items():
        for metric, value in sorted(metrics.items()):
            labels = _labels(model=MODEL, version=version, metric=metric)
            out += ["mlops_model_quality%s %r %d" % (labels, value, T0 + STEP * i) for i in range(SAMPLES)]
    out += ["# HELP mlops_model_champion The champion version of a model", "# TYPE mlops_model_champion gauge"]
    for version in (PRIMARY, CANARY):
        labels = _labels(model=MODEL, version=version)
        for i in range(SAMPLES):
            at = T0 + STEP * i
            if (at < CHAMPION_SWITCH) == (version == PRIMARY):
                out.append("mlops_model_champion%s %s %d" % (labels, version, at))
    out.append("# EOF")
    return "\n".join(out) + "\n"


def error_ratio(version):
    return SERVING[version]["failures"] / SERVING[version]["rps"]


def mean_latency(version):
    return SERVING[version]["latency"]
