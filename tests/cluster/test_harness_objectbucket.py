"""The bucket provisioner stand-in (stand-in controller): an ObjectBucketClaim of the StorageClass
openshift-storage.noobaa.io is bound, with its ObjectBucket, ConfigMap and Secret, as NooBaa's
lib-bucket-provisioner does; a clash with an existing ConfigMap/Secret and the failure switch
are reported."""

import pytest

from conftest import wait_until

OBC = "objectbucket.io/v1alpha1"
STANDIN = "bucket provisioner (stand-in controller)"


def claim(name, storage_class="openshift-storage.noobaa.io", annotations=None, **spec):
    body = {"storageClassName": storage_class, "generateBucketName": "mlflow"}
    body.update(spec)
    return {"apiVersion": OBC, "kind": "ObjectBucketClaim", "metadata": {"name": name, "annotations": annotations or {}},
            "spec": body}


def phase(cluster, namespace, name):
    return ((cluster.read(OBC, "ObjectBucketClaim", name, namespace) or {}).get("status") or {}).get("phase")


@pytest.mark.standin(STANDIN)
def test_claim_is_bound_with_its_configmap_secret_and_bucket(cluster, namespace):
    cluster.create(claim("mlflow-artifacts", additionalConfig={"maxSize": "10Gi"}), namespace)
    wait_until(lambda: phase(cluster, namespace, "mlflow-artifacts") == "Bound", 30, "the claim to be Bound")
    found = cluster.read(OBC, "ObjectBucketClaim", "mlflow-artifacts", namespace)
    bucket = found["spec"]["bucketName"]
    assert bucket.startswith("mlflow-")
    assert found["spec"]["objectBucketName"] == "obc-%s-mlflow-artifacts" % namespace
    core = cluster.core()
    config = core.read_namespaced_config_map("mlflow-artifacts", namespace).data
    assert config == {"BUCKET_HOST": "s3.openshift-storage.svc", "BUCKET_NAME": bucket, "BUCKET_PORT": "443",
                      "BUCKET_REGION": "us-east-1", "BUCKET_SUBREGION": ""}
    secret = core.read_namespaced_secret("mlflow-artifacts", namespace)
    assert sorted(secret.data) == ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
    assert secret.metadata.owner_references[0].kind == "ObjectBucketClaim"
    ob = cluster.read(OBC, "ObjectBucket", "obc-%s-mlflow-artifacts" % namespace)
    assert ob["status"]["phase"] == "Bound"
    assert ob["spec"]["endpoint"]["bucketName"] == bucket
    assert ob["spec"]["endpoint"]["additionalConfig"] == {"maxSize": "10Gi"}
    assert ob["spec"]["claimRef"]["uid"] == found["metadata"]["uid"]
    # deleting the claim deletes its bucket
    cluster.delete(OBC, "ObjectBucketClaim", "mlflow-artifacts", namespace)
    wait_until(lambda: cluster.read(OBC, "ObjectBucket", "obc-%s-mlflow-artifacts" % namespace) is None, 30,
               "the ObjectBucket to go")


@pytest.mark.standin(STANDIN)
def test_claim_with_a_fixed_bucket_name(cluster, namespace):
    cluster.create(claim("fixed", bucketName="mlflow-fixed", generateBucketName=None), namespace)
    wait_until(lambda: phase(cluster, namespace, "fixed") == "Bound", 30, "Bound")
    assert cluster.core().read_namespaced_config_map("fixed", namespace).data["BUCKET_NAME"] == "mlflow-fixed"


@pytest.mark.standin(STANDIN)
def test_claim_clashing_with_an_existing_secret_stays_pending(cluster, namespace):
    cluster.core().create_namespaced_secret(namespace, {"metadata": {"name": "artifacts"}, "stringData": {"x": "y"}})
    cluster.create(claim("artifacts"), namespace)
    event = wait_until(lambda: next((e for e in cluster.events(namespace, "artifacts") if e[1] == "ProvisioningFailed"), None),
                       30, "ProvisioningFailed")
    assert event == ("Warning", "ProvisioningFailed", 'error provisioning bucket: secret "artifacts" already exists',
                     "openshift-storage.noobaa.io/obc")
    assert phase(cluster, namespace, "artifacts") == "Pending"


@pytest.mark.standin(STANDIN)
def test_failure_switch_and_a_foreign_storage_class(cluster, namespace):
    cluster.create(claim("broken", annotations={"mlops.test/fail": "noobaa: bucket class not ready"}), namespace)
    cluster.create(claim("elsewhere", storage_class="standard"), namespace)
    wait_until(lambda: phase(cluster, namespace, "broken") == "Failed", 30, "Failed")
    # the event follows the status write
    wait_until(lambda: ("Warning", "ProvisioningFailed", "noobaa: bucket class not ready",
                        "openshift-storage.noobaa.io/obc") in cluster.events(namespace, "broken"), 30,
               "the ProvisioningFailed event")
    # not this provisioner's class: nobody answers, as on a cluster
    wait_until(lambda: phase(cluster, namespace, "elsewhere") is None, 2, "no status", interval=1)
    assert phase(cluster, namespace, "elsewhere") is None
