"""community.okd.openshift_route against the Route fixture: edge and reencrypt Routes are created
with a host the cluster allocates, a rerun reports no change, and check mode predicts none."""

import pytest


def _routes(run):
    return run["Expose the Service with an edge Route"], run["Expose the Service with a reencrypt Route"]


@pytest.mark.standin("mlops-standin-route-host and mlops-standin-route-admitted")
def test_openshift_route_creates_edge_and_reencrypt_routes_and_reruns_unchanged(cluster, namespace, playbook):
    first = playbook("harness_openshift_route", test_namespace=namespace)
    assert first.rc == 0, first
    edge, reencrypt = _routes(first)
    assert edge["changed"] is True and reencrypt["changed"] is True
    # what the module sent, stored as sent (OpenShift would store lower case; crds/openshift.yaml)
    assert edge["result"]["spec"]["tls"] == {"termination": "Edge", "insecureEdgeTerminationPolicy": "Redirect"}
    assert reencrypt["result"]["spec"]["tls"] == {"termination": "Reencrypt"}
    assert edge["result"]["spec"]["host"] == "mlflow-edge-%s.apps.embedded.invalid" % namespace
    assert reencrypt["result"]["spec"]["host"] == "mlflow-reencrypt-%s.apps.embedded.invalid" % namespace
    assert edge["result"]["spec"]["port"] == {"targetPort": "https"}
    assert reencrypt["result"]["spec"]["port"] == {"targetPort": "https"}   # the Service's port name
    # wait: true waited for the router to admit them
    for result in (edge, reencrypt):
        ingress = result["result"]["status"]["ingress"][0]
        assert ingress["host"] == result["result"]["spec"]["host"]
        assert [(c["type"], c["status"]) for c in ingress["conditions"]] == [("Admitted", "True")]

    again = playbook("harness_openshift_route", test_namespace=namespace)
    assert again.rc == 0, again
    assert [r["changed"] for r in _routes(again)] == [False, False]
    assert again["Apply the Service the Routes expose"]["changed"] is False

    dry = playbook("harness_openshift_route", check=True, test_namespace=namespace)
    assert dry.rc == 0, dry
    assert [r["changed"] for r in _routes(dry)] == [False, False]

    stored = cluster.read("route.openshift.io/v1", "Route", "mlflow-edge", namespace)
    assert stored["spec"]["host"] == "mlflow-edge-%s.apps.embedded.invalid" % namespace
    assert stored["metadata"]["annotations"]["openshift.io/host.generated"] == "true"
