"""Monitoring tier: the prometheus role's alert rules and the grafana role's dashboards, as data, against real tools.

* ``render(overrides)`` runs ``render.yml``: the roles' own templates with their defaults and vars loaded (extra vars
  override them), so a change to a template or a default changes what these tests read. Rendered once per set of
  overrides and session.
* ``promtool`` (Debian's ``prometheus`` package, 2.42) checks and unit-tests the rendered rules.
* One real Prometheus for the whole session, on a free loopback port, whose TSDB holds series backfilled with
  ``promtool tsdb create-blocks-from openmetrics`` (``backfill.py``: named as MLServer 1.7 and the roles name them).

Run: ``tests/monitoring/run.sh`` (installs the package when missing, then pytest).
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

import backfill

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# PROMTOOL: the rule tests import it from here
from support.backfilled_prometheus import BackfilledPrometheus, PROMTOOL  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")

# The one set of non-default role variables the tests render with besides the defaults (one render each): the alert
# thresholds (test_rules.THRESHOLDS adds them), several namespaces, other dashboard grouping.
NON_DEFAULT = {
    "prometheus_model_namespaces": ["models-a", "models-b"],
    "prometheus_mlflow_namespace": "tracking",
    "grafana_latency_labels": ["pod"],
    "grafana_latency_selector": "",
    "prometheus_alert_error_ratio": 0.2,
    "prometheus_alert_latency_p95_seconds": 0.2,
    "prometheus_alert_for": "2m",
    "prometheus_alert_no_traffic_for": "5m",
    "prometheus_alert_mlflow_down_for": "1m",
    "prometheus_quality_thresholds": [{"metric": "accuracy", "min": 0.8}, {"metric": "log_loss", "max": 0.3}],
    "prometheus_alert_quality_for": "5m",
    "prometheus_alert_labels": {"severity": "page", "team": "mlops"},
}


def run(cmd, **kwargs):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False, **kwargs)


class Rendered:
    """The objects both roles apply, rendered with one set of overrides, and files made from them."""

    def __init__(self, directory, prometheus_objects, grafana_objects):
        self.dir = directory
        self.prometheus_objects = prometheus_objects
        self.grafana_objects = grafana_objects

    def rule(self, namespace_kind):
        """spec of the PrometheusRule named mlops-<namespace_kind> (mlflow, serving) of the first namespace."""
        for obj in self.prometheus_objects:
            if obj["kind"] == "PrometheusRule" and obj["metadata"]["name"] == "mlops-" + namespace_kind:
                return obj["spec"]
        raise AssertionError("no PrometheusRule mlops-%s among the rendered objects" % namespace_kind)

    def rule_files(self):
        """Each PrometheusRule's spec.groups as a Prometheus rule file (<name>-rules.yml) in self.dir."""
        paths = []
        for kind in ("mlflow", "serving"):
            path = os.path.join(self.dir, "%s-rules.yml" % kind)
            with open(path, "w") as handle:
                # JSON is YAML: the file holds exactly spec.groups, nothing re-serialised by hand.
                json.dump({"groups": self.rule(kind)["groups"]}, handle, indent=1)
            paths.append(path)
        return paths

    def dashboards(self):
        """{name: dashboard JSON text} of every GrafanaDashboard (spec.json, what the operator loads into Grafana)."""
        return dict((obj["metadata"]["name"], obj["spec"]["json"])
                    for obj in self.grafana_objects if obj["kind"] == "GrafanaDashboard")


@pytest.fixture(scope="session")
def render(tmp_path_factory):
    base = tmp_path_factory.mktemp("render")
    # render.yml finds the roles' templates by the relative names the roles use (cluster/..., dashboards/...).
    templates = base / "templates"
    templates.mkdir()
    os.symlink(os.path.join(ROOT, "roles", "prometheus", "templates", "cluster"), str(templates / "cluster"))
    os.symlink(os.path.join(ROOT, "roles", "grafana", "templates", "dashboards"), str(templates / "dashboards"))
    os.symlink(os.path.join(ROOT, "roles", "grafana", "templates", "objects.yml.j2"), str(templates / "grafana-objects.yml.j2"))
    os.symlink(os.path.join(ROOT, "roles", "prometheus", "templates", "model-quality-rules.yml.j2"),
               str(templates / "model-quality-rules.yml.j2"))
    shutil.copy(os.path.join(HERE, "render.yml"), str(base / "render.yml"))
    cache = {}

    def _render(overrides=None):
        overrides = dict(overrides or {})
        key = json.dumps(overrides, sort_keys=True)
        if key not in cache:
            out = base / ("out%d" % len(cache))
            out.mkdir()
            extra = dict({"mlops_target": "kubernetes"}, **overrides)
            extra.update({"monitoring_root": ROOT, "monitoring_out": str(out),
                          "ansible_python_interpreter": sys.executable})
            vars_file = out / "extra-vars.json"
            vars_file.write_text(json.dumps(extra))
            proc = run([ANSIBLE_PLAYBOOK, "-i", "localhost,", str(base / "render.yml"), "-e", "@" + str(vars_file)],
                       cwd=str(base), env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
            assert proc.returncode == 0, "render.yml failed:\n%s\n%s" % (proc.stdout[-4000:], proc.stderr[-2000:])
            with open(str(out / "objects.json")) as handle:
                objects = json.load(handle)
            cache[key] = Rendered(str(out), objects["prometheus"], objects["grafana"])
        return cache[key]

    return _render


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory):
    server = BackfilledPrometheus(str(tmp_path_factory.mktemp("prometheus")), backfill.openmetrics())
    server.start()
    yield server
    server.stop()
