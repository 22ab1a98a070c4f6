"""The canary tier's fixtures: one real local platform with the canary turned on - the primary and the canary
MLServer, HAProxy in front of them, Prometheus scraping all three every second - on free loopback ports under a
throw-away root (the rollout tier's harness, tests/rollout/conftest.py), and the example's traffic generator."""

import importlib.util
import json
import os
import shutil
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "examples", "breast_cancer_classifier"))

from support.server_process import free_ports  # noqa: E402  pylint: disable=wrong-import-position


def _rollout_harness():
    """tests/rollout/conftest.py, loaded under a name of its own (its Platform brings the platform up)."""
    spec = importlib.util.spec_from_file_location("canary_rollout_harness",
                                                  os.path.join(ROOT, "tests", "rollout", "conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HARNESS = _rollout_harness()


class CanaryPlatform(HARNESS.Platform):
    """The rollout tier's platform with the canary's servers on ports of their own."""

    def __init__(self, root):
        super().__init__(root)
        names = ("router", "router_metrics", "canary_http", "canary_grpc", "canary_metrics")
        ports = dict(zip(names, free_ports(len(names))))
        self.router = "http://127.0.0.1:%d" % ports["router"]
        self.canary = "http://127.0.0.1:%d" % ports["canary_http"]
        self.vars.update({
            "mlops_canary_enabled": True,
            "mlops_inference_router_url": self.router,
            "mlops_inference_router_metrics_url": "http://127.0.0.1:%d/metrics" % ports["router_metrics"],
            "mlops_inference_canary_metrics_url": "http://127.0.0.1:%d/metrics" % ports["canary_metrics"],
            "seldon_canary_http_port": ports["canary_http"],
            "seldon_canary_grpc_port": ports["canary_grpc"],
            "prometheus_scrape_interval": "1s",
        })
        venvs = os.environ.get("MLOPS_TEST_VENVS")
        if venvs:
            self.vars["private_local_supervisor_venv"] = os.path.join(venvs, "supervisor")
            self.vars["seldon_venv"] = os.path.join(venvs, "mlserver")
        with open(self.vars_file, "w") as handle:
            json.dump(self.vars, handle)
        self.socket = os.path.join(self.vars["mlops_local_root"], "seldon", "canary-router", "admin.sock")


@pytest.fixture(scope="session")
def platform():
    root = tempfile.mkdtemp(prefix="mlops-canary-")
    plat = CanaryPlatform(root)
    plat.play("platform.yml", "--skip-tags", "jupyterhub").check(0)
    yield plat
    plat.play("platform_stop.yml")
    shutil.rmtree(root, ignore_errors=True)
