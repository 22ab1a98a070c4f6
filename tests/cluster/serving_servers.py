"""The servers of the cluster_serving scenario, on 127.0.0.1 only: a real `mlflow server` (SQLite, artifact proxy) and
a real Prometheus whose TSDB holds serving_series.py's backfilled series (promtool tsdb create-blocks-from openmetrics,
no scrape configs).

  serving_servers.py start <dir> <namespace>   start both (new sessions), write <dir>/servers.json (urls, pids)
  serving_servers.py stop <dir>                stop what start recorded there, and wait until they are gone
"""

import json
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
from support.mlflow_server import MlflowServer  # noqa: E402  pylint: disable=wrong-import-position
from support.backfilled_prometheus import BackfilledPrometheus  # noqa: E402  pylint: disable=wrong-import-position
import serving_series  # noqa: E402  pylint: disable=wrong-import-position


def start(directory, namespace):
    os.makedirs(directory, exist_ok=True)
    mlflow = MlflowServer(root=os.path.join(directory, "mlflow"))
    prometheus = BackfilledPrometheus(os.path.join(directory, "prometheus"), serving_series.openmetrics(namespace))
    mlflow.start()
    try:
        prometheus.start()
    except RuntimeError:
        mlflow.stop()
        raise
    state = {"mlflow_url": mlflow.uri, "prometheus_url": prometheus.url,
             "pids": [mlflow.proc.pid, prometheus.proc.pid]}
    with open(os.path.join(directory, "servers.json"), "w") as handle:
        json.dump(state, handle)
    print(json.dumps(state))


def _alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def stop(directory):
    path = os.path.join(directory, "servers.json")
    if not os.path.exists(path):
        return
    with open(path) as handle:
        pids = json.load(handle)["pids"]
    for pid in pids:
        if _alive(pid):
            os.killpg(pid, signal.SIGTERM)  # each server leads a session (and process group) of its own
    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in pids:
        if _alive(pid):
            os.killpg(pid, signal.SIGKILL)
    os.remove(path)


if __name__ == "__main__":
    if sys.argv[1] == "start":
        start(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "stop":
        stop(sys.argv[2])
    else:
        sys.exit("usage: serving_servers.py start <dir> <namespace> | stop <dir>")
