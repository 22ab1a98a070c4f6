"""mlops.platform.mlserver_model on a real MLServer: serve, stage, promote, switch back, failed loads, isolation.

Every test starts from a state it sets up with the module itself, so the tests do not depend on
each other's order. Pollers hammer the default endpoints during every change and count failed
requests; the module's requests are counted by proxies. Measurements are printed at the end of the
session (see conftest.pytest_terminal_summary).
"""

import json
import os
import shutil
import time
import urllib.error

import pytest

from serving_helpers import MEASUREMENTS, MODEL, OTHER, PREDICTION, Phase, predict
from support.server_process import free_port
from support.mlserver_process import MlserverProcess

MIN_REQUESTS = 20  # a phase in which the poller made fewer requests proves nothing


def entries(mlserver, model):
    """{key: the registry version its model-settings.json names} of the model's entries on disk."""
    found = {}
    root = os.path.join(mlserver.repository, model)
    for key in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        path = os.path.join(root, key, "model-settings.json")
        if os.path.exists(path):
            with open(path) as handle:
                found[key] = json.load(handle)["versions"]
    return found


def copies(mlserver, model):
    root = os.path.join(mlserver.artifacts_dir, model)
    return sorted(n for n in os.listdir(root) if not n.startswith(".")) if os.path.isdir(root) else []


def served(mlserver, model, key=None):
    """The registry version MLServer says answers (at the default endpoint, or under a key)."""
    return mlserver.metadata(model, key)["versions"]


def marker(model, version):
    return ["models:/%s/%s" % (model, version)]


def assert_clean(phase):
    assert phase.requests >= MIN_REQUESTS, phase.line()
    assert phase.failures == [], phase.line() + " %r" % phase.failures[:5]
    MEASUREMENTS.append(phase.line())


def switches_once(predictions, old, new):
    """True when the predictions are old...old new...new (one switch, never back)."""
    first_new = predictions.index(new) if new in predictions else len(predictions)
    return set(predictions[:first_new]) <= {old} and set(predictions[first_new:]) <= {new}


@pytest.fixture
def fresh(serve, mlserver):
    """serve() with MODEL removed first (entries, copies, loaded versions)."""
    serve(name=MODEL).check()
    assert entries(mlserver, MODEL) == {} and copies(mlserver, MODEL) == []
    assert mlserver.status("/v2/models/%s/ready" % MODEL) == 404
    return serve


# ---------------------------------------------------------------- check mode, serve, no-op

def tree(*roots):
    """Every file and directory under the roots, with its modification time: what a write would change."""
    found = {}
    for root in roots:
        for top, dirs, files in os.walk(root):
            for name in dirs + files:
                path = os.path.join(top, name)
                found[path] = os.stat(path).st_mtime_ns
    return found


def test_check_mode_writes_nothing(fresh, mlserver):
    before = tree(mlserver.repository, mlserver.artifacts_dir)
    call = fresh(name=MODEL, default_version="1", versions=["2"], check=True, diff=True)
    result = call.check()
    assert result["changed"] is True
    assert result["diff"] == {"before": {"default_version": None, "versions": []},
                              "after": {"default_version": "1", "versions": ["2"]}}
    assert result["fetched_versions"] == ["1", "2"]
    assert result["loaded"] == [{"mlserver_version": "champion", "registry_version": None, "ready": False},
                                {"mlserver_version": "2", "registry_version": None, "ready": False}]
    # read back: nothing on disk, nothing loaded, no load call, MLflow only asked where the files are
    assert tree(mlserver.repository, mlserver.artifacts_dir) == before
    assert entries(mlserver, MODEL) == {} and copies(mlserver, MODEL) == []
    assert mlserver.status("/v2/models/%s/ready" % MODEL) == 404
    assert call.loads() == []
    assert [r[1].split("?")[0] for r in call.mlflow_requests] == [
        "/api/2.0/mlflow/model-versions/get-download-uri"] * 2


def test_serve_then_rerun_is_unchanged_without_a_load_or_mlflow(fresh, mlserver, proxies):
    first = fresh(name=MODEL, default_version="1")
    result = first.check()
    assert result["changed"] is True
    assert result["loaded"] == [{"mlserver_version": "champion", "registry_version": "1", "ready": True}]
    assert result["inference_url"] == "%s/v2/models/%s/infer" % (proxies.mlserver.uri, MODEL)
    assert result["version_urls"] == {} and result["fetched_versions"] == ["1"]
    assert result["artifacts"] == {"1": os.path.join(mlserver.artifacts_dir, MODEL, "1")}
    assert os.path.isfile(os.path.join(result["artifacts"]["1"], "MLmodel"))
    assert entries(mlserver, MODEL) == {"champion": marker(MODEL, "1")}
    assert copies(mlserver, MODEL) == ["1"]
    assert served(mlserver, MODEL) == marker(MODEL, "1")
    assert predict(mlserver.url + "/v2/models/%s/infer" % MODEL) == PREDICTION["1"]
    assert [r[:2] for r in first.loads()] == [("POST", "/v2/repository/models/%s/load" % MODEL)]
    MEASUREMENTS.append("first serve of v1: %.2f s (ansible-playbook wall), %d MLServer requests (1 load), "
                        "%d MLflow requests (where the files are, list, download)"
                        % (first.seconds, len(first.mlserver_requests), len(first.mlflow_requests)))

    again = fresh(name=MODEL, default_version="1")
    assert again.check()["changed"] is False
    assert again.loads() == [] and again.mlflow_requests == []
    assert [r[:2] for r in again.mlserver_requests] == [
        ("GET", "/v2/models/%s/versions/champion" % MODEL), ("GET", "/v2/models/%s/versions/champion/ready" % MODEL)]
    # the same playbook with its one task skipped: what ansible-playbook itself costs on this machine now
    empty = fresh(name=MODEL, default_version="1", tags="no-such-tag")
    assert empty.check() == {} and empty.mlserver_requests == []
    MEASUREMENTS.append("no-op call: %.2f s (ansible-playbook wall; the same playbook with no task: %.2f s), "
                        "%d MLServer requests, %d MLflow requests"
                        % (again.seconds, empty.seconds, len(again.mlserver_requests), len(again.mlflow_requests)))


# ---------------------------------------------------------------- stage, promote, switch back: zero failures

def test_stage_promote_and_switch_back_without_a_failed_request(fresh, mlserver, poller, proxies):
    fresh(name=MODEL, default_version="1").check()
    default = poller(mlserver.url + "/v2/models/%s/infer" % MODEL)

    mark = default.mark()
    stage = fresh(name=MODEL, default_version="1", versions=["2"])
    staged = stage.check()
    default.wait_for(MIN_REQUESTS)
    phase = Phase("stage v2 (default stays v1)", default.since(mark))
    assert_clean(phase)
    assert set(phase.predictions) == {PREDICTION["1"]}
    assert served(mlserver, MODEL) == marker(MODEL, "1")
    assert served(mlserver, MODEL, "2") == marker(MODEL, "2")
    assert predict(staged["version_urls"]["2"].replace(proxies.mlserver.uri, mlserver.url)) == PREDICTION["2"]
    assert staged["loaded"] == [{"mlserver_version": "champion", "registry_version": "1", "ready": True},
                                {"mlserver_version": "2", "registry_version": "2", "ready": True}]
    assert [r[:2] for r in stage.loads()] == [("POST", "/v2/repository/models/%s/load" % MODEL)]
    MEASUREMENTS.append("stage call: %.2f s, %d MLServer requests (1 load), %d MLflow requests (fetch version 2)"
                        % (stage.seconds, len(stage.mlserver_requests), len(stage.mlflow_requests)))

    mark = default.mark()
    promote = fresh(name=MODEL, default_version="2", versions=["1"])
    promoted = promote.check()
    default.wait_for(MIN_REQUESTS)
    phase = Phase("promote v2 (v1 kept for rollback)", default.since(mark))
    assert_clean(phase)
    assert switches_once(phase.predictions, PREDICTION["1"], PREDICTION["2"]), phase.predictions
    assert phase.predictions[-1] == PREDICTION["2"]
    assert served(mlserver, MODEL) == marker(MODEL, "2")
    assert promoted["fetched_versions"] == [] and promote.mlflow_requests == []
    assert entries(mlserver, MODEL) == {"1": marker(MODEL, "1"), "champion": marker(MODEL, "2")}
    assert mlserver.status("/v2/models/%s/versions/2/ready" % MODEL) == 404  # dropped: no longer on disk
    MEASUREMENTS.append("promote call: %.2f s, %d MLServer requests (1 load), %d MLflow requests"
                        % (promote.seconds, len(promote.mlserver_requests), len(promote.mlflow_requests)))

    noop = fresh(name=MODEL, default_version="2", versions=["1"])
    assert noop.check()["changed"] is False
    assert noop.loads() == [] and noop.mlflow_requests == []
    MEASUREMENTS.append("no-op call: %.2f s (ansible-playbook wall), %d MLServer requests, %d MLflow requests"
                        % (noop.seconds, len(noop.mlserver_requests), len(noop.mlflow_requests)))

    # switch back (rollback): time until MLServer says the default endpoint answers with version 1 again
    mark = default.mark()
    started = time.monotonic()
    wait = fresh(name=MODEL, default_version="1", versions=["2"], background=True)
    deadline = started + 60
    while served(mlserver, MODEL) != marker(MODEL, "1"):
        assert time.monotonic() < deadline, "the default endpoint still serves version 2 after 60 s"
        time.sleep(0.01)
    switch_seconds = time.monotonic() - started
    back = wait()
    back.check()
    default.wait_for(MIN_REQUESTS)
    phase = Phase("switch back to v1 (rollback)", default.since(mark))
    assert_clean(phase)
    assert switches_once(phase.predictions, PREDICTION["2"], PREDICTION["1"]), phase.predictions
    assert phase.predictions[-1] == PREDICTION["1"]
    MEASUREMENTS.append("switch back: the default endpoint answered version 1 %.2f s after ansible-playbook started "
                        "(the call took %.2f s in all)" % (switch_seconds, back.seconds))


def test_a_first_deploy_keeps_the_default_endpoint_for_the_champion(fresh, mlserver, poller):
    staged = fresh(name=MODEL, versions=["1"]).check()
    assert staged["default_version"] is None and staged["inference_url"] is None
    assert staged["loaded"] == [{"mlserver_version": "champion", "registry_version": None, "ready": True},
                                {"mlserver_version": "1", "registry_version": "1", "ready": True}]
    assert predict(mlserver.url + "/v2/models/%s/versions/1/infer" % MODEL) == PREDICTION["1"]
    with pytest.raises(urllib.error.HTTPError) as err:
        predict(mlserver.url + "/v2/models/%s/infer" % MODEL)
    assert err.value.code == 503
    assert json.load(err.value)["error"] == (
        "mlserver.errors.MLServerError: Model %s has no default version yet; ask a version at "
        "/v2/models/%s/versions/<version>/infer" % (MODEL, MODEL))

    default = poller(mlserver.url + "/v2/models/%s/infer" % MODEL)
    mark = default.mark()
    promote = fresh(name=MODEL, default_version="1")
    promote.check()
    default.wait_for(MIN_REQUESTS)
    results = default.since(mark)
    first_answer = next(i for i, r in enumerate(results) if r[1])
    phase = Phase("first promotion of v1 (after its first answer)", results[first_answer:])
    assert_clean(phase)
    assert all("HTTP Error 503" in r[2] for r in results[:first_answer]), results[:first_answer][:3]
    assert set(phase.predictions) == {PREDICTION["1"]}
    assert served(mlserver, MODEL) == marker(MODEL, "1")
    assert entries(mlserver, MODEL) == {"champion": marker(MODEL, "1")}
    assert not os.path.exists(os.path.join(mlserver.repository, MODEL, "champion", "mlops_no_default.py"))


# ---------------------------------------------------------------- failed loads and isolation

def failed_stage_message(model):
    return ("MLServer could not load version 3 of model %r: zipfile.BadZipFile: File is not a zip file. The previous "
            "entries are back on disk and loaded again: MLServer serves version 1 as 'champion' (the default "
            "endpoint) and version 2, as before." % model)


def test_a_version_that_cannot_load_fails_with_mlservers_reason_while_every_default_keeps_answering(
        fresh, mlserver, poller):
    fresh(name=MODEL, default_version="1", versions=["2"]).check()
    fresh(name=OTHER, default_version="1", default_label="prod").check()
    assert served(mlserver, OTHER) == marker(OTHER, "1")
    default = poller(mlserver.url + "/v2/models/%s/infer" % MODEL)
    other = poller(mlserver.url + "/v2/models/%s/infer" % OTHER)

    marks = default.mark(), other.mark()
    call = fresh(name=MODEL, default_version="1", versions=["2", "3"])
    result = call.check(rc=2)
    default.wait_for(MIN_REQUESTS)
    other.wait_for(MIN_REQUESTS)
    assert result["failed"] is True
    assert result["msg"] == failed_stage_message(MODEL)
    assert result["reason"] == "zipfile.BadZipFile: File is not a zip file"
    assert result["failed_version"] == "3"
    assert result["default_version"] == "1" and result["versions"] == ["2"]
    assert len(call.loads()) == 2  # the failed load, and the one after putting the entries back
    assert entries(mlserver, MODEL) == {"2": marker(MODEL, "2"), "champion": marker(MODEL, "1")}
    assert copies(mlserver, MODEL) == ["1", "2"]
    assert mlserver.status("/v2/models/%s/versions/3/ready" % MODEL) == 404
    assert served(mlserver, MODEL) == marker(MODEL, "1")
    assert_clean(Phase("failed load of v3: default of %s" % MODEL, default.since(marks[0])))
    assert_clean(Phase("failed load of v3: default of %s" % OTHER, other.since(marks[1])))

    marks = default.mark(), other.mark()
    result = fresh(name=MODEL, default_version="3", versions=["1"]).check(rc=2)
    default.wait_for(MIN_REQUESTS)
    other.wait_for(MIN_REQUESTS)
    assert result["msg"] == (
        "MLServer could not load version 3 of model %r as 'champion' (the default endpoint): zipfile.BadZipFile: "
        "File is not a zip file. The previous entries are back on disk and loaded again: MLServer serves version 1 "
        "as 'champion' (the default endpoint) and version 2, as before." % MODEL)
    assert entries(mlserver, MODEL) == {"2": marker(MODEL, "2"), "champion": marker(MODEL, "1")}
    assert served(mlserver, MODEL) == marker(MODEL, "1")
    phase = Phase("failed promote of v3: default of %s" % MODEL, default.since(marks[0]))
    assert_clean(phase)
    assert set(phase.predictions) == {PREDICTION["1"]}
    assert_clean(Phase("failed promote of v3: default of %s" % OTHER, other.since(marks[1])))


def test_after_a_failed_load_a_restarted_mlserver_loads_every_model_without_mlflow(fresh, mlserver):
    fresh(name=MODEL, default_version="1", versions=["2"]).check()
    fresh(name=OTHER, default_version="1", default_label="prod").check()
    assert fresh(name=MODEL, default_version="1", versions=["2", "3"]).check(rc=2)["failed_version"] == "3"

    mlserver.restart()
    assert mlserver.status("/v2/models/%s/versions/champion/ready" % MODEL) == 200
    assert mlserver.status("/v2/models/%s/versions/2/ready" % MODEL) == 200
    assert mlserver.status("/v2/models/%s/versions/prod/ready" % OTHER) == 200
    assert served(mlserver, MODEL) == marker(MODEL, "1")
    assert served(mlserver, OTHER) == marker(OTHER, "1")
    assert predict(mlserver.url + "/v2/models/%s/infer" % MODEL) == PREDICTION["1"]

    # Nothing to do needs no MLflow at all: point the module at a port where nothing listens.
    call = fresh(name=MODEL, default_version="1", versions=["2"], tracking_uri="http://127.0.0.1:%d" % free_port())
    assert call.check()["changed"] is False


def test_control_a_failed_entry_left_on_disk_stops_mlserver_at_start(fresh, mlserver, tmp_path):
    """What the module prevents: the entry of a version that cannot load, left on disk, stops MLServer's start."""
    fresh(name=MODEL, default_version="1").check()
    repository = tmp_path / "models"
    shutil.copytree(mlserver.repository, str(repository))
    art = tmp_path / "art3"
    shutil.copytree(os.path.join(mlserver.artifacts_dir, MODEL, "1"), str(art))
    with open(str(art / "model.skops"), "wb") as handle:
        handle.write(b"this is not a skops archive")
    os.makedirs(str(repository / MODEL / "3"))
    with open(str(repository / MODEL / "3" / "model-settings.json"), "w") as handle:
        json.dump({"name": MODEL, "implementation": "mlserver_mlflow.MLflowRuntime",
                   "parameters": {"uri": str(art), "version": "3"}}, handle)
    other = MlserverProcess(str(tmp_path / "mlserver"), str(repository), venv=mlserver.venv).launch()
    try:
        assert other.wait_exit(120) is not None, "MLServer kept running with an entry that cannot load"
        log = other.log_tail(400)
        assert "Loaded model '%s' successfully." % MODEL in log  # the good entry loaded: the repository was read
        assert "Some of the models failed to load during startup!" in log
    finally:
        other.stop()


# ---------------------------------------------------------------- refused before anything changes

def test_a_version_without_mlmodel_is_refused_before_anything_changes(fresh, mlserver, registry):
    fresh(name=MODEL, default_version="1").check()
    call = fresh(name=MODEL, default_version="1", versions=["4"])
    result = call.check(rc=2)
    uri = registry.get_model_version_download_uri(MODEL, "4")
    assert result["msg"] == (
        "Version 4 of model %r is not an MLflow model: its files (%s) have no MLmodel at the top, so MLServer's "
        "MLflow runtime cannot serve it. Register the version from a logged model (models:/m-...) or from "
        "runs:/<run id>/<artifact path of the model>" % (MODEL, uri))
    assert call.loads() == []
    assert entries(mlserver, MODEL) == {"champion": marker(MODEL, "1")} and copies(mlserver, MODEL) == ["1"]


@pytest.mark.parametrize("case", ["bad label", "missing repository", "MLServer unreachable", "unknown version"])
def test_bad_input_exact_messages(fresh, mlserver, tmp_path, case):
    fresh(name=MODEL, default_version="1").check()
    port = free_port()
    args, message = {
        "bad label": ({"default_label": "1st"},
                      "default_label '1st' is invalid: it must start with a letter or '_' and go on with letters, "
                      "digits, '_', '.' or '-'. MLServer's default endpoint serves the loaded version that sorts "
                      "highest and compares a label with version numbers as text, so a label starting with a digit, "
                      "'-' or '.' could sort below them"),
        "missing repository": ({"repository": str(tmp_path / "nowhere")},
                               "repository %s is not a directory: set it to MLServer's model repository, the folder "
                               "MLServer was started with (mlserver start <folder>), which the seldon role creates"
                               % (tmp_path / "nowhere")),
        "MLServer unreachable": ({"mlserver_url": "http://127.0.0.1:%d" % port, "versions": ["2"]},
                                 "Failed to ask MLServer about model %r: Cannot reach the MLServer at "
                                 "http://127.0.0.1:%d: [Errno 111] Connection refused" % (MODEL, port)),
        "unknown version": ({"versions": ["99"]},
                            "Cannot serve version 99 of model %r: MLflow has no such version (RESOURCE_DOES_NOT_EXIST: "
                            "Model Version (name=%s, version=99) not found)" % (MODEL, MODEL)),
    }[case]
    call = fresh(name=MODEL, default_version="1", **args)
    assert call.check(rc=2)["msg"] == message
    assert call.loads() == []
    assert entries(mlserver, MODEL) == {"champion": marker(MODEL, "1")}
    assert served(mlserver, MODEL) == marker(MODEL, "1")


def test_a_repository_mlserver_does_not_serve_is_named(serve, mlserver, tmp_path):
    serve(name=OTHER).check()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    call = serve(name=OTHER, default_version="1", repository=str(elsewhere))
    result = call.check(rc=2)
    assert result["msg"] == (
        "MLServer could not load model %r: MLServer found no entry of the model (Model %s not found): is repository "
        "%s the folder MLServer serves? mlserver start <folder> makes <folder> its model repository, whatever "
        "model_repository_root says. The previous entries are back on disk and loaded again: MLServer serves "
        "nothing, as before." % (OTHER, OTHER, elsewhere))
    assert result["failed_version"] is None
    assert os.listdir(str(elsewhere)) == [OTHER] and os.listdir(str(elsewhere / OTHER)) == []
    assert mlserver.status("/v2/models/%s/ready" % OTHER) == 404


def test_the_mlserver_token_never_shows_in_output(fresh):
    fresh(name=MODEL, default_version="1").check()
    secret = "tok-Never-Logged-4711"
    call = fresh(name=MODEL, default_version="1", mlserver_token=secret, verbosity=3)
    assert call.rc == 0, repr(call)
    assert "changed=0" in call.stdout
    assert secret not in call.stdout + call.stderr
