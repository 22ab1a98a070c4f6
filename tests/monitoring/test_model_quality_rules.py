"""The continuous-training alerts (roles/prometheus/templates/model-quality-rules.yml.j2): the rule file the local
Prometheus loads, promtool-checked and unit-tested with the defaults, the same groups in the cluster's PrometheusRule,
and alerts that move with the role variables."""

import os
import shutil

import yaml

from conftest import PROMTOOL, run

HERE = os.path.dirname(os.path.abspath(__file__))
MOVED = {
    "prometheus_quality_thresholds": [{"metric": "accuracy", "min": 0.7}, {"metric": "f1", "min": 0.6}],
    "prometheus_alert_quality_for": "5m",
    "prometheus_alert_drift_threshold": 0.9,
    "prometheus_alert_drift_for": "2m",
    "prometheus_alert_stale_seconds": 0,
    "prometheus_alert_labels": {"severity": "page", "team": "mlops"},
}


def rule_file(rendered):
    return os.path.join(rendered.dir, "model-quality.yml")


def promtool_test(rendered):
    shutil.copy(os.path.join(HERE, "rules", "model_quality_test.yml"), rendered.dir)
    return run([PROMTOOL, "test", "rules", "model_quality_test.yml"], cwd=rendered.dir)


def alerts(groups):
    return [rule["alert"] for group in groups for rule in group["rules"]]


def test_the_rule_file_has_the_alerts_of_the_issue_and_promtool_accepts_it(render):
    rendered = render()
    with open(rule_file(rendered)) as handle:
        local = yaml.safe_load(handle)
    assert alerts(local["groups"]) == ["ModelQualityDegraded", "ModelDataDrift", "ModelStale"]
    proc = run([PROMTOOL, "check", "rules", rule_file(rendered)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 3 rules found" in proc.stdout


def test_a_cluster_evaluates_the_same_rules(render):
    rendered = render()
    with open(rule_file(rendered)) as handle:
        local = yaml.safe_load(handle)
    serving = rendered.rule("serving")["groups"]
    assert [g for g in serving if g["name"] == "mlops-continuous-training"] == local["groups"]


def test_promtool_unit_tests_defaults(render):
    proc = promtool_test(render())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Unit Testing:  model_quality_test.yml\n  SUCCESS" in proc.stdout


def test_alerts_move_with_the_role_variables(render):
    rendered = render(MOVED)
    with open(rule_file(rendered)) as handle:
        local = yaml.safe_load(handle)
    # One quality rule per threshold; no ModelStale with prometheus_alert_stale_seconds 0.
    assert alerts(local["groups"]) == ["ModelQualityDegraded", "ModelQualityDegraded", "ModelDataDrift"]
    proc = promtool_test(rendered)
    assert proc.returncode == 1, proc.stdout
    out = proc.stdout + proc.stderr
    # accuracy 0.62 is still below 0.7, now after 5m and with the other labels; f1 0.5 is below its 0.6 now.
    assert 'alertname="ModelQualityDegraded", metric="f1", model="bc", severity="page", team="mlops", version="1"' in out
    assert 'summary="bc version 1: accuracy 0.62 on the newest data, below 0.7"' in out
    # a PSI of 0.8 is under 0.9: ModelDataDrift no longer fires; ModelStale does not exist.
    assert "alertname: ModelDataDrift, time: 25m" in out
    assert "alertname: ModelStale, time: 1h12m" in out
