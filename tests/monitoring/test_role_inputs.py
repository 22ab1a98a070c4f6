"""Bad alert and dashboard settings given to the roles themselves (role_inputs.yml): each fails in the role's
argument spec or preflight, before anything reaches a cluster, with the role's message."""

import json
import os
import sys

import pytest

from conftest import ANSIBLE_PLAYBOOK, ROOT, run

HERE = os.path.dirname(os.path.abspath(__file__))
PROMETHEUS_PREFLIGHT = "Invalid cluster monitoring settings: %s."


@pytest.fixture(scope="module")
def failures(tmp_path_factory):
    base = tmp_path_factory.mktemp("role-inputs")
    # The collection resolves to this checkout, whatever else ANSIBLE_COLLECTIONS_PATH holds.
    namespace = base / "collections" / "ansible_collections" / "mlops"
    namespace.mkdir(parents=True)
    os.symlink(ROOT, str(namespace / "platform"))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_COLLECTIONS_PATH=str(base / "collections"))
    proc = run([ANSIBLE_PLAYBOOK, "-i", "localhost,", os.path.join(HERE, "role_inputs.yml"),
                "-e", "monitoring_out=%s" % base, "-e", "ansible_python_interpreter=%s" % sys.executable],
               cwd=str(base), env=env)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    # Five cases, each rescued: none of them got past its check.
    assert "rescued=5" in proc.stdout
    with open(str(base / "failures.json")) as handle:
        return json.load(handle)


def test_error_ratio_above_one(failures):
    assert failures["error_ratio"] == PROMETHEUS_PREFLIGHT % (
        "prometheus_alert_error_ratio must be between 0 and 1 (exclusive), not 1.5")


def test_latency_threshold_not_a_number(failures):
    assert failures["latency"].startswith(
        "Validation of arguments failed:\nargument 'prometheus_alert_latency_p95_seconds' is of type str and we were "
        "unable to convert to float")


def test_quality_threshold_without_min_or_max(failures):
    assert failures["quality"] == PROMETHEUS_PREFLIGHT % "every prometheus_quality_thresholds item needs metric and min or max"


def test_every_wrong_setting_named_and_only_those(failures):
    assert failures["several"] == PROMETHEUS_PREFLIGHT % "; ".join([
        "prometheus_mlflow_namespace and prometheus_model_namespaces must be DNS labels: Models_B is not",
        "prometheus_alert_error_ratio must be between 0 and 1 (exclusive), not 0",
        "prometheus_alert_for must be Prometheus durations like 5m"])


def test_unknown_dashboard(failures):
    assert failures["dashboards"] == (
        "Invalid Grafana settings: grafana_dashboards has latency: the dashboards are serving and model-quality.")
