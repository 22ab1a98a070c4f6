# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one MLflow REST client of mlops.platform.

Private to the collection (leading underscore): modules and plugins import it,
users do not. It speaks MLflow's REST API (``/api/2.0/mlflow``) through the
collection's one HTTP layer (``_http_client.ApiClient``: connection, auth, TLS,
retries, typed errors), so that a module needs nothing but ansible-core on the
managed node. On top of that layer it owns:

* pagination: callers get whole lists, never pages;
* MLflow's error codes mapped to the typed exceptions (a missing alias is "not
  found", a 404 without an MLflow code means the URL is not an MLflow server);
* the artifact proxy (``mlflow-artifacts:/``): listing and downloading files.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.module_utils.six.moves.urllib.parse import quote

from ansible_collections.mlops.platform.plugins.module_utils._http_client import (
    ApiAlreadyExistsError,
    ApiAuthError,
    ApiClient,
    ApiConnectionError,
    ApiError,
    ApiInvalidParameterError,
    ApiNotFoundError,
    ApiServerError,
    classify_status,
)

API_PREFIX = "api/2.0/mlflow"

# Largest page each search endpoint accepts; a caller's limit below this costs one request.
PAGE_LIMITS = {
    "experiments/search": 50000,
    "runs/search": 50000,
    "metrics/get-history": 25000,
    "registered-models/search": 1000,
    "model-versions/search": 10000,
    "logged-models/search": 100,
}

# The MLflow names of the shared error classes (the modules and their tests use these).
MlflowError = ApiError
MlflowConnectionError = ApiConnectionError
MlflowAuthError = ApiAuthError
MlflowNotFoundError = ApiNotFoundError
MlflowAlreadyExistsError = ApiAlreadyExistsError
MlflowInvalidParameterError = ApiInvalidParameterError
MlflowServerError = ApiServerError

# MLflow answers a missing alias with HTTP 400 INVALID_PARAMETER_VALUE
# ("Registered model alias champion not found."), not 404. It is still a
# missing resource, so it is mapped to MlflowNotFoundError here, once.
_ALIAS_NOT_FOUND = re.compile(r"alias .+ not found", re.IGNORECASE)

_CODE_TO_ERROR = {
    "RESOURCE_DOES_NOT_EXIST": MlflowNotFoundError,
    "NOT_FOUND": MlflowNotFoundError,
    "ENDPOINT_NOT_FOUND": MlflowNotFoundError,
    "RESOURCE_ALREADY_EXISTS": MlflowAlreadyExistsError,
    "INVALID_PARAMETER_VALUE": MlflowInvalidParameterError,
    "BAD_REQUEST": MlflowInvalidParameterError,
    "INVALID_STATE": MlflowInvalidParameterError,
    "INVALID_REQUEST": MlflowInvalidParameterError,
    "UNAUTHENTICATED": MlflowAuthError,
    "PERMISSION_DENIED": MlflowAuthError,
    "REQUEST_LIMIT_EXCEEDED": MlflowServerError,
    "TEMPORARILY_UNAVAILABLE": MlflowServerError,
    "INTERNAL_ERROR": MlflowServerError,
}


def classify_error(status, error_code, message):
    """Return the exception class for an HTTP status and an MLflow error code."""
    if error_code == "INVALID_PARAMETER_VALUE" and _ALIAS_NOT_FOUND.search(message or ""):
        return MlflowNotFoundError
    if status in (401, 403):
        return MlflowAuthError
    if error_code in _CODE_TO_ERROR:
        return _CODE_TO_ERROR[error_code]
    if status == 404 and not error_code:
        # With an MLflow error code it is a missing resource; without one, the URL is not MLflow's API at all.
        return MlflowError
    return classify_status(status)


def endpoint_missing(exc):
    """True when a call failed because the server lacks the endpoint (an older MLflow): HTTP 404 without an MLflow code.

    Only meaningful after another call to the same server succeeded: a URL that is not MLflow's answers so too.
    """
    return exc.status == 404 and not exc.error_code


class MlflowClient(ApiClient):
    """A small MLflow REST client. One instance per module run."""

    service = "MLflow server"
    service_a = "an MLflow server"
    url_of = "an MLflow tracking server"
    url_option = "tracking_uri"

    def __init__(self, tracking_uri, **kwargs):
        if not tracking_uri:
            raise MlflowInvalidParameterError(
                "tracking_uri is required: set the option or the MLFLOW_TRACKING_URI environment variable")
        super(MlflowClient, self).__init__(tracking_uri, **kwargs)

    def classify(self, status, error_code, detail):
        return classify_error(status, error_code, detail)

    def describe_error(self, status, error_code, detail, where):
        if status == 404 and not error_code:
            return ("%s answered HTTP 404 without an MLflow error (%s): is tracking_uri the root URL of an "
                    "MLflow tracking server?" % (where, detail))
        return "%s%s" % ("%s: " % error_code if error_code else "HTTP %d: " % status, detail)

    def call(self, method, endpoint, params=None, body=None):
        """Call ``<tracking_uri>/api/2.0/mlflow/<endpoint>`` and return the decoded JSON object."""
        return self.request(method, "%s/%s" % (API_PREFIX, endpoint), params=params, body=body)

    # -- pagination --------------------------------------------------------

    def paginate(self, method, endpoint, items_key, payload=None, limit=None):
        """Collect ``items_key`` across pages, following ``next_page_token``.

        ``limit`` caps the items returned (None: all). Each page asks for no
        more than is still needed, so a top-1 query is one request.
        """
        payload = dict(payload or {})
        page_max = PAGE_LIMITS.get(endpoint, 1000)
        items = []
        while True:
            want = page_max if limit is None else min(page_max, limit - len(items))
            payload["max_results"] = want
            if method == "GET":
                page = self.call(method, endpoint, params=payload)
            else:
                page = self.call(method, endpoint, body=payload)
            items.extend(page.get(items_key, []))
            token = page.get("next_page_token")
            if not token or (limit is not None and len(items) >= limit):
                return items if limit is None else items[:limit]
            payload["page_token"] = token

    # -- experiments -------------------------------------------------------

    def get_experiment_by_name(self, name):
        return self.call("GET", "experiments/get-by-name", params={"experiment_name": name})["experiment"]

    def get_experiment(self, experiment_id):
        return self.call("GET", "experiments/get", params={"experiment_id": experiment_id})["experiment"]

    def search_experiments(self, filter_string=None, order_by=None, view_type="ACTIVE_ONLY", limit=None):
        payload = {"view_type": view_type}
        if filter_string:
            payload["filter"] = filter_string
        if order_by:
            payload["order_by"] = list(order_by)
        return self.paginate("POST", "experiments/search", "experiments", payload, limit)

    def create_experiment(self, name, artifact_location=None, tags=None):
        body = {"name": name}
        if artifact_location:
            body["artifact_location"] = artifact_location
        if tags:
            body["tags"] = _tag_list(tags)
        return self.call("POST", "experiments/create", body=body)["experiment_id"]

    def delete_experiment(self, experiment_id):
        self.call("POST", "experiments/delete", body={"experiment_id": experiment_id})

    def restore_experiment(self, experiment_id):
        self.call("POST", "experiments/restore", body={"experiment_id": experiment_id})

    def set_experiment_tag(self, experiment_id, key, value):
        self.call("POST", "experiments/set-experiment-tag",
                  body={"experiment_id": experiment_id, "key": key, "value": value})

    def delete_experiment_tag(self, experiment_id, key):
        self.call("POST", "experiments/delete-experiment-tag", body={"experiment_id": experiment_id, "key": key})

    # -- runs --------------------------------------------------------------

    def get_run(self, run_id):
        return self.call("GET", "runs/get", params={"run_id": run_id})["run"]

    def search_runs(self, experiment_ids, filter_string=None, order_by=None, run_view_type="ACTIVE_ONLY", limit=None):
        payload = {"experiment_ids": list(experiment_ids), "run_view_type": run_view_type}
        if filter_string:
            payload["filter"] = filter_string
        if order_by:
            payload["order_by"] = list(order_by)
        return self.paginate("POST", "runs/search", "runs", payload, limit)

    def get_metric_history(self, run_id, key):
        return self.paginate("GET", "metrics/get-history", "metrics", {"run_id": run_id, "metric_key": key})

    def create_run(self, experiment_id, run_name, start_time, tags=None):
        body = {"experiment_id": str(experiment_id), "run_name": run_name, "start_time": start_time}
        if tags:
            body["tags"] = _tag_list(tags)
        return self.call("POST", "runs/create", body=body)["run"]

    def update_run(self, run_id, status, end_time=None):
        body = {"run_id": run_id, "status": status}
        if end_time is not None:
            body["end_time"] = end_time
        self.call("POST", "runs/update", body=body)

    def set_run_tag(self, run_id, key, value):
        self.call("POST", "runs/set-tag", body={"run_id": run_id, "key": key, "value": value})

    def get_logged_model(self, model_id):
        return self.call("GET", "logged-models/%s" % model_id)["model"]

    def search_logged_models(self, experiment_ids, filter_string=None, limit=None):
        """MLflow 3 logged models (``{"info": ...}`` each); servers without logged models answer 404."""
        payload = {"experiment_ids": [str(e) for e in experiment_ids]}
        if filter_string:
            payload["filter"] = filter_string
        return self.paginate("POST", "logged-models/search", "models", payload, limit)

    def list_run_artifacts(self, run_id, path=None):
        """The files and directories directly under ``path`` of a run's artifacts (paths relative to the run)."""
        params = {"run_id": run_id, "path": path}
        files = []
        while True:
            page = self.call("GET", "artifacts/list", params=params)
            files.extend(page.get("files", []))
            if not page.get("next_page_token"):
                return files
            params["page_token"] = page["next_page_token"]

    # -- registered models -------------------------------------------------

    def get_registered_model(self, name):
        return self.call("GET", "registered-models/get", params={"name": name})["registered_model"]

    def create_registered_model(self, name, description=None, tags=None):
        body = {"name": name}
        if description:
            body["description"] = description
        if tags:
            body["tags"] = _tag_list(tags)
        return self.call("POST", "registered-models/create", body=body)["registered_model"]

    def update_registered_model(self, name, description):
        self.call("PATCH", "registered-models/update", body={"name": name, "description": description})

    def delete_registered_model(self, name):
        self.call("DELETE", "registered-models/delete", body={"name": name})

    def set_registered_model_tag(self, name, key, value):
        self.call("POST", "registered-models/set-tag", body={"name": name, "key": key, "value": value})

    def delete_registered_model_tag(self, name, key):
        self.call("DELETE", "registered-models/delete-tag", body={"name": name, "key": key})

    def set_alias(self, name, alias, version):
        self.call("POST", "registered-models/alias", body={"name": name, "alias": alias, "version": str(version)})

    def delete_alias(self, name, alias):
        self.call("DELETE", "registered-models/alias", body={"name": name, "alias": alias})

    def get_version_by_alias(self, name, alias):
        return self.call("GET", "registered-models/alias", params={"name": name, "alias": alias})["model_version"]

    # -- model versions ----------------------------------------------------

    def get_model_version(self, name, version):
        return self.call("GET", "model-versions/get", params={"name": name, "version": str(version)})["model_version"]

    def search_model_versions(self, filter_string=None, order_by=None, limit=None):
        payload = {}
        if filter_string:
            payload["filter"] = filter_string
        if order_by:
            payload["order_by"] = list(order_by)
        return self.paginate("GET", "model-versions/search", "model_versions", payload, limit)

    def create_model_version(self, name, source, run_id=None, model_id=None, description=None, tags=None):
        body = {"name": name, "source": source}
        if run_id:
            body["run_id"] = run_id
        if model_id:
            body["model_id"] = model_id
        if description:
            body["description"] = description
        if tags:
            body["tags"] = _tag_list(tags)
        return self.call("POST", "model-versions/create", body=body)["model_version"]

    def update_model_version(self, name, version, description):
        self.call("PATCH", "model-versions/update",
                  body={"name": name, "version": str(version), "description": description})

    def delete_model_version(self, name, version):
        self.call("DELETE", "model-versions/delete", body={"name": name, "version": str(version)})

    def set_model_version_tag(self, name, version, key, value):
        self.call("POST", "model-versions/set-tag",
                  body={"name": name, "version": str(version), "key": key, "value": value})

    def delete_model_version_tag(self, name, version, key):
        self.call("DELETE", "model-versions/delete-tag", body={"name": name, "version": str(version), "key": key})

    # -- artifacts ---------------------------------------------------------

    #: The artifact proxy of ``mlflow server --serve-artifacts``: the files behind ``mlflow-artifacts:/`` URIs.
    artifacts_prefix = "api/2.0/mlflow-artifacts"

    def get_model_version_download_uri(self, name, version):
        """Where the files of a model version are stored (``mlflow-artifacts:/...``, a path, ``s3://...``)."""
        return self.call("GET", "model-versions/get-download-uri",
                         params={"name": name, "version": str(version)}).get("artifact_uri")

    def list_proxied_artifacts(self, path):
        """Entries ``{path (a base name), is_dir, file_size}`` of a directory of the artifact proxy.

        ``path`` is relative to the proxy's root (the path of an ``mlflow-artifacts:/<path>`` URI).
        A path that does not exist lists as empty, as MLflow answers it.
        """
        return self.request("GET", "%s/artifacts" % self.artifacts_prefix, params={"path": path}).get("files", [])

    def download_proxied_artifact(self, path):
        """The bytes of one file of the artifact proxy (``path`` relative to its root)."""
        return self.request("GET", "%s/artifacts/%s" % (self.artifacts_prefix, quote(path.lstrip("/"))), raw=True)


def _tag_list(tags):
    return [{"key": str(k), "value": "" if v is None else str(v)} for k, v in sorted(tags.items())]


def quote_filter_value(value):
    """Quote a value for an MLflow filter string (single quotes, escaped)."""
    return "'%s'" % str(value).replace("\\", "\\\\").replace("'", "\\'")


def tags_to_dict(tags):
    """MLflow's ``[{key, value}]`` tag list as a plain dict."""
    return dict((t["key"], t.get("value", "")) for t in (tags or []))
