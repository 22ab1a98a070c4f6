"""Workloads applied with kubernetes.core reach their ready states through the real
controller-manager and scheduler (KWOK plays the kubelets); applies are idempotent, check mode
is a server dry run, and removal really removes."""

from kubernetes import client as k8s_client
from kubernetes.client.rest import ApiException

from conftest import wait_until


def test_deployment_available_idempotent_and_removed(cluster, namespace, playbook):
    first = playbook("harness_deployment", test_namespace=namespace)
    assert first.rc == 0, first
    applied = first["Apply the Deployment and wait for Available"]
    assert applied["changed"] is True
    status = applied["result"]["status"]
    assert status["availableReplicas"] == 2
    assert {"type": "Available", "status": "True"}.items() <= {
        c["type"]: c for c in status["conditions"]}["Available"].items()

    # the pods exist, the scheduler placed them on fake nodes, KWOK runs them
    pods = cluster.core().list_namespaced_pod(
        namespace, label_selector="app.kubernetes.io/name=model-server").items
    assert len(pods) == 2
    assert {p.status.phase for p in pods} == {"Running"}
    if cluster.embedded:
        assert {p.spec.node_name for p in pods} <= {"kwok-worker-1", "kwok-worker-2"}
    assert all(p.status.pod_ip for p in pods)

    again = playbook("harness_deployment", test_namespace=namespace)
    assert again.rc == 0, again
    assert again["Apply the Deployment and wait for Available"]["changed"] is False

    removed = playbook("harness_deployment", test_namespace=namespace, test_state="absent")
    assert removed.rc == 0, removed
    assert removed["Remove the Deployment and wait until it is gone"]["changed"] is True
    apps = k8s_client.AppsV1Api(cluster.api)
    try:
        apps.read_namespaced_deployment("model-server", namespace)
        raise AssertionError("Deployment model-server still exists after state=absent")
    except ApiException as exc:
        assert exc.status == 404
    # the garbage collector removes the ReplicaSet's pods, KWOK lets them go
    wait_until(lambda: not cluster.core().list_namespaced_pod(
        namespace, label_selector="app.kubernetes.io/name=model-server").items, 60,
        "the Deployment's pods to be deleted")

    gone = playbook("harness_deployment", test_namespace=namespace, test_state="absent")
    assert gone["Remove the Deployment and wait until it is gone"]["changed"] is False


def test_statefulset_with_volume_and_job_complete(cluster, namespace, playbook):
    run = playbook("harness_workloads", test_namespace=namespace)
    assert run.rc == 0, run
    sts = run["Apply a StatefulSet with a volume claim template and wait for it"]["result"]
    assert sts["status"]["readyReplicas"] == 1
    claim = cluster.core().read_namespaced_persistent_volume_claim("data-tracking-db-0", namespace)
    assert claim.status.phase == "Bound"
    if cluster.embedded:
        # the default StorageClass was filled in by admission, the stand-in provisioned the PV
        assert claim.spec.storage_class_name == "standard"
        volume = cluster.core().read_persistent_volume(claim.spec.volume_name)
        assert volume.metadata.annotations["mlops.platform/stand-in"]
        assert volume.spec.claim_ref.uid == claim.metadata.uid
    if cluster.embedded:
        # reclaimPolicy Delete: once the claim is gone, the stand-in deletes the volume
        k8s_client.AppsV1Api(cluster.api).delete_namespaced_stateful_set("tracking-db", namespace)
        cluster.core().delete_namespaced_persistent_volume_claim("data-tracking-db-0", namespace)

        def volume_deleted():
            try:
                cluster.core().read_persistent_volume(claim.spec.volume_name)
            except ApiException as exc:
                if exc.status == 404:
                    return True
                raise
            return False

        wait_until(volume_deleted, 60, "PersistentVolume %s to be reclaimed" % claim.spec.volume_name)

    job = run["Apply a Job and wait for Complete"]["result"]
    assert job["status"]["succeeded"] == 1
    assert "Complete" in [c["type"] for c in job["status"]["conditions"] if c["status"] == "True"]


def test_server_side_apply_field_manager_and_check_mode(cluster, namespace, playbook):
    created = playbook("harness_server_side_apply", test_namespace=namespace, test_alias="champion")
    assert created.rc == 0, created
    assert created["Server-side apply the model settings"]["changed"] is True

    core = cluster.core()
    cm = core.read_namespaced_config_map("model-settings", namespace)
    assert cm.data == {"alias": "champion", "threshold": "0.9"}
    managers = {(f.manager, f.operation) for f in cm.metadata.managed_fields}
    assert ("mlops-platform-test", "Apply") in managers

    same = playbook("harness_server_side_apply", test_namespace=namespace, test_alias="champion")
    assert same["Server-side apply the model settings"]["changed"] is False

    dry = playbook("harness_server_side_apply", check=True, test_namespace=namespace, test_alias="challenger")
    assert dry.rc == 0, dry
    predicted = dry["Server-side apply the model settings"]
    assert predicted["changed"] is True
    assert predicted["result"]["data"]["alias"] == "challenger"    # what the server would store
    after = core.read_namespaced_config_map("model-settings", namespace)
    assert after.data["alias"] == "champion"                       # what it does store
    assert after.metadata.resource_version == cm.metadata.resource_version
