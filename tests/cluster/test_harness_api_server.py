"""The API server is real: its version, its schema validation and its authorization."""

import json

import pytest
from kubernetes import client as k8s_client
from kubernetes.client.rest import ApiException

from conftest import PINNED_K8S_VERSION, require_kind, wait_until


def test_version_reports_the_pinned_release(cluster):
    info = k8s_client.VersionApi(cluster.api).get_code()
    if cluster.embedded:
        assert info.git_version == PINNED_K8S_VERSION
        assert (info.major, info.minor) == ("1", PINNED_K8S_VERSION.split(".")[1])
        assert info.git_tree_state == "archive"
    else:
        assert info.major == "1"


def test_fake_nodes_are_ready_and_schedulable(cluster):
    nodes = cluster.core().list_node().items
    if cluster.embedded:
        assert sorted(n.metadata.name for n in nodes) == ["kwok-worker-1", "kwok-worker-2"]
    ready = [n.metadata.name for n in nodes
             if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])]
    assert ready and len(ready) == len(nodes)
    assert all(not n.spec.unschedulable for n in nodes)


def _api_error(call):
    with pytest.raises(ApiException) as info:
        call()
    return info.value.status, json.loads(info.value.body)


def test_crd_schema_rejects_wrong_enum_through_kubernetes_core(cluster, playbook, namespace):
    require_kind(cluster, "route.openshift.io/v1", "Route")
    run = playbook("harness_route", test_namespace=namespace, test_termination="edg")
    result = run["Apply the Route"]
    assert result["failed"] is True
    assert result["reason"] == "Unprocessable Entity"
    prefix = "Failed to create object: "
    assert result["msg"].startswith(prefix)
    status = json.loads(result["msg"][len(prefix):])      # the API server's Status, verbatim
    assert status["code"] == 422
    assert status["reason"] == "Invalid"
    assert status["message"] == ('Route.route.openshift.io "iris" is invalid: spec.tls.termination: '
                                 'Unsupported value: "edg": supported values: "edge", "passthrough", '
                                 '"reencrypt", "Edge", "Passthrough", "Reencrypt"')
    assert status["details"]["causes"] == [{
        "reason": "FieldValueNotSupported",
        "message": ('Unsupported value: "edg": supported values: "edge", "passthrough", "reencrypt", '
                    '"Edge", "Passthrough", "Reencrypt"'),
        "field": "spec.tls.termination"}]
    # nothing was stored, and the admission stand-in never saw it
    assert "Wait for the router to admit the Route" not in run.tasks or \
        run["Wait for the router to admit the Route"].get("skipped") is True


def test_crd_schema_requires_fields(cluster, namespace):
    require_kind(cluster, "machinelearning.seldon.io/v1", "SeldonDeployment")
    body = {
        "apiVersion": "machinelearning.seldon.io/v1",
        "kind": "SeldonDeployment",
        "metadata": {"name": "no-predictors"},
        "spec": {"protocol": "v2"},
    }
    status, err = _api_error(lambda: cluster.custom().create_namespaced_custom_object(
        "machinelearning.seldon.io", "v1", namespace, "seldondeployments", body))
    assert status == 422
    assert err["message"] == ('SeldonDeployment.machinelearning.seldon.io "no-predictors" is invalid: '
                              'spec.predictors: Required value')


def test_crd_validation_rule_message(cluster, namespace):
    require_kind(cluster, "monitoring.coreos.com/v1", "PrometheusRule")
    body = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "both"},
        "spec": {"groups": [{"name": "serving", "rules": [
            {"record": "job:latency:p99", "alert": "HighLatency", "expr": "vector(1)"}]}]},
    }
    status, err = _api_error(lambda: cluster.custom().create_namespaced_custom_object(
        "monitoring.coreos.com", "v1", namespace, "prometheusrules", body))
    assert status == 422
    assert err["message"] == ('PrometheusRule.monitoring.coreos.com "both" is invalid: '
                              'spec.groups[0].rules[0]: Invalid value: '
                              'a rule sets exactly one of record and alert')


def test_misspelled_field_is_rejected_by_strict_validation_and_server_side_apply(cluster, namespace):
    require_kind(cluster, "operators.coreos.com/v1alpha1", "Subscription")
    subscription = {
        "apiVersion": "operators.coreos.com/v1alpha1",
        "kind": "Subscription",
        "metadata": {"name": "typo", "namespace": namespace},
        "spec": {"name": "seldon-operator", "source": "certified-operators",
                 "sourceNamespace": "openshift-marketplace", "chanel": "stable"},
    }
    status, err = _api_error(lambda: cluster.custom().create_namespaced_custom_object(
        "operators.coreos.com", "v1alpha1", namespace, "subscriptions", subscription,
        field_validation="Strict"))
    assert status == 400
    assert err["message"] == 'Subscription in version "v1alpha1" cannot be handled as a Subscription: strict decoding error: unknown field "spec.chanel"'

    # server-side apply (what `apply: true` + server_side_apply sends) refuses it whatever the
    # field validation setting, and says where; kube-apiserver answers this one with a 500
    status, err = _api_error(lambda: cluster.custom().patch_namespaced_custom_object(
        "operators.coreos.com", "v1alpha1", namespace, "subscriptions", "typo", subscription,
        field_manager="mlops-test", _content_type="application/apply-patch+yaml"))
    assert status == 500
    assert err["message"] == (
        "failed to create typed patch object (%s/typo; operators.coreos.com/v1alpha1, "
        "Kind=Subscription): .spec.chanel: field not declared in schema" % namespace)


def test_service_account_is_denied_without_binding_and_allowed_with_one(
        cluster, namespace, playbook, service_account_token):
    token = service_account_token(namespace, "robot")
    robot = k8s_client.CoreV1Api(cluster.token_client(token))
    status, err = _api_error(lambda: robot.list_namespaced_config_map(namespace))
    assert status == 403
    assert err["message"] == (
        'configmaps is forbidden: User "system:serviceaccount:%s:robot" cannot list resource '
        '"configmaps" in API group "" in the namespace "%s"' % (namespace, namespace))

    auth = dict(test_namespace=namespace, test_host=cluster.api.configuration.host,
                test_ca_cert=cluster.ca_file(), test_token=token,
                test_admin_kubeconfig=cluster.kubeconfig)
    # the same denial seen through kubernetes.core, authenticated by the token only
    denied = playbook("harness_rbac", env={"K8S_AUTH_KUBECONFIG": None}, test_grant=False, **auth)
    assert denied["List ConfigMaps as the ServiceAccount"]["failed"] is True
    assert "403" in denied["List ConfigMaps as the ServiceAccount"]["msg"]

    granted = playbook("harness_rbac", env={"K8S_AUTH_KUBECONFIG": None}, **auth)
    assert granted.rc == 0, granted
    listed = granted["List ConfigMaps as the ServiceAccount"]
    assert listed.get("failed") is not True, granted
    assert "kube-root-ca.crt" in [r["metadata"]["name"] for r in listed["resources"]]
    # and the Python client, same token
    wait_until(lambda: robot.list_namespaced_config_map(namespace).items, 10,
               "the RoleBinding to take effect")
