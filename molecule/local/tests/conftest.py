"""Shared fixtures of the local scenario's verifier.

Everything here reads the scenario's own inventory/hosts.yml, so the tests follow its ports and root.
New test modules (for example model-level checks) get the same fixtures:

    def test_something(platform, http):
        status, body = http.get(platform.seldon_url + "/v2/health/live")
"""

import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

import pytest
import yaml

SCENARIO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass(frozen=True)
class Platform:
    root: str
    mlflow_port: int
    seldon_http_port: int
    seldon_grpc_port: int
    seldon_metrics_port: int
    prometheus_port: int
    canary_http_port: int
    canary_grpc_port: int
    canary_metrics_port: int
    router_port: int
    router_metrics_port: int

    @property
    def mlflow_url(self):
        return "http://127.0.0.1:%d" % self.mlflow_port

    @property
    def seldon_url(self):
        return "http://127.0.0.1:%d" % self.seldon_http_port

    @property
    def prometheus_url(self):
        return "http://127.0.0.1:%d" % self.prometheus_port

    @property
    def supervisor_conf(self):
        return os.path.join(self.root, "supervisor", "supervisord.conf")

    @property
    def prometheus_config(self):
        return os.path.join(self.root, "prometheus", "prometheus.yml")

    @property
    def ports(self):
        return {
            "mlflow": self.mlflow_port,
            "mlserver-http": self.seldon_http_port,
            "mlserver-grpc": self.seldon_grpc_port,
            "mlserver-metrics": self.seldon_metrics_port,
            "prometheus": self.prometheus_port,
            "mlserver-canary-http": self.canary_http_port,
            "mlserver-canary-grpc": self.canary_grpc_port,
            "mlserver-canary-metrics": self.canary_metrics_port,
            "canary-router": self.router_port,
            "canary-router-metrics": self.router_metrics_port,
        }


class Http:
    """Small HTTP helper for the tests: every call has a timeout, every wait a deadline."""

    def __init__(self, timeout=10):
        self.timeout = timeout

    def request(self, url, method="GET", body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def get(self, url):
        return self.request(url)

    def get_json(self, url):
        status, body = self.get(url)
        assert status == 200, "GET %s answered %s: %s" % (url, status, body[:500])
        return json.loads(body)

    def post_json(self, url, body):
        status, text = self.request(url, method="POST", body=body)
        assert status == 200, "POST %s answered %s: %s" % (url, status, text[:500])
        return json.loads(text)

    @staticmethod
    def wait_for(check, timeout=60, interval=1, what="condition"):
        """Call check() until it returns a truthy value or the deadline passes."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = check()
            if last:
                return last
            time.sleep(interval)
        raise AssertionError("%s not met within %ss (last: %r)" % (what, timeout, last))


@pytest.fixture(scope="session")
def platform():
    with open(os.path.join(SCENARIO_DIR, "inventory", "hosts.yml")) as handle:
        inventory_vars = yaml.safe_load(handle)["all"]["vars"]

    def port(key):
        return int(inventory_vars[key].rsplit(":", 1)[1].split("/")[0])

    return Platform(
        root=inventory_vars["mlops_local_root"],
        mlflow_port=port("mlops_mlflow_tracking_uri"),
        seldon_http_port=port("mlops_inference_url"),
        seldon_grpc_port=int(inventory_vars["seldon_grpc_port"]),
        seldon_metrics_port=port("mlops_inference_metrics_url"),
        prometheus_port=port("mlops_prometheus_url"),
        canary_http_port=int(inventory_vars["seldon_canary_http_port"]),
        canary_grpc_port=int(inventory_vars["seldon_canary_grpc_port"]),
        canary_metrics_port=port("mlops_inference_canary_metrics_url"),
        router_port=port("mlops_inference_router_url"),
        router_metrics_port=port("mlops_inference_router_metrics_url"),
    )


@pytest.fixture(scope="session")
def http():
    return Http()
