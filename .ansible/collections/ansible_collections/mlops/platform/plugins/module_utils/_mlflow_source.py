# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Model sources: which model a version's source points at, whatever its spelling, and whether it exists.

One model has many spellings. The model a run logged at ``model`` is ``runs:/<run>/model``, or the run's
artifact URI + ``/model`` (``mlflow-artifacts:/<exp>/<run>/artifacts/model``, ``file:///…``, ``s3://…``: what
MLflow 2's own client stores), each with or without a trailing slash; on MLflow 3 it is a logged model,
``models:/m-<id>`` (what MLflow 3's client stores), or that model's artifact location
(``mlflow-artifacts:/<exp>/models/m-<id>/artifacts``). ``source_key`` maps every spelling to one key, so a
version registered under one spelling is found when another is asked for. It is pure; ``resolve_source``
asks the server (one or two requests) what the key needs and whether the model is there.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible.module_utils.six.moves.urllib.parse import urlsplit

from ansible_collections.mlops.platform.plugins.module_utils._http_client import redact_url
from ansible_collections.mlops.platform.plugins.module_utils._mlflow_client import (
    MlflowError,
    MlflowInvalidParameterError,
    MlflowNotFoundError,
    endpoint_missing,
    quote_filter_value,
    tags_to_dict,
)

MLMODEL = "MLmodel"
# MLflow 2's log_model records every model it logs in this run tag (a JSON list with "artifact_path").
LOG_MODEL_HISTORY_TAG = "mlflow.log-model.history"
LOGGED_MODEL_FAILED = "LOGGED_MODEL_UPLOAD_FAILED"

_RUNS_URI_RE = re.compile(r"^runs:/([^/]+)(?:/(.*))?$")
_LOGGED_MODEL_URI_RE = re.compile(r"^models:/(m-[0-9a-f]+)$")
# MLflow's own layout of an artifact root: <root>/<experiment>/<run>/artifacts/… and
# <root>/<experiment>/models/<model id>/artifacts. Only a hint: the server confirms the location.
_RUN_ARTIFACTS_RE = re.compile(r"/([0-9a-f]{32})/artifacts(?:/|$)")
_MODEL_ARTIFACTS_RE = re.compile(r"/models/(m-[0-9a-f]+)/artifacts$")


# ---------------------------------------------------------------- pure: spellings and keys

def normalize_uri(uri):
    """One spelling per location: no trailing slash, ``file:`` URIs as plain paths, ``mlflow-artifacts`` without a host.

    ``file:///a/b/``, ``file:/a/b`` and ``/a/b`` are ``/a/b``; ``mlflow-artifacts://host:5000/1/x`` is
    ``mlflow-artifacts:/1/x``; ``runs:/r/model/`` is ``runs:/r/model``. Other schemes keep their host.
    """
    uri = (uri or "").strip()
    lowered = uri.lower()
    if lowered.startswith("file:"):
        parts = urlsplit(uri)
        if parts.netloc in ("", "localhost"):
            uri = parts.path
    elif lowered.startswith("mlflow-artifacts:"):
        uri = "mlflow-artifacts:" + urlsplit(uri).path
    stripped = uri.rstrip("/")
    return stripped if stripped and not stripped.endswith(":") else uri


def clean_path(path):
    """An artifact path within a run without leading or trailing slashes; None when nothing is left."""
    path = (path or "").strip().strip("/")
    return path or None


def parse_source(source):
    """What a source names by its spelling alone.

    ``("run", run_id, path)`` for ``runs:/<run>/<path>`` (``path`` None for the run itself),
    ``("model", model_id)`` for ``models:/m-<id>``, else ``("uri", normalized URI)``.
    """
    uri = normalize_uri(source)
    match = _RUNS_URI_RE.match(uri)
    if match:
        return ("run", match.group(1), clean_path(match.group(2)))
    match = _LOGGED_MODEL_URI_RE.match(uri)
    if match:
        return ("model", match.group(1))
    return ("uri", uri)


def storage_hint(uri):
    """The run or logged model a storage URI lies under in MLflow's layout, or None.

    ``("run", run_id)`` for ``…/<run>/artifacts[/…]``, ``("model", model_id)`` for ``…/models/m-<id>/artifacts``.
    The caller confirms it with the server: a URI of another layout (or another server) is just a URI.
    """
    uri = normalize_uri(uri)
    match = _MODEL_ARTIFACTS_RE.search(uri)
    if match:
        return ("model", match.group(1))
    match = _RUN_ARTIFACTS_RE.search(uri)
    if match:
        return ("run", match.group(1))
    return None


def run_logged_model(logged_models, run_id, name):
    """The logged model of ``run_id`` called ``name``: the one logged at the largest step, then the newest.

    That is the model MLflow 3's own client registers for ``runs:/<run>/<name>``.
    """
    matches = [m for m in logged_models or () if m.get("source_run_id") == run_id and m.get("name") == name]
    if not matches:
        return None
    return max(matches, key=lambda m: (m.get("step") or 0, m.get("creation_timestamp") or 0))


def source_key(source, runs=None, logged_models=()):
    """The model ``source`` points at, the same for every spelling of it.

    ``runs`` maps run ids to their artifact URIs, ``logged_models`` lists what is known of logged models
    (dicts with ``model_id``, ``name``, ``artifact_uri``, ``source_run_id``, ``step``). Returns
    ``("model", model_id)`` for a logged model, ``("run", run_id, path)`` for a model among a run's
    artifacts, else ``("uri", normalized URI)``. A run's path that names one of its logged models is that
    logged model, as MLflow 3 resolves ``runs:/``.
    """
    parsed = parse_source(source)
    if parsed[0] == "uri":
        uri = parsed[1]
        for model in logged_models or ():
            if model.get("artifact_uri") and uri == normalize_uri(model["artifact_uri"]):
                return ("model", model["model_id"])
        for run_id, artifact_uri in sorted((runs or {}).items()):
            root = normalize_uri(artifact_uri) if artifact_uri else None
            if root and uri.startswith(root + "/"):
                parsed = ("run", run_id, clean_path(uri[len(root) + 1:]))
                break
        else:
            return parsed
    if parsed[0] == "run":
        model = run_logged_model(logged_models, parsed[1], parsed[2])
        if model is not None:
            return ("model", model["model_id"])
    return parsed


def describe_models(names):
    """'no model', "one model: 'model'", "2 models: 'alt', 'model'" (in the order given)."""
    if not names:
        return "no model"
    quoted = ", ".join("'%s'" % n for n in names)
    if len(names) == 1:
        return "one model: %s" % quoted
    return "%d models: %s" % (len(names), quoted)


def logged_model_view(model, steps=None):
    """A logged model as MLflow's REST API returns it (``{"info": …}``), reduced to what the keys need."""
    info = model.get("info", model)
    model_id = info.get("model_id")
    return {
        "model_id": model_id,
        "name": info.get("name"),
        "artifact_uri": info.get("artifact_uri"),
        "source_run_id": info.get("source_run_id") or None,
        "status": info.get("status"),
        "step": (steps or {}).get(model_id, 0),
        "creation_timestamp": info.get("creation_timestamp_ms"),
    }


def history_paths(run):
    """The artifact paths MLflow 2's log_model recorded on the run (tag mlflow.log-model.history)."""
    tags = tags_to_dict(run.get("data", {}).get("tags"))
    try:
        history = json.loads(tags.get(LOG_MODEL_HISTORY_TAG) or "[]")
    except ValueError:
        return []
    paths = []
    for entry in history if isinstance(history, list) else []:
        path = clean_path(entry.get("artifact_path")) if isinstance(entry, dict) else None
        if path and path not in paths:
            paths.append(path)
    return paths


# ---------------------------------------------------------------- the server: what exists

def _resolved(source, run_id, model_id, key, runs, logged_models):
    return {"source": source, "run_id": run_id, "model_id": model_id, "key": key, "runs": runs,
            "logged_models": logged_models}


def get_run(client, run_id, required=True):
    try:
        return client.get_run(run_id)
    except MlflowNotFoundError:
        if not required:
            return None
        raise MlflowNotFoundError("Run %r does not exist" % run_id, "RESOURCE_DOES_NOT_EXIST", 404)


def get_logged_model(client, model_id, source, required=True):
    """The logged model (REST shape); None when absent and not ``required``."""
    try:
        return client.get_logged_model(model_id)
    except MlflowNotFoundError:
        if required:
            raise MlflowNotFoundError("Logged model %r does not exist" % model_id, "RESOURCE_DOES_NOT_EXIST", 404)
    except MlflowError as exc:
        if not endpoint_missing(exc):
            raise
        if required:
            raise MlflowInvalidParameterError(
                "%s is a logged model, but the MLflow server at %s has no logged models (MLflow < 3): "
                "use runs:/<run>/<path>" % (source, redact_url(client.base_url)))
    return None


def _refuse_failed_upload(model):
    if model["status"] == LOGGED_MODEL_FAILED:
        raise MlflowInvalidParameterError(
            "Logged model %s%s is %s: its files never finished uploading; log the model again"
            % (model["model_id"], " of run %s" % model["source_run_id"] if model["source_run_id"] else "",
               LOGGED_MODEL_FAILED))


def resolve_run_model(client, run, path=None):
    """The model of ``run`` at ``path`` (its only model when None), checked to exist.

    MLflow 3: the run's outputs name its logged models; one search reads them (name, location, status).
    MLflow 2 (or a model saved among the run's artifacts): one listing of ``<path>`` must show an MLmodel file.
    """
    info = run["info"]
    run_id = info.get("run_id") or info.get("run_uuid")
    runs = {run_id: info.get("artifact_uri")}
    outputs = (run.get("outputs") or {}).get("model_outputs") or []
    logged = []
    if outputs:
        steps = dict((o.get("model_id"), o.get("step") or 0) for o in outputs)
        found = client.search_logged_models([info["experiment_id"]], "source_run_id = %s" % quote_filter_value(run_id))
        logged = [logged_model_view(m, steps) for m in found]
    names = sorted(set([m["name"] for m in logged if m["name"]] + history_paths(run)))
    if path is None:
        if len(names) != 1:
            if not names:
                raise MlflowNotFoundError(
                    "Run %s logged no model: set artifact_path to the directory of its MLmodel file among the "
                    "run's artifacts" % run_id)
            raise MlflowInvalidParameterError(
                "Run %s logged %s: set artifact_path to the one to register" % (run_id, describe_models(names)))
        path = names[0]
    model = run_logged_model(logged, run_id, path)
    if model is not None:
        _refuse_failed_upload(model)
        return _resolved("models:/%s" % model["model_id"], run_id, model["model_id"], ("model", model["model_id"]),
                         runs, logged)
    files = client.list_run_artifacts(run_id, path)
    if "%s/%s" % (path, MLMODEL) not in [f.get("path") for f in files]:
        checked = "no logged model of that name and no" if logged else "no"
        raise MlflowNotFoundError(
            "Run %s has no model at artifact path %r (%s %s/%s among the run's artifacts); the run logged %s"
            % (run_id, path, checked, path, MLMODEL, describe_models(names)))
    return _resolved("runs:/%s/%s" % (run_id, path), run_id, None, ("run", run_id, path), runs, logged)


def _resolve_logged_model(client, logged, run_id, source):
    model = logged_model_view(logged)
    logged_run = model["source_run_id"]
    if run_id and logged_run and run_id != logged_run:
        raise MlflowInvalidParameterError(
            "source %r was logged by run %s, not by run_id %s" % (source, logged_run, run_id))
    _refuse_failed_upload(model)
    return _resolved("models:/%s" % model["model_id"], run_id or logged_run, model["model_id"],
                     ("model", model["model_id"]), {}, [model])


def resolve_source(client, source=None, run_id=None, artifact_path=None):
    """What to register for the user's source options, checked against the server.

    Returns a dict: ``source`` (the spelling to register: ``models:/m-<id>`` for a logged model,
    ``runs:/<run>/<path>`` for a model among a run's artifacts, else the URI as given), ``run_id``,
    ``model_id``, ``key`` (see ``source_key``), and the ``runs``/``logged_models`` the key was computed
    with, so that the spellings of earlier versions can be keyed the same way.

    A run or logged model that does not exist, a path of a run that holds no model, or a logged model whose
    upload failed is an error. A storage URI outside any run or logged model is registered as given,
    unchecked (there is nothing in MLflow to check it against).
    """
    path = None
    if artifact_path is not None:
        path = clean_path(artifact_path)
        if path is None:
            raise MlflowInvalidParameterError(
                "artifact_path must name the model's directory among the run's artifacts, got %r" % artifact_path)
    if not source:
        return resolve_run_model(client, get_run(client, run_id), path)
    parsed = parse_source(source)
    if parsed[0] == "run":
        if run_id and run_id != parsed[1]:
            raise MlflowInvalidParameterError("source %r names run %s but run_id is %s" % (source, parsed[1], run_id))
        return resolve_run_model(client, get_run(client, parsed[1]), parsed[2])
    if parsed[0] == "model":
        return _resolve_logged_model(client, get_logged_model(client, parsed[1], source), run_id, source)

    uri = parsed[1]
    hint = storage_hint(uri)
    candidate = run_id or (hint[1] if hint and hint[0] == "run" else None)
    if candidate:
        run = get_run(client, candidate, required=bool(run_id))
        root = normalize_uri(run["info"].get("artifact_uri") or "") if run else None
        if root and uri.startswith(root + "/"):
            return resolve_run_model(client, run, clean_path(uri[len(root) + 1:]))
    if hint and hint[0] == "model":
        logged = get_logged_model(client, hint[1], source, required=False)
        if logged is not None and normalize_uri(logged_model_view(logged)["artifact_uri"]) == uri:
            return _resolve_logged_model(client, logged, run_id, source)
    return _resolved(source, run_id, None, ("uri", uri), {}, [])


def registered_filters(name, resolved):
    """The model-version searches that find an earlier version of ``resolved``, the likeliest first.

    By run: every MLflow client registers a run's model with its run id. Then by the id inside the
    source (LIKE only ever finds more; the keys decide): versions registered without a run id.
    """
    model = "name = %s" % quote_filter_value(name)
    filters = []
    if resolved["run_id"]:
        filters.append("%s and run_id = %s" % (model, quote_filter_value(resolved["run_id"])))
    token = resolved["model_id"] or resolved["run_id"]
    if token:
        filters.append("%s and source_path LIKE %s" % (model, quote_filter_value("%" + token + "%")))
    else:
        filters.append("%s and source_path LIKE %s" % (model, quote_filter_value(resolved["key"][1] + "%")))
    return filters


def find_registered(client, name, resolved):
    """The version of ``name`` registered from the same model under any spelling, or None.

    The version whose source is the spelling this module registers comes first, then the oldest.
    """
    for filter_string in registered_filters(name, resolved):
        found = client.search_model_versions(filter_string)
        matches = [v for v in found
                   if source_key(v.get("source"), resolved["runs"], resolved["logged_models"]) == resolved["key"]]
        if matches:
            preferred = normalize_uri(resolved["source"])
            matches.sort(key=lambda v: (normalize_uri(v.get("source")) != preferred, int(v["version"])))
            return matches[0]
    return None
