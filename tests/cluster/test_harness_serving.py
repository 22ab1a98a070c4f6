"""Serving stand-ins: a SeldonDeployment's predictor Services and its failure switch, a canary's
weighted router as a Gateway API HTTPRoute (accepted, refs resolved or BackendNotFound), and the
status an Ingress gets from the (stand-in) ingress controller."""

import json

import pytest

from conftest import condition_of, require_kind, wait_until

SDEP = "machinelearning.seldon.io/v1"
GATEWAY = "gateway.networking.k8s.io/v1"


def seldon(name, predictors, annotations=None):
    return {"apiVersion": SDEP, "kind": "SeldonDeployment", "metadata": {"name": name, "annotations": annotations or {}},
            "spec": {"protocol": "v2", "predictors": [
                {"name": p, "replicas": 1, "traffic": t, "graph": {
                    "name": "classifier", "type": "MODEL", "implementation": "MLFLOW_SERVER",
                    "modelUri": "s3://models/iris/1"}} for p, t in predictors]}}


def state(cluster, namespace, name):
    return ((cluster.read(SDEP, "SeldonDeployment", name, namespace) or {}).get("status") or {}).get("state")


@pytest.mark.standin("Seldon Core operator (stand-in controller)")
def test_seldondeployment_gets_a_service_per_predictor(cluster, namespace):
    cluster.create(seldon("iris", [("primary", 90), ("canary", 10)]), namespace)
    core = cluster.core()

    def services():
        return sorted(s.metadata.name for s in core.list_namespaced_service(
            namespace, label_selector="seldon-deployment-id=iris").items)
    assert wait_until(lambda: services() == ["iris-canary", "iris-primary"] and services(), 30,
                      "the predictor Services") == ["iris-canary", "iris-primary"]
    primary = core.read_namespaced_service("iris-primary", namespace)
    assert [(p.name, p.port) for p in primary.spec.ports] == [("http", 8000), ("grpc", 5001)]
    assert primary.spec.selector == {"seldon-app": "iris-primary"}
    assert primary.metadata.owner_references[0].kind == "SeldonDeployment"
    # the canary is promoted away: its Service goes
    cluster.patch(SDEP, "SeldonDeployment", "iris", {"spec": {"predictors": seldon("iris", [("primary", 100)])["spec"]["predictors"]}},
                  namespace)
    wait_until(lambda: services() == ["iris-primary"], 30, "the canary Service to go")


@pytest.mark.standin("mlops-standin-seldondeployment-failed (KWOK stage)")
def test_failure_switch_fails_a_seldondeployment_and_removing_it_recovers(cluster, namespace):
    message = "Deployment iris-primary-0-classifier: ProgressDeadlineExceeded"
    cluster.create(seldon("iris", [("primary", 100)], annotations={"mlops.test/fail": message}), namespace)
    wait_until(lambda: state(cluster, namespace, "iris") == "Failed", 30, "state Failed")
    found = cluster.read(SDEP, "SeldonDeployment", "iris", namespace)
    assert found["status"]["description"] == message
    ready = condition_of(found, "Ready")
    assert (ready["status"], ready["reason"], ready["message"]) == ("False", "Failed", message)
    assert condition_of(found, "DeploymentsReady")["status"] == "False"
    # it stays Failed (no Creating/Available flapping) until the switch is removed
    wait_until(lambda: state(cluster, namespace, "iris") == "Failed", 3, "still Failed", interval=1.5)
    cluster.patch(SDEP, "SeldonDeployment", "iris", {"metadata": {"annotations": {"mlops.test/fail": None}}}, namespace)
    wait_until(lambda: state(cluster, namespace, "iris") == "Available", 30, "Available again")


def _service(cluster, namespace, name):
    cluster.core().create_namespaced_service(namespace, {
        "metadata": {"name": name}, "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 8000}]}})


def _route(weights, backends=("iris-primary", "iris-canary")):
    return {"apiVersion": GATEWAY, "kind": "HTTPRoute", "metadata": {"name": "iris"},
            "spec": {"parentRefs": [{"name": "serving"}],
                     "rules": [{"backendRefs": [{"name": b, "port": 8000, "weight": w} for b, w in zip(backends, weights)]}]}}


def _parent(cluster, namespace):
    found = cluster.read(GATEWAY, "HTTPRoute", "iris", namespace)
    parents = (found.get("status") or {}).get("parents") or []
    return parents[0] if parents else None


@pytest.mark.standin("Gateway API controller (stand-in controller)")
def test_gateway_is_programmed_and_a_weighted_httproute_accepted(cluster, namespace):
    cluster.create({"apiVersion": GATEWAY, "kind": "Gateway", "metadata": {"name": "serving"},
                    "spec": {"gatewayClassName": "mlops-standin",
                             "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}}, namespace)
    _service(cluster, namespace, "iris-primary")
    _service(cluster, namespace, "iris-canary")
    cluster.create(_route([90, 10]), namespace)
    parent = wait_until(lambda: _parent(cluster, namespace), 30, "the HTTPRoute's parent status")
    assert parent["controllerName"] == "mlops.platform/standin-gateway-controller"
    assert parent["parentRef"] == {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "serving"}
    assert [(c["type"], c["status"], c["reason"]) for c in parent["conditions"]] == [
        ("Accepted", "True", "Accepted"), ("ResolvedRefs", "True", "ResolvedRefs")]

    def programmed():
        gateway = cluster.read(GATEWAY, "Gateway", "serving", namespace)
        listeners = (gateway.get("status") or {}).get("listeners") or []
        return gateway if condition_of(gateway, "Programmed") and listeners and listeners[0]["attachedRoutes"] == 1 else None
    gateway = wait_until(programmed, 30, "the Gateway to be programmed with the route attached")
    assert gateway["status"]["addresses"] == [{"type": "Hostname", "value": "serving-%s.gateways.embedded.invalid" % namespace}]
    assert condition_of(gateway, "Accepted")["status"] == "True"
    # a canary step: the weights change, the route stays accepted
    cluster.patch(GATEWAY, "HTTPRoute", "iris", {"spec": {"rules": _route([50, 50])["spec"]["rules"]}}, namespace)
    stored = cluster.read(GATEWAY, "HTTPRoute", "iris", namespace)
    assert [b["weight"] for b in stored["spec"]["rules"][0]["backendRefs"]] == [50, 50]
    assert condition_of({"status": _parent(cluster, namespace)}, "Accepted")["status"] == "True"


@pytest.mark.standin("Gateway API controller (stand-in controller)")
def test_httproute_to_a_missing_service_is_backend_not_found(cluster, namespace):
    cluster.create({"apiVersion": GATEWAY, "kind": "Gateway", "metadata": {"name": "serving"},
                    "spec": {"gatewayClassName": "mlops-standin",
                             "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}}, namespace)
    _service(cluster, namespace, "iris-primary")
    cluster.create(_route([90, 10]), namespace)

    def resolved():
        parent = _parent(cluster, namespace)
        return condition_of({"status": parent}, "ResolvedRefs") if parent else None
    cond = wait_until(resolved, 30, "ResolvedRefs")
    assert (cond["status"], cond["reason"], cond["message"]) == ("False", "BackendNotFound", 'Service "iris-canary" not found')
    _service(cluster, namespace, "iris-canary")
    wait_until(lambda: (resolved() or {}).get("status") == "True", 30, "ResolvedRefs once the Service exists")


def test_httproute_service_backend_needs_a_port(cluster, namespace):
    require_kind(cluster, GATEWAY, "HTTPRoute")
    from kubernetes.client.rest import ApiException  # pylint: disable=import-outside-toplevel
    body = _route([1])
    del body["spec"]["rules"][0]["backendRefs"][0]["port"]
    with pytest.raises(ApiException) as info:
        cluster.custom().create_namespaced_custom_object("gateway.networking.k8s.io", "v1", namespace, "httproutes", body)
    assert info.value.status == 422
    assert json.loads(info.value.body)["message"] == (
        'HTTPRoute.gateway.networking.k8s.io "iris" is invalid: spec.rules[0].backendRefs[0]: '
        'Invalid value: Must have port for Service reference')


@pytest.mark.standin("mlops-standin-ingress-admitted (KWOK stage)")
def test_ingress_of_the_default_class_gets_the_routers_address(cluster, namespace):
    from kubernetes import client as k8s_client  # pylint: disable=import-outside-toplevel
    net = k8s_client.NetworkingV1Api(cluster.api)
    rule = {"host": "iris.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
        "service": {"name": "iris-primary", "port": {"number": 8000}}}}]}}
    net.create_namespaced_ingress(namespace, {"metadata": {"name": "iris"}, "spec": {"rules": [rule]}})
    net.create_namespaced_ingress(namespace, {"metadata": {"name": "other"},
                                              "spec": {"ingressClassName": "nginx", "rules": [rule]}})
    ingress = wait_until(lambda: net.read_namespaced_ingress("iris", namespace).status.load_balancer.ingress, 30,
                         "the Ingress status")
    assert [i.hostname for i in ingress] == ["router-default.apps.embedded.invalid"]
    assert net.read_namespaced_ingress("iris", namespace).spec.ingress_class_name == "mlops-standin"
    assert not net.read_namespaced_ingress("other", namespace).status.load_balancer.ingress
