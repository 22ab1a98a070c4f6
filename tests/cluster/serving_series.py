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
    return cs.openmetrics(namespace, MODELS, pod)
