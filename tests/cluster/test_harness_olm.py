"""The OLM stand-in (stand-in controller): a Subscription is resolved against the PackageManifests
of openshift-marketplace, and what OLM reports when it cannot install is reported with OLM's
condition types, reasons and messages: ResolutionFailed, an OperatorGroup clash, no OperatorGroup,
install modes the OperatorGroup does not fit, and a CSV failed by the switch mlops.test/fail."""

import pytest

from conftest import condition_of, wait_until

OLM = "operators.coreos.com/v1alpha1"
STANDIN = "OLM (stand-in controller)"


def operator_group(name, targets=None):
    spec = {"targetNamespaces": targets} if targets is not None else {}
    return {"apiVersion": "operators.coreos.com/v1", "kind": "OperatorGroup", "metadata": {"name": name}, "spec": spec}


def subscription(name, package, source, channel=None, starting=None, annotations=None):
    spec = {"name": package, "source": source, "sourceNamespace": "openshift-marketplace"}
    if channel:
        spec["channel"] = channel
    if starting:
        spec["startingCSV"] = starting
    return {"apiVersion": OLM, "kind": "Subscription",
            "metadata": {"name": name, "annotations": annotations or {}}, "spec": spec}


def read(cluster, kind, name, namespace, version=OLM):
    return cluster.read(version, kind, name, namespace)


def wait_condition(cluster, kind, name, namespace, ctype, version=OLM):
    return wait_until(lambda: condition_of(read(cluster, kind, name, namespace, version), ctype), 30,
                      "%s %s to report %s" % (kind, name, ctype))


def wait_csv(cluster, name, namespace, phase):
    def reached():
        csv = read(cluster, "ClusterServiceVersion", name, namespace)
        return csv if csv and (csv.get("status") or {}).get("phase") == phase else None
    return wait_until(reached, 30, "CSV %s to reach %s" % (name, phase))


def test_the_catalog_is_there(cluster):
    if not cluster.embedded:
        pytest.skip("the catalog content differs from cluster to cluster")
    catalogs = cluster.resource(OLM, "CatalogSource").get(namespace="openshift-marketplace").to_dict()["items"]
    assert sorted(c["metadata"]["name"] for c in catalogs) == [
        "certified-operators", "community-operators", "redhat-marketplace", "redhat-operators"]
    assert {c["status"]["connectionState"]["lastObservedState"] for c in catalogs} == {"READY"}
    packages = cluster.resource("packages.operators.coreos.com/v1", "PackageManifest").get(
        namespace="openshift-marketplace").to_dict()["items"]
    by_name = {p["metadata"]["name"]: p["status"] for p in packages}
    assert sorted(by_name) == ["grafana-operator", "openshift-pipelines-operator-rh", "seldon-operator",
                               "seldon-operator-certified"]
    assert (by_name["grafana-operator"]["defaultChannel"], by_name["grafana-operator"]["channels"][0]["currentCSV"]) == (
        "v5", "grafana-operator.v5.24.0")
    group = read(cluster, "OperatorGroup", "global-operators", "openshift-operators", "operators.coreos.com/v1")
    assert group["status"]["namespaces"] == [""]


@pytest.mark.standin(STANDIN)
@pytest.mark.parametrize("sub, message", [
    (subscription("nope", "nope-operator", "community-operators", "stable"),
     "no operators found in package nope-operator in the catalog referenced by subscription nope"),
    (subscription("grafana", "grafana-operator", "community-operators", "v4"),
     "no operators found in channel v4 of package grafana-operator in the catalog referenced by subscription grafana"),
    (subscription("grafana", "grafana-operator", "community-operators", "v5", "grafana-operator.v4.10.0"),
     "no operators found with name grafana-operator.v4.10.0 in channel v5 of package grafana-operator in the "
     "catalog referenced by subscription grafana"),
    (subscription("grafana", "grafana-operator", "redhat-operators", "v5"),
     "no operators found in package grafana-operator in the catalog referenced by subscription grafana"),
    (subscription("grafana", "grafana-operator", "operatorhubio-catalog", "v5"),
     "no operators found from catalog operatorhubio-catalog in namespace openshift-marketplace referenced by "
     "subscription grafana"),
], ids=["package", "channel", "starting-csv", "wrong-catalog", "no-catalog"])
def test_subscription_resolution_failed(cluster, namespace, sub, message):
    cluster.create(operator_group("og", [namespace]), namespace)
    cluster.create(sub, namespace)
    name = sub["metadata"]["name"]
    failed = wait_condition(cluster, "Subscription", name, namespace, "ResolutionFailed")
    assert (failed["status"], failed["reason"]) == ("True", "ConstraintsNotSatisfiable")
    assert failed["message"] == "constraints not satisfiable: %s, subscription %s exists" % (message, name)
    found = read(cluster, "Subscription", name, namespace)
    healthy = condition_of(found, "CatalogSourcesUnhealthy")
    assert (healthy["status"], healthy["reason"]) == ("False", "AllCatalogSourcesHealthy")
    assert "installPlanRef" not in found["status"] and found["status"]["lastUpdated"]


@pytest.mark.standin(STANDIN)
def test_operator_group_clash_is_reported_as_olm_reports_it(cluster, namespace):
    cluster.create(operator_group("first", [namespace]), namespace)
    cluster.create(operator_group("second", [namespace]), namespace)
    cluster.create(subscription("grafana-operator", "grafana-operator", "community-operators", "v5"), namespace)
    for group in ("first", "second"):
        clash = wait_condition(cluster, "OperatorGroup", group, namespace, "MultipleOperatorGroup",
                               "operators.coreos.com/v1")
        assert (clash["status"], clash["reason"], clash["message"]) == (
            "True", "MultipleOperatorGroupsFound", "Multiple OperatorGroup found in the same namespace")

    def plan():
        sub = read(cluster, "Subscription", "grafana-operator", namespace)
        ref = (sub.get("status") or {}).get("installPlanRef")
        return read(cluster, "InstallPlan", ref["name"], namespace) if ref else None

    def install_check_failed():
        found = plan()
        return found if condition_of(found, "Installed") else None
    found = wait_until(install_check_failed, 30, "the InstallPlan to report its install check")
    assert found["status"]["phase"] == "Installing"
    installed = condition_of(found, "Installed")
    assert (installed["status"], installed["reason"], installed["message"]) == (
        "False", "InstallCheckFailed", "more than one operator group(s) are managing this namespace count=2")
    assert read(cluster, "ClusterServiceVersion", "grafana-operator.v5.24.0", namespace) is None

    # removing the extra OperatorGroup lets the install go on, as with OLM
    cluster.delete("operators.coreos.com/v1", "OperatorGroup", "second", namespace)
    csv = wait_csv(cluster, "grafana-operator.v5.24.0", namespace, "Succeeded")
    assert csv["metadata"]["annotations"]["olm.operatorGroup"] == "first"
    assert csv["metadata"]["annotations"]["olm.targetNamespaces"] == namespace
    wait_until(lambda: condition_of(read(cluster, "OperatorGroup", "first", namespace, "operators.coreos.com/v1"),
                                    "MultipleOperatorGroup") is None, 30, "the clash condition to go")


@pytest.mark.standin(STANDIN)
def test_no_operator_group_is_reported(cluster, namespace):
    cluster.create(subscription("grafana-operator", "grafana-operator", "community-operators", "v5"), namespace)

    def plan_condition():
        sub = read(cluster, "Subscription", "grafana-operator", namespace)
        ref = (sub.get("status") or {}).get("installPlanRef")
        return condition_of(read(cluster, "InstallPlan", ref["name"], namespace), "Installed") if ref else None
    installed = wait_until(plan_condition, 30, "the InstallPlan's install check")
    assert installed["message"] == "no operator group found that is managing this namespace"
    # the Subscription surfaces it in InstallPlanPending
    pending = wait_condition(cluster, "Subscription", "grafana-operator", namespace, "InstallPlanPending")
    assert wait_until(lambda: condition_of(read(cluster, "Subscription", "grafana-operator", namespace),
                                           "InstallPlanPending")["message"] ==
                      "no operator group found that is managing this namespace", 30, "the Subscription condition")
    assert pending["status"] == "True"


@pytest.mark.standin(STANDIN)
def test_install_modes_that_do_not_fit_the_operator_group_fail_the_csv(cluster, namespace):
    # OpenShift Pipelines supports AllNamespaces only: a namespace's own OperatorGroup does not fit
    cluster.create(operator_group("og", [namespace]), namespace)
    cluster.create(subscription("openshift-pipelines-operator-rh", "openshift-pipelines-operator-rh",
                                "redhat-operators", "latest"), namespace)
    csv = wait_csv(cluster, "openshift-pipelines-operator-rh.v1.20.0", namespace, "Failed")
    assert (csv["status"]["reason"], csv["status"]["message"]) == (
        "UnsupportedOperatorGroup", "SingleNamespace InstallModeType not supported, cannot configure to watch one namespace")
    # the event follows the status write
    event = wait_until(lambda: next((e for e in cluster.events(namespace, "openshift-pipelines-operator-rh.v1.20.0")
                                     if e[1] == "UnsupportedOperatorGroup"), None), 30, "the UnsupportedOperatorGroup event")
    assert event == ("Warning", "UnsupportedOperatorGroup",
                     "SingleNamespace InstallModeType not supported, cannot configure to watch one namespace",
                     "operator-lifecycle-manager")


@pytest.mark.standin(STANDIN)
def test_all_namespaces_install_in_openshift_operators(cluster):
    name = "pipelines-" + __import__("uuid").uuid4().hex[:6]
    cluster.create(subscription(name, "openshift-pipelines-operator-rh", "redhat-operators", "pipelines-1.19"),
                   "openshift-operators")
    try:
        csv = wait_csv(cluster, "openshift-pipelines-operator-rh.v1.19.1", "openshift-operators", "Succeeded")
        assert csv["metadata"]["annotations"]["olm.operatorGroup"] == "global-operators"
        assert csv["metadata"]["annotations"]["olm.targetNamespaces"] == ""
        assert [c["phase"] for c in csv["status"]["conditions"]] == ["Pending", "InstallReady", "Installing", "Succeeded"]
        sub = wait_until(lambda: (read(cluster, "Subscription", name, "openshift-operators").get("status") or {}).get(
            "state") == "AtLatestKnown" and read(cluster, "Subscription", name, "openshift-operators"), 30, "AtLatestKnown")
        assert sub["status"]["installedCSV"] == "openshift-pipelines-operator-rh.v1.19.1"
    finally:
        cluster.delete(OLM, "Subscription", name, "openshift-operators")
        cluster.delete(OLM, "ClusterServiceVersion", "openshift-pipelines-operator-rh.v1.19.1", "openshift-operators")


@pytest.mark.standin(STANDIN)
def test_failure_switch_fails_the_csv_of_a_subscription(cluster, namespace):
    cluster.create(operator_group("og", [namespace]), namespace)
    cluster.create(subscription("grafana-operator", "grafana-operator", "community-operators", "v5",
                                annotations={"mlops.test/fail": "deployment grafana-operator-controller-manager not ready"}),
                   namespace)
    csv = wait_csv(cluster, "grafana-operator.v5.24.0", namespace, "Failed")
    assert (csv["status"]["reason"], csv["status"]["message"]) == (
        "InstallComponentFailed", "install strategy failed: deployment grafana-operator-controller-manager not ready")
    # the Subscription has installed it, as OLM reports: the CSV is what failed
    wait_until(lambda: (read(cluster, "Subscription", "grafana-operator", namespace).get("status") or {}).get(
        "installedCSV") == "grafana-operator.v5.24.0", 30, "the Subscription's installedCSV")

    # the switch on a CSV itself; removing it lets it succeed
    cluster.patch(OLM, "ClusterServiceVersion", "grafana-operator.v5.24.0",
                  {"metadata": {"annotations": {"mlops.test/fail": None}}}, namespace)
    wait_csv(cluster, "grafana-operator.v5.24.0", namespace, "Succeeded")
