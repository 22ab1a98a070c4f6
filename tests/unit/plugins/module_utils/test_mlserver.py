"""Unit tests of _mlserver: planning, input validation, artifacts, restore on a failed load, the MLServer client.

The task's logic runs against ``FakeMlserver``, which reads the repository on disk the way
MLServer 1.7.1's ``POST /v2/repository/models/<name>/load`` does (every entry of the name, in glob
order, a hot reload for a loaded key, stop at the first entry that fails, then drop the versions no
longer on disk). The client runs against a scripted HTTP server on 127.0.0.1.
"""

from __future__ import absolute_import, division, print_function

import json
import os
from urllib.parse import urlsplit

import pytest

from support.scripted_http import scripted_servers

from ansible_collections.mlops.platform.plugins.module_utils._http_client import (
    ApiConnectionError,
    ApiError,
    ApiInvalidParameterError,
    ApiNotFoundError,
    ApiServerError,
)
from ansible_collections.mlops.platform.plugins.module_utils._mlflow_client import MlflowNotFoundError
from ansible_collections.mlops.platform.plugins.module_utils import _mlserver as ms

NAME = "iris"
LABEL = "champion"


# ---------------------------------------------------------------- fakes

class FakeMlserver(object):
    """MLServer's model registry and repository load, from the files on disk (see the module docstring)."""

    def __init__(self, repository, broken=None, url="http://127.0.0.1:8080"):
        self.repository = repository
        self.broken = dict(broken or {})  # artifact path -> MLServer's reason
        self.loaded = {}  # name -> {key: registry version}
        self.calls = []
        self.last_reason = None
        self.url = url
        self.reachable = True
        self.restore_fails = None  # reason a load after the first failure fails with

    def _check(self):
        if not self.reachable:
            raise ApiConnectionError("Cannot reach the MLServer at %s: [Errno 111] Connection refused" % self.url)

    def live(self):
        self.calls.append(("live",))
        self._check()

    def infer_url(self, name, key=None):
        return "%s/%s" % (self.url, ms.MlserverClient.model_path(name, key, "infer"))

    def model_metadata(self, name, key=None):
        self.calls.append(("metadata", key))
        self._check()
        versions = self.loaded.get(name) or {}
        if key is None:
            if not versions:
                return None
            key = max(versions, key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else 0, k))
        if key not in versions:
            return None
        return {"name": name, "versions": [ms.registry_marker(name, versions[key])]}

    def model_ready(self, name, key):
        self.calls.append(("ready", key))
        self._check()
        return True if key in (self.loaded.get(name) or {}) else None

    def load(self, name, timeout):
        self.calls.append(("load", name))
        self._check()
        self.last_reason = None
        if self.restore_fails and [c for c in self.calls if c[0] == "load"][:-1]:
            self.last_reason = self.restore_fails
            raise ApiServerError("POST load: HTTP 500: %s" % self.restore_fails, ms.MLSERVER_ERROR, 500)
        entries = []
        for path in ms.settings_paths(self.repository):
            with open(path) as handle:
                document = json.load(handle)
            if (document.get("name") or os.path.basename(os.path.dirname(path))) == name:
                entries.append(document)
        if not entries:
            self.last_reason = "Model %s not found" % name
            raise ApiNotFoundError("POST load: HTTP 404: Model %s not found" % name, ms.MLSERVER_ERROR, 404)
        models = self.loaded.setdefault(name, {})
        seen = set()
        for document in entries:
            key = (document.get("parameters") or {}).get("version") or "__no_version__"
            reason = self.broken.get(document["parameters"].get("uri"))
            if reason:
                self.last_reason = reason
                raise ApiServerError("POST load: HTTP 500: %s" % reason, ms.MLSERVER_ERROR, 500)
            models[key] = ms.served_version(document, name)
            seen.add(key)
        for key in list(models):
            if key not in seen:
                del models[key]

    def unload(self, name, timeout):
        self.calls.append(("unload", name))
        self._check()
        if not self.loaded.get(name):
            return False
        del self.loaded[name]
        return True

    def count(self, kind):
        return len([c for c in self.calls if c[0] == kind])


class FakeMlflow(object):
    """The artifact proxy calls of MlflowClient over a dict of files {relative path: bytes} per version."""

    base_url = "http://127.0.0.1:5000"

    def __init__(self, versions=None):
        self.versions = versions or {}  # version -> (download URI, {relative path: bytes})
        self.calls = []
        self.lie_about_size = False

    def get_model_version_download_uri(self, name, version):
        self.calls.append(("download-uri", version))
        if version not in self.versions:
            raise MlflowNotFoundError(
                "RESOURCE_DOES_NOT_EXIST: Model Version (name=%s, version=%s) not found" % (name, version),
                "RESOURCE_DOES_NOT_EXIST", 404)
        return self.versions[version][0]

    def _tree(self, path):
        for uri, files in self.versions.values():
            root = urlsplit(uri).path.lstrip("/")
            if path == root or path.startswith(root + "/"):
                return root, files
        return None, {}

    def list_proxied_artifacts(self, path):
        self.calls.append(("list", path))
        root, files = self._tree(path)
        rel = path[len(root):].lstrip("/") if root else ""
        entries = {}
        for name, data in files.items():
            if rel and not name.startswith(rel + "/"):
                continue
            rest = name[len(rel) + 1:] if rel else name
            head = rest.split("/", 1)[0]
            is_dir = "/" in rest
            entries[head] = {"path": head, "is_dir": is_dir}
            if not is_dir:
                entries[head]["file_size"] = len(data) + (1 if self.lie_about_size else 0)
        return list(entries.values())

    def download_proxied_artifact(self, path):
        self.calls.append(("download", path))
        root, files = self._tree(path)
        return files[path[len(root) + 1:]]


MODEL_FILES = {"MLmodel": b"flavors: {}\n", "model.skops": b"weights", "meta/requirements.txt": b"mlflow\n"}


def mlflow_with(*versions, **kw):
    files = kw.get("files", MODEL_FILES)
    return FakeMlflow(dict((v, ("mlflow-artifacts:/1/models/m-%s/artifacts" % v, files)) for v in versions))


def params(tmp_path, **kw):
    p = {
        "name": NAME,
        "default_version": None,
        "versions": [],
        "default_label": LABEL,
        "reserve_default": True,
        "repository": str(tmp_path / "repo"),
        "artifacts_dir": str(tmp_path / "artifacts"),
        "wait_timeout": 5,
        "mlserver_url": "http://127.0.0.1:8080",
        "mlserver_token": None,
        "mlserver_validate_certs": True,
        "mlserver_ca_path": None,
        "mlserver_timeout": 30,
        "mlserver_retries": 0,
    }
    p.update(kw)
    return p


@pytest.fixture
def env(tmp_path):
    (tmp_path / "repo").mkdir()

    class Env(object):
        mls = FakeMlserver(str(tmp_path / "repo"))
        mlflow = mlflow_with("1", "2", "3")
        warnings = []

        def run(self, check_mode=False, diff=True, **kw):
            task = ms.Serve(params(tmp_path, **kw), self.mls, lambda: self.mlflow, check_mode=check_mode,
                            want_diff=diff, warn=self.warnings.append, sleep=lambda s: None)
            return task.run()

        def entries(self):
            """{key: registry version} of the entries on disk."""
            owned, strays, foreign = ms.scan_repository(str(tmp_path / "repo"), NAME)
            assert not strays and not foreign
            return dict((k, e["version"]) for k, e in owned.items())

        def copies(self):
            d = tmp_path / "artifacts" / NAME
            return sorted(p.name for p in d.iterdir() if not p.name.startswith(".")) if d.exists() else []

        def art(self, version):
            return str(tmp_path / "artifacts" / NAME / version)

    return Env()


# ---------------------------------------------------------------- validation

@pytest.mark.parametrize("label", ["1st", "-x", ".hidden", "", "a/b", "café", "x" * 101])
def test_a_label_that_could_sort_below_version_numbers_is_refused(tmp_path, label):
    with pytest.raises(ApiInvalidParameterError) as err:
        ms.validate_params(params(tmp_path, default_label=label))
    assert str(err.value) == (
        "default_label %r is invalid: it must start with a letter or '_' and go on with letters, digits, '_', '.' or "
        "'-'. MLServer's default endpoint serves the loaded version that sorts highest and compares a label with "
        "version numbers as text, so a label starting with a digit, '-' or '.' could sort below them" % label)


@pytest.mark.parametrize("label", ["champion", "Champion", "_default", "prod.v-2", "z"])
def test_good_labels_sort_above_every_version_number(tmp_path, label):
    ms.validate_params(params(tmp_path, default_label=label))
    # MLServer compares versions as ints when both are numbers, else as strings: the label must win as a string.
    assert all(label > str(n) for n in (1, 9, 10, 99, 12345678901234567890))


@pytest.mark.parametrize("key,value,message", [
    ("name", "a/b", "name 'a/b' is invalid: use 1-200 letters, digits, '_', '.' or '-', starting with a letter or a "
                    "digit (it names the model in MLServer and a directory of the repository)"),
    ("name", ".iris", "name '.iris' is invalid: use 1-200 letters, digits, '_', '.' or '-', starting with a letter or "
                      "a digit (it names the model in MLServer and a directory of the repository)"),
    ("default_version", "v1", "default_version 'v1' is not a registry version number (1, 2, ...)"),
    ("default_version", "01", "default_version '01' is not a registry version number (1, 2, ...)"),
    ("versions", ["2", "latest"], "versions: 'latest' is not a registry version number (1, 2, ...)"),
    ("wait_timeout", 0, "wait_timeout must be a positive number of seconds, got 0"),
])
def test_bad_input_messages(tmp_path, key, value, message):
    with pytest.raises(ApiInvalidParameterError) as err:
        ms.validate_params(params(tmp_path, **{key: value}))
    assert str(err.value) == message


def test_a_missing_repository_is_refused_before_anything_is_written(tmp_path):
    task = ms.Serve(params(tmp_path, default_version="1"), FakeMlserver(str(tmp_path / "repo")), lambda: None)
    with pytest.raises(ApiInvalidParameterError) as err:
        task.run()
    assert str(err.value) == (
        "repository %s is not a directory: set it to MLServer's model repository, the folder MLServer was started "
        "with (mlserver start <folder>), which the seldon role creates" % (tmp_path / "repo"))
    assert not (tmp_path / "artifacts").exists()


# ---------------------------------------------------------------- planning

def _doc(key, version, art="/a"):
    return ms.entry_document(NAME, key, version, os.path.join(art, NAME, version))


STATES = ["absent", "same", "other"]


@pytest.mark.parametrize("key", [LABEL, "2"])
@pytest.mark.parametrize("current", STATES)
@pytest.mark.parametrize("wanted", [True, False])
def test_plan_every_combination_of_current_and_wanted_entry(key, current, wanted):
    version = "2"
    owned = {}
    if current == "same":
        owned[key] = {"path": "p", "document": _doc(key, version), "version": version}
    elif current == "other":
        # the label pointing at another version, or a numbered entry edited by hand
        document = _doc(key, "1") if key == LABEL else dict(_doc(key, version), max_batch_size=4)
        owned[key] = {"path": "p", "document": document, "version": "1" if key == LABEL else version}
    want = [(key, (version, _doc(key, version)))] if wanted else []
    plan = ms.plan_entries(owned, [], want)
    expected = {
        ("absent", True): {"write": [key], "remove": []},
        ("same", True): {"write": [], "remove": []},
        ("other", True): {"write": [key], "remove": []},
        ("absent", False): {"write": [], "remove": []},
        ("same", False): {"write": [], "remove": [key]},
        ("other", False): {"write": [], "remove": [key]},
    }[(current, wanted)]
    assert plan == dict(expected, strays=[])
    assert ms.plan_is_empty(plan) == (expected == {"write": [], "remove": []})


def test_plan_promote_keeps_the_previous_champion_under_its_number():
    owned = {
        LABEL: {"path": "p", "document": _doc(LABEL, "1"), "version": "1"},
        "2": {"path": "p", "document": _doc("2", "2"), "version": "2"},
    }
    wanted = ms.wanted_entries(NAME, LABEL, "2", ["1"], "/a")
    assert list(ms.wanted_versions(wanted)) == [LABEL, "1"]
    assert ms.plan_entries(owned, ["/r/iris/model-settings.json"], wanted) == {
        "write": [LABEL, "1"], "remove": ["2"], "strays": ["/r/iris/model-settings.json"]}


def test_wanted_entries_point_at_the_local_copy_and_name_the_registry_version():
    wanted = ms.wanted_entries(NAME, LABEL, "3", ["10", "2", "2"], "/srv/art")
    assert list(ms.wanted_versions(wanted)) == [LABEL, "2", "10"]
    assert dict(wanted)[LABEL] == ("3", {
        "name": NAME, "implementation": "mlserver_mlflow.MLflowRuntime", "versions": ["models:/iris/3"],
        "parameters": {"uri": "/srv/art/iris/3", "version": LABEL}})


@pytest.mark.parametrize("default_version,versions,reserve,label_entry", [
    (None, ["2"], True, "placeholder"),
    (None, ["2"], False, None),
    (None, [], True, None),
    ("1", ["2"], True, "version"),
])
def test_the_label_holds_a_placeholder_only_without_a_default_but_with_versions(
        default_version, versions, reserve, label_entry):
    wanted = dict(ms.wanted_entries(NAME, LABEL, default_version, versions, "/a", reserve))
    if label_entry is None:
        assert LABEL not in wanted
    elif label_entry == "placeholder":
        assert wanted[LABEL] == (None, {"name": NAME, "implementation": "mlops_no_default.NoDefaultVersion",
                                        "versions": [], "parameters": {"version": LABEL}})
        assert ms.entry_code(wanted[LABEL][1]) == ms.PLACEHOLDER_CODE
    else:
        assert wanted[LABEL][0] == "1" and ms.entry_code(wanted[LABEL][1]) is None


def test_the_placeholder_runtime_is_valid_python_naming_its_class():
    compile(ms.PLACEHOLDER_CODE, ms.PLACEHOLDER_FILE, "exec")
    assert "class NoDefaultVersion(MLModel):" in ms.PLACEHOLDER_CODE
    assert ms.PLACEHOLDER_IMPLEMENTATION == "mlops_no_default.NoDefaultVersion"


def test_scan_sorts_entries_into_owned_strays_and_foreign(tmp_path):
    repo = tmp_path / "repo"

    def put(rel, document):
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(document if isinstance(document, str) else json.dumps(document))
        return str(path)

    put("iris/champion/model-settings.json", _doc(LABEL, "1"))
    put("iris/2/model-settings.json", _doc("2", "2"))
    legacy = put("iris/model-settings.json", {"name": NAME, "parameters": {"uri": "models:/iris/1", "version": "1"}})
    misfiled = put("iris/3/model-settings.json", _doc("4", "4"))
    broken = put("iris/5/model-settings.json", "{not json")
    unnamed_elsewhere = put("iris-old/iris/model-settings.json", {"parameters": {"uri": "/x"}})
    put("other/1/model-settings.json", {"name": "other", "parameters": {"uri": "/x", "version": "1"}})
    put("iris/.hidden/model-settings.json", _doc(LABEL, "9"))  # MLServer's glob skips hidden directories
    owned, strays, foreign = ms.scan_repository(str(repo), NAME)
    assert dict((k, e["version"]) for k, e in owned.items()) == {LABEL: "1", "2": "2"}
    assert strays == sorted([legacy, misfiled, broken])
    assert foreign == [unnamed_elsewhere]


def test_views_and_words_for_what_is_served():
    assert ms.view({LABEL: "3", "10": "10", "2": "2"}, LABEL) == {"default_version": "3", "versions": ["2", "10"]}
    assert ms.view({}, LABEL, ["/r/x"]) == {"default_version": None, "versions": [], "stray_entries": ["/r/x"]}
    assert ms.describe_served({LABEL: "3", "2": "2"}, LABEL) == (
        "version 3 as 'champion' (the default endpoint) and version 2")
    assert ms.describe_served({"2": "2", "4": "4"}, LABEL) == "versions 2, 4"
    assert ms.describe_served({}, LABEL) == "nothing"


# ---------------------------------------------------------------- the task against the fake MLServer

def test_check_mode_writes_nothing_and_loads_nothing(env, tmp_path):
    result = env.run(check_mode=True, default_version="1", versions=["2"])
    assert result["changed"] is True
    assert result["diff"] == {"before": {"default_version": None, "versions": []},
                              "after": {"default_version": "1", "versions": ["2"]}}
    assert result["fetched_versions"] == ["1", "2"]
    assert env.entries() == {}
    assert not (tmp_path / "artifacts").exists()
    assert env.mls.count("load") == 0
    assert [c[0] for c in env.mlflow.calls] == ["download-uri", "download-uri"]


def test_serve_stage_promote_rollback_and_rerun(env):
    first = env.run(default_version="1")
    assert first["changed"] is True
    assert first["loaded"] == [{"mlserver_version": LABEL, "registry_version": "1", "ready": True}]
    assert first["inference_url"] == "http://127.0.0.1:8080/v2/models/iris/infer"
    assert env.entries() == {LABEL: "1"} and env.copies() == ["1"]

    env.mls.calls = []
    env.mlflow.calls = []
    again = env.run(default_version="1")
    assert again["changed"] is False
    assert env.mls.calls == [("metadata", LABEL), ("ready", LABEL)]  # no load, nothing asked of MLflow
    assert env.mlflow.calls == []

    staged = env.run(default_version="1", versions=["2"])
    assert staged["changed"] is True and staged["fetched_versions"] == ["2"]
    assert staged["version_urls"] == {"2": "http://127.0.0.1:8080/v2/models/iris/versions/2/infer"}
    assert staged["artifacts"] == {"1": env.art("1"), "2": env.art("2")}
    assert env.mls.loaded[NAME] == {LABEL: "1", "2": "2"}

    env.mlflow.calls = []
    promoted = env.run(default_version="2", versions=["1"])
    assert promoted["fetched_versions"] == [] and env.mlflow.calls == []  # both copies are there already
    assert env.mls.loaded[NAME] == {LABEL: "2", "1": "1"}
    assert promoted["diff"] == {"before": {"default_version": "1", "versions": ["2"]},
                                "after": {"default_version": "2", "versions": ["1"]}}

    back = env.run(default_version="1")
    assert env.mls.loaded[NAME] == {LABEL: "1"}
    assert back["versions"] == [] and env.copies() == ["1"]  # the copy of 2 is no longer used

    gone = env.run()
    assert gone["changed"] is True and gone["inference_url"] is None
    assert env.entries() == {} and NAME not in env.mls.loaded and env.copies() == []
    assert env.mls.calls[-1] == ("unload", NAME)
    assert env.run()["changed"] is False


def test_a_first_deploy_keeps_the_default_endpoint_for_the_champion(env, tmp_path):
    label_dir = tmp_path / "repo" / NAME / LABEL
    staged = env.run(versions=["1"])
    assert staged["changed"] is True and staged["inference_url"] is None and staged["default_version"] is None
    assert env.entries() == {LABEL: None, "1": "1"}
    assert (label_dir / ms.PLACEHOLDER_FILE).read_text() == ms.PLACEHOLDER_CODE
    assert staged["loaded"] == [{"mlserver_version": LABEL, "registry_version": None, "ready": True},
                                {"mlserver_version": "1", "registry_version": "1", "ready": True}]
    assert staged["artifacts"] == {"1": env.art("1")}
    assert env.run(versions=["1"])["changed"] is False

    (label_dir / ms.PLACEHOLDER_FILE).write_text("# edited\n")
    assert env.run(versions=["1"], check_mode=True)["changed"] is True  # the runtime file is part of the entry
    env.run(versions=["1"])
    assert (label_dir / ms.PLACEHOLDER_FILE).read_text() == ms.PLACEHOLDER_CODE

    (label_dir / "__pycache__").mkdir()  # as MLServer's import leaves it
    promoted = env.run(default_version="1")
    assert promoted["diff"] == {"before": {"default_version": None, "versions": ["1"]},
                                "after": {"default_version": "1", "versions": []}}
    assert env.entries() == {LABEL: "1"} and env.mls.loaded[NAME] == {LABEL: "1"}
    assert not (label_dir / ms.PLACEHOLDER_FILE).exists()

    env.run(versions=["1"])  # back to no default: the placeholder returns
    env.run()
    assert not (tmp_path / "repo" / NAME).exists() or os.listdir(str(tmp_path / "repo" / NAME)) == []


def test_without_reserve_default_the_label_is_left_empty(env):
    env.run(versions=["1"], reserve_default=False)
    assert env.entries() == {"1": "1"}


def test_an_entry_on_disk_that_mlserver_does_not_serve_is_loaded_again(env):
    env.run(default_version="1")
    env.mls.loaded = {}  # MLServer restarted without loading it
    result = env.run(default_version="1")
    assert result["changed"] is True
    assert env.mls.loaded[NAME] == {LABEL: "1"}
    assert env.mls.count("load") == 2


def test_a_stray_entry_of_an_older_layout_is_removed(env, tmp_path):
    legacy = tmp_path / "repo" / NAME / "model-settings.json"
    legacy.parent.mkdir()
    legacy.write_text(json.dumps({"name": NAME, "parameters": {"uri": "models:/iris/1"}}))
    result = env.run(default_version="1")
    assert result["diff"]["before"] == {"default_version": None, "versions": [], "stray_entries": [str(legacy)]}
    assert not legacy.exists()
    assert env.mls.loaded[NAME] == {LABEL: "1"}


def test_entries_of_the_model_elsewhere_in_the_repository_are_refused(env, tmp_path):
    other = tmp_path / "repo" / "old" / "model-settings.json"
    other.parent.mkdir()
    other.write_text(json.dumps({"name": NAME}))
    with pytest.raises(ms.ServeError) as err:
        env.run(default_version="1")
    assert str(err.value) == (
        "Model 'iris' has entries outside %s that MLServer would load with it: %s. Move or remove them; this task "
        "manages only the entries under that directory" % (tmp_path / "repo" / NAME, other))
    assert env.mls.count("load") == 0


def test_mlserver_unreachable(env):
    env.mls.reachable = False
    with pytest.raises(ApiConnectionError) as err:
        env.run(default_version="1")
    assert str(err.value) == ("Failed to ask MLServer about model 'iris': Cannot reach the MLServer at "
                              "http://127.0.0.1:8080: [Errno 111] Connection refused")
    assert env.entries() == {} and env.mlflow.calls == []


def test_a_version_mlflow_does_not_have(env):
    with pytest.raises(ms.ServeError) as err:
        env.run(default_version="7")
    assert str(err.value) == ("Cannot serve version 7 of model 'iris': MLflow has no such version "
                              "(RESOURCE_DOES_NOT_EXIST: Model Version (name=iris, version=7) not found)")
    assert env.entries() == {} and env.mls.count("load") == 0


# ---------------------------------------------------------------- restore on a failed load

def test_a_candidate_that_fails_to_load_leaves_no_entry_and_the_default_untouched(env):
    env.run(default_version="1")
    env.mls.broken[env.art("3")] = "zipfile.BadZipFile: File is not a zip file"
    result = env.run(default_version="1", versions=["3"])
    assert result["_failed"] is True
    assert result["msg"] == (
        "MLServer could not load version 3 of model 'iris': zipfile.BadZipFile: File is not a zip file. The previous "
        "entries are back on disk and loaded again: MLServer serves version 1 as 'champion' (the default endpoint), "
        "as before.")
    assert result["failed_version"] == "3"
    assert result["reason"] == "zipfile.BadZipFile: File is not a zip file"
    assert result["default_version"] == "1" and result["versions"] == []
    assert result["artifacts"] == {"1": env.art("1")}
    assert result["loaded"] == [{"mlserver_version": LABEL, "registry_version": "1", "ready": True}]
    assert env.entries() == {LABEL: "1"}
    assert env.mls.loaded[NAME] == {LABEL: "1"}
    assert env.copies() == ["1"]  # the failed copy is dropped: a rerun fetches it again
    assert env.mls.count("load") == 3  # serve, the failed one, the one after restoring


def test_a_promotion_that_fails_keeps_the_champion_and_the_other_versions(env):
    env.run(default_version="1", versions=["2"])
    env.mls.broken[env.art("3")] = "ModuleNotFoundError: No module named 'xgboost'"
    result = env.run(default_version="3", versions=["1"])
    assert result["msg"] == (
        "MLServer could not load version 3 of model 'iris' as 'champion' (the default endpoint): "
        "ModuleNotFoundError: No module named 'xgboost'. The previous entries are back on disk and loaded again: "
        "MLServer serves version 1 as 'champion' (the default endpoint) and version 2, as before.")
    assert result["failed_version"] == "3"
    assert env.copies() == ["1", "2"]
    assert env.entries() == {LABEL: "1", "2": "2"}
    assert env.mls.loaded[NAME] == {LABEL: "1", "2": "2"}
    assert result["default_version"] == "1" and result["versions"] == ["2"]


def test_a_first_deploy_that_fails_unloads_and_leaves_nothing(env):
    env.mls.broken[env.art("1")] = "OSError: bad model"
    result = env.run(default_version="1")
    assert result["msg"] == ("MLServer could not load version 1 of model 'iris' as 'champion' (the default endpoint): "
                             "OSError: bad model. The previous entries are back on disk and loaded again: MLServer "
                             "serves nothing, as before.")
    assert env.entries() == {} and env.copies() == []
    assert env.mls.calls[-1] == ("unload", NAME)  # nothing to load again: the model is unloaded


def test_when_loading_the_previous_entries_fails_too_the_message_says_so(env):
    env.run(default_version="1")
    env.mls.calls = []
    env.mls.broken[env.art("2")] = "zipfile.BadZipFile: File is not a zip file"
    env.mls.restore_fails = "OSError: disk full"
    result = env.run(default_version="1", versions=["2"])
    assert result["msg"] == (
        "MLServer could not load version 2 of model 'iris': zipfile.BadZipFile: File is not a zip file. The previous "
        "entries are back on disk (version 1 as 'champion' (the default endpoint)), but loading them again failed "
        "too: OSError: disk full. Check what MLServer serves before retrying.")
    assert env.entries() == {LABEL: "1"}


def test_the_failed_key_is_the_first_written_entry_in_mlservers_order_that_does_not_serve_its_version(env, tmp_path):
    repo = str(tmp_path / "repo")
    wanted = ms.wanted_entries(NAME, LABEL, "2", ["3", "4"], "/a")
    for key, entry in wanted:
        ms.write_atomic(ms.entry_path(repo, NAME, key), ms.document_text(entry[1]))
    plan = {"write": [LABEL, "3", "4"], "remove": [], "strays": []}
    order = [os.path.basename(os.path.dirname(p)) for p in ms.settings_paths(repo)]
    # MLServer loaded the first entry in its order, failed on the second, never reached the third
    env.mls.loaded[NAME] = {order[0]: dict(wanted)[order[0]][0]}
    assert ms.find_failed_key(env.mls, NAME, repo, plan, wanted, {}) == order[1]


def test_no_reason_from_mlserver_says_where_to_look():
    mls = FakeMlserver("/nowhere")
    exc = ApiServerError("POST load: HTTP 500: Internal Server Error", None, 500)
    assert ms.failure_reason(mls, exc, 60, "/r") == (
        "MLServer gave no reason (HTTP 500); its log has the traceback. MLServer reports the reason in its answer "
        "when it runs with parallel_workers of 1 or more")
    timeout = ApiConnectionError("Cannot reach the MLServer at http://h: timed out")
    assert ms.failure_reason(mls, timeout, 60, "/r") == "MLServer did not finish loading within wait_timeout (60 s)"


def test_a_repository_mlserver_does_not_read_is_named(env, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env.mls.repository = str(tmp_path / "repo")  # MLServer serves repo/, the task is pointed at elsewhere/
    task = ms.Serve(params(tmp_path, default_version="1", repository=str(elsewhere)), env.mls, lambda: env.mlflow,
                    sleep=lambda s: None)
    result = task.run()
    assert result["msg"] == (
        "MLServer could not load model 'iris': MLServer found no entry of the model (Model iris not found): is "
        "repository %s the folder MLServer serves? mlserver start <folder> makes <folder> its model repository, "
        "whatever model_repository_root says. The previous entries are back on disk and loaded again: MLServer "
        "serves nothing, as before." % elsewhere)
    assert result["failed_version"] is None
    assert ms.scan_repository(str(elsewhere), NAME) == ({}, [], [])


def test_an_interrupted_change_is_put_back_before_planning(env, tmp_path):
    env.run(default_version="1")
    champion = ms.entry_path(str(tmp_path / "repo"), NAME, LABEL)
    candidate = ms.entry_path(str(tmp_path / "repo"), NAME, "3")
    before = open(champion).read()
    # a run killed after writing its entries and before loading them
    journal = ms.snapshot([champion, candidate])
    ms.write_atomic(os.path.join(str(tmp_path / "artifacts"), NAME, ms.JOURNAL_FILE), json.dumps(journal))
    ms.write_atomic(champion, ms.document_text(_doc(LABEL, "3", str(tmp_path / "artifacts"))))
    ms.write_atomic(candidate, ms.document_text(_doc("3", "3", str(tmp_path / "artifacts"))))
    result = env.run(default_version="1")
    assert result["changed"] is False  # back to what MLServer serves: nothing to load
    assert open(champion).read() == before and not os.path.exists(candidate)
    assert env.warnings == ["An earlier run stopped during a change; its previous entries were put back first: %s, %s"
                            % tuple(sorted([champion, candidate]))]
    assert not os.path.exists(os.path.join(str(tmp_path / "artifacts"), NAME, ms.JOURNAL_FILE))


def test_the_lock_waits_then_names_the_holder(tmp_path):
    path = str(tmp_path / "m" / ms.LOCK_FILE)
    clock = iter(range(100)).__next__
    with ms.ModelLock(path, 5):
        with pytest.raises(ms.ServeError) as err:
            with ms.ModelLock(path, 3, sleep=lambda s: None, clock=lambda: float(clock())):
                pass
    assert str(err.value) == ("Another task has been serving this model on this host for more than 3 s "
                              "(wait_timeout): process %d holds %s" % (os.getpid(), path))
    with ms.ModelLock(path, 1):  # released
        pass


# ---------------------------------------------------------------- artifacts

def test_artifacts_are_fetched_once_through_the_proxy(tmp_path):
    mlflow = mlflow_with("4")
    assert ms.ensure_artifacts(lambda: mlflow, NAME, "4", str(tmp_path)) is True
    copy = tmp_path / NAME / "4"
    assert (copy / "MLmodel").read_bytes() == MODEL_FILES["MLmodel"]
    assert (copy / "meta" / "requirements.txt").read_bytes() == b"mlflow\n"
    manifest = json.loads((copy / ms.MANIFEST_FILE).read_text())
    assert manifest["files"] == {"MLmodel": 12, "model.skops": 7, "meta/requirements.txt": 7}
    assert manifest["source"] == "mlflow-artifacts:/1/models/m-4/artifacts"
    assert os.stat(str(copy)).st_mode & 0o777 == 0o755  # readable by an MLServer running as another user
    calls = len(mlflow.calls)
    assert ms.ensure_artifacts(lambda: mlflow, NAME, "4", str(tmp_path)) is False
    assert len(mlflow.calls) == calls
    assert sorted(os.listdir(str(tmp_path / NAME))) == ["4"]  # no partial copy left


def test_files_without_an_mlmodel_are_not_an_mlflow_model(tmp_path):
    mlflow = mlflow_with("4", files={"model.pkl": b"x"})
    with pytest.raises(ms.ServeError) as err:
        ms.ensure_artifacts(lambda: mlflow, NAME, "4", str(tmp_path))
    assert str(err.value) == (
        "Version 4 of model 'iris' is not an MLflow model: its files (mlflow-artifacts:/1/models/m-4/artifacts) have "
        "no MLmodel at the top, so MLServer's MLflow runtime cannot serve it. Register the version from a logged "
        "model (models:/m-...) or from runs:/<run id>/<artifact path of the model>")
    assert os.listdir(str(tmp_path / NAME)) == []


def test_a_short_download_is_an_error_and_leaves_nothing(tmp_path):
    mlflow = mlflow_with("4")
    mlflow.lie_about_size = True
    with pytest.raises(ms.ServeError) as err:
        ms.ensure_artifacts(lambda: mlflow, NAME, "4", str(tmp_path))
    assert str(err.value) == "MLflow sent 12 bytes of MLmodel for version 4 of model 'iris', 13 expected"
    assert os.listdir(str(tmp_path / NAME)) == []


@pytest.mark.parametrize("form", ["file", "path"])
def test_a_local_artifact_location_is_copied(tmp_path, form):
    source = tmp_path / "store" / "model"
    (source / "sub").mkdir(parents=True)
    (source / "MLmodel").write_text("flavors: {}\n")
    (source / "sub" / "w.bin").write_bytes(b"123")
    uri = ("file://" + str(source)) if form == "file" else str(source)
    mlflow = FakeMlflow({"4": (uri, {})})
    assert ms.ensure_artifacts(lambda: mlflow, NAME, "4", str(tmp_path / "art")) is True
    assert (tmp_path / "art" / NAME / "4" / "sub" / "w.bin").read_bytes() == b"123"


@pytest.mark.parametrize("uri,why", [
    ("s3://bucket/1/models/m-4/artifacts", "the 's3:' scheme is not supported"),
    ("relative/dir", "the relative path scheme is not supported"),
    ("mlflow-artifacts://other:5000/1/x", "it names another artifact server than tracking_uri (127.0.0.1:5000)"),
])
@pytest.mark.parametrize("check_mode", [False, True])
def test_an_unsupported_artifact_location_names_the_uri_and_what_is_supported(tmp_path, uri, why, check_mode):
    mlflow = FakeMlflow({"4": (uri, {})})
    with pytest.raises(ms.ServeError) as err:
        ms.ensure_artifacts(lambda: mlflow, NAME, "4", str(tmp_path), check_mode=check_mode)
    assert not (tmp_path / NAME).exists()
    assert str(err.value) == (
        "Cannot fetch the files of version 4 of model 'iris' from %s: %s. Supported are mlflow-artifacts:/ URIs (the "
        "artifact proxy of the MLflow server, mlflow server --serve-artifacts) and local paths (file:/ or absolute)"
        % (uri, why))


def test_prune_keeps_what_entries_use_and_drops_leftovers(tmp_path):
    for name in ("1", "2", "3", ".3.partial-abc", ".2.old-x", ms.LOCK_FILE):
        path = tmp_path / NAME / name
        if name == ms.LOCK_FILE:
            path.write_text("")
        else:
            path.mkdir(parents=True)
    removed = ms.prune_artifacts(str(tmp_path), NAME, [str(tmp_path / NAME / "2")])
    assert removed == ["1", "3"]
    assert sorted(os.listdir(str(tmp_path / NAME))) == [ms.LOCK_FILE, "2"]


# ---------------------------------------------------------------- the MLServer client over HTTP

@pytest.fixture
def scripted():
    make, close_all = scripted_servers()
    yield make
    close_all()


def test_client_readiness_and_metadata(scripted):
    server = scripted((200, b""), (400, b""), (404, {"error": "Model iris with version 9 not found"}),
                      (200, {"name": NAME, "versions": ["models:/iris/3"]}), (404, {"error": "Model iris not found"}))
    client = ms.MlserverClient(server.uri)
    assert client.model_ready(NAME, LABEL) is True
    assert client.model_ready(NAME, "2") is False
    assert client.model_ready(NAME, "9") is None
    assert ms.served_version(client.model_metadata(NAME, LABEL), NAME) == "3"
    assert client.model_metadata(NAME) is None
    assert [r["path"] for r in server.requests] == [
        "/v2/models/iris/versions/champion/ready", "/v2/models/iris/versions/2/ready",
        "/v2/models/iris/versions/9/ready", "/v2/models/iris/versions/champion", "/v2/models/iris"]


def test_client_load_failure_keeps_mlservers_reason_and_is_never_retried(scripted):
    server = scripted((500, {"error": "zipfile.BadZipFile: File is not a zip file"}))
    client = ms.MlserverClient(server.uri, retries=3, sleep=lambda s: None)
    with pytest.raises(ApiServerError) as err:
        client.load(NAME, 10)
    assert client.last_reason == "zipfile.BadZipFile: File is not a zip file"
    assert str(err.value) == ("POST %s/v2/repository/models/iris/load: HTTP 500: zipfile.BadZipFile: File is not a "
                              "zip file" % server.uri)
    assert len(server.requests) == 1 and client.retries == 3


def test_client_a_load_without_reason_leaves_none(scripted):
    server = scripted((500, b"Internal Server Error"))
    client = ms.MlserverClient(server.uri)
    with pytest.raises(ApiServerError):
        client.load(NAME, 10)
    assert client.last_reason is None


def test_client_unload_of_a_model_that_is_not_loaded(scripted):
    server = scripted((404, {"error": "Model iris not found"}), (200, b""))
    client = ms.MlserverClient(server.uri)
    assert client.unload(NAME, 10) is False
    assert client.unload(NAME, 10) is True
    assert [(r["method"], r["path"]) for r in server.requests] == [("POST", "/v2/repository/models/iris/unload")] * 2


def test_client_a_404_that_is_not_mlservers_says_the_url_is_wrong(scripted):
    server = scripted((404, b"<html><body>Not Found</body></html>"))
    client = ms.MlserverClient(server.uri)
    with pytest.raises(ApiError) as err:
        client.model_metadata(NAME, LABEL)
    assert isinstance(err.value, ApiError) and not isinstance(err.value, ApiNotFoundError)
    assert str(err.value) == ("GET %s/v2/models/iris/versions/champion answered HTTP 404 without an MLServer error "
                              "(Not Found): is mlserver_url the HTTP address of an MLServer?" % server.uri)


def test_client_bad_url_names_the_option():
    with pytest.raises(ApiInvalidParameterError) as err:
        ms.MlserverClient("127.0.0.1:8080")
    assert str(err.value) == ("mlserver_url must be an http:// or https:// URL of an MLServer's HTTP port, got "
                              "'127.0.0.1:8080'")
