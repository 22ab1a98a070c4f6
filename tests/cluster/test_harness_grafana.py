"""The Grafana operator v5 stand-in (stand-in controller): a Grafana instance reaches stage
complete/success with its Service, admin Secret and Route; datasources, dashboards and folders
report Synchronized for matching instances and NoMatchingInstance otherwise."""

import pytest

from conftest import condition_of, wait_until

GRAFANA = "grafana.integreatly.org/v1beta1"
STANDIN = "Grafana operator (stand-in controller)"


def grafana(name="grafana", labels=None, annotations=None, **spec):
    return {"apiVersion": GRAFANA, "kind": "Grafana",
            "metadata": {"name": name, "labels": labels or {"dashboards": "mlops"}, "annotations": annotations or {}},
            "spec": spec}


def ready(cluster, namespace, name="grafana"):
    def check():
        found = cluster.read(GRAFANA, "Grafana", name, namespace)
        return found if (found.get("status") or {}).get("stageStatus") == "success" else None
    return wait_until(check, 30, "Grafana %s to be ready" % name)


@pytest.mark.standin(STANDIN)
def test_grafana_instance_is_reconciled_with_its_service_secret_and_route(cluster, namespace):
    cluster.create(grafana(version="11.3.0", route={"spec": {"tls": {"termination": "edge"}}}), namespace)
    status = ready(cluster, namespace)["status"]
    assert (status["stage"], status["version"], status["adminUrl"]) == (
        "complete", "11.3.0", "http://grafana-service.%s:3000" % namespace)
    cond = condition_of({"status": status}, "GrafanaReady")
    assert (cond["status"], cond["reason"], cond["message"]) == ("True", "GrafanaReady", "Grafana reconcile completed")
    core = cluster.core()
    assert [(p.name, p.port) for p in core.read_namespaced_service("grafana-service", namespace).spec.ports] == [("grafana", 3000)]
    assert set(core.read_namespaced_secret("grafana-admin-credentials", namespace).data) == {
        "GF_SECURITY_ADMIN_USER", "GF_SECURITY_ADMIN_PASSWORD"}
    route = cluster.read("route.openshift.io/v1", "Route", "grafana-route", namespace)
    assert route["spec"]["host"] == "grafana-route-%s.apps.embedded.invalid" % namespace
    assert route["spec"]["tls"]["termination"] == "edge"


@pytest.mark.standin(STANDIN)
def test_datasource_dashboard_and_folder_synchronized_or_no_matching_instance(cluster, namespace):
    cluster.create(grafana(), namespace)
    ready(cluster, namespace)
    selector = {"matchLabels": {"dashboards": "mlops"}}
    cluster.create({"apiVersion": GRAFANA, "kind": "GrafanaDatasource", "metadata": {"name": "prometheus"},
                    "spec": {"instanceSelector": selector, "uid": "prometheus",
                             "datasource": {"name": "Prometheus", "type": "prometheus", "access": "proxy",
                                            "url": "https://thanos-querier.openshift-monitoring.svc:9091"}}}, namespace)
    cluster.create({"apiVersion": GRAFANA, "kind": "GrafanaDashboard", "metadata": {"name": "serving"},
                    "spec": {"instanceSelector": selector, "folder": "MLOps", "json": "{}"}}, namespace)
    cluster.create({"apiVersion": GRAFANA, "kind": "GrafanaFolder", "metadata": {"name": "mlops"},
                    "spec": {"instanceSelector": selector, "title": "MLOps"}}, namespace)
    cluster.create({"apiVersion": GRAFANA, "kind": "GrafanaDatasource", "metadata": {"name": "lonely"},
                    "spec": {"instanceSelector": {"matchLabels": {"dashboards": "nobody"}},
                             "datasource": {"name": "Nobody", "type": "prometheus", "url": "http://nowhere"}}}, namespace)
    for kind, name, what in (("GrafanaDatasource", "prometheus", "Datasource"), ("GrafanaDashboard", "serving", "Dashboard"),
                             ("GrafanaFolder", "mlops", "Folder")):
        cond = wait_until(lambda k=kind, n=name, w=what: condition_of(cluster.read(GRAFANA, k, n, namespace), w + "Synchronized"),
                          30, "%s to be synchronized" % kind)
        assert (cond["status"], cond["reason"], cond["message"]) == (
            "True", "ApplySuccessful", "%s was successfully applied to 1 instances" % what)
    lonely = wait_until(lambda: condition_of(cluster.read(GRAFANA, "GrafanaDatasource", "lonely", namespace), "NoMatchingInstance"),
                        30, "NoMatchingInstance")
    assert (lonely["status"], lonely["reason"], lonely["message"]) == (
        "True", "EmptyAPIReply", "None of the available Grafana instances matched the selector, skipping reconciliation")
    assert cluster.read(GRAFANA, "GrafanaDatasource", "lonely", namespace)["status"]["noMatchingInstances"] is True

    def listed():
        status = cluster.read(GRAFANA, "Grafana", "grafana", namespace)["status"]
        return status if status.get("datasources") and status.get("dashboards") and status.get("folders") else None
    status = wait_until(listed, 30, "the Grafana to list what it holds")
    assert status["datasources"] == ["%s/prometheus/prometheus" % namespace]
    assert len(status["dashboards"]) == 1 and status["dashboards"][0].startswith("%s/serving/" % namespace)


@pytest.mark.standin(STANDIN)
def test_failure_switch_fails_a_grafana_and_its_resources_see_no_ready_instance(cluster, namespace):
    cluster.create(grafana(annotations={"mlops.test/fail": "deployment grafana-deployment: ImagePullBackOff"}), namespace)

    def failed():
        status = (cluster.read(GRAFANA, "Grafana", "grafana", namespace).get("status") or {})
        return status if status.get("stageStatus") == "failed" else None
    status = wait_until(failed, 30, "the Grafana to fail")
    assert (status["stage"], status["lastMessage"]) == ("deployment", "deployment grafana-deployment: ImagePullBackOff")
    assert condition_of({"status": status}, "GrafanaReady") is None
    cluster.create({"apiVersion": GRAFANA, "kind": "GrafanaFolder", "metadata": {"name": "mlops"},
                    "spec": {"instanceSelector": {"matchLabels": {"dashboards": "mlops"}}, "title": "MLOps"}}, namespace)
    cond = wait_until(lambda: condition_of(cluster.read(GRAFANA, "GrafanaFolder", "mlops", namespace), "NoMatchingInstance"),
                      30, "NoMatchingInstance while the instance is not ready")
    assert cond["status"] == "True"
