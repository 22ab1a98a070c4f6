"""The serving series of the cluster_serving scenario's scripted canaries, in OpenMetrics text for promtool's backfill.

The rates, buckets and times are tests/monitoring/canary_series.py's (healthy and errors scenarios, primary version 1,
canary version 2); only the scrape labels differ: the pods are named as the seldon role's cluster backend names them
(<model>-v<version>-<replicaset>-<pod>) in the scenario's model namespace, so the label matchers the canary entry
point publishes select them.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "monitoring"))
import canary_series as cs  # noqa: E402  pylint: disable=wrong-import-position

T0 = cs.T0
QUERY_TIME = cs.QUERY_TIME
PRIMARY = cs.PRIMARY
CANARY = cs.CANARY
# model -> canary_series scenario
MODELS = {"iris": "healthy", "wine": "errors", "digits": "healthy"}


def pod(model, version):
    return "%s-v%s-5d8c7f9b4-abcde" % (model, version)


def openmetrics(namespace):
    families = {"success": [], "failure": [], "count": [], "sum": [], "bucket": [], "rest_count": [], "rest_sum": []}
    for model, scenario in sorted(MODELS.items()):
        for version, s in sorted(cs.SCENARIOS[scenario].items()):
            scrape = {"namespace": namespace, "job": namespace + "/mlserver", "pod": pod(model, version)}
            infer = cs._labels(model=model, version=version, **scrape)  # pylint: disable=protected-access
            counter = cs._counter  # pylint: disable=protected-access
            families["success"] += counter("model_infer_request_success_total", infer, s["rps"] - s["failures"])
            families["failure"] += counter("model_infer_request_failure_total", infer, s["failures"])
            families["count"] += counter("model_infer_request_duration_count", infer, s["rps"])
            families["sum"] += counter("model_infer_request_duration_sum", infer, s["rps"] * s["mean"])
            rest = dict(scrape, app_name="mlserver", method="POST", path="/v2/models/{model_name}/infer",
                        status_code="200")
            for bound, per_second in zip(cs.BUCKETS, s["histogram"]):
                families["bucket"] += counter("rest_server_request_duration_seconds_bucket",
                                              cs._labels(le=bound, **rest), per_second)  # pylint: disable=protected-access
            families["rest_count"] += counter("rest_server_request_duration_seconds_count",
                                              cs._labels(**rest), s["rps"])  # pylint: disable=protected-access
            families["rest_sum"] += counter("rest_server_request_duration_seconds_sum",
                                            cs._labels(**rest), s["rps"] * s["mean"])  # pylint: disable=protected-access
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
