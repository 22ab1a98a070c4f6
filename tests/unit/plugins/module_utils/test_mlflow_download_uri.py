"""Unit tests of the model version's storage: get-download-uri answers mapped to what a serving pod reads."""

from __future__ import absolute_import, division, print_function

import pytest

from ansible_collections.mlops.platform.plugins.module_utils._mlflow_client import (
    MlflowInvalidParameterError,
    MlflowNotFoundError,
)
from ansible_collections.mlops.platform.plugins.module_utils._mlflow_registry import (
    model_version_info,
    storage_uri,
)

DEST = "s3://mlflow-artifacts/mlflow"


@pytest.mark.parametrize("download, expected", [
    ("mlflow-artifacts:/1/models/m-abc/artifacts", DEST + "/1/models/m-abc/artifacts"),
    ("mlflow-artifacts:1/models/m-abc/artifacts", DEST + "/1/models/m-abc/artifacts"),
    ("mlflow-artifacts://mlflow.example.com:5000/1/models/m-abc/artifacts", DEST + "/1/models/m-abc/artifacts"),
    ("mlflow-artifacts:///1/abc/artifacts/model", DEST + "/1/abc/artifacts/model"),
    ("s3://other-bucket/x/artifacts", "s3://other-bucket/x/artifacts"),
    ("gs://bucket/x", "gs://bucket/x"),
])
def test_storage_uri_maps_the_proxy_onto_the_destination(download, expected):
    assert storage_uri(download, DEST) == expected
    assert storage_uri(download, DEST + "/") == expected


def test_storage_uri_without_destination_says_what_to_set():
    with pytest.raises(MlflowInvalidParameterError) as err:
        storage_uri("mlflow-artifacts:/1/models/m-abc/artifacts")
    assert str(err.value) == (
        "mlflow-artifacts:/1/models/m-abc/artifacts is in MLflow's artifact proxy: set artifacts_destination to the "
        "MLflow server's --artifacts-destination (s3://<bucket>/<prefix>) to map it to the object store")


@pytest.mark.parametrize("download", ["/var/mlflow/1/artifacts", "file:///tmp/a", "models:/iris/3", "runs:/abc/model",
                                      "", None])
def test_storage_uri_refuses_what_a_pod_cannot_read(download):
    with pytest.raises(MlflowInvalidParameterError) as err:
        storage_uri(download, DEST)
    assert str(err.value) == (
        "%r is not in an object store (s3://, gs://, wasbs://, abfss://): a serving object on a cluster cannot "
        "read it" % (download or ""))


def test_storage_uri_refuses_an_empty_proxy_path():
    with pytest.raises(MlflowInvalidParameterError) as err:
        storage_uri("mlflow-artifacts:/", DEST)
    assert str(err.value) == "mlflow-artifacts:/ names no artifact path"


class FakeClient(object):
    """The calls model_version_info makes, answered from a dict; records the download-uri requests."""

    def __init__(self, downloads):
        self.downloads = downloads
        self.asked = []

    def get_registered_model(self, name):
        return {"name": name, "aliases": [{"alias": "champion", "version": "2"}]}

    def get_model_version(self, name, version):
        if version not in self.downloads:
            raise MlflowNotFoundError("no version %s" % version, "RESOURCE_DOES_NOT_EXIST", 404)
        return {"name": name, "version": version, "source": "models:/m-abc", "status": "READY"}

    def get_model_version_download_uri(self, name, version):
        self.asked.append((name, version))
        return self.downloads[version]


class FakeModule(object):
    def __init__(self, client, **params):
        self.client = client
        self.params = dict(name="iris", version=None, alias=None, filter=None, order_by=None, max_results=None,
                           download_uri=False, artifacts_destination=None)
        self.params.update(params)


def test_info_adds_download_and_storage_uri_when_asked():
    client = FakeClient({"2": "mlflow-artifacts:/1/models/m-abc/artifacts"})
    result = model_version_info(FakeModule(client, alias="champion", download_uri=True, artifacts_destination=DEST))
    assert result["changed"] is False
    [version] = result["model_versions"]
    assert version["version"] == "2"
    assert version["aliases"] == ["champion"]
    assert version["download_uri"] == "mlflow-artifacts:/1/models/m-abc/artifacts"
    assert version["storage_uri"] == DEST + "/1/models/m-abc/artifacts"
    assert client.asked == [("iris", "2")]


def test_info_asks_nothing_more_by_default():
    client = FakeClient({"2": "mlflow-artifacts:/1/models/m-abc/artifacts"})
    [version] = model_version_info(FakeModule(client, version="2"))["model_versions"]
    assert "download_uri" not in version and "storage_uri" not in version
    assert client.asked == []


def test_info_of_a_missing_version_asks_for_no_download_uri():
    client = FakeClient({})
    assert model_version_info(FakeModule(client, version="9", download_uri=True))["model_versions"] == []
    assert client.asked == []


def test_info_names_the_version_it_cannot_serve():
    client = FakeClient({"3": "/srv/mlflow/artifacts/1/abc"})
    with pytest.raises(MlflowInvalidParameterError) as err:
        model_version_info(FakeModule(client, version="3", download_uri=True, artifacts_destination=DEST))
    assert str(err.value) == (
        "Failed to resolve the storage of model 'iris' version 3: '/srv/mlflow/artifacts/1/abc' is not in an object "
        "store (s3://, gs://, wasbs://, abfss://): a serving object on a cluster cannot read it")
