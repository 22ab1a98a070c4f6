# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Serve MLflow model versions on a local MLServer through its model repository API, without restarts.

Private to the collection: the work behind ``mlops.platform.mlserver_model``.

Layout on the host that runs MLServer (``repository`` is MLServer's ``model_repository_root``)::

    <repository>/<name>/<key>/model-settings.json   one entry per MLServer version ("key") of the model
    <artifacts_dir>/<name>/<version>/                a local copy of a registry version's files
    <artifacts_dir>/<name>/.serve.lock               one task at a time per model on this host
    <artifacts_dir>/<name>/.serve-journal.json       the entries as they were, while a change is under way

The key of the version served at the default endpoint is a fixed label (``champion``) that
MLServer ranks above every version number, so switching the default to another registry version
is a hot reload of one key: MLServer loads the new instance before it drops the old one. Every
other version is served under its own number. Each entry names its registry version in the
model-settings field ``versions`` (``models:/<name>/<version>``), which MLServer reports in the
model's metadata: the running server itself tells which registry version answers.

MLServer's ``POST /v2/repository/models/<name>/load`` reads every entry of the model from disk,
loads them one by one and then drops the versions no longer on disk; it stops at the first entry
that fails. An entry that failed must never stay on disk (at start-up it would stop MLServer), so a
failed load puts the previous entries back and loads them again before the task fails.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import glob
import json
import os
import posixpath
import re
import shutil
import tempfile
import time
from collections import OrderedDict

from ansible.module_utils.six.moves.urllib.parse import quote, urlsplit
from ansible.module_utils.six.moves.urllib.request import url2pathname

from ansible_collections.mlops.platform.plugins.module_utils._api_module import failed_to
from ansible_collections.mlops.platform.plugins.module_utils._http_client import (
    ApiClient,
    ApiConnectionError,
    ApiError,
    ApiInvalidParameterError,
    ApiNotFoundError,
    classify_status,
    redact_url,
)
from ansible_collections.mlops.platform.plugins.module_utils._mlflow_client import (
    MlflowError,
    MlflowNotFoundError,
)

RUNTIME = "mlserver_mlflow.MLflowRuntime"
SETTINGS_FILE = "model-settings.json"
MANIFEST_FILE = ".mlops-artifacts.json"
LOCK_FILE = ".serve.lock"
JOURNAL_FILE = ".serve-journal.json"
#: How an entry names its registry version in the model-settings field ``versions``.
REGISTRY_MARKER = "models:/%s/%s"
#: The runtime of the placeholder that keeps the default endpoint for the champion while a model has none.
PLACEHOLDER_MODULE = "mlops_no_default"
PLACEHOLDER_FILE = PLACEHOLDER_MODULE + ".py"
PLACEHOLDER_IMPLEMENTATION = PLACEHOLDER_MODULE + ".NoDefaultVersion"
PLACEHOLDER_CODE = '''"""Written by mlops.platform.mlserver_model: a model's default endpoint while it has no default.

It keeps the default endpoint (and its version label) for the champion: until there is one, candidates
answer only at their own endpoints, and the first promotion is a hot reload of this entry.
"""
from mlserver import MLModel
from mlserver.errors import MLServerError


class NoDefaultVersion(MLModel):
    async def load(self):
        return True

    async def predict(self, payload):
        raise MLServerError(
            "Model %s has no default version yet; ask a version at /v2/models/%s/versions/<version>/infer"
            % (self.name, self.name), 503)
'''
#: The error code MlserverClient gives an error that MLServer itself explained (``{"error": ...}``).
MLSERVER_ERROR = "MLSERVER_ERROR"
POLL_INTERVAL = 0.2

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")
_LABEL_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,99}$")
_VERSION_RE = re.compile(r"^[1-9][0-9]{0,18}$")

# Documented once in plugins/doc_fragments/mlserver.py.
MLSERVER_CONNECTION_ARGSPEC = dict(
    mlserver_url=dict(type="str", default="http://127.0.0.1:8080", aliases=["url"]),
    mlserver_token=dict(type="str", no_log=True),
    mlserver_validate_certs=dict(type="bool", default=True),
    mlserver_ca_path=dict(type="path"),
    mlserver_timeout=dict(type="int", default=30),
    mlserver_retries=dict(type="int", default=0),
)


class ServeError(ApiError):
    """MLServer could not be brought to the wanted state; the message says what it serves now."""


# ---------------------------------------------------------------- the MLServer client

class MlserverClient(ApiClient):
    """MLServer's V2 REST API: health, per-version readiness and metadata, the model repository."""

    service = "MLServer"
    service_a = "an MLServer"
    url_of = "an MLServer's HTTP port"
    url_option = "mlserver_url"

    def __init__(self, base_url, **kwargs):
        super(MlserverClient, self).__init__(base_url, **kwargs)
        #: MLServer's own explanation of the last failed call (its ``{"error": ...}``), or None.
        self.last_reason = None

    def parse_error_body(self, payload):
        if isinstance(payload.get("error"), str):
            return MLSERVER_ERROR, payload["error"]
        return None, None

    def classify(self, status, error_code, detail):
        if status == 404 and error_code != MLSERVER_ERROR:
            return ApiError  # not "model not found": the URL is not MLServer's API
        return classify_status(status)

    def describe_error(self, status, error_code, detail, where):
        self.last_reason = detail if error_code == MLSERVER_ERROR else None
        if status == 404 and error_code != MLSERVER_ERROR:
            return ("%s answered HTTP 404 without an MLServer error (%s): is mlserver_url the HTTP address of an "
                    "MLServer?" % (where, detail))
        return "%s: HTTP %d: %s" % (where, status, detail)

    @staticmethod
    def model_path(name, key=None, tail=None):
        path = "v2/models/%s" % quote(name, safe="")
        if key is not None:
            path += "/versions/%s" % quote(key, safe="")
        if tail:
            path += "/" + tail
        return path

    def infer_url(self, name, key=None):
        return self.url(self.model_path(name, key, "infer"))

    def live(self):
        self.request("GET", "v2/health/live")

    def model_metadata(self, name, key=None):
        """The metadata of a loaded version (or of the default one); None when MLServer has no such version."""
        try:
            return self.request("GET", self.model_path(name, key))
        except ApiNotFoundError:
            return None

    def model_ready(self, name, key):
        """True when ready, False while it loads, None when MLServer has no such version."""
        try:
            self.request("GET", self.model_path(name, key, "ready"))
            return True
        except ApiNotFoundError:
            return None
        except ApiInvalidParameterError as exc:
            if exc.status == 400:
                return False
            raise

    def _single(self, method, path, timeout):
        """One attempt only: a load that failed fails the same way again, and a retry doubles the wait."""
        retries, self.retries = self.retries, 0
        try:
            return self.request(method, path, timeout=timeout)
        finally:
            self.retries = retries

    def load(self, name, timeout):
        """Load every entry of ``name`` on disk (hot reload of loaded keys); drop the versions gone from disk."""
        self.last_reason = None
        self._single("POST", "v2/repository/models/%s/load" % quote(name, safe=""), timeout)

    def unload(self, name, timeout):
        """Unload every version of ``name``; False when none was loaded."""
        self.last_reason = None
        try:
            self._single("POST", "v2/repository/models/%s/unload" % quote(name, safe=""), timeout)
            return True
        except ApiNotFoundError:
            return False


def mlserver_client(params):
    return MlserverClient(
        params["mlserver_url"],
        token=params["mlserver_token"],
        validate_certs=params["mlserver_validate_certs"],
        ca_path=params["mlserver_ca_path"],
        timeout=params["mlserver_timeout"],
        retries=params["mlserver_retries"],
    )


# ---------------------------------------------------------------- input

def validate_params(params):
    """Refuse bad input before anything is read or written; the messages say what to change."""
    name = params["name"]
    if not _NAME_RE.match(name or ""):
        raise ApiInvalidParameterError(
            "name %r is invalid: use 1-200 letters, digits, '_', '.' or '-', starting with a letter or a digit "
            "(it names the model in MLServer and a directory of the repository)" % (name,))
    label = params["default_label"]
    if not _LABEL_RE.match(label or ""):
        raise ApiInvalidParameterError(
            "default_label %r is invalid: it must start with a letter or '_' and go on with letters, digits, '_', "
            "'.' or '-'. MLServer's default endpoint serves the loaded version that sorts highest and compares a "
            "label with version numbers as text, so a label starting with a digit, '-' or '.' could sort below "
            "them" % (label,))
    if params["default_version"] is not None and not _VERSION_RE.match(params["default_version"]):
        raise ApiInvalidParameterError(
            "default_version %r is not a registry version number (1, 2, ...)" % (params["default_version"],))
    for version in params["versions"]:
        if not _VERSION_RE.match(version or ""):
            raise ApiInvalidParameterError("versions: %r is not a registry version number (1, 2, ...)" % (version,))
    if params["wait_timeout"] <= 0:
        raise ApiInvalidParameterError("wait_timeout must be a positive number of seconds, got %d"
                                       % params["wait_timeout"])


# ---------------------------------------------------------------- entries

def registry_marker(name, version):
    return REGISTRY_MARKER % (name, version)


def entry_document(name, key, version, artifact_path):
    """The model-settings.json of one entry: MLflow's runtime on the local copy of a registry version."""
    return {
        "name": name,
        "implementation": RUNTIME,
        "versions": [registry_marker(name, version)],
        "parameters": {"uri": artifact_path, "version": key},
    }


def served_version(document, name):
    """The registry version an entry (or MLServer's metadata of it) names in ``versions``; None if none."""
    prefix = REGISTRY_MARKER % (name, "")
    for item in (document or {}).get("versions") or []:
        if isinstance(item, str) and item.startswith(prefix) and _VERSION_RE.match(item[len(prefix):]):
            return item[len(prefix):]
    return None


def artifact_path(artifacts_dir, name, version):
    return os.path.join(artifacts_dir, name, version)


def entry_path(repository, name, key):
    return os.path.join(repository, name, key, SETTINGS_FILE)


def entry_files(repository, name, key):
    """The files of an entry: its model-settings.json and the placeholder's runtime file."""
    return [entry_path(repository, name, key), os.path.join(repository, name, key, PLACEHOLDER_FILE)]


def _read_text(path):
    try:
        with open(path, "r") as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def placeholder_document(name, label):
    """The entry that holds the default endpoint while there is no default version (see PLACEHOLDER_CODE)."""
    return {"name": name, "implementation": PLACEHOLDER_IMPLEMENTATION, "versions": [],
            "parameters": {"version": label}}


def entry_code(document):
    """The runtime file an entry needs beside its model-settings.json (the placeholder's), or None."""
    return PLACEHOLDER_CODE if document.get("implementation") == PLACEHOLDER_IMPLEMENTATION else None


def wanted_entries(name, label, default_version, versions, artifacts_dir, reserve_default=True):
    """[(key, (registry version, document))] of what must be on disk: the label first, then versions by number.

    Without a default version but with versions, the label holds a placeholder (registry version
    None) unless ``reserve_default`` is false.
    """
    wanted = {}
    order = []
    if default_version is not None:
        order.append(label)
        wanted[label] = (default_version, entry_document(
            name, label, default_version, artifact_path(artifacts_dir, name, default_version)))
    elif versions and reserve_default:
        order.append(label)
        wanted[label] = (None, placeholder_document(name, label))
    for version in sorted(set(versions), key=int):
        order.append(version)
        wanted[version] = (version, entry_document(name, version, version, artifact_path(artifacts_dir, name, version)))
    return [(key, wanted[key]) for key in order]


def wanted_versions(wanted):
    """{key: registry version} of ``wanted_entries``, in the same order."""
    return OrderedDict((key, entry[0]) for key, entry in wanted)


def settings_paths(repository):
    """Every model-settings.json MLServer would read, in the order it reads them (the same glob call)."""
    return glob.glob(os.path.join(os.path.abspath(repository), "**", SETTINGS_FILE), recursive=True)


def _read_json(path):
    try:
        with open(path, "r") as handle:
            document = json.load(handle)
    except (IOError, OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def scan_repository(repository, name):
    """Every entry of model ``name`` MLServer would load: (owned, strays, foreign).

    ``owned``: {key: {"path", "document", "version"}} for ``<repository>/<name>/<key>/model-settings.json``
    whose ``parameters.version`` is ``<key>``. ``strays``: other entries of the model (or unreadable
    files) inside ``<repository>/<name>/``, such as an older layout's unversioned entry; they are
    removed. ``foreign``: entries of the model elsewhere in the repository, which the task refuses
    to touch. The name of an entry without one is its directory's, as MLServer reads it.
    """
    repository = os.path.abspath(repository)
    own_dir = os.path.join(repository, name)
    owned, strays, foreign = {}, [], []
    for path in settings_paths(repository):
        inside = path.startswith(own_dir + os.sep)
        document = _read_json(path)
        if document is None:
            if inside:
                strays.append(path)
            continue
        if (document.get("name") or os.path.basename(os.path.dirname(path))) != name:
            continue
        key = (document.get("parameters") or {}).get("version")
        key = None if key is None else str(key)
        if inside and key and os.path.dirname(path) == os.path.join(own_dir, key):
            version = key if _VERSION_RE.match(key) else served_version(document, name)
            owned[key] = {"path": path, "document": document, "version": version,
                          "code": _read_text(os.path.join(os.path.dirname(path), PLACEHOLDER_FILE))}
        elif inside:
            strays.append(path)
        else:
            foreign.append(path)
    return owned, sorted(strays), sorted(foreign)


def plan_entries(owned, strays, wanted):
    """What to write and remove to bring the entries on disk in line: {"write", "remove", "strays"}.

    ``wanted`` is the list from ``wanted_entries``. A key is written when it is missing or its files
    differ from the wanted ones in any way; a key on disk that is not wanted is removed; strays are
    always removed.
    """
    documents = dict((key, entry[1]) for key, entry in wanted)
    write = [key for key, document in documents.items() if key not in owned or owned[key]["document"] != document
             or owned[key].get("code") != entry_code(document)]
    remove = sorted(key for key in owned if key not in documents)
    return {"write": write, "remove": remove, "strays": list(strays)}


def plan_is_empty(plan):
    return not (plan["write"] or plan["remove"] or plan["strays"])


def view(versions_by_key, label, strays=None):
    """The diff's view of what is served: {"default_version", "versions"} (+ "stray_entries" when any)."""
    numbered = sorted((v for k, v in versions_by_key.items() if k != label and v), key=int)
    result = {"default_version": versions_by_key.get(label), "versions": numbered}
    if strays:
        result["stray_entries"] = list(strays)
    return result


def describe_served(versions_by_key, label):
    """Words for what a set of entries serves: "version 1 as 'champion' and version 2"."""
    parts = []
    if versions_by_key.get(label):
        parts.append("version %s as %r (the default endpoint)" % (versions_by_key[label], label))
    elif label in versions_by_key:
        parts.append("a placeholder as %r (no default version)" % label)
    numbered = sorted((v for k, v in versions_by_key.items() if k != label and v), key=int)
    if numbered:
        parts.append("version%s %s" % ("s" if len(numbered) > 1 else "", ", ".join(numbered)))
    return " and ".join(parts) or "nothing"


# ---------------------------------------------------------------- files

def write_atomic(path, text, mode=0o644):
    """Write ``text`` to ``path`` through a hidden temporary file and a rename (MLServer's glob skips it)."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory)
    handle, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def remove_entry(path):
    """Remove a file of an entry and, when nothing of the entry is left, its directory."""
    try:
        os.remove(path)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise
    directory = os.path.dirname(path)
    try:
        if os.listdir(directory) == ["__pycache__"]:  # MLServer's import of the placeholder's runtime
            shutil.rmtree(os.path.join(directory, "__pycache__"), ignore_errors=True)
        os.rmdir(directory)
    except OSError:
        pass


def write_entry(repository, name, key, document):
    """Write an entry: the placeholder's runtime first (MLServer imports it), then its model-settings.json."""
    settings, code_path = entry_files(repository, name, key)
    code = entry_code(document)
    if code is not None:
        write_atomic(code_path, code)
    write_atomic(settings, document_text(document))
    if code is None and os.path.exists(code_path):
        remove_entry(code_path)


def document_text(document):
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def snapshot(paths):
    """{path: its text, or None when absent}: what ``restore`` puts back."""
    state = {}
    for path in paths:
        try:
            with open(path, "r") as handle:
                state[path] = handle.read()
        except (IOError, OSError) as exc:
            if exc.errno != errno.ENOENT:
                raise
            state[path] = None
    return state


def restore(state):
    for path in sorted(state):
        if state[path] is None:
            remove_entry(path)
        else:
            write_atomic(path, state[path])


class ModelLock(object):
    """An exclusive lock (flock) per model on this host, waited for up to ``timeout`` seconds."""

    def __init__(self, path, timeout, sleep=time.sleep, clock=time.monotonic):
        self.path = path
        self.timeout = timeout
        self._sleep = sleep
        self._clock = clock
        self._fd = None

    def __enter__(self):
        directory = os.path.dirname(self.path)
        if not os.path.isdir(directory):
            os.makedirs(directory)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = self._clock() + self.timeout
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except (IOError, OSError) as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if self._clock() >= deadline:
                    holder = os.read(self._fd, 64).decode("ascii", "replace").strip() or "unknown"
                    os.close(self._fd)
                    raise ServeError(
                        "Another task has been serving this model on this host for more than %d s (wait_timeout): "
                        "process %s holds %s" % (self.timeout, holder, self.path))
                self._sleep(POLL_INTERVAL)
        os.ftruncate(self._fd, 0)
        os.lseek(self._fd, 0, os.SEEK_SET)
        os.write(self._fd, ("%d\n" % os.getpid()).encode("ascii"))
        return self

    def __exit__(self, *exc):
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)


# ---------------------------------------------------------------- artifacts

def is_complete(path):
    """A copy is complete once its manifest is there: it is written last, before the copy is renamed in."""
    return os.path.isfile(os.path.join(path, MANIFEST_FILE))


def _unsupported(name, version, uri, why):
    return ServeError(
        "Cannot fetch the files of version %s of model %r from %s: %s. Supported are mlflow-artifacts:/ URIs "
        "(the artifact proxy of the MLflow server, mlflow server --serve-artifacts) and local paths (file:/ or "
        "absolute)" % (version, name, redact_url(uri) if "://" in uri else uri, why))


def _download_tree(mlflow, root, dest, name, version):
    """Copy the proxied directory ``root`` into ``dest``; returns {relative path: size}."""
    files = {}
    pending = [""]
    while pending:
        rel = pending.pop()
        for item in mlflow.list_proxied_artifacts(posixpath.join(root, rel) if rel else root):
            base = posixpath.basename(str(item.get("path") or ""))
            if base in ("", ".", ".."):
                raise ServeError("MLflow listed an artifact without a usable name under %s (version %s of model %r)"
                                 % (posixpath.join(root, rel), version, name))
            child = posixpath.join(rel, base) if rel else base
            local = os.path.join(dest, *child.split("/"))
            if item.get("is_dir"):
                os.makedirs(local)
                pending.append(child)
                continue
            data = mlflow.download_proxied_artifact(posixpath.join(root, child))
            expected = item.get("file_size")
            if expected is not None and int(expected) != len(data):
                raise ServeError("MLflow sent %d bytes of %s for version %s of model %r, %s expected"
                                 % (len(data), child, version, name, expected))
            with open(local, "wb") as out:
                out.write(data)
            files[child] = len(data)
    return files


def _copy_tree(source, dest):
    files = {}
    for top, _dirs, names in os.walk(source):
        for filename in names:
            src = os.path.join(top, filename)
            rel = os.path.relpath(src, source)
            target = os.path.join(dest, rel)
            if not os.path.isdir(os.path.dirname(target)):
                os.makedirs(os.path.dirname(target))
            shutil.copy2(src, target)
            files[rel.replace(os.sep, "/")] = os.path.getsize(target)
    return files


def check_location(mlflow, uri, name, version):
    """Refuse a download URI the task cannot fetch; returns ("proxy", path) or ("local", directory)."""
    parts = urlsplit(uri)
    if parts.scheme == "mlflow-artifacts":
        tracking = urlsplit(mlflow.base_url).netloc
        if parts.netloc and parts.netloc != tracking:
            raise _unsupported(name, version, uri, "it names another artifact server than tracking_uri (%s)" % tracking)
        return "proxy", parts.path.lstrip("/")
    if parts.scheme == "file" or (not parts.scheme and os.path.isabs(uri)):
        source = url2pathname(parts.path) if parts.scheme == "file" else uri
        if not os.path.isdir(source):
            raise ServeError("Version %s of model %r is stored at %s, which is not a directory on this host"
                             % (version, name, source))
        return "local", source
    raise _unsupported(name, version, uri, "the %s scheme is not supported" % (
        "%r" % (parts.scheme + ":") if parts.scheme else "relative path"))


def fetch_files(mlflow, uri, dest, name, version):
    """Copy the files a download URI points at into ``dest``; returns {relative path: size}."""
    kind, where = check_location(mlflow, uri, name, version)
    if kind == "proxy":
        return _download_tree(mlflow, where, dest, name, version)
    return _copy_tree(where, dest)


def _publish(tmp, dest):
    """Put the finished copy ``tmp`` at ``dest`` with renames, moving an incomplete copy out of the way."""
    if not os.path.lexists(dest):
        os.rename(tmp, dest)
        return
    parent = os.path.dirname(dest)
    holder = tempfile.mkdtemp(prefix=".%s.old-" % os.path.basename(dest), dir=parent)
    os.rename(dest, os.path.join(holder, "old"))
    os.rename(tmp, dest)
    shutil.rmtree(holder, ignore_errors=True)


def ensure_artifacts(get_mlflow, name, version, artifacts_dir, check_mode=False):
    """Make a complete local copy of a registry version's files; True when it had to be fetched.

    A version's files are immutable, so a complete copy is never fetched again. In check mode the
    version is only looked up (it must exist in MLflow), nothing is written.
    """
    dest = artifact_path(artifacts_dir, name, version)
    if is_complete(dest):
        return False
    mlflow = get_mlflow()
    try:
        uri = mlflow.get_model_version_download_uri(name, version)
    except MlflowNotFoundError as exc:
        raise ServeError("Cannot serve version %s of model %r: MLflow has no such version (%s)" % (version, name, exc),
                         exc.error_code, exc.status)
    except MlflowError as exc:
        raise failed_to("look up where MLflow stores version %s of model %r" % (version, name), exc)
    if not uri:
        raise ServeError("MLflow gave no download URI for version %s of model %r" % (version, name))
    check_location(mlflow, uri, name, version)
    if check_mode:
        return True
    parent = os.path.dirname(dest)
    if not os.path.isdir(parent):
        os.makedirs(parent)
    tmp = tempfile.mkdtemp(prefix=".%s.partial-" % version, dir=parent)
    try:
        try:
            files = fetch_files(mlflow, uri, tmp, name, version)
        except ServeError:  # an ApiError too, but already worded for this task
            raise
        except MlflowError as exc:
            raise failed_to("download the files of version %s of model %r from %s" % (version, name, uri), exc)
        if not os.path.isfile(os.path.join(tmp, "MLmodel")):
            raise ServeError(
                "Version %s of model %r is not an MLflow model: its files (%s) have no MLmodel at the top, so "
                "MLServer's MLflow runtime cannot serve it. Register the version from a logged model (models:/m-...) "
                "or from runs:/<run id>/<artifact path of the model>" % (version, name, uri))
        write_atomic(os.path.join(tmp, MANIFEST_FILE), json.dumps(
            {"name": name, "version": version, "source": uri, "files": files}, indent=2, sort_keys=True) + "\n")
        os.chmod(tmp, 0o755)  # mkdtemp made it private; MLServer may run as another user
        _publish(tmp, dest)
    finally:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return True


def prune_artifacts(artifacts_dir, name, keep):
    """Remove the copies no entry uses (and leftovers of interrupted copies); returns the versions removed."""
    parent = os.path.join(artifacts_dir, name)
    removed = []
    if not os.path.isdir(parent):
        return removed
    keep = set(os.path.normpath(path) for path in keep)
    for entry in sorted(os.listdir(parent)):
        full = os.path.join(parent, entry)
        if entry.startswith(".") and (".partial-" in entry or ".old-" in entry):
            shutil.rmtree(full, ignore_errors=True)
        elif _VERSION_RE.match(entry) and os.path.isdir(full) and os.path.normpath(full) not in keep:
            shutil.rmtree(full, ignore_errors=True)
            removed.append(entry)
    return removed


def _key_order(label):
    return lambda key: (key != label, int(key) if _VERSION_RE.match(key) else 0, key)


def _uris(owned):
    return [((entry["document"].get("parameters") or {}).get("uri") or "") for entry in owned.values()]


# ---------------------------------------------------------------- what MLServer serves

def read_served(mls, name, keys):
    """What MLServer reports for each key: [{mlserver_version, registry_version, ready}]."""
    served = []
    for key in keys:
        metadata = mls.model_metadata(name, key)
        ready = mls.model_ready(name, key) if metadata is not None else None
        served.append({"mlserver_version": key, "registry_version": served_version(metadata, name),
                       "ready": bool(ready)})
    return served


def serves_wanted(served, wanted):
    expected = wanted_versions(wanted)
    return len(served) == len(expected) and all(
        item["ready"] and item["registry_version"] == expected[item["mlserver_version"]] for item in served)


def wait_served(mls, name, wanted, deadline, wait_timeout, sleep=time.sleep, clock=time.monotonic):
    """Wait (up to the deadline) until every wanted key is ready, then check the registry version of each."""
    served = []
    for key, version in wanted_versions(wanted).items():
        while True:
            metadata = mls.model_metadata(name, key)
            ready = mls.model_ready(name, key) if metadata is not None else None
            if ready:
                break
            if clock() >= deadline:
                raise ServeError("MLServer took the entries of model %r but its version %r is %s after %d s "
                                 "(wait_timeout)" % (name, key, "still loading" if metadata else "not loaded",
                                                     wait_timeout))
            sleep(POLL_INTERVAL)
        now = served_version(metadata, name)
        if now != version:
            raise ServeError("MLServer serves version %s of model %r as %r, not version %s: is repository the folder "
                             "MLServer serves, and did nothing else change the model's entries meanwhile?"
                             % (now, name, key, version))
        served.append({"mlserver_version": key, "registry_version": now, "ready": True})
    return served


def find_failed_key(mls, name, repository, plan, wanted, owned):
    """The entry a failed load stopped at: the first written one, in MLServer's order, that does not serve its version.

    MLServer loads the entries in glob order and stops at the first that fails; an entry that
    failed keeps its previous instance (or none), so its metadata does not name the new version.
    """
    versions = wanted_versions(wanted)
    paths = dict((entry_path(repository, name, key), key) for key in plan["write"])
    ambiguous = []
    for path in settings_paths(repository):
        key = paths.get(path)
        if key is None:
            continue
        try:
            now = served_version(mls.model_metadata(name, key), name)
        except ApiError:
            return None
        before = (owned.get(key) or {}).get("version")
        if now != versions[key]:
            return key
        if before == versions[key]:
            ambiguous.append(key)  # the file changed, not the version: its metadata cannot tell
    return ambiguous[0] if ambiguous else None


def failure_reason(mls, exc, wait_timeout, repository):
    """MLServer's own words for a failed load, or what else went wrong, in words a person can act on."""
    if isinstance(exc, ApiNotFoundError):
        return ("MLServer found no entry of the model (%s): is repository %s the folder MLServer serves? "
                "mlserver start <folder> makes <folder> its model repository, whatever model_repository_root says"
                % (mls.last_reason or exc, repository))
    if mls.last_reason:
        return mls.last_reason
    if isinstance(exc, ApiConnectionError) and "timed out" in str(exc):
        return "MLServer did not finish loading within wait_timeout (%d s)" % wait_timeout
    if exc.status is not None and exc.status >= 500:
        return ("MLServer gave no reason (HTTP %d); its log has the traceback. MLServer reports the reason in its "
                "answer when it runs with parallel_workers of 1 or more" % exc.status)
    return str(exc)


def load_failure_message(name, label, key, version, reason, served_after, restore_reason=None):
    if key is None:
        what = "model %r" % name
    elif key == label and version is None:
        what = "the placeholder of model %r at the default endpoint" % name
    elif key == label:
        what = "version %s of model %r as %r (the default endpoint)" % (version, name, label)
    else:
        what = "version %s of model %r" % (version, name)
    message = "MLServer could not load %s: %s." % (what, reason.rstrip("."))
    if restore_reason is None:
        message += " The previous entries are back on disk and loaded again: MLServer serves %s, as before." % (
            served_after)
    else:
        message += (" The previous entries are back on disk (%s), but loading them again failed too: %s. Check what "
                    "MLServer serves before retrying." % (served_after, restore_reason.rstrip(".")))
    return message


# ---------------------------------------------------------------- the task

class Serve(object):
    """One run of mlserver_model: plan, then (unless check mode) write, load once, verify or restore."""

    def __init__(self, params, mls, get_mlflow, check_mode=False, want_diff=False, warn=None,
                 sleep=time.sleep, clock=time.monotonic):
        validate_params(params)
        self.p = params
        self.mls = mls
        self.get_mlflow = get_mlflow
        self.check_mode = check_mode
        self.want_diff = want_diff
        self.warn = warn or (lambda message: None)
        self.sleep = sleep
        self.clock = clock
        self.name = params["name"]
        self.label = params["default_label"]
        self.repository = os.path.abspath(params["repository"])
        self.artifacts_dir = os.path.abspath(params["artifacts_dir"])
        self.wait_timeout = params["wait_timeout"]
        self.model_dir = os.path.join(self.artifacts_dir, self.name)
        self.journal = os.path.join(self.model_dir, JOURNAL_FILE)
        self.wanted = wanted_entries(self.name, self.label, params["default_version"], params["versions"],
                                     self.artifacts_dir, params["reserve_default"])

    def run(self):
        if not os.path.isdir(self.repository):
            raise ApiInvalidParameterError(
                "repository %s is not a directory: set it to MLServer's model repository, the folder MLServer was "
                "started with (mlserver start <folder>), which the seldon role creates" % self.repository)
        if self.check_mode:
            if os.path.exists(self.journal):
                self.warn("An earlier run stopped during a change (%s is there); a run outside check mode puts the "
                          "previous entries back first" % self.journal)
            return self._apply()
        with ModelLock(os.path.join(self.model_dir, LOCK_FILE), self.wait_timeout, self.sleep, self.clock):
            self._recover()
            return self._apply()

    def _recover(self):
        """Put back the entries an interrupted run had replaced: they are the last state MLServer loaded."""
        if not os.path.exists(self.journal):
            return
        with open(self.journal, "r") as handle:
            state = json.load(handle)
        restore(state)
        os.remove(self.journal)
        self.warn("An earlier run stopped during a change; its previous entries were put back first: %s"
                  % ", ".join(sorted(state)))

    def _result(self, changed, served, diff, fetched):
        default_version = self.p["default_version"]
        versions = sorted(set(self.p["versions"]), key=int)
        result = {
            "changed": changed,
            "name": self.name,
            "default_label": self.label,
            "default_version": default_version,
            "versions": versions,
            "inference_url": self.mls.infer_url(self.name) if default_version is not None else None,
            "version_urls": dict((v, self.mls.infer_url(self.name, v)) for v in versions),
            "artifacts": self._artifacts(([default_version] if default_version else []) + versions),
            "loaded": served,
            "fetched_versions": fetched,
        }
        if self.want_diff:
            result["diff"] = diff
        return result

    def _artifacts(self, versions):
        return dict((v, artifact_path(self.artifacts_dir, self.name, v)) for v in versions)

    def _apply(self):
        owned, strays, foreign = scan_repository(self.repository, self.name)
        if foreign:
            raise ServeError(
                "Model %r has entries outside %s that MLServer would load with it: %s. Move or remove them; this task "
                "manages only the entries under that directory" % (
                    self.name, os.path.join(self.repository, self.name), ", ".join(foreign)))
        plan = plan_entries(owned, strays, self.wanted)
        before = dict((key, entry["version"]) for key, entry in owned.items())
        after = wanted_versions(self.wanted)
        diff = {"before": view(before, self.label, strays), "after": view(after, self.label)}

        if plan_is_empty(plan) or self.check_mode:
            try:
                served = self._read_served()
            except ApiError as exc:
                raise failed_to("ask MLServer about model %r" % self.name, exc)
            if plan_is_empty(plan) and self._serves_wanted(served):
                return self._result(False, served, diff, [])
            if self.check_mode:
                fetched = [v for v in self._versions_to_fetch(plan)
                           if ensure_artifacts(self.get_mlflow, self.name, v, self.artifacts_dir, check_mode=True)]
                return self._result(True, served, diff, fetched)

        try:
            self.mls.live()
        except ApiError as exc:
            raise failed_to("ask MLServer about model %r" % self.name, exc)
        fetched = [v for v in self._versions_to_fetch(plan)
                   if ensure_artifacts(self.get_mlflow, self.name, v, self.artifacts_dir)]

        paths = [path for key in plan["write"] + plan["remove"]
                 for path in entry_files(self.repository, self.name, key)]
        previous = snapshot(paths + plan["strays"])
        write_atomic(self.journal, json.dumps(previous, indent=2, sort_keys=True) + "\n")
        wanted = dict(self.wanted)
        for key in plan["write"]:
            write_entry(self.repository, self.name, key, wanted[key][1])
        removed = [path for key in plan["remove"] for path in entry_files(self.repository, self.name, key)]
        for path in removed + plan["strays"]:
            remove_entry(path)

        deadline = self.clock() + self.wait_timeout
        try:
            self._load_or_unload(bool(self.wanted), deadline)
        except ApiError as exc:
            return self._restore(exc, plan, owned, previous, diff, fetched)
        os.remove(self.journal)
        if self.wanted:
            served = wait_served(self.mls, self.name, self.wanted, deadline, self.wait_timeout, self.sleep, self.clock)
        else:
            served = []
        prune_artifacts(self.artifacts_dir, self.name, [artifact_path(self.artifacts_dir, self.name, v)
                                                        for v in set(after.values()) if v])
        return self._result(True, served, diff, fetched)

    def _read_served(self):
        if self.wanted:
            return read_served(self.mls, self.name, list(wanted_versions(self.wanted)))
        return []

    def _serves_wanted(self, served):
        if self.wanted:
            return serves_wanted(served, self.wanted)
        return self.mls.model_metadata(self.name) is None  # nothing wanted: nothing may be loaded

    def _versions_to_fetch(self, plan):
        wanted = dict(self.wanted)
        versions = []
        for key in plan["write"]:
            version = wanted[key][0]
            if version and version not in versions and not is_complete(
                    artifact_path(self.artifacts_dir, self.name, version)):
                versions.append(version)
        return versions

    def _load_or_unload(self, load, deadline):
        timeout = max(1.0, deadline - self.clock())
        if load:
            self.mls.load(self.name, timeout)
        else:
            self.mls.unload(self.name, timeout)

    def _restore(self, exc, plan, owned, previous, diff, fetched):
        """The load failed: name the entry and MLServer's reason, put the previous entries back, load them again."""
        reason = failure_reason(self.mls, exc, self.wait_timeout, self.repository)
        key = None
        if not isinstance(exc, ApiNotFoundError):  # not found: MLServer read none of the entries
            key = find_failed_key(self.mls, self.name, self.repository, plan, self.wanted, owned)
        version = dict(self.wanted)[key][0] if key else None
        restore(previous)
        restored, _strays, _foreign = scan_repository(self.repository, self.name)
        restore_reason = None
        try:
            self._load_or_unload(bool(restored), self.clock() + self.wait_timeout)
        except ApiError as again:
            restore_reason = failure_reason(self.mls, again, self.wait_timeout, self.repository)
        os.remove(self.journal)
        prune_artifacts(self.artifacts_dir, self.name, _uris(restored))
        before = dict((k, entry["version"]) for k, entry in restored.items())
        try:
            served = read_served(self.mls, self.name, sorted(restored, key=_key_order(self.label)))
        except ApiError:
            served = []
        result = self._result(False, served, diff, fetched)
        result.update({
            "_failed": True,
            "msg": load_failure_message(self.name, self.label, key, version, reason,
                                        describe_served(before, self.label), restore_reason),
            "failed_version": version,
            "reason": reason,
            "default_version": before.get(self.label),
            "versions": view(before, self.label)["versions"],
        })
        result["inference_url"] = self.mls.infer_url(self.name) if result["default_version"] else None
        result["version_urls"] = dict((v, self.mls.infer_url(self.name, v)) for v in result["versions"])
        result["artifacts"] = self._artifacts(sorted(set(v for v in before.values() if v), key=int))
        return result


def serve_model(module):
    """The action of mlops.platform.mlserver_model (run through ApiModule.run)."""
    task = Serve(module.params, mlserver_client(module.params), lambda: module.client,
                 check_mode=module.check_mode, want_diff=module._diff, warn=module.warn)
    return task.run()
