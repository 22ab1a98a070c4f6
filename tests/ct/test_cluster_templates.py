"""The cluster side, rendered (the roles write manifests for kubernetes.core.k8s or GitOps; nothing is applied): the
AlertmanagerConfig groups per alert name and model and routes the retraining alerts to the rulebook's Service, the
rulebook runs as a Deployment of the EE image, scheduled retraining and the model monitor as CronJobs."""

import subprocess

import yaml

from conftest import ANSIBLE_PLAYBOOK, INVENTORY, PLAYBOOKS, ansible_env


def render(tmp_path, env):
    extra = {"mlops_target": "kubernetes", "mlops_model_namespaces": ["models-a"],
             "model_monitor_manifest_dir": str(tmp_path / "monitor"),
             "continuous_training_manifest_dir": str(tmp_path / "ct"),
             "model_monitor_models": [{"name": "bc", "label_column": "target", "data_path": "/data/latest.csv"}],
             "model_monitor_secret": "mlflow-credentials",
             "continuous_training_scheduled_models": ["bc"],
             "continuous_training_rollout_vars": {"model_rollout_project_git_url": "https://git.example/bc.git"}}
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", INVENTORY, "%s/continuous_training.yml" % PLAYBOOKS,
                           "-e", yaml.safe_dump(extra, default_flow_style=True, width=100000)],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    with open(str(tmp_path / "ct" / "continuous-training.yml")) as handle:
        ct = yaml.safe_load(handle)
    with open(str(tmp_path / "monitor" / "model-monitor.yml")) as handle:
        monitor = yaml.safe_load(handle)
    return dict(((o["kind"], o["metadata"]["name"]), o) for o in ct + monitor)


def test_cluster_objects(tmp_path):
    objects = render(tmp_path, ansible_env())
    assert sorted(objects) == [
        ("AlertmanagerConfig", "mlops-continuous-training"), ("ConfigMap", "mlops-continuous-training"),
        ("ConfigMap", "mlops-model-monitor"), ("CronJob", "mlops-model-monitor"),
        ("CronJob", "mlops-scheduled-retraining-bc"), ("Deployment", "mlops-continuous-training"),
        ("Service", "mlops-continuous-training")]
    assert set(o["metadata"]["namespace"] for o in objects.values()) == {"models-a"}
    route = objects[("AlertmanagerConfig", "mlops-continuous-training")]["spec"]
    assert route["route"]["groupBy"] == ["alertname", "model"]
    assert route["route"]["matchers"] == [{"name": "alertname", "matchType": "=~",
                                           "value": "ModelQualityDegraded|ModelDataDrift"}]
    assert (route["route"]["groupWait"], route["route"]["repeatInterval"]) == ("30s", "12h")
    assert route["receivers"][0]["webhookConfigs"] == [
        {"url": "http://mlops-continuous-training.models-a.svc:5001/endpoint", "sendResolved": True}]
    config = objects[("ConfigMap", "mlops-continuous-training")]["data"]
    assert yaml.safe_load(config["rollout-vars.yml"]) == {"model_rollout_project_git_url": "https://git.example/bc.git"}
    assert yaml.safe_load(config["rulebook-vars.yml"])["continuous_training_playbook"] == (
        "/usr/share/ansible/collections/ansible_collections/mlops/platform/playbooks/retrain.yml")
    rulebook = objects[("Deployment", "mlops-continuous-training")]["spec"]["template"]["spec"]["containers"][0]
    assert rulebook["command"][:3] == ["ansible-rulebook", "--rulebook",
                                       "/usr/share/ansible/collections/ansible_collections/mlops/platform/"
                                       "extensions/eda/rulebooks/continuous_training.yml"]
    retrain = objects[("CronJob", "mlops-scheduled-retraining-bc")]["spec"]
    assert retrain["schedule"] == "0 3 * * 0"
    assert "continuous_training_model=bc" in retrain["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"]
    monitor = objects[("CronJob", "mlops-model-monitor")]["spec"]
    container = monitor["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][-2:] == ["/etc/model-monitor/config.json", "--once"]
    assert container["envFrom"] == [{"secretRef": {"name": "mlflow-credentials"}}]
    monitor_config = yaml.safe_load(objects[("ConfigMap", "mlops-model-monitor")]["data"]["config.json"])
    assert monitor_config["models"] == [{"name": "bc", "label_column": "target", "data_path": "/data/latest.csv"}]
