"""The shipped rulebook (extensions/eda/rulebooks/continuous_training.yml) on a real ansible-rulebook, with a playbook
that records each run instead of rolling out: Alertmanager-shaped notifications posted to its webhook. No retrain
storm - a re-sent alert and a second model's alert in the same group run exactly one playbook per model within the
throttle window; resolved notifications and unrelated alerts run nothing and say so. And the launcher refuses to
start the rulebook without its playbook or inventory."""

import json
import os
import subprocess
import time
import urllib.request

import pytest

from conftest import ANSIBLE_PLAYBOOK, INVENTORY, PLAYBOOKS, RULEBOOK, RULEBOOK_VENV, BIN, wait_until
from support.server_process import ServerProcess, free_port

RECORDER = """---
- name: Record a run of the rulebook
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Record the model and the alert
      ansible.builtin.lineinfile:
        path: {runs}
        line: "{{{{ ansible_eda.event.labels.model }}}} {{{{ ansible_eda.event.labels.alertname }}}} {{{{ continuous_training_rollout_vars_file }}}}"
        create: true
        insertafter: EOF
        mode: "0644"
"""


def alert(alertname, model, status="firing", **labels):
    labels = dict(labels, alertname=alertname, **({"model": model} if model else {}))
    return {"status": status, "labels": labels, "annotations": {"value": "0.8"},
            "startsAt": "2026-12-01T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z"}


def notification(status, group_labels, *alerts):
    """An Alertmanager webhook notification (version 4) of one group."""
    return {"version": "4", "groupKey": json.dumps(group_labels), "status": status, "receiver": "continuous-training",
            "groupLabels": group_labels, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://127.0.0.1",
            "alerts": list(alerts)}


class Rulebook(ServerProcess):
    name = "ansible-rulebook"

    def __init__(self, root, playbook, rollout_vars_file="/etc/ct/rollout-vars.yml"):
        super().__init__(os.path.join(root, "rulebook.log"))
        self.root, self.port = root, free_port()
        self.vars_file = os.path.join(root, "rulebook-vars.json")
        with open(self.vars_file, "w") as handle:
            json.dump({"continuous_training_webhook_host": "127.0.0.1", "continuous_training_webhook_port": self.port,
                       "continuous_training_alerts": ["ModelQualityDegraded", "ModelDataDrift"],
                       "continuous_training_playbook": playbook,
                       "continuous_training_rollout_vars_file": rollout_vars_file}, handle)

    def start(self, timeout=90):
        env = dict(os.environ, PATH=os.pathsep.join([BIN, os.path.join(RULEBOOK_VENV, "bin"), os.environ["PATH"]]),
                   ANSIBLE_NOCOLOR="1")
        self.spawn([os.path.join(RULEBOOK_VENV, "bin", "ansible-rulebook"), "--rulebook", RULEBOOK,
                    "--inventory", INVENTORY, "--vars", self.vars_file], env=env, cwd=self.root)
        return self.wait_ready(self._listening, timeout, "listen on its webhook")

    def _listening(self):
        import socket
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def post(self, body):
        req = urllib.request.Request("http://127.0.0.1:%d/endpoint" % self.port, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200


@pytest.fixture
def rulebook(platform, tmp_path):
    """A rulebook of its own (the session's venv, which the continuous_training role built) with a recording playbook."""
    runs = tmp_path / "runs.txt"
    playbook = tmp_path / "record.yml"
    playbook.write_text(RECORDER.format(runs=runs))
    server = Rulebook(str(tmp_path), str(playbook)).start()
    server.runs = runs
    yield server
    server.stop()


def recorded(server):
    return server.runs.read_text().splitlines() if server.runs.exists() else []


def test_no_retrain_storm_and_nothing_for_resolved_or_unrelated_alerts(rulebook):
    drift_a = alert("ModelDataDrift", "model-a")
    rulebook.post(notification("firing", {"alertname": "ModelDataDrift", "model": "model-a"}, drift_a))
    # The same alert re-sent (repeat_interval, a restarted Alertmanager) ...
    rulebook.post(notification("firing", {"alertname": "ModelDataDrift", "model": "model-a"}, drift_a))
    # ... and again in a group that also holds a second model's alert (group_by [alertname] only).
    rulebook.post(notification("firing", {"alertname": "ModelDataDrift"}, drift_a, alert("ModelDataDrift", "model-b")))
    # A quality alert of model a while its drift retraining is throttled.
    rulebook.post(notification("firing", {"alertname": "ModelQualityDegraded", "model": "model-a"},
                               alert("ModelQualityDegraded", "model-a", metric="accuracy")))
    # A resolved notification, an unrelated alert, a retraining alert without a model label.
    rulebook.post(notification("resolved", {"alertname": "ModelDataDrift", "model": "model-c"},
                               alert("ModelDataDrift", "model-c", status="resolved")))
    rulebook.post(notification("firing", {"alertname": "MLflowDown"}, alert("MLflowDown", "model-d")))
    rulebook.post(notification("firing", {"alertname": "ModelDataDrift"}, alert("ModelDataDrift", None)))

    log_lines = [
        "continuous training: ModelDataDrift (resolved) for model model-c runs nothing",
        "continuous training: MLflowDown (firing) for model model-d runs nothing",
        "continuous training: ModelDataDrift (firing) for model (none) runs nothing",
    ]
    wait_until("the rulebook's log lines for what runs nothing",
               lambda: all(line in " ".join(rulebook.log_text().split()) for line in log_lines), 60)
    wait_until("two recorded runs", lambda: len(recorded(rulebook)) >= 2, 90)
    # The runs are sequential; give a third (wrong) one the time to show up.
    time.sleep(5)
    assert recorded(rulebook) == ["model-a ModelDataDrift /etc/ct/rollout-vars.yml",
                                  "model-b ModelDataDrift /etc/ct/rollout-vars.yml"], rulebook.log_tail()


def launcher_with(platform, tmp_path, **paths):
    """The rulebook launcher the role rendered, with the playbook or inventory path it checks replaced."""
    rendered = os.path.join(platform.local_root, "continuous-training", "rulebook.sh")
    with open(rendered) as handle:
        text = handle.read()
    for key, value in paths.items():
        start = text.index("%s=" % key)
        end = text.index("\n", start)
        text = text[:start] + "%s='%s'" % (key, value) + text[end:]
    path = tmp_path / "rulebook.sh"
    path.write_text(text)
    return subprocess.run(["sh", str(path)], capture_output=True, text=True, timeout=60, check=False)


def test_the_launcher_refuses_to_start_without_the_playbook_or_its_inventory(platform, tmp_path):
    proc = launcher_with(platform, tmp_path, playbook="/nonexistent/retrain.yml")
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == ("continuous training: the rollout playbook /nonexistent/retrain.yml does not exist "
                           "(continuous_training_playbook); the rulebook does not start\n")
    proc = launcher_with(platform, tmp_path, inventory="/nonexistent/inventory")
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == ("continuous training: the inventory /nonexistent/inventory of the rollout playbook does not "
                           "exist (continuous_training_inventory); the rulebook does not start\n")


@pytest.mark.parametrize("option,value,message", [
    ("continuous_training_playbook", "/nonexistent/retrain.yml",
     "the rollout playbook /nonexistent/retrain.yml does not exist (continuous_training_playbook); the rulebook does "
     "not start. Nothing was changed."),
    ("continuous_training_inventory", "/nonexistent/inventory",
     "the inventory /nonexistent/inventory of the rollout playbook does not exist (continuous_training_inventory); the "
     "rulebook does not start. Nothing was changed."),
    ("continuous_training_group_wait", "soon",
     "Invalid continuous training settings: continuous_training_group_wait must be durations like 30s or 5m. Nothing "
     "was changed."),
])
def test_the_role_refuses_bad_settings_and_changes_nothing(platform, option, value, message):
    conf = os.path.join(platform.local_root, "continuous-training", "rulebook-vars.yml")
    before = os.stat(conf).st_mtime_ns
    result = platform.play("continuous_training.yml", "--tags", "continuous_training", **{option: value}).check(2)
    assert result.fatal_messages() == [message]
    assert result.recap()["changed"] == "0"
    assert os.stat(conf).st_mtime_ns == before


HOLDER = """---
- name: Hold the rollout lock of a model until told to let go
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/mlops.platform.mlflow: "{{{{ mlops_mlflow_connection }}}}"
  tasks:
    - name: Take the lock
      mlops.platform.mlflow_model_lock:
        name: {model}
        owner: a-running-rollout
        ttl: 120
        create_model: true
      register: lock
    - name: Say so
      ansible.builtin.debug:
        msg: HOLDING THE LOCK
    - name: Wait to be told to let go
      ansible.builtin.wait_for:
        path: {release}
        timeout: 120
    - name: Release the lock
      mlops.platform.mlflow_model_lock:
        name: {model}
        token: "{{{{ lock.token }}}}"
        state: absent
"""


def test_an_alert_during_a_running_rollout_is_dropped_with_the_lock_holder_in_the_log(platform, tmp_path):
    """The rulebook runs the real retrain playbook while another rollout holds the model's lock: with
    continuous_training_lock_wait 0 the retraining gives up at once, says who holds the lock, and changes nothing."""
    model = platform.model + "-locked"
    release = tmp_path / "release"
    holder_book = tmp_path / "hold.yml"
    holder_book.write_text(HOLDER.format(model=model, release=release))
    holder_log = open(str(tmp_path / "holder.log"), "w")
    holder = subprocess.Popen([ANSIBLE_PLAYBOOK, "-i", INVENTORY, str(holder_book), "-e", "@" + platform.vars_file],
                              stdout=holder_log, stderr=subprocess.STDOUT, env=platform.env())
    rulebook = None
    try:
        wait_until("the holder taking the lock", lambda: "HOLDING THE LOCK" in (tmp_path / "holder.log").read_text(), 120)
        rollout_vars = tmp_path / "rollout-vars.json"
        rollout_vars.write_text(json.dumps(dict(platform.platform_vars, continuous_training_lock_wait=0)))
        rulebook = Rulebook(str(tmp_path), os.path.join(PLAYBOOKS, "retrain.yml"), str(rollout_vars)).start()
        rulebook.post(notification("firing", {"alertname": "ModelDataDrift", "model": model},
                                   alert("ModelDataDrift", model)))
        expected = "Model %r is locked by another rollout: a-running-rollout (since " % model
        wait_until("the retraining giving up on the lock", lambda: expected in rulebook.log_text(), 120)
        log = " ".join(rulebook.log_text().split())
        assert "continuous training: rolling out model %s - alert ModelDataDrift fired at 2026-12-01T10:00:00Z, value 0.8" % model in log
        assert "Waited 0s (wait_timeout); it is released when that rollout ends, or when its lease expires. Nothing was changed." in log
        assert platform.versions(model) == []
    finally:
        release.write_text("")
        holder.wait(timeout=120)
        holder_log.close()
        if rulebook:
            rulebook.stop()


def test_retrain_refuses_to_run_without_a_trigger(platform):
    result = platform.play("retrain.yml").check(2)
    assert result.fatal_messages() == [
        "Nothing to retrain: run this playbook from the continuous training rulebook (an alert with a model label) or "
        "with -e continuous_training_trigger=schedule -e continuous_training_model=NAME. Nothing was changed."]


def test_scheduled_retraining_runs_the_same_rollout(platform):
    """The second trigger (the ct-schedule program's command): a scheduled rollout of the model with the data of its
    first version trains nothing new - the lineage is version 1's - and registers nothing."""
    before = platform.versions(platform.model)
    result = platform.play("retrain.yml", continuous_training_trigger="schedule",
                           continuous_training_model=platform.model).check(0)
    assert "continuous training: rolling out model %s - scheduled retraining" % platform.model in result.stdout
    assert platform.versions(platform.model) == before
