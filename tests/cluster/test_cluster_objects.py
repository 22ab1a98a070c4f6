"""mlops.platform.cluster_objects and cluster_objects_info against the real API server (the roles on a cluster apply
and read through them): Namespaces created then left alone, server-side apply with the field manager, a rerun
that changes nothing, check mode as the server's dry run (and the objects of a new Namespace deferred), the waits
on the real controllers, exact messages, Secrets' data never returned, and removal."""

import base64
import uuid

from kubernetes import client as k8s_client
from kubernetes.client.rest import ApiException

LABELS = {"app.kubernetes.io/part-of": "harness"}


def objects(ns, alias="champion", replicas=1, token="s3cr3t-value"):
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {"mlops.platform/test": "objects"}}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": ns, "labels": LABELS},
         "data": {"alias": alias}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "token", "namespace": ns, "labels": LABELS},
         "stringData": {"token": token}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "server", "namespace": ns, "labels": LABELS},
         "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "server"}},
                  "template": {"metadata": {"labels": {"app": "server"}},
                               "spec": {"containers": [{"name": "server", "image": "registry.example/server:1"}]}}}},
    ]


def wait(ns, **extra):
    return [dict({"kind": "Deployment", "name": "server", "namespace": ns, "condition": {"type": "Available"},
                  "timeout": 60}, **extra)]


def test_apply_rerun_check_mode_and_remove(cluster, playbook):
    ns = "mlops-t-co-" + uuid.uuid4().hex[:6]
    core = cluster.core()
    try:
        first = playbook("harness_cluster_objects", test_namespace=ns, test_objects=objects(ns), test_wait=wait(ns))
        assert first.rc == 0, first
        applied = first["Apply or remove the objects"]
        assert applied["changed"] is True
        assert applied["changed_objects"] == ["Namespace %s" % ns, "ConfigMap %s/settings" % ns,
                                              "Secret %s/token" % ns, "Deployment %s/server" % ns]
        assert [w["ready"] for w in applied["waited"]] == [True]
        assert applied["not_ready"] == []
        secret = [o for o in applied["objects"] if o["kind"] == "Secret"][0]
        assert "data" not in secret and "stringData" not in secret
        assert "s3cr3t-value" not in first.stdout
        assert all("managedFields" not in o["metadata"] for o in applied["objects"])
        stored = core.read_namespaced_config_map("settings", ns)
        assert ("mlops.platform/harness", "Apply") in {(f.manager, f.operation) for f in stored.metadata.managed_fields}
        assert base64.b64decode(core.read_namespaced_secret("token", ns).data["token"]) == b"s3cr3t-value"
        read = first["Read the ConfigMaps of the namespace by label"]
        assert [o["metadata"]["name"] for o in read["resources"]] == ["settings"]
        assert read["api_found"] is True
        unserved = first["Read a kind the cluster does not serve"]
        assert (unserved["api_found"], unserved["resources"], unserved["changed"]) == (False, [], False)

        again = playbook("harness_cluster_objects", test_namespace=ns, test_objects=objects(ns), test_wait=wait(ns))
        rerun = again["Apply or remove the objects"]
        assert (rerun["changed"], rerun["changed_objects"], rerun["waited"]) == (False, [], [])

        version = core.read_namespaced_config_map("settings", ns).metadata.resource_version
        dry = playbook("harness_cluster_objects", check=True, test_namespace=ns,
                       test_objects=objects(ns, alias="challenger", token="an0ther-value"))
        assert dry.rc == 0, dry
        predicted = dry["Apply or remove the objects"]
        assert predicted["changed_objects"] == ["ConfigMap %s/settings" % ns, "Secret %s/token" % ns]
        assert [o for o in predicted["objects"] if o["kind"] == "ConfigMap"][0]["data"] == {"alias": "challenger"}
        assert "an0ther-value" not in dry.stdout
        after = core.read_namespaced_config_map("settings", ns)
        assert (after.data, after.metadata.resource_version) == ({"alias": "champion"}, version)

        fresh = "mlops-t-co-" + uuid.uuid4().hex[:6]
        deferred = playbook("harness_cluster_objects", check=True, test_namespace=ns, test_objects=objects(fresh))
        planned = deferred["Apply or remove the objects"]
        assert planned["new_namespaces"] == [fresh]
        assert planned["deferred"] == ["ConfigMap %s/settings" % fresh, "Secret %s/token" % fresh,
                                       "Deployment %s/server" % fresh]
        assert planned["changed"] is True
        try:
            core.read_namespace(fresh)
            raise AssertionError("check mode created Namespace %s" % fresh)
        except ApiException as exc:
            assert exc.status == 404

        removed = playbook("harness_cluster_objects", test_namespace=ns, test_state="absent",
                           test_objects=list(reversed(objects(ns)[1:])) + objects(ns)[:1], test_may_fail=True)
        gone = removed["Apply or remove the objects"]
        assert gone.get("failed") is not True, removed
        assert gone["changed_objects"] == ["Deployment %s/server" % ns, "Secret %s/token" % ns,
                                           "ConfigMap %s/settings" % ns, "Namespace %s" % ns]
        try:
            core.read_namespace(ns)
            raise AssertionError("Namespace %s is still there after state=absent" % ns)
        except ApiException as exc:
            assert exc.status == 404
        nothing = playbook("harness_cluster_objects", test_namespace=ns, test_state="absent", test_may_fail=True,
                           test_objects=objects(ns))
        assert nothing["Apply or remove the objects"]["changed"] is False
    finally:
        try:
            core.delete_namespace(ns)
        except ApiException:
            pass


def test_wait_and_apply_errors_are_named(cluster, namespace, playbook):
    mine = objects(namespace)[1:]
    stuck = playbook("harness_cluster_objects", test_namespace=namespace, test_objects=mine, test_may_fail=True,
                     test_wait=wait(namespace, condition={"type": "Progressing", "status": "Unknown"}, timeout=2))
    result = stuck["Apply or remove the objects"]
    assert result["not_ready"][0].startswith(
        "Deployment %s/server: condition Progressing is not Unknown after 2 s (Progressing " % namespace)

    widget = [{"apiVersion": "example.mlops.platform/v1", "kind": "Widget",
               "metadata": {"name": "w", "namespace": namespace}}]
    failed = playbook("harness_cluster_objects", test_namespace=namespace, test_objects=widget, test_may_fail=True)
    error = failed["Apply or remove the objects"]
    assert error["failed"] is True
    assert error["msg"] == (
        "Failed to read Widget %s/w: example.mlops.platform/v1 Widget is not served by the Kubernetes API server at "
        "%s (is its CRD or operator installed?)" % (namespace, cluster.api.configuration.host))

    invalid = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Not_A_Name", "namespace": namespace}}]
    refused = playbook("harness_cluster_objects", test_namespace=namespace, test_objects=invalid, test_may_fail=True)
    message = refused["Apply or remove the objects"]["msg"]
    assert message.startswith("Failed to apply ConfigMap %s/Not_A_Name: PATCH " % namespace)
    assert "HTTP 422 Invalid: ConfigMap \"Not_A_Name\" is invalid" in message
    assert k8s_client.CoreV1Api(cluster.api).list_namespaced_config_map(
        namespace, label_selector="app.kubernetes.io/part-of=harness").items[0].metadata.name == "settings"
