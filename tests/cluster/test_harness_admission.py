"""The admission-policy stand-ins (tests/cluster/admission.yaml): what openshift-apiserver does to a
Route, the SCC ranges of a namespace, and what the restricted-v2 SCC refuses."""

import json

import pytest
from kubernetes import client as k8s_client
from kubernetes.client.rest import ApiException

from conftest import wait_until

ROUTE = "route.openshift.io/v1"
RANGE = "[1000680000, 1000689999]"


def route(name, **spec):
    body = {"to": {"kind": "Service", "name": "iris"}}
    body.update(spec)
    return {"apiVersion": ROUTE, "kind": "Route", "metadata": {"name": name}, "spec": body}


@pytest.mark.standin("mlops-standin-route-host")
def test_route_host_is_allocated_on_create_and_kept_on_update(cluster, namespace):
    created = cluster.create(route("iris"), namespace)
    # in the create response already, as openshift-apiserver answers
    assert created["spec"]["host"] == "iris-%s.apps.embedded.invalid" % namespace
    assert created["metadata"]["annotations"]["openshift.io/host.generated"] == "true"
    assert created["spec"]["wildcardPolicy"] == "None"
    assert created["spec"]["to"] == {"kind": "Service", "name": "iris", "weight": 100}

    # an update that leaves the host out (a replace of the whole spec) keeps it; first let the
    # router stand-in admit the Route, so that the replace is not a conflict with its status write
    wait_until(lambda: (cluster.read(ROUTE, "Route", "iris", namespace).get("status") or {}).get("ingress"),
               30, "the router stand-in to admit the Route")
    stored = cluster.read(ROUTE, "Route", "iris", namespace)
    stored["spec"] = {"to": {"kind": "Service", "name": "iris-v2"}}
    replaced = cluster.resource(ROUTE, "Route").replace(body=stored, namespace=namespace).to_dict()
    assert replaced["spec"]["host"] == "iris-%s.apps.embedded.invalid" % namespace
    assert replaced["spec"]["to"]["name"] == "iris-v2"

    # a host that is set is the user's
    custom = cluster.create(route("custom", host="models.example.com"), namespace)
    assert custom["spec"]["host"] == "models.example.com"
    assert "openshift.io/host.generated" not in (custom["metadata"].get("annotations") or {})


@pytest.mark.standin("mlops-standin-route-host")
def test_subdomain_route_gets_no_host_but_is_admitted_under_the_router_domain(cluster, namespace):
    created = cluster.create(route("sub", subdomain="iris-sub"), namespace)
    assert "host" not in created["spec"]

    def admitted():
        found = cluster.read(ROUTE, "Route", "sub", namespace)
        return (found.get("status") or {}).get("ingress")

    ingress = wait_until(admitted, 30, "the router stand-in to admit the Route")
    assert ingress[0]["host"] == "iris-sub.apps.embedded.invalid"


@pytest.mark.standin("mlops-standin-route-tls")
@pytest.mark.parametrize("sent, stored", [
    ({"insecureEdgeTerminationPolicy": "Allow"}, "edge"),          # no termination: edge
    ({}, "edge"),
    # the spellings openshift-apiserver accepts; stored as sent (see crds/openshift.yaml)
    ({"termination": "Edge", "insecureEdgeTerminationPolicy": "Redirect"}, "Edge"),
    ({"termination": "Reencrypt"}, "Reencrypt"),
    ({"termination": "Passthrough"}, "Passthrough"),
    ({"termination": "reencrypt"}, "reencrypt"),
])
def test_route_tls_termination_is_defaulted_like_openshift(cluster, namespace, sent, stored):
    created = cluster.create(route("tls", tls=sent), namespace)
    assert created["spec"]["tls"]["termination"] == stored
    for key, value in sent.items():
        if key != "termination":
            assert created["spec"]["tls"][key] == value


@pytest.mark.standin("mlops-standin-route-tls")
def test_route_tls_with_destination_ca_and_no_termination_is_not_defaulted(cluster, namespace):
    created = cluster.create(route("dest", tls={"destinationCACertificate": "-----BEGIN CERTIFICATE-----"}), namespace)
    assert "termination" not in created["spec"]["tls"]


@pytest.mark.standin("mlops-standin-namespace-scc-ranges")
def test_a_new_namespace_gets_the_scc_ranges(cluster, namespace):
    found = cluster.core().read_namespace(namespace).metadata.annotations
    assert found["openshift.io/sa.scc.uid-range"] == "1000680000/10000"
    assert found["openshift.io/sa.scc.supplemental-groups"] == "1000680000/10000"
    assert found["openshift.io/sa.scc.mcs"] == "s0:c26,c15"


# ---- restricted-v2 ---------------------------------------------------------------------------
def pod(name, pod_security=None, container=None, **spec):
    body = {"containers": [dict({"name": "main", "image": "registry.invalid/mlops/app:1"}, **(container or {}))]}
    if pod_security:
        body["securityContext"] = pod_security
    body.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": body}


@pytest.fixture
def pod_creator(cluster, namespace, service_account_token):
    """A CoreV1Api of a ServiceAccount that may create pods in the namespace, and no more: what a
    role's deployer or a controller is on OpenShift."""
    token = service_account_token(namespace, "deployer")
    rbac = k8s_client.RbacAuthorizationV1Api(cluster.api)
    rbac.create_namespaced_role(namespace, {
        "metadata": {"name": "pod-creator"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "get", "list"]}]})
    rbac.create_namespaced_role_binding(namespace, {
        "metadata": {"name": "deployer-creates-pods"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-creator"},
        "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": namespace}]})
    api = k8s_client.CoreV1Api(cluster.token_client(token))
    probe = pod("probe")

    def can_create():
        try:
            api.create_namespaced_pod(namespace, probe, dry_run="All")
            return True
        except ApiException as exc:
            if exc.status == 403 and "cannot create" in exc.body:
                return False
            raise
    wait_until(can_create, 15, "the RoleBinding to take effect")
    return api


def denied(api, namespace, body):
    with pytest.raises(ApiException) as info:
        api.create_namespaced_pod(namespace, body)
    assert info.value.status == 403
    return json.loads(info.value.body)["message"]


def scc_message(name, provider, *violations):
    return ('pods "%s" is forbidden: ValidatingAdmissionPolicy \'mlops-standin-restricted-v2\' with binding '
            '\'mlops-standin-restricted-v2\' denied request: unable to validate against any security context '
            'constraint: [provider "%s": Forbidden: %s]' % (name, provider, ", ".join(violations)))


@pytest.mark.standin("mlops-standin-restricted-v2")
def test_restricted_v2_refuses_what_the_scc_refuses_with_openshifts_messages(cluster, namespace, pod_creator):
    body = pod("everything-wrong", pod_security={"runAsUser": 0, "fsGroup": 0},
               container={"ports": [{"containerPort": 8080, "hostPort": 8080}],
                          "securityContext": {"privileged": True, "allowPrivilegeEscalation": True,
                                              "capabilities": {"add": ["NET_ADMIN", "NET_BIND_SERVICE"]}}},
               hostNetwork=True, hostPID=True, hostIPC=True,
               initContainers=[{"name": "init", "image": "registry.invalid/init:1",
                                "securityContext": {"runAsUser": 1000690000}}],
               volumes=[{"name": "host", "hostPath": {"path": "/var/run"}}])
    assert denied(pod_creator, namespace, body) == scc_message(
        "everything-wrong", "restricted-v2",
        "spec.securityContext.hostNetwork: Invalid value: true: Host network is not allowed to be used",
        "spec.securityContext.hostPID: Invalid value: true: Host PID is not allowed to be used",
        "spec.securityContext.hostIPC: Invalid value: true: Host IPC is not allowed to be used",
        'spec.volumes[0]: Invalid value: "hostPath": hostPath volumes are not allowed to be used',
        "spec.containers[0].securityContext.privileged: Invalid value: true: Privileged containers are not allowed",
        "spec.containers[0].ports.hostPort: Invalid value: 8080: Host ports are not allowed to be used",
        "spec.securityContext.fsGroup: Invalid value: []int64{0}: 0 is not an allowed group",
        "spec.initContainers[0].securityContext.runAsUser: Invalid value: 1000690000: must be in the ranges: " + RANGE,
        "spec.containers[0].securityContext.allowPrivilegeEscalation: Invalid value: true: "
        "Allowing privilege escalation for containers is not allowed",
        "spec.containers[0].securityContext.runAsUser: Invalid value: 0: must be in the ranges: " + RANGE,
        'spec.containers[0].securityContext.capabilities.add: Invalid value: "NET_ADMIN": capability may not be added')


@pytest.mark.standin("mlops-standin-restricted-v2")
@pytest.mark.parametrize("pod_security, container, message", [
    ({"runAsUser": 26}, None,
     "spec.containers[0].securityContext.runAsUser: Invalid value: 26: must be in the ranges: " + RANGE),
    ({"fsGroup": 1000}, None, "spec.securityContext.fsGroup: Invalid value: []int64{1000}: 1000 is not an allowed group"),
    (None, {"securityContext": {"allowPrivilegeEscalation": True}},
     "spec.containers[0].securityContext.allowPrivilegeEscalation: Invalid value: true: "
     "Allowing privilege escalation for containers is not allowed"),
    (None, {"securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}},
     'spec.containers[0].securityContext.capabilities.add: Invalid value: "SYS_ADMIN": capability may not be added'),
], ids=["fixed-uid", "fixed-fsgroup", "privilege-escalation", "added-capability"])
def test_restricted_v2_one_violation_at_a_time(namespace, pod_creator, pod_security, container, message):
    assert denied(pod_creator, namespace, pod("one", pod_security, container)) == scc_message(
        "one", "restricted-v2", message)


@pytest.mark.standin("mlops-standin-restricted-v2")
def test_restricted_v2_admits_a_pod_written_for_it(namespace, pod_creator):
    # the template the roles use on OpenShift, plus what restricted-v2 still allows
    body = pod("good", pod_security={"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"},
                                     "fsGroup": 1000680000},
               container={"securityContext": {"allowPrivilegeEscalation": False, "runAsUser": 1000689999,
                                              "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}},
               volumes=[{"name": "data", "emptyDir": {}}])
    created = pod_creator.create_namespaced_pod(namespace, body)
    assert created.metadata.name == "good"


@pytest.mark.standin("mlops-standin-restricted-v2")
def test_anyuid_granted_through_rbac_allows_a_fixed_uid_but_not_the_host(cluster, namespace, pod_creator):
    # as on OpenShift: RoleBinding to system:openshift:scc:anyuid for the pod's ServiceAccount
    k8s_client.RbacAuthorizationV1Api(cluster.api).create_namespaced_role_binding(namespace, {
        "metadata": {"name": "default-anyuid"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:openshift:scc:anyuid"},
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": namespace}]})
    fixed = pod("postgres", pod_security={"runAsUser": 26, "fsGroup": 26},
                container={"securityContext": {"allowPrivilegeEscalation": True}})

    def admitted():
        try:
            return pod_creator.create_namespaced_pod(namespace, fixed)
        except ApiException as exc:
            if exc.status == 403 and "restricted-v2" in exc.body:   # the binding is not seen yet
                return None
            raise
    assert wait_until(admitted, 15, "the anyuid RoleBinding to take effect").metadata.name == "postgres"
    assert denied(pod_creator, namespace, pod("host", hostNetwork=True,
                                              container={"securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE"]}}})) \
        == scc_message("host", "anyuid",
                       "spec.securityContext.hostNetwork: Invalid value: true: Host network is not allowed to be used",
                       'spec.containers[0].securityContext.capabilities.add: Invalid value: "NET_BIND_SERVICE": '
                       "capability may not be added")


@pytest.mark.standin("mlops-standin-restricted-v2")
def test_cluster_admin_may_use_privileged(cluster, namespace):
    # the admin kubeconfig is in system:masters, who may `use` every SCC, as kubeadmin on OpenShift
    created = cluster.core().create_namespaced_pod(namespace, pod("admin", hostNetwork=True, container={
        "securityContext": {"privileged": True}}))
    assert created.spec.host_network is True


@pytest.mark.standin("mlops-standin-restricted-v2")
def test_a_deployment_that_would_not_run_on_openshift_reports_why(cluster, namespace):
    apps = k8s_client.AppsV1Api(cluster.api)
    apps.create_namespaced_deployment(namespace, {
        "metadata": {"name": "root-db"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "root-db"}},
                 "template": {"metadata": {"labels": {"app": "root-db"}},
                              "spec": {"securityContext": {"runAsUser": 0},
                                       "containers": [{"name": "db", "image": "registry.invalid/postgres:16"}]}}}})

    def failed_create():
        for rs in apps.list_namespaced_replica_set(namespace).items:
            for event in cluster.events(namespace, rs.metadata.name):
                if event[1] == "FailedCreate":
                    return rs.metadata.name, event
        return None

    rs_name, event = wait_until(failed_create, 30, "the ReplicaSet to report FailedCreate")
    assert event[0] == "Warning"
    assert event[3] == "replicaset-controller"
    assert event[2].startswith('Error creating: pods "%s-' % rs_name)
    assert event[2].endswith(
        "\" is forbidden: ValidatingAdmissionPolicy 'mlops-standin-restricted-v2' with binding "
        "'mlops-standin-restricted-v2' denied request: unable to validate against any security context "
        'constraint: [provider "restricted-v2": Forbidden: spec.containers[0].securityContext.runAsUser: '
        "Invalid value: 0: must be in the ranges: " + RANGE + "]")
    status = apps.read_namespaced_deployment(namespace=namespace, name="root-db").status
    assert not status.available_replicas
