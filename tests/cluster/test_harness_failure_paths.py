"""Pods and Jobs fail the way they fail on a cluster: missing Secrets, ConfigMaps, claims and
ServiceAccounts keep them from running (with the event that names what is missing), and the
failure switch mlops.test/fail makes a Job's pods exit 1 and a Deployment's pods crash-loop.

The kubelet part is the stand-in controller's (mlops-standin-kubelet); the PVC and ServiceAccount
cases are the real kube-scheduler and the real ServiceAccount admission plugin."""

import pytest
from kubernetes import client as k8s_client

from conftest import condition_of, wait_until

FAIL = "mlops.test/fail"


def pod(name, annotations=None, **spec):
    body = {"containers": [{"name": "app", "image": "registry.invalid/mlops/app:1"}]}
    body.update(spec)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "annotations": annotations or {}}, "spec": body}


def phase(cluster, namespace, name):
    return cluster.core().read_namespaced_pod(name, namespace).status.phase


def warning_events(cluster, namespace, name):
    return [e for e in cluster.events(namespace, name) if e[0] == "Warning"]


def wait_event(cluster, namespace, name, reason):
    return wait_until(lambda: next((e for e in warning_events(cluster, namespace, name) if e[1] == reason), None),
                      30, "a %s event for %s" % (reason, name))


@pytest.mark.standin("mlops-standin-kubelet (stand-in controller)")
def test_pod_waits_for_a_missing_secret_volume_and_runs_once_it_exists(cluster, namespace):
    core = cluster.core()
    core.create_namespaced_pod(namespace, pod("mlflow", volumes=[
        {"name": "db-credentials", "secret": {"secretName": "mlflow-db"}}]))
    event = wait_event(cluster, namespace, "mlflow", "FailedMount")
    assert event == ("Warning", "FailedMount",
                     'MountVolume.SetUp failed for volume "db-credentials" : secret "mlflow-db" not found',
                     "mlops-standin-kubelet")
    status = core.read_namespaced_pod("mlflow", namespace).status
    assert status.phase == "Pending"
    assert status.container_statuses[0].state.waiting.reason == "ContainerCreating"

    core.create_namespaced_secret(namespace, {"metadata": {"name": "mlflow-db"}, "stringData": {"password": "x"}})
    wait_until(lambda: phase(cluster, namespace, "mlflow") == "Running", 30, "the pod to run once its Secret exists")
    assert core.read_namespaced_pod("mlflow", namespace).status.container_statuses[0].ready is True


@pytest.mark.standin("mlops-standin-kubelet (stand-in controller)")
@pytest.mark.parametrize("spec, existing, reason, message", [
    ({"volumes": [{"name": "config", "configMap": {"name": "mlflow-config"}}]}, None, "FailedMount",
     'MountVolume.SetUp failed for volume "config" : configmap "mlflow-config" not found'),
    ({"volumes": [{"name": "all", "projected": {"sources": [{"configMap": {"name": "ca"}}, {"secret": {"name": "tls"}}]}}]},
     ("ConfigMap", "ca"), "FailedMount", 'MountVolume.SetUp failed for volume "all" : secret "tls" not found'),
    ({"containers": [{"name": "app", "image": "registry.invalid/app:1",
                      "env": [{"name": "PGPASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]}]},
     None, "Failed", 'Error: secret "db" not found'),
    ({"containers": [{"name": "app", "image": "registry.invalid/app:1",
                      "env": [{"name": "PGPASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]}]},
     ("Secret", "db"), "Failed", "Error: couldn't find key password in Secret {ns}/db"),
    ({"containers": [{"name": "app", "image": "registry.invalid/app:1",
                      "env": [{"name": "URI", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "uri"}}}]}]},
     ("ConfigMap", "settings"), "Failed", "Error: couldn't find key uri in ConfigMap {ns}/settings"),
    ({"initContainers": [{"name": "migrate", "image": "registry.invalid/app:1",
                          "envFrom": [{"secretRef": {"name": "s3"}}]}]},
     None, "Failed", 'Error: secret "s3" not found'),
], ids=["configmap-volume", "projected-secret", "env-secret", "env-secret-key", "env-configmap-key", "envfrom-secret"])
def test_pod_stays_pending_with_the_kubelets_event(cluster, namespace, spec, existing, reason, message):
    core = cluster.core()
    if existing:
        kind, name = existing
        body = {"metadata": {"name": name}, "data": {"other": "eA==" if kind == "Secret" else "x"}}
        (core.create_namespaced_secret if kind == "Secret" else core.create_namespaced_config_map)(namespace, body)
    core.create_namespaced_pod(namespace, pod("waiting", **spec))
    event = wait_event(cluster, namespace, "waiting", reason)
    assert event[2] == message.format(ns=namespace)
    status = core.read_namespaced_pod("waiting", namespace).status
    assert status.phase == "Pending"
    waiting = status.container_statuses[0].state.waiting
    if reason == "FailedMount":
        assert waiting.reason == "ContainerCreating"
    else:
        assert (waiting.reason, waiting.message) == ("CreateContainerConfigError", message.format(ns=namespace)[len("Error: "):])


@pytest.mark.standin("mlops-standin-kubelet (stand-in controller)")
def test_optional_references_do_not_hold_a_pod(cluster, namespace):
    cluster.core().create_namespaced_pod(namespace, pod(
        "optional", volumes=[{"name": "extra", "secret": {"secretName": "nope", "optional": True}}],
        containers=[{"name": "app", "image": "registry.invalid/app:1",
                     "envFrom": [{"configMapRef": {"name": "nope", "optional": True}}],
                     "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k", "optional": True}}}]}]))
    wait_until(lambda: phase(cluster, namespace, "optional") == "Running", 30, "the pod to run")
    assert warning_events(cluster, namespace, "optional") == []


def test_pod_with_a_missing_claim_is_not_scheduled(cluster, namespace):
    # the real kube-scheduler's answer
    cluster.core().create_namespaced_pod(namespace, pod(
        "db", volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}}]))
    event = wait_until(lambda: next((e for e in warning_events(cluster, namespace, "db") if e[1] == "FailedScheduling"), None),
                       30, "FailedScheduling")
    assert event[2].startswith('0/2 nodes are available: persistentvolumeclaim "data-db-0" not found.')
    assert event[3] == "default-scheduler"
    found = cluster.core().read_namespaced_pod("db", namespace)
    assert found.status.phase == "Pending" and not found.spec.node_name


def test_deployment_with_a_missing_service_account_reports_failed_create(cluster, namespace):
    # the real ServiceAccount admission plugin refuses the pods; the ReplicaSet says so
    apps = k8s_client.AppsV1Api(cluster.api)
    apps.create_namespaced_deployment(namespace, {
        "metadata": {"name": "mlflow"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "mlflow"}},
                 "template": {"metadata": {"labels": {"app": "mlflow"}},
                              "spec": {"serviceAccountName": "mlflow",
                                       "containers": [{"name": "mlflow", "image": "registry.invalid/mlflow:3"}]}}}})

    def failed_create():
        for rs in apps.list_namespaced_replica_set(namespace).items:
            found = [e for e in warning_events(cluster, namespace, rs.metadata.name) if e[1] == "FailedCreate"]
            if found:
                return rs.metadata.name, found[0]
        return None
    rs_name, event = wait_until(failed_create, 30, "FailedCreate from the ReplicaSet")
    assert event[2].startswith('Error creating: pods "%s-' % rs_name)
    assert event[2].endswith('" is forbidden: error looking up service account %s/mlflow: serviceaccount "mlflow" '
                             'not found' % namespace)


def _job(name, template_annotations=None, annotations=None, backoff=1):
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "annotations": annotations or {}},
            "spec": {"backoffLimit": backoff, "template": {
                "metadata": {"annotations": template_annotations or {}},
                "spec": {"restartPolicy": "Never",
                         "containers": [{"name": "migrate", "image": "registry.invalid/mlflow:3",
                                         "command": ["mlflow", "db", "upgrade"]}]}}}}


def _job_failed(cluster, namespace, name):
    job = k8s_client.BatchV1Api(cluster.api).read_namespaced_job(name, namespace)
    return next((c for c in job.status.conditions or [] if c.type == "Failed" and c.status == "True"), None)


@pytest.mark.standin("mlops-pod-job-failed (KWOK stage)")
@pytest.mark.parametrize("where, backoff", [("pod-template", 1), ("job", 0)])
def test_failure_switch_makes_a_jobs_pods_exit_1_until_the_backoff_limit(cluster, namespace, where, backoff):
    message = "alembic.util.exc.CommandError: Can't locate revision"
    body = _job("db-upgrade", backoff=backoff, **({"template_annotations": {FAIL: message}} if where == "pod-template"
                                                  else {"annotations": {FAIL: message}}))
    k8s_client.BatchV1Api(cluster.api).create_namespaced_job(namespace, body)
    failed = wait_until(lambda: _job_failed(cluster, namespace, "db-upgrade"), 60, "the Job to fail")
    assert (failed.reason, failed.message) == ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
    pods = cluster.core().list_namespaced_pod(namespace, label_selector="job-name=db-upgrade").items
    assert len(pods) == backoff + 1                         # the first try and backoffLimit retries
    for found in pods:
        assert found.status.phase == "Failed"
        terminated = found.status.container_statuses[0].state.terminated
        assert (terminated.exit_code, terminated.reason, terminated.message) == (1, "Error", message)


def test_a_job_without_the_switch_completes(cluster, namespace):
    k8s_client.BatchV1Api(cluster.api).create_namespaced_job(namespace, _job("train"))

    def complete():
        job = k8s_client.BatchV1Api(cluster.api).read_namespaced_job("train", namespace)
        return job.status.succeeded == 1 and any(c.type == "Complete" and c.status == "True"
                                                 for c in job.status.conditions or [])
    wait_until(complete, 60, "the Job to complete")


@pytest.mark.standin("mlops-pod-running (KWOK stage)")
def test_failure_switch_makes_a_deployments_pods_crash_loop_and_the_rollout_stall(cluster, namespace):
    apps = k8s_client.AppsV1Api(cluster.api)
    apps.create_namespaced_deployment(namespace, {
        "metadata": {"name": "model-server"},
        "spec": {"replicas": 1, "progressDeadlineSeconds": 3,
                 "selector": {"matchLabels": {"app": "model-server"}},
                 "template": {"metadata": {"labels": {"app": "model-server"},
                                           "annotations": {FAIL: "model failed to load"}},
                              "spec": {"containers": [{"name": "mlserver", "image": "registry.invalid/mlserver:1"}]}}}})

    def crashing():
        pods = cluster.core().list_namespaced_pod(namespace, label_selector="app=model-server").items
        return pods[0] if pods and pods[0].status.container_statuses else None
    found = wait_until(crashing, 30, "the pod to start")
    assert found.status.phase == "Running"
    status = found.status.container_statuses[0]
    assert (status.ready, status.restart_count, status.state.waiting.reason) == (False, 1, "CrashLoopBackOff")
    assert status.state.waiting.message == "back-off 10s restarting failed container=mlserver pod=%s_%s(%s)" % (
        found.metadata.name, namespace, found.metadata.uid)
    assert (status.last_state.terminated.exit_code, status.last_state.terminated.message) == (1, "model failed to load")
    assert {c.type: c.status for c in found.status.conditions}["Ready"] == "False"

    def stalled():
        deployment = apps.read_namespaced_deployment("model-server", namespace).to_dict()
        return condition_of({"status": {"conditions": [
            {"type": c["type"], "status": c["status"], "reason": c["reason"]}
            for c in deployment["status"].get("conditions") or []]}}, "Progressing")
    progressing = wait_until(lambda: (stalled() or {}).get("reason") == "ProgressDeadlineExceeded" and stalled(),
                             60, "the Deployment to exceed its progress deadline")
    assert progressing["status"] == "False"
