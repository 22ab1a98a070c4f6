"""Unit tests of model sources: every spelling of one model has one key, and what the resolver asks the server.

The resolver runs against a fake client that answers like MLflow 2.22 or 3.17 (shapes copied from real
answers) and records every call, so the number of requests per case is asserted too.
"""

from __future__ import absolute_import, division, print_function

import json

import pytest

from ansible_collections.mlops.platform.plugins.module_utils._mlflow_client import (
    MlflowError,
    MlflowInvalidParameterError,
    MlflowNotFoundError,
)
from ansible_collections.mlops.platform.plugins.module_utils._mlflow_source import (
    clean_path,
    describe_models,
    find_registered,
    history_paths,
    normalize_uri,
    parse_source,
    registered_filters,
    resolve_source,
    run_logged_model,
    source_key,
    storage_hint,
)

RUN = "306ccb6985c144a2919b88a803602df3"
OTHER_RUN = "aa98a2e5e058479f8564f13c016871ec"
MODEL = "m-28068d2d19014957a26e9b9ffd64ac66"
ALT = "m-3f11e78ace6647aea6a3add6f5594f48"
ROOT = "mlflow-artifacts:/1/%s/artifacts" % RUN
MODEL_LOCATION = "mlflow-artifacts:/1/models/%s/artifacts" % MODEL


def logged(model_id=MODEL, name="model", run=RUN, step=0, created=1000, status="LOGGED_MODEL_READY"):
    return {"model_id": model_id, "name": name, "artifact_uri": "mlflow-artifacts:/1/models/%s/artifacts" % model_id,
            "source_run_id": run, "status": status, "step": step, "creation_timestamp": created}


# ---------------------------------------------------------------- pure: spellings

@pytest.mark.parametrize("uri,expected", [
    ("runs:/r/model/", "runs:/r/model"),
    ("runs:/r/model//", "runs:/r/model"),
    ("mlflow-artifacts:/1/r/artifacts/model/", "mlflow-artifacts:/1/r/artifacts/model"),
    ("mlflow-artifacts://127.0.0.1:5000/1/r/artifacts/model", "mlflow-artifacts:/1/r/artifacts/model"),
    ("file:///srv/mlruns/1/r/artifacts/model/", "/srv/mlruns/1/r/artifacts/model"),
    ("file:/srv/mlruns/1/r/artifacts/model", "/srv/mlruns/1/r/artifacts/model"),
    ("file://localhost/srv/mlruns", "/srv/mlruns"),
    ("file://fileserver/share/model", "file://fileserver/share/model"),
    ("s3://bucket/mlflow/1/r/artifacts/model/", "s3://bucket/mlflow/1/r/artifacts/model"),
    ("  models:/m-1/ ", "models:/m-1"),
    ("/", "/"),
    ("s3://", "s3://"),
])
def test_normalize_uri(uri, expected):
    assert normalize_uri(uri) == expected


@pytest.mark.parametrize("path,expected", [("model", "model"), ("/model/", "model"), ("a/b/", "a/b"),
                                           ("", None), ("/", None), (None, None)])
def test_clean_path(path, expected):
    assert clean_path(path) == expected


@pytest.mark.parametrize("source,expected", [
    ("runs:/%s/model" % RUN, ("run", RUN, "model")),
    ("runs:/%s/model/" % RUN, ("run", RUN, "model")),
    ("runs:/%s/nested/model" % RUN, ("run", RUN, "nested/model")),
    ("runs:/%s" % RUN, ("run", RUN, None)),
    ("runs:/%s/" % RUN, ("run", RUN, None)),
    ("models:/%s" % MODEL, ("model", MODEL)),
    ("models:/%s/" % MODEL, ("model", MODEL)),
    ("models:/fraud/3", ("uri", "models:/fraud/3")),
    ("models:/fraud@champion", ("uri", "models:/fraud@champion")),
    ("%s/model/" % ROOT, ("uri", "%s/model" % ROOT)),
])
def test_parse_source(source, expected):
    assert parse_source(source) == expected


@pytest.mark.parametrize("uri,expected", [
    ("%s/model" % ROOT, ("run", RUN)),
    (ROOT, ("run", RUN)),
    ("s3://bucket/prefix/7/%s/artifacts/model/" % RUN, ("run", RUN)),
    ("file:///srv/mlruns/0/%s/artifacts/clf" % RUN, ("run", RUN)),
    (MODEL_LOCATION + "/", ("model", MODEL)),
    ("s3://bucket/0/models/%s/artifacts" % MODEL, ("model", MODEL)),
    ("s3://bucket/model", None),
    ("s3://bucket/%s/model" % RUN, None),  # not MLflow's layout: <run>/artifacts/...
])
def test_storage_hint(uri, expected):
    assert storage_hint(uri) == expected


# ---------------------------------------------------------------- pure: one key per model

MLFLOW2_SPELLINGS = [
    "runs:/%s/model" % RUN,
    "runs:/%s/model/" % RUN,
    "%s/model" % ROOT,
    "%s/model/" % ROOT,
    "mlflow-artifacts://mlflow.example.com:443/1/%s/artifacts/model" % RUN,
]


@pytest.mark.parametrize("spelling", MLFLOW2_SPELLINGS)
def test_every_mlflow2_spelling_is_the_run_path(spelling):
    assert source_key(spelling, {RUN: ROOT}) == ("run", RUN, "model")


@pytest.mark.parametrize("root,spelling", [
    ("file:///srv/mlruns/1/%s/artifacts" % RUN, "file:///srv/mlruns/1/%s/artifacts/model/" % RUN),
    ("file:///srv/mlruns/1/%s/artifacts" % RUN, "/srv/mlruns/1/%s/artifacts/model" % RUN),
    ("/srv/mlruns/1/%s/artifacts" % RUN, "file:/srv/mlruns/1/%s/artifacts/model" % RUN),
    ("s3://bucket/mlflow/1/%s/artifacts" % RUN, "s3://bucket/mlflow/1/%s/artifacts/model/" % RUN),
    ("gs://bucket/custom-root/%s/artifacts" % RUN, "gs://bucket/custom-root/%s/artifacts/model" % RUN),
])
def test_any_artifact_root_spelling_is_the_run_path(root, spelling):
    assert source_key(spelling, {RUN: root}) == ("run", RUN, "model")
    assert source_key("runs:/%s/model" % RUN, {RUN: root}) == ("run", RUN, "model")


@pytest.mark.parametrize("spelling", MLFLOW2_SPELLINGS + [
    "models:/%s" % MODEL,
    "models:/%s/" % MODEL,
    MODEL_LOCATION,
    MODEL_LOCATION + "/",
])
def test_every_mlflow3_spelling_is_the_logged_model(spelling):
    assert source_key(spelling, {RUN: ROOT}, [logged(), logged(ALT, "alt")]) == ("model", MODEL)


@pytest.mark.parametrize("spelling,expected", [
    ("runs:/%s/alt" % RUN, ("model", ALT)),                             # the run's other model
    ("runs:/%s/model" % OTHER_RUN, ("run", OTHER_RUN, "model")),        # the same path of another run
    ("%s/models" % ROOT, ("run", RUN, "models")),                     # a path that only starts like it
    ("%s2/model" % ROOT, ("uri", "%s2/model" % ROOT)),                # not under the run's root
    ("mlflow-artifacts:/1/%s/artifacts/model" % OTHER_RUN,            # another run's artifacts, unknown
     ("uri", "mlflow-artifacts:/1/%s/artifacts/model" % OTHER_RUN)),
    ("models:/%s" % ALT, ("model", ALT)),
    ("s3://bucket/model", ("uri", "s3://bucket/model")),
])
def test_other_models_have_other_keys(spelling, expected):
    assert source_key(spelling, {RUN: ROOT}, [logged(), logged(ALT, "alt")]) == expected
    assert expected != ("model", MODEL)


def test_a_runs_path_is_its_logged_model_of_the_largest_step_then_the_newest():
    older, newer, later_step = logged("m-1", created=1), logged("m-2", created=2), logged("m-3", step=5, created=0)
    assert run_logged_model([older, newer], RUN, "model")["model_id"] == "m-2"
    assert run_logged_model([older, newer, later_step], RUN, "model")["model_id"] == "m-3"
    assert run_logged_model([older], OTHER_RUN, "model") is None
    assert run_logged_model([older], RUN, "alt") is None
    assert source_key("runs:/%s/model" % RUN, {}, [older, newer]) == ("model", "m-2")


def test_describe_models():
    assert describe_models([]) == "no model"
    assert describe_models(["model"]) == "one model: 'model'"
    assert describe_models(["alt", "model"]) == "2 models: 'alt', 'model'"


def _history(*paths):
    return {"data": {"tags": [{"key": "mlflow.log-model.history", "value": json.dumps(
        [{"run_id": RUN, "artifact_path": p, "flavors": {}} for p in paths])}]}}


def test_history_paths():
    assert history_paths(_history("model", "alt/", "model")) == ["model", "alt"]
    assert history_paths({"data": {"tags": [{"key": "mlflow.log-model.history", "value": "not json"}]}}) == []
    assert history_paths({"data": {}}) == []


# ---------------------------------------------------------------- the resolver against a fake server

class FakeServer:
    """Answers like MLflow's REST API. ``major`` 2 has no logged-models endpoints (HTTP 404, no MLflow code)."""

    base_url = "http://127.0.0.1:5000"

    def __init__(self, major=3):
        self.major = major
        self.runs = {}
        self.logged = {}
        self.artifacts = {}
        self.versions = []
        self.calls = []

    def add_run(self, run_id, experiment="1", models=(), artifacts=(), history=()):
        run = {"info": {"run_id": run_id, "run_uuid": run_id, "experiment_id": experiment,
                        "artifact_uri": "mlflow-artifacts:/%s/%s/artifacts" % (experiment, run_id)},
               "data": _history(*history)["data"] if history else {"tags": []}, "inputs": {}}
        if models:
            run["outputs"] = {"model_outputs": [{"model_id": m["model_id"], "step": m["step"]} for m in models]}
        for m in models:
            self.logged[m["model_id"]] = {"info": dict(
                model_id=m["model_id"], experiment_id=experiment, name=m["name"], artifact_uri=m["artifact_uri"],
                status=m["status"], source_run_id=run_id, creation_timestamp_ms=m["creation_timestamp"])}
        self.runs[run_id] = run
        self.artifacts[run_id] = list(artifacts)

    def _missing_endpoint(self, what):
        return MlflowError("GET %s/api/2.0/mlflow/%s answered HTTP 404 without an MLflow error" % (self.base_url, what),
                           None, 404)

    def get_run(self, run_id):
        self.calls.append(("runs/get", run_id))
        if run_id not in self.runs:
            raise MlflowNotFoundError("RESOURCE_DOES_NOT_EXIST: Run '%s' not found" % run_id,
                                      "RESOURCE_DOES_NOT_EXIST", 404)
        return self.runs[run_id]

    def get_logged_model(self, model_id):
        self.calls.append(("logged-models/get", model_id))
        if self.major < 3:
            raise self._missing_endpoint("logged-models/%s" % model_id)
        if model_id not in self.logged:
            raise MlflowNotFoundError("NOT_FOUND: Logged model with ID '%s' not found." % model_id, "NOT_FOUND", 404)
        return self.logged[model_id]

    def search_logged_models(self, experiment_ids, filter_string=None, limit=None):
        self.calls.append(("logged-models/search", filter_string))
        assert self.major >= 3, "an MLflow 2 run has no model outputs: nothing may search logged models"
        run_id = filter_string.split("'")[1]
        return [m for m in self.logged.values()
                if m["info"]["source_run_id"] == run_id and m["info"]["experiment_id"] in experiment_ids]

    def list_run_artifacts(self, run_id, path=None):
        self.calls.append(("artifacts/list", path))
        prefix = path + "/"
        return [{"path": f, "is_dir": False} for f in self.artifacts[run_id]
                if f.startswith(prefix) and "/" not in f[len(prefix):]]

    def search_model_versions(self, filter_string=None, order_by=None, limit=None):
        self.calls.append(("model-versions/search", filter_string))
        if "run_id = '" in filter_string:
            run_id = filter_string.split("run_id = '")[1].split("'")[0]
            return [v for v in self.versions if v.get("run_id") == run_id]
        token = filter_string.split("source_path LIKE '")[1].rstrip("'")
        inner = token.strip("%")
        if token.startswith("%"):
            return [v for v in self.versions if inner in v["source"]]
        return [v for v in self.versions if v["source"].startswith(inner)]


def mlflow2_server():
    server = FakeServer(major=2)
    server.add_run(RUN, artifacts=["model/MLmodel", "model/model.pkl", "alt/MLmodel", "data/x.csv"],
                   history=["model"])
    return server


def mlflow3_server(*models):
    server = FakeServer(major=3)
    server.add_run(RUN, models=models or [logged()])
    return server


def test_mlflow3_run_two_requests_and_the_only_model_is_the_default():
    server = mlflow3_server()
    resolved = resolve_source(server, run_id=RUN)
    assert (resolved["source"], resolved["run_id"], resolved["model_id"], resolved["key"]) == (
        "models:/%s" % MODEL, RUN, MODEL, ("model", MODEL))
    assert [c[0] for c in server.calls] == ["runs/get", "logged-models/search"]
    assert server.calls[1][1] == "source_run_id = '%s'" % RUN


def test_mlflow2_run_two_requests_and_the_only_model_is_the_default():
    server = mlflow2_server()
    resolved = resolve_source(server, run_id=RUN)
    assert (resolved["source"], resolved["model_id"], resolved["key"]) == (
        "runs:/%s/model" % RUN, None, ("run", RUN, "model"))
    assert server.calls == [("runs/get", RUN), ("artifacts/list", "model")]


@pytest.mark.parametrize("source", MLFLOW2_SPELLINGS)
def test_mlflow2_every_spelling_resolves_to_the_same_model(source):
    server = mlflow2_server()
    resolved = resolve_source(server, source=source)
    assert (resolved["source"], resolved["key"]) == ("runs:/%s/model" % RUN, ("run", RUN, "model"))
    assert len(server.calls) == 2


@pytest.mark.parametrize("source", MLFLOW2_SPELLINGS + ["models:/%s" % MODEL, MODEL_LOCATION + "/"])
def test_mlflow3_every_spelling_resolves_to_the_same_model(source):
    server = mlflow3_server()
    resolved = resolve_source(server, source=source)
    assert (resolved["source"], resolved["model_id"], resolved["key"]) == (
        "models:/%s" % MODEL, MODEL, ("model", MODEL))
    assert resolved["run_id"] == RUN
    assert len(server.calls) <= 2


def test_a_path_among_the_run_artifacts_on_mlflow2():
    server = mlflow2_server()
    assert resolve_source(server, run_id=RUN, artifact_path="alt/")["source"] == "runs:/%s/alt" % RUN


def test_mlflow2_wrong_path_lists_what_the_run_logged():
    server = mlflow2_server()
    with pytest.raises(MlflowNotFoundError) as err:
        resolve_source(server, run_id=RUN, artifact_path="modle")
    assert str(err.value) == ("Run %s has no model at artifact path 'modle' (no modle/MLmodel among the run's "
                              "artifacts); the run logged one model: 'model'" % RUN)
    assert len(server.calls) == 2


def test_a_directory_without_mlmodel_is_not_a_model():
    server = mlflow2_server()
    with pytest.raises(MlflowNotFoundError) as err:
        resolve_source(server, source="runs:/%s/data" % RUN)
    assert "no model at artifact path 'data' (no data/MLmodel" in str(err.value)


def test_mlflow3_wrong_path_checks_the_run_artifacts_too():
    server = mlflow3_server(logged(), logged(ALT, "alt", created=2000))
    with pytest.raises(MlflowNotFoundError) as err:
        resolve_source(server, run_id=RUN, artifact_path="modle")
    assert str(err.value) == (
        "Run %s has no model at artifact path 'modle' (no logged model of that name and no modle/MLmodel among "
        "the run's artifacts); the run logged 2 models: 'alt', 'model'" % RUN)
    assert [c[0] for c in server.calls] == ["runs/get", "logged-models/search", "artifacts/list"]


def test_mlflow3_model_saved_among_the_run_artifacts_is_found():
    server = FakeServer(major=3)
    server.add_run(RUN, models=[logged()], artifacts=["onnx/MLmodel"])
    resolved = resolve_source(server, run_id=RUN, artifact_path="onnx")
    assert (resolved["source"], resolved["key"]) == ("runs:/%s/onnx" % RUN, ("run", RUN, "onnx"))


def test_several_models_and_no_artifact_path():
    server = mlflow3_server(logged(), logged(ALT, "alt"))
    with pytest.raises(MlflowInvalidParameterError) as err:
        resolve_source(server, run_id=RUN)
    assert str(err.value) == "Run %s logged 2 models: 'alt', 'model': set artifact_path to the one to register" % RUN


def test_no_model_and_no_artifact_path():
    server = FakeServer(major=2)
    server.add_run(RUN, artifacts=["data/x.csv"])
    with pytest.raises(MlflowNotFoundError) as err:
        resolve_source(server, run_id=RUN)
    assert str(err.value) == ("Run %s logged no model: set artifact_path to the directory of its MLmodel file "
                              "among the run's artifacts" % RUN)
    assert server.calls == [("runs/get", RUN)]


def test_a_run_that_does_not_exist():
    with pytest.raises(MlflowNotFoundError) as err:
        resolve_source(FakeServer(), run_id=OTHER_RUN)
    assert str(err.value) == "Run '%s' does not exist" % OTHER_RUN


def test_empty_artifact_path():
    with pytest.raises(MlflowInvalidParameterError) as err:
        resolve_source(mlflow2_server(), run_id=RUN, artifact_path="/")
    assert str(err.value) == "artifact_path must name the model's directory among the run's artifacts, got '/'"


def test_logged_model_on_a_server_without_logged_models():
    server = mlflow2_server()
    with pytest.raises(MlflowInvalidParameterError) as err:
        resolve_source(server, source="models:/%s" % MODEL)
    assert str(err.value) == ("models:/%s is a logged model, but the MLflow server at http://127.0.0.1:5000 has no "
                              "logged models (MLflow < 3): use runs:/<run>/<path>" % MODEL)
    assert len(server.calls) == 1


def test_logged_model_that_does_not_exist():
    with pytest.raises(MlflowNotFoundError) as err:
        resolve_source(mlflow3_server(), source="models:/%s" % ALT)
    assert str(err.value) == "Logged model '%s' does not exist" % ALT


def test_logged_model_whose_upload_failed():
    server = mlflow3_server(logged(status="LOGGED_MODEL_UPLOAD_FAILED"))
    for kwargs in ({"run_id": RUN}, {"source": "models:/%s" % MODEL}):
        with pytest.raises(MlflowInvalidParameterError) as err:
            resolve_source(server, **kwargs)
        assert str(err.value) == ("Logged model %s of run %s is LOGGED_MODEL_UPLOAD_FAILED: its files never "
                                  "finished uploading; log the model again" % (MODEL, RUN))


def test_source_and_run_id_must_agree():
    with pytest.raises(MlflowInvalidParameterError) as err:
        resolve_source(mlflow2_server(), source="runs:/%s/model" % RUN, run_id=OTHER_RUN)
    assert str(err.value) == "source 'runs:/%s/model' names run %s but run_id is %s" % (RUN, RUN, OTHER_RUN)
    with pytest.raises(MlflowInvalidParameterError) as err:
        resolve_source(mlflow3_server(), source="models:/%s" % MODEL, run_id=OTHER_RUN)
    assert str(err.value) == "source 'models:/%s' was logged by run %s, not by run_id %s" % (MODEL, RUN, OTHER_RUN)


@pytest.mark.parametrize("source", [
    "s3://bucket/model",                                             # no run in it: nothing asked
    "mlflow-artifacts:/1/%s/artifacts/model" % OTHER_RUN,            # looks like a run the server does not know
    "mlflow-artifacts:/1/models/%s/artifacts" % ALT,                 # looks like a logged model it does not know
])
def test_a_storage_uri_outside_any_run_is_registered_as_given(source):
    server = mlflow3_server()
    resolved = resolve_source(server, source=source)
    assert (resolved["source"], resolved["run_id"], resolved["model_id"], resolved["key"]) == (
        source, None, None, ("uri", normalize_uri(source)))
    assert len(server.calls) <= 1


def test_a_storage_uri_outside_any_run_on_mlflow2_is_registered_as_given():
    server = mlflow2_server()
    source = "mlflow-artifacts:/1/models/%s/artifacts" % MODEL
    assert resolve_source(server, source=source)["key"] == ("uri", source)


def test_a_storage_uri_with_run_id_outside_the_run_is_left_to_the_server():
    server = mlflow2_server()
    resolved = resolve_source(server, source="/etc", run_id=RUN)
    assert (resolved["source"], resolved["run_id"], resolved["key"]) == ("/etc", RUN, ("uri", "/etc"))
    assert server.calls == [("runs/get", RUN)]


# ---------------------------------------------------------------- finding an earlier version

def version(number, source, run_id=None):
    return {"name": "fraud", "version": str(number), "source": source, "run_id": run_id or ""}


def test_a_version_mlflow2s_client_registered_is_found_by_run():
    server = mlflow2_server()
    server.versions = [version(1, "%s/model" % ROOT, RUN), version(2, "runs:/%s/alt" % RUN, RUN)]
    resolved = resolve_source(server, run_id=RUN)
    assert find_registered(server, "fraud", resolved)["version"] == "1"
    assert server.calls[-1] == ("model-versions/search", "name = 'fraud' and run_id = '%s'" % RUN)


def test_a_version_mlflow3s_client_registered_is_found_by_run():
    server = mlflow3_server(logged(), logged(ALT, "alt"))
    server.versions = [version(1, "models:/%s" % ALT, RUN), version(2, "models:/%s" % MODEL, RUN)]
    resolved = resolve_source(server, source="runs:/%s/model/" % RUN)
    assert find_registered(server, "fraud", resolved)["version"] == "2"


def test_a_version_registered_without_run_id_is_found_by_source():
    server = mlflow2_server()
    server.versions = [version(4, "%s/model/" % ROOT)]
    resolved = resolve_source(server, run_id=RUN)
    assert find_registered(server, "fraud", resolved)["version"] == "4"
    assert [c[1] for c in server.calls if c[0] == "model-versions/search"] == [
        "name = 'fraud' and run_id = '%s'" % RUN, "name = 'fraud' and source_path LIKE '%%%s%%'" % RUN]


def test_the_spelling_this_module_registers_comes_first_then_the_oldest():
    server = mlflow2_server()
    server.versions = [version(3, "runs:/%s/model" % RUN, RUN), version(1, "%s/model" % ROOT, RUN),
                       version(5, "runs:/%s/model" % RUN, RUN)]
    assert find_registered(server, "fraud", resolve_source(server, run_id=RUN))["version"] == "3"


def test_nothing_registered():
    server = mlflow3_server()
    server.versions = [version(1, "models:/%s" % ALT, OTHER_RUN)]
    assert find_registered(server, "fraud", resolve_source(server, run_id=RUN)) is None
    assert registered_filters("fraud", resolve_source(server, run_id=RUN)) == [
        "name = 'fraud' and run_id = '%s'" % RUN, "name = 'fraud' and source_path LIKE '%%%s%%'" % MODEL]


def test_a_plain_uri_is_searched_by_its_prefix():
    server = FakeServer()
    server.versions = [version(1, "s3://bucket/model/"), version(2, "s3://bucket/model2")]
    resolved = resolve_source(server, source="s3://bucket/model")
    assert registered_filters("fraud", resolved) == ["name = 'fraud' and source_path LIKE 's3://bucket/model%'"]
    assert find_registered(server, "fraud", resolved)["version"] == "1"


def test_the_registry_keeps_its_tuple_form_for_other_callers():
    from ansible_collections.mlops.platform.plugins.module_utils._mlflow_registry import (
        _find_registered,
        resolve_source as registry_resolve_source,
    )
    server = mlflow2_server()
    server.versions = [version(7, "%s/model" % ROOT, RUN)]
    source, run_id, model_id, resolved = registry_resolve_source(server, None, RUN, None)
    assert (source, run_id, model_id) == ("runs:/%s/model" % RUN, RUN, None)
    assert _find_registered(server, "fraud", source, run_id, resolved)["version"] == "7"
