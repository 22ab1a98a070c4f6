"""Role-style wait logic against operator-owned status, through kubernetes.core.

On the embedded control plane the status is written by the stand-ins (KWOK stages for
SeldonDeployment and Route, the stand-in controller for OLM), never by the operators themselves:
these tests prove our object shapes and our waits, not the operators. On MLOPS_TEST_KUBECONFIG
they are skipped (they would need the real operators).
"""

import pytest
from kubernetes.client.rest import ApiException

from conftest import wait_until

SDEP = ("machinelearning.seldon.io", "v1", "seldondeployments")
OLM = "operators.coreos.com"


@pytest.mark.standin("mlops-standin-seldondeployment-* (KWOK stages)")
def test_seldondeployment_reaches_available_and_role_wait_succeeds(cluster, namespace, playbook):
    run = playbook("harness_seldon", test_namespace=namespace)
    assert run.rc == 0, run
    assert run["Apply the SeldonDeployment"]["changed"] is True
    ready = run["Wait until the SeldonDeployment reports Ready"]
    assert ready["resources"][0]["status"]["state"] == "Available"
    status = run["Wait until the SeldonDeployment state is Available"]["resources"][0]["status"]
    conditions = {c["type"]: c["status"] for c in status["conditions"]}
    assert conditions == {"DeploymentsReady": "True", "ServicesReady": "True", "Ready": "True"}
    if cluster.embedded:
        assert status["address"]["url"] == (
            "http://iris-primary.%s.svc.cluster.local:8000/v2/models/classifier/infer" % namespace)
        assert status["deploymentStatus"]["iris-primary-0-classifier"]["availableReplicas"] == 2
        assert status["replicas"] == 2

    # a new model version changes the spec (a new generation): the stand-in goes through
    # Creating again and marks the generation it has made Available
    custom = cluster.custom()
    before = custom.get_namespaced_custom_object(*SDEP[:2], namespace, SDEP[2], "iris")
    update = playbook("harness_seldon", test_namespace=namespace, test_model_uri="models:/iris@challenger")
    assert update.rc == 0, update
    assert update["Apply the SeldonDeployment"]["changed"] is True
    generation = before["metadata"]["generation"] + 1
    if cluster.embedded:
        def available_for_new_generation():
            sdep = custom.get_namespaced_custom_object(*SDEP[:2], namespace, SDEP[2], "iris")
            observed = sdep["metadata"].get("annotations", {}).get(
                "mlops.platform/stand-in-observed-generation")
            return sdep if observed == str(generation) and sdep["status"]["state"] == "Available" else None

        after = wait_until(available_for_new_generation, 30, "Available for generation %d" % generation)
        assert after["spec"]["predictors"][0]["graph"]["modelUri"] == "models:/iris@challenger"


@pytest.mark.standin("OLM (stand-in controller)")
def test_olm_subscription_installs_a_csv_that_succeeds(cluster, namespace, playbook):
    run = playbook("harness_olm", test_namespace=namespace)
    assert run.rc == 0, run
    sub = run["Wait for the Subscription to report its installed CSV"]["resources"][0]["status"]
    assert sub["installedCSV"] == "seldon-operator.v1.16.0-0"
    assert sub["currentCSV"] == "seldon-operator.v1.16.0-0"
    assert sub["state"] == "AtLatestKnown"
    assert sub["lastUpdated"]
    csv = run["Wait for the installed CSV to succeed"]["resources"][0]
    assert csv["status"]["phase"] == "Succeeded"
    assert csv["status"]["reason"] == "InstallSucceeded"

    group = cluster.custom().get_namespaced_custom_object(
        OLM, "v1", namespace, "operatorgroups", "mlops-serving")
    assert group["status"]["namespaces"] == [namespace]

    plan = cluster.custom().get_namespaced_custom_object(
        OLM, "v1alpha1", namespace, "installplans", sub["installPlanRef"]["name"])
    assert plan["spec"]["approved"] is True
    assert plan["status"]["phase"] == "Complete"

    again = playbook("harness_olm", test_namespace=namespace)
    assert again["Apply the OperatorGroup and the Subscription"]["changed"] is False


@pytest.mark.standin("OLM (stand-in controller)")
def test_olm_manual_approval_waits_for_the_install_plan(cluster, namespace, playbook):
    run = playbook("harness_olm", test_namespace=namespace, test_approval="Manual")
    assert run.rc == 0, run
    custom = cluster.custom()

    def pending_plan():
        sub = custom.get_namespaced_custom_object(OLM, "v1alpha1", namespace, "subscriptions",
                                                  "seldon-operator")
        ref = sub.get("status", {}).get("installPlanRef")
        if not ref:
            return None
        plan = custom.get_namespaced_custom_object(OLM, "v1alpha1", namespace, "installplans",
                                                   ref["name"])
        return (sub, plan) if plan.get("status", {}).get("phase") == "RequiresApproval" else None

    sub, plan = wait_until(pending_plan, 30, "an InstallPlan that requires approval")
    assert sub["status"]["state"] == "UpgradePending"
    assert "installedCSV" not in sub["status"]
    assert plan["spec"]["approval"] == "Manual"

    custom.patch_namespaced_custom_object(OLM, "v1alpha1", namespace, "installplans",
                                          plan["metadata"]["name"], {"spec": {"approved": True}})

    def installed():
        s = custom.get_namespaced_custom_object(OLM, "v1alpha1", namespace, "subscriptions",
                                                "seldon-operator")
        return s if s["status"].get("state") == "AtLatestKnown" else None

    sub = wait_until(installed, 30, "the Subscription to reach AtLatestKnown")
    assert sub["status"]["installedCSV"] == "seldon-operator.v1.16.0-0"

    def csv_succeeded():
        try:
            csv = custom.get_namespaced_custom_object(
                OLM, "v1alpha1", namespace, "clusterserviceversions", "seldon-operator.v1.16.0-0")
        except ApiException as exc:
            if exc.status == 404:    # not created yet
                return False
            raise
        return csv.get("status", {}).get("phase") == "Succeeded"

    wait_until(csv_succeeded, 30, "the CSV to succeed")


@pytest.mark.standin("mlops-standin-route-admitted (KWOK stage)")
def test_route_is_admitted_with_weighted_backends(cluster, namespace, playbook):
    run = playbook("harness_route", test_namespace=namespace, test_canary_weight=25)
    assert run.rc == 0, run
    route = run["Wait for the router to admit the Route"]["resources"][0]
    assert route["spec"]["to"] == {"kind": "Service", "name": "iris-primary", "weight": 75}
    assert route["spec"]["alternateBackends"] == [{"kind": "Service", "name": "iris-canary", "weight": 25}]
    ingress = route["status"]["ingress"][0]
    assert [(c["type"], c["status"]) for c in ingress["conditions"]] == [("Admitted", "True")]
    if cluster.embedded:
        assert ingress["host"] == "iris-%s.apps.embedded.invalid" % namespace
