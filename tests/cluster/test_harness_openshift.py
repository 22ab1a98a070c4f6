"""OpenShift's own behaviour on the embedded control plane: a Project (or a ProjectRequest, which is
what community.okd.k8s sends) makes its Namespace; the service CA signs serving-cert Secrets and
fills CA bundles; and the objects an OpenShift cluster starts with are there."""

import base64
import uuid

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from kubernetes import client as k8s_client
from kubernetes.client.rest import ApiException

from conftest import wait_until

PROJECT = "project.openshift.io/v1"


def _namespace_active(cluster, name):
    try:
        found = cluster.core().read_namespace(name)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return found if found.status.phase == "Active" else None


def _gone(cluster, name):
    try:
        cluster.core().read_namespace(name)
        return False
    except ApiException as exc:
        if exc.status == 404:
            return True
        raise


@pytest.mark.standin("openshift-apiserver projects (stand-in controller)")
def test_project_makes_its_namespace_and_takes_it_along(cluster):
    name = "mlops-p-" + uuid.uuid4().hex[:6]
    cluster.create({"apiVersion": PROJECT, "kind": "Project", "metadata": {
        "name": name, "annotations": {"openshift.io/display-name": "Serving", "openshift.io/description": "models"}}})
    try:
        namespace = wait_until(lambda: _namespace_active(cluster, name), 30, "the Project's Namespace")
        assert namespace.metadata.annotations["openshift.io/display-name"] == "Serving"
        assert namespace.metadata.annotations["openshift.io/description"] == "models"
        assert namespace.metadata.owner_references[0].kind == "Project"
        wait_until(lambda: (cluster.read(PROJECT, "Project", name).get("status") or {}).get("phase") == "Active",
                   30, "the Project to be Active")
    finally:
        cluster.delete(PROJECT, "Project", name)
    wait_until(lambda: _gone(cluster, name), 60, "the Namespace to go with its Project")


@pytest.mark.standin("openshift-apiserver project requests (stand-in controller)")
def test_community_okd_k8s_creates_a_project_through_a_project_request(cluster, adhoc):
    name = "mlops-p-" + uuid.uuid4().hex[:6]
    project = {"state": "present", "definition": {
        "apiVersion": PROJECT, "kind": "Project", "metadata": {"name": name},
        "displayName": "MLOps serving", "description": "models and their canaries"}}
    try:
        first = adhoc("community.okd.k8s", **project)
        assert first["changed"] is True and first["method"] == "create", first
        namespace = wait_until(lambda: _namespace_active(cluster, name), 30, "the requested Project's Namespace")
        assert namespace.metadata.annotations["openshift.io/display-name"] == "MLOps serving"
        assert namespace.metadata.annotations["openshift.io/description"] == "models and their canaries"
        # as on OpenShift, the request is not kept
        wait_until(lambda: cluster.read(PROJECT, "ProjectRequest", name) is None, 30, "the ProjectRequest to go")
        again = adhoc("community.okd.k8s", **project)
        assert again["changed"] is False, again
    finally:
        cluster.delete(PROJECT, "Project", name)
    wait_until(lambda: _gone(cluster, name), 60, "the Namespace to go")


def _service_ca(cluster, namespace):
    data = cluster.core().read_namespaced_config_map("openshift-service-ca.crt", namespace).data
    return x509.load_pem_x509_certificate(data["service-ca.crt"].encode())


@pytest.mark.standin("service-ca-operator (stand-in controller)")
def test_serving_cert_secret_for_an_annotated_service(cluster, namespace):
    core = cluster.core()
    wait_until(lambda: core.list_namespaced_config_map(namespace, field_selector="metadata.name=openshift-service-ca.crt").items,
               30, "the namespace's service CA bundle")
    core.create_namespaced_service(namespace, {
        "metadata": {"name": "mlflow", "annotations": {"service.beta.openshift.io/serving-cert-secret-name": "mlflow-tls"}},
        "spec": {"selector": {"app": "mlflow"}, "ports": [{"name": "https", "port": 8443}]}})
    secret = wait_until(lambda: next(iter(core.list_namespaced_secret(
        namespace, field_selector="metadata.name=mlflow-tls").items), None), 30, "the serving-cert Secret")
    assert secret.type == "kubernetes.io/tls"
    assert secret.metadata.annotations["service.beta.openshift.io/originating-service-name"] == "mlflow"
    assert secret.metadata.owner_references[0].kind == "Service"
    cert = x509.load_pem_x509_certificate(base64.b64decode(secret.data["tls.crt"]))
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert names == ["mlflow.%s.svc" % namespace, "mlflow.%s.svc.cluster.local" % namespace]
    assert ExtendedKeyUsageOID.SERVER_AUTH in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    ca = _service_ca(cluster, namespace)
    assert cert.issuer == ca.subject
    cert.verify_directly_issued_by(ca)
    assert base64.b64decode(secret.data["tls.key"]).startswith(b"-----BEGIN PRIVATE KEY-----")
    service = wait_until(lambda: core.read_namespaced_service("mlflow", namespace).metadata.annotations.get(
        "service.beta.openshift.io/serving-cert-signed-by"), 30, "the signed-by annotation")
    assert service.startswith("mlops-standin-service-serving-signer@")


@pytest.mark.standin("service-ca-operator (stand-in controller)")
def test_serving_cert_never_overwrites_a_secret_of_another_service(cluster, namespace):
    core = cluster.core()
    core.create_namespaced_secret(namespace, {"metadata": {"name": "taken"}, "stringData": {"x": "y"}})
    created = core.create_namespaced_service(namespace, {
        "metadata": {"name": "grafana", "annotations": {"service.beta.openshift.io/serving-cert-secret-name": "taken"}},
        "spec": {"ports": [{"name": "https", "port": 3000}]}})
    error = wait_until(lambda: core.read_namespaced_service("grafana", namespace).metadata.annotations.get(
        "service.beta.openshift.io/serving-cert-generation-error"), 30, "the generation error")
    assert error == "secret/taken references serviceUID , which does not match %s" % created.metadata.uid
    assert core.read_namespaced_secret("taken", namespace).string_data is None
    assert set(core.read_namespaced_secret("taken", namespace).data) == {"x"}


@pytest.mark.standin("service-ca-operator (stand-in controller)")
def test_ca_bundle_is_injected_into_an_annotated_configmap(cluster, namespace):
    core = cluster.core()
    core.create_namespaced_config_map(namespace, {"metadata": {
        "name": "trusted-ca", "annotations": {"service.beta.openshift.io/inject-cabundle": "true"}}})
    bundle = wait_until(lambda: (core.read_namespaced_config_map("trusted-ca", namespace).data or {}).get("service-ca.crt"),
                        30, "the injected bundle")
    assert x509.load_pem_x509_certificate(bundle.encode()).subject == _service_ca(cluster, namespace).subject


def test_openshift_namespaces_and_thanos_querier(cluster):
    if not cluster.embedded:
        pytest.skip("what an OpenShift cluster starts with is checked on the embedded control plane only")
    core = cluster.core()
    for name in ("openshift-monitoring", "openshift-user-workload-monitoring", "openshift-operators", "openshift-marketplace"):
        assert core.read_namespace(name).status.phase == "Active"
    assert core.read_namespace("openshift-monitoring").metadata.labels["openshift.io/cluster-monitoring"] == "true"
    service = core.read_namespaced_service("thanos-querier", "openshift-monitoring")
    assert [(p.name, p.port) for p in service.spec.ports] == [("web", 9091), ("tenancy", 9092), ("tenancy-rules", 9093), ("metrics", 9094)]
    secret = wait_until(lambda: next(iter(core.list_namespaced_secret(
        "openshift-monitoring", field_selector="metadata.name=thanos-querier-tls").items), None), 30, "thanos-querier-tls")
    assert secret.type == "kubernetes.io/tls"
    route = cluster.read("route.openshift.io/v1", "Route", "thanos-querier", "openshift-monitoring")
    assert route["spec"]["host"] == "thanos-querier-openshift-monitoring.apps.embedded.invalid"
    assert (route["spec"]["path"], route["spec"]["tls"]["termination"]) == ("/api", "reencrypt")


def test_security_context_constraints_and_their_cluster_roles(cluster):
    if not cluster.embedded:
        pytest.skip("the SCC objects are fixtures of the embedded control plane")
    scc = {name: cluster.read("security.openshift.io/v1", "SecurityContextConstraints", name)
           for name in ("restricted-v2", "anyuid", "privileged")}
    assert scc["restricted-v2"]["runAsUser"] == {"type": "MustRunAsRange"}
    assert scc["restricted-v2"]["allowedCapabilities"] == ["NET_BIND_SERVICE"]
    assert scc["restricted-v2"]["requiredDropCapabilities"] == ["ALL"]
    assert scc["anyuid"]["runAsUser"] == {"type": "RunAsAny"}
    assert scc["privileged"]["allowPrivilegedContainer"] is True
    rbac = k8s_client.RbacAuthorizationV1Api(cluster.api)
    for name in scc:
        rule = rbac.read_cluster_role("system:openshift:scc:" + name).rules[0]
        assert (rule.api_groups, rule.resources, rule.resource_names, rule.verbs) == (
            ["security.openshift.io"], ["securitycontextconstraints"], [name], ["use"])
    binding = rbac.read_cluster_role_binding("system:openshift:scc:restricted-v2")
    assert [(s.kind, s.name) for s in binding.subjects] == [("Group", "system:authenticated")]
