"""The loop end to end: drift in the newest data -> the monitor -> Prometheus -> Alertmanager -> the rulebook -> a
retraining rollout of the model, gated and promoted, carrying the alert that caused it."""

import csv
import datetime
import os
import time

import yaml

from conftest import DRIFT, write_newest_data, wait_until

RETRAIN_LINE = "continuous training: rolling out model %s"
DRIFT_THRESHOLD = 0.25     # prometheus_alert_drift_threshold (default)
ACCURACY_MIN = 0.9         # prometheus_quality_thresholds (default)


def mean_of(path, column):
    with open(path) as handle:
        values = [float(row[column]) for row in csv.DictReader(handle)]
    return sum(values) / len(values)


def max_drift(pushed, version):
    values = [v for (family, ver, _feature), v in pushed.items() if family == "mlops_model_drift" and ver == version]
    return max(values) if values else None


def test_drift_retrains_gates_and_promotes_once(platform):
    name = platform.model
    assert platform.champion(name) == "1"
    # Before the shift: the monitor scores version 1 on data like its training data - no drift, high accuracy, and
    # no alert.
    pushed = wait_until("a pass of the monitor", lambda: platform.pushed(name) or None, 60)
    assert max_drift(pushed, "1") < 0.1, pushed
    assert pushed[("mlops_model_quality", "1", "accuracy")] > 0.95, pushed
    assert set(k[2] for k in pushed if k[0] == "mlops_model_quality") == {"accuracy", "precision", "recall", "f1", "roc_auc"}
    assert platform.alerts(name) == []

    # The population shifts.
    write_newest_data(platform.newest_data, DRIFT)
    crossed = wait_until("the drift gauge crossing %s" % DRIFT_THRESHOLD,
                         lambda: (max_drift(platform.pushed(name), "1") or 0) > DRIFT_THRESHOLD and time.time(), 60,
                         interval=0.05)
    pushed = platform.pushed(name)
    assert pushed[("mlops_model_quality", "1", "accuracy")] < ACCURACY_MIN, pushed
    started = wait_until("the retraining rollout starting",
                         lambda: (RETRAIN_LINE % name) in platform.log("ct-rulebook") and time.time(), 120,
                         interval=0.05)
    latency = started - crossed
    print("\ncontinuous training: drift gauge above %s -> retraining rollout started: %.1f s "
          "(monitor every 2 s, scrape/eval 1 s, for: %s, group_wait %s)" % (DRIFT_THRESHOLD, latency, "5s", "1s"))
    # for 5s + group_wait 1s + a scrape and an evaluation (1 s each) + the rulebook (~1 s) and a margin.
    assert 5.0 <= latency <= 30.0, latency

    # The rollout trains version 2 on the shifted data, gates it against version 1 and promotes it.
    wait_until("version 2 promoted",
               lambda: platform.versions(name) == [1, 2] and platform.version(name, 2).tags.get("mlops.rollout.state")
               in ("PROMOTED", "REJECTED"), 400, interval=1)
    v2 = platform.version(name, 2)
    tags = v2.tags
    assert tags["mlops.rollout.state"] == "PROMOTED", tags
    assert platform.champion(name) == "2"
    assert tags["mlops.ct.trigger"] == "alert"
    assert tags["mlops.ct.alert"] in ("ModelDataDrift", "ModelQualityDegraded")
    fired = datetime.datetime.fromisoformat(tags["mlops.ct.fired_at"].replace("Z", "+00:00"))
    assert abs(fired.timestamp() - crossed) < 30, (tags["mlops.ct.fired_at"], crossed)
    if tags["mlops.ct.alert"] == "ModelDataDrift":
        assert float(tags["mlops.ct.drift_score"]) > DRIFT_THRESHOLD
    else:
        assert tags["mlops.ct.metric"] == "accuracy" and float(tags["mlops.ct.value"]) < ACCURACY_MIN
    assert tags["mlops.training_data"].endswith("/%s/%s.csv" % (name, v2.run_id))
    run = platform.client().get_run(v2.run_id)
    assert run.data.tags["mlops.ct.alert"] == tags["mlops.ct.alert"]
    # Trained on the newest (shifted) data: the rollout's params say so, and the training data reference it kept
    # holds worst_* features 1 + DRIFT times those of version 1's.
    with open(os.path.join(run.data.tags["mlops.work_dir"], "params.yaml")) as handle:
        assert yaml.safe_load(handle)["data"]["drift"] == DRIFT
    assert mean_of(tags["mlops.training_data"], "worst_area") > 1.4 * mean_of(
        platform.version(name, 1).tags["mlops.training_data"], "worst_area")

    # Both alerts fired for the model (two notification groups, alertname x model): one rollout only.
    log = platform.log("ct-rulebook")
    assert log.count(RETRAIN_LINE % name) == 1, log[-3000:]

    # The new champion on the new data: no drift against its own training data, accuracy back up; the alerts
    # resolve, and the resolved notifications run nothing.
    wait_until("the monitor scoring version 2",
               lambda: (max_drift(platform.pushed(name), "2") or 1) < 0.1, 60)
    assert platform.pushed(name)[("mlops_model_quality", "2", "accuracy")] > 0.95
    wait_until("a resolved notification",
               lambda: "(resolved) for model %s runs nothing" % name in platform.log("ct-rulebook").replace("\n", " "), 90)
    assert platform.log("ct-rulebook").count(RETRAIN_LINE % name) == 1
