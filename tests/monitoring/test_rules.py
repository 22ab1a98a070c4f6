"""The prometheus role's PrometheusRules, rendered from the role: promtool checks them and runs the unit tests in
rules/ against them, with the defaults and with non-default thresholds; a real Prometheus parses every expression."""

import json
import os
import shutil

import pytest

import backfill
from conftest import NON_DEFAULT, PROMTOOL, run

HERE = os.path.dirname(os.path.abspath(__file__))
RULE_TESTS = os.path.join(HERE, "rules")
# The rules rendered with non-default thresholds (conftest.NON_DEFAULT, shared with the dashboards' render).
THRESHOLDS = NON_DEFAULT
ALERTS = {
    "mlflow": ["MLflowDown"],
    "serving": ["ModelServingErrorRatioHigh", "ModelServingLatencyHigh", "ModelServingNoTraffic", "ModelQualityBelowThreshold",
                # The continuous-training alerts (test_model_quality_rules.py) join the serving rules on a cluster.
                "ModelQualityDegraded", "ModelDataDrift", "ModelStale"],
}


def promtool_test(rendered, test_file):
    rendered.rule_files()
    shutil.copy(os.path.join(RULE_TESTS, test_file), rendered.dir)
    return run([PROMTOOL, "test", "rules", test_file], cwd=rendered.dir)


def test_rendered_rules_are_the_alerts_of_the_issue(render):
    rendered = render()
    for kind, alerts in ALERTS.items():
        names = [rule["alert"] for group in rendered.rule(kind)["groups"] for rule in group["rules"]]
        assert names == alerts
    # Every model namespace gets the serving rules, the MLflow namespace the MLflow rule.
    several = render(THRESHOLDS)
    placed = sorted((o["metadata"]["namespace"], o["metadata"]["name"])
                    for o in several.prometheus_objects if o["kind"] == "PrometheusRule")
    assert placed == [("models-a", "mlops-serving"), ("models-b", "mlops-serving"), ("tracking", "mlops-mlflow")]


@pytest.mark.parametrize("overrides", [{}, THRESHOLDS], ids=["defaults", "thresholds"])
def test_promtool_check_rules(render, overrides):
    paths = render(overrides).rule_files()
    proc = run([PROMTOOL, "check", "rules"] + paths)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    count = len(THRESHOLDS["prometheus_quality_thresholds"]) if overrides else 1
    assert "Checking %s\n  SUCCESS: 1 rules found" % paths[0] in proc.stdout
    # serving: 3 serving alerts, one quality alert per threshold, and the continuous-training alerts (one
    # ModelQualityDegraded per threshold, ModelDataDrift, ModelStale).
    assert "Checking %s\n  SUCCESS: %d rules found" % (paths[1], 3 + count + count + 2) in proc.stdout


def test_promtool_unit_tests_defaults(render):
    proc = promtool_test(render(), "defaults_test.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Unit Testing:  defaults_test.yml\n  SUCCESS" in proc.stdout


def test_promtool_unit_tests_thresholds(render):
    proc = promtool_test(render(THRESHOLDS), "thresholds_test.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Unit Testing:  thresholds_test.yml\n  SUCCESS" in proc.stdout


def test_alerts_move_with_the_thresholds(render):
    """The default-threshold unit tests fail against the rules rendered with other thresholds, and the other way
    round: the rules read the role variables (a test that passed with any threshold would prove nothing)."""
    crossed = promtool_test(render(THRESHOLDS), "defaults_test.yml")
    assert crossed.returncode == 1, crossed.stdout
    failures = crossed.stdout + crossed.stderr
    for moved in ('summary="iris version 3: error ratio 10% above 5%"',
                  'summary="iris version 2: accuracy 0.85 below the gate threshold 0.9"',
                  'summary="MLflow is down: no successful scrape for 5m"'):
        assert moved in failures
    back = promtool_test(render(), "thresholds_test.yml")
    assert back.returncode == 1, back.stdout
    failures = back.stdout + back.stderr
    assert 'summary="mlops-models/c: p95 inference latency 375ms above 0.2s"' in failures
    assert 'summary="iris version 2: log_loss 0.4 above the gate threshold 0.3"' in failures


def test_a_broken_expression_is_rejected(render, tmp_path):
    """promtool check rules is the parser the tests rely on: an unbalanced rendered expression fails it."""
    rendered = render()
    spec = rendered.rule("serving")
    rule = dict(spec["groups"][0]["rules"][0])
    rule["expr"] = rule["expr"].replace(")", "", 1)
    path = tmp_path / "broken.yml"
    path.write_text(json.dumps({"groups": [{"name": "broken", "rules": [rule]}]}))
    proc = run([PROMTOOL, "check", "rules", str(path)])
    assert proc.returncode == 1
    assert "could not parse expression" in proc.stdout + proc.stderr


def test_every_rule_expression_parses_on_a_real_prometheus(render, prometheus):
    for overrides in ({}, THRESHOLDS):
        rendered = render(overrides)
        for kind in ALERTS:
            for group in rendered.rule(kind)["groups"]:
                for rule in group["rules"]:
                    status, body = prometheus.api("query", {"query": rule["expr"], "time": prometheus_time()})
                    assert (status, body["status"]) == (200, "success"), "%s: %s -> %s" % (rule["alert"], rule["expr"], body)


def prometheus_time():
    return backfill.QUERY_TIME
