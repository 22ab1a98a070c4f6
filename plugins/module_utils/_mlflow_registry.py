# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Model registry: the work behind mlflow_registered_model, mlflow_model_version(_info) and mlflow_model_alias."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

from ansible_collections.mlops.platform.plugins.module_utils._mlflow_client import (
    MlflowError,
    MlflowInvalidParameterError,
    MlflowNotFoundError,
    quote_filter_value,
    tags_to_dict,
)
from ansible_collections.mlops.platform.plugins.module_utils._api_module import failed_to
from ansible_collections.mlops.platform.plugins.module_utils._mlflow_source import (
    find_registered as find_registered_source,
    resolve_source as resolve_model_source,
)
from ansible_collections.mlops.platform.plugins.module_utils._mlflow_tracking import plan_tags, tag_value

READY = "READY"
PENDING = "PENDING_REGISTRATION"
FAILED = "FAILED_REGISTRATION"

_ALIAS_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_RESERVED_ALIAS_RE = re.compile(r"^(latest|v\d+|version\d+)$", re.IGNORECASE)
_LOGGED_MODEL_URI_RE = re.compile(r"^models:/(m-[0-9a-f]+)/?$")


class RegistrationFailedError(MlflowError):
    """A model version ended in FAILED_REGISTRATION or never left PENDING_REGISTRATION."""


def validate_alias(alias, option="alias"):
    if not _ALIAS_RE.match(alias or ""):
        raise MlflowInvalidParameterError(
            "%s %r is invalid: use 1-255 letters, digits, '_' or '-'" % (option, alias))
    if _RESERVED_ALIAS_RE.match(alias):
        raise MlflowInvalidParameterError(
            "%s %r is reserved by MLflow ('latest', 'v<N>' and 'version<N>' cannot be aliases)" % (option, alias))


def normalize_registered_model(model):
    if model is None:
        return None
    return {
        "name": model.get("name"),
        "description": model.get("description", ""),
        "tags": tags_to_dict(model.get("tags")),
        "aliases": dict((a["alias"], a["version"]) for a in model.get("aliases", [])),
        "creation_timestamp": model.get("creation_timestamp"),
        "last_updated_timestamp": model.get("last_updated_timestamp"),
    }


def normalize_version(version, aliases=None):
    """A model version as modules return it; ``aliases`` maps alias -> version for its model."""
    if version is None:
        return None
    number = str(version.get("version"))
    if aliases is None:
        own = list(version.get("aliases", []))
    else:
        own = sorted(a for a, v in aliases.items() if str(v) == number)
    model_id = version.get("model_id")
    if not model_id:
        match = _LOGGED_MODEL_URI_RE.match(version.get("source") or "")
        model_id = match.group(1) if match else None
    return {
        "name": version.get("name"),
        "version": number,
        "source": version.get("source"),
        "run_id": version.get("run_id") or None,
        "model_id": model_id,
        "status": version.get("status"),
        "status_message": version.get("status_message") or "",
        "description": version.get("description", ""),
        "tags": tags_to_dict(version.get("tags")),
        "aliases": own,
        "creation_timestamp": version.get("creation_timestamp"),
        "last_updated_timestamp": version.get("last_updated_timestamp"),
    }


def get_registered_model(client, name, required=True):
    try:
        return client.get_registered_model(name)
    except MlflowNotFoundError:
        if not required:
            return None
        raise MlflowNotFoundError("Registered model %r does not exist" % name, "RESOURCE_DOES_NOT_EXIST", 404)


def get_version(client, name, version):
    """The version dict; MlflowNotFoundError with a clear message when absent."""
    try:
        return client.get_model_version(name, version)
    except MlflowNotFoundError:
        raise MlflowNotFoundError("Version %s of registered model %r does not exist" % (version, name),
                                  "RESOURCE_DOES_NOT_EXIST", 404)


def version_for_alias(client, name, alias):
    """The version an alias points at, or None when the alias is not set."""
    try:
        return client.get_version_by_alias(name, alias)
    except MlflowNotFoundError:
        get_registered_model(client, name)  # a missing model is an error, a missing alias is not
        return None


# ---------------------------------------------------------------- registered models

def plan_update(before, current, params):
    """What to write to bring an existing model or version's tags and description in line.

    Returns (tags to set, tag keys to delete, new description or None, the diff's "after" view).
    """
    to_set, to_delete = plan_tags(current["tags"], params["tags"], params["purge_tags"])
    new_description = None
    if params["description"] is not None and params["description"] != current["description"]:
        new_description = params["description"]
    after_tags = dict(current["tags"])
    after_tags.update(to_set)
    for key in to_delete:
        after_tags.pop(key, None)
    after = dict(before, tags=after_tags)
    if new_description is not None:
        after["description"] = new_description
    return to_set, to_delete, new_description, after


def _model_view(model):
    if model is None:
        return {"state": "absent"}
    return {"state": "present", "name": model["name"], "description": model["description"], "tags": model["tags"]}


def ensure_registered_model(module):
    p = module.params
    client = module.client
    name = p["name"]
    try:
        current = normalize_registered_model(get_registered_model(client, name, required=False))
    except MlflowError as exc:
        raise failed_to("look up registered model %r" % name, exc)
    before = _model_view(current)
    if p["state"] == "absent":
        if current is None:
            return {"changed": False, "registered_model": None, "diff": {"before": before, "after": before}}
        if not module.check_mode:
            try:
                client.delete_registered_model(name)
            except MlflowError as exc:
                raise failed_to("delete registered model %r" % name, exc)
        return {"changed": True, "registered_model": None, "diff": {"before": before, "after": {"state": "absent"}}}

    if current is None:
        tags = dict((str(k), tag_value(v)) for k, v in (p["tags"] or {}).items())
        after = {"state": "present", "name": name, "description": p["description"] or "", "tags": tags}
        if module.check_mode:
            return {"changed": True, "registered_model": None, "diff": {"before": before, "after": after}}
        try:
            client.create_registered_model(name, p["description"], tags)
            current = normalize_registered_model(client.get_registered_model(name))
        except MlflowError as exc:
            raise failed_to("create registered model %r" % name, exc)
        return {"changed": True, "registered_model": current, "diff": {"before": before, "after": _model_view(current)}}

    to_set, to_delete, new_description, after = plan_update(before, current, p)
    changed = bool(to_set or to_delete or new_description is not None)
    if changed and not module.check_mode:
        try:
            if new_description is not None:
                client.update_registered_model(name, new_description)
            for key, value in sorted(to_set.items()):
                client.set_registered_model_tag(name, key, value)
            for key in to_delete:
                client.delete_registered_model_tag(name, key)
            current = normalize_registered_model(client.get_registered_model(name))
        except MlflowError as exc:
            raise failed_to("update registered model %r" % name, exc)
    return {"changed": changed, "registered_model": current, "diff": {"before": before, "after": after}}


# ---------------------------------------------------------------- model versions

def resolve_source(client, source=None, run_id=None, artifact_path=None):
    """(source to register, run_id, model_id, resolved) for the user's source options, checked to exist.

    The tuple form other module_utils call; ``resolved`` is what ``_find_registered`` needs (the work is
    ``_mlflow_source.resolve_source``, which returns that dict alone).
    """
    resolved = resolve_model_source(client, source, run_id, artifact_path)
    return resolved["source"], resolved["run_id"], resolved["model_id"], resolved


def _find_registered(client, name, source, run_id, resolved):
    """The version of ``name`` registered from the same model under any spelling, or None (see resolve_source)."""
    return find_registered_source(client, name, resolved)


def wait_until_ready(client, version, timeout, poll=1.0, sleep=time.sleep, clock=time.time):
    """Poll a version until READY; RegistrationFailedError on FAILED_REGISTRATION or timeout."""
    deadline = clock() + timeout
    while True:
        status = version.get("status")
        if status == READY or status is None:
            return version
        if status == FAILED:
            raise RegistrationFailedError(
                "Registration of version %s of model %r failed (FAILED_REGISTRATION): %s"
                % (version["version"], version["name"], version.get("status_message") or "no status message"),
                FAILED)
        if clock() >= deadline:
            raise RegistrationFailedError(
                "Version %s of model %r is still %s after %ss (wait_timeout)"
                % (version["version"], version["name"], status, timeout), status)
        sleep(poll)
        version = client.get_model_version(version["name"], version["version"])


def _version_view(version):
    if version is None:
        return {"state": "absent"}
    return {"state": "present", "version": version["version"], "source": version["source"],
            "description": version["description"], "tags": version["tags"]}


def ensure_model_version(module):
    p = module.params
    client = module.client
    name = p["name"]
    try:
        model = get_registered_model(client, name)
    except MlflowError as exc:
        raise failed_to("register a version of model %r" % name, exc)
    aliases = normalize_registered_model(model)["aliases"]

    source = run_id = model_id = None
    if p["version"] is None:
        # Which model the options name, and that it exists: a wrong path must not become a version.
        try:
            resolved = resolve_model_source(client, p["source"], p["run_id"], p["artifact_path"])
        except MlflowError as exc:
            raise failed_to("%s model %r" % ("register a version of" if p["state"] == "present"
                                             else "find the version of", name), exc)
        source, run_id, model_id = resolved["source"], resolved["run_id"], resolved["model_id"]
    try:
        if p["version"] is not None:
            try:
                raw = get_version(client, name, p["version"])
            except MlflowNotFoundError:
                if p["state"] == "absent":
                    raw = None
                else:
                    raise
        else:
            raw = find_registered_source(client, name, resolved)
    except MlflowError as exc:
        raise failed_to("find the version of model %r" % name, exc)
    current = normalize_version(raw, aliases)
    before = _version_view(current)

    if p["state"] == "absent":
        if current is None:
            return {"changed": False, "model_version": None, "diff": {"before": before, "after": before}}
        if current["aliases"] and not p["force"]:
            raise MlflowInvalidParameterError(
                "Version %s of model %r carries aliases %s; move them first or set force=true to delete it anyway"
                % (current["version"], name, ", ".join(current["aliases"])))
        if not module.check_mode:
            try:
                client.delete_model_version(name, current["version"])
            except MlflowError as exc:
                raise failed_to("delete version %s of model %r" % (current["version"], name), exc)
        return {"changed": True, "model_version": current, "diff": {"before": before, "after": {"state": "absent"}}}

    tags = dict((str(k), tag_value(v)) for k, v in (p["tags"] or {}).items())
    if current is None:
        after = {"state": "present", "version": None, "source": source, "description": p["description"] or "",
                 "tags": tags}
        if module.check_mode:
            return {"changed": True, "model_version": None, "diff": {"before": before, "after": after}}
        try:
            raw = client.create_model_version(name, source, run_id, model_id, p["description"], tags)
        except MlflowError as exc:
            raise failed_to("create a version of model %r from %s" % (name, source), exc)
        raw = wait_until_ready(client, raw, p["wait_timeout"])
        current = normalize_version(raw, aliases)
        return {"changed": True, "model_version": current, "diff": {"before": before, "after": _version_view(current)}}

    if current["status"] != READY and p["wait"]:
        wait_until_ready(client, raw, p["wait_timeout"])
    to_set, to_delete, new_description, after = plan_update(before, current, p)
    changed = bool(to_set or to_delete or new_description is not None)
    if changed and not module.check_mode:
        version = current["version"]
        try:
            if new_description is not None:
                client.update_model_version(name, version, new_description)
            for key, value in sorted(to_set.items()):
                client.set_model_version_tag(name, version, key, value)
            for key in to_delete:
                client.delete_model_version_tag(name, version, key)
            current = normalize_version(client.get_model_version(name, version), aliases)
        except MlflowError as exc:
            raise failed_to("update version %s of model %r" % (version, name), exc)
    return {"changed": changed, "model_version": current, "diff": {"before": before, "after": after}}


# Schemes of object stores a serving pod reads a model from itself (rclone, boto3, gcsfs ...).
_OBJECT_STORE_SCHEMES = ("s3", "gs", "wasbs", "abfss")


def storage_uri(download_uri, artifacts_destination=None):
    """The object-store URI of a model version's files, from what ``get-download-uri`` answered.

    ``mlflow-artifacts:/<path>`` (the artifact proxy of ``mlflow server --serve-artifacts``) is mapped onto the
    server's ``--artifacts-destination`` (``s3://<bucket>/<prefix>``): a serving pod reads the bucket, not the proxy.
    An object-store URI is returned as it is. Anything else (a local path, ``file:``, ``models:/``, ``runs:/``)
    cannot be read by a serving object and raises MlflowInvalidParameterError.
    """
    uri = download_uri or ""
    if uri.startswith("mlflow-artifacts:"):
        if not artifacts_destination:
            raise MlflowInvalidParameterError(
                "%s is in MLflow's artifact proxy: set artifacts_destination to the MLflow server's "
                "--artifacts-destination (s3://<bucket>/<prefix>) to map it to the object store" % uri)
        rest = uri[len("mlflow-artifacts:"):]
        if rest.startswith("//"):
            # mlflow-artifacts://<host:port>/<path>: the path after the authority
            rest = rest[2:].partition("/")[2]
        path = rest.lstrip("/")
        if not path:
            raise MlflowInvalidParameterError("%s names no artifact path" % uri)
        return artifacts_destination.rstrip("/") + "/" + path
    scheme = uri.partition("://")[0] if "://" in uri else ""
    if scheme in _OBJECT_STORE_SCHEMES:
        return uri
    raise MlflowInvalidParameterError(
        "%r is not in an object store (%s): a serving object on a cluster cannot read it"
        % (uri, ", ".join(s + "://" for s in _OBJECT_STORE_SCHEMES)))


def _with_download_uri(client, version, artifacts_destination):
    """``version`` (normalized) with ``download_uri`` and ``storage_uri`` added."""
    try:
        download = client.get_model_version_download_uri(version["name"], version["version"])
    except MlflowError as exc:
        raise failed_to("read the download URI of model %r version %s" % (version["name"], version["version"]), exc)
    try:
        location = storage_uri(download, artifacts_destination)
    except MlflowInvalidParameterError as exc:
        raise failed_to("resolve the storage of model %r version %s" % (version["name"], version["version"]), exc)
    return dict(version, download_uri=download, storage_uri=location)


def model_version_info(module):
    result = _model_version_info(module)
    if module.params.get("download_uri"):
        result["model_versions"] = [_with_download_uri(module.client, v, module.params.get("artifacts_destination"))
                                    for v in result["model_versions"]]
    return result


def _model_version_info(module):
    p = module.params
    client = module.client
    name = p["name"]
    try:
        if p["version"] is not None or p["alias"] is not None:
            model = get_registered_model(client, name)
            aliases = normalize_registered_model(model)["aliases"]
            if p["alias"] is not None:
                version = aliases.get(p["alias"])
                if version is None:
                    return {"changed": False, "model_versions": []}
            else:
                version = p["version"]
            try:
                found = [client.get_model_version(name, version)]
            except MlflowNotFoundError:
                found = []
            return {"changed": False, "model_versions": [normalize_version(v, aliases) for v in found]}
        clauses = []
        if name is not None:
            get_registered_model(client, name)
            clauses.append("name=%s" % quote_filter_value(name))
        if p["filter"]:
            clauses.append(p["filter"])
        found = client.search_model_versions(" and ".join(clauses) or None, p["order_by"], p["max_results"])
    except MlflowError as exc:
        raise failed_to("read versions of %s" % ("model %r" % name if name else "registered models"), exc)
    # MLflow's search omits aliases: read them from each model once, not once per version.
    alias_maps = {}
    result = []
    for version in found:
        model_name = version.get("name")
        if model_name not in alias_maps:
            try:
                alias_maps[model_name] = normalize_registered_model(client.get_registered_model(model_name))["aliases"]
            except MlflowError as exc:
                raise failed_to("read the aliases of model %r" % model_name, exc)
        result.append(normalize_version(version, alias_maps[model_name]))
    return {"changed": False, "model_versions": result}


# ---------------------------------------------------------------- aliases

def ensure_alias(module):
    p = module.params
    client = module.client
    name, alias = p["name"], p["alias"]
    validate_alias(alias)
    try:
        model = normalize_registered_model(get_registered_model(client, name))
    except MlflowError as exc:
        raise failed_to("set alias %r on model %r" % (alias, name), exc)
    previous = model["aliases"].get(alias)
    before = {"alias": alias, "version": previous}
    result = {"name": name, "alias": alias, "previous_version": previous}

    if p["state"] == "absent":
        if previous is None:
            return dict(result, changed=False, version=None, diff={"before": before, "after": before})
        if not module.check_mode:
            try:
                client.delete_alias(name, alias)
            except MlflowError as exc:
                raise failed_to("delete alias %r of model %r" % (alias, name), exc)
        return dict(result, changed=True, version=None, diff={"before": before, "after": {"alias": alias, "version": None}})

    version = str(p["version"])
    if previous == version:
        return dict(result, changed=False, version=version, diff={"before": before, "after": before})
    try:
        target = get_version(client, name, version)
    except MlflowError as exc:
        raise failed_to("set alias %r on model %r" % (alias, name), exc)
    if target.get("status") not in (READY, None):
        raise MlflowInvalidParameterError(
            "Failed to set alias %r on model %r: version %s is %s, not READY" % (alias, name, version, target["status"]))
    if not module.check_mode:
        try:
            client.set_alias(name, alias, version)
        except MlflowError as exc:
            raise failed_to("set alias %r on model %r to version %s" % (alias, name, version), exc)
    return dict(result, changed=True, version=version, diff={"before": before, "after": {"alias": alias, "version": version}})
