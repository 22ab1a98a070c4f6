# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one MLflow REST client of mlops.platform.

Private to the collection (leading underscore): modules and plugins import it,
users do not. It speaks MLflow's REST API (``/api/2.0/mlflow``) through
``ansible.module_utils.urls`` so that a module needs nothing but ansible-core
on the managed node. It owns:

* the connection: tracking URI, basic or bearer auth, TLS options, timeout;
* retries: jittered exponential backoff on connection errors, HTTP 429 and 5xx
  only, honouring ``Retry-After``;
* pagination: callers get whole lists, never pages;
* error mapping: MLflow error codes and HTTP statuses become typed exceptions
  whose messages never contain credentials.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import random
import re
import socket
import ssl
import time

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import urlencode, urlsplit, urlunsplit
from ansible.module_utils.six.moves.http_client import HTTPException
from ansible.module_utils.urls import Request

API_PREFIX = "/api/2.0/mlflow"

# Largest page each search endpoint accepts; a caller's limit below this costs one request.
PAGE_LIMITS = {
    "experiments/search": 50000,
    "runs/search": 50000,
    "metrics/get-history": 25000,
    "registered-models/search": 1000,
    "model-versions/search": 10000,
}

RETRYABLE_STATUS = frozenset([429, 500, 502, 503, 504])


class MlflowError(Exception):
    """Base of every error the client raises. ``str()`` is safe to show a user."""

    def __init__(self, message, error_code=None, status=None):
        super(MlflowError, self).__init__(message)
        self.message = message
        self.error_code = error_code
        self.status = status

    def __str__(self):
        return self.message


class MlflowConnectionError(MlflowError):
    """The server could not be reached (refused, timed out, TLS failure)."""


class MlflowAuthError(MlflowError):
    """HTTP 401 or 403: missing, wrong or insufficient credentials."""


class MlflowNotFoundError(MlflowError):
    """The experiment, run, model, version or alias does not exist."""


class MlflowAlreadyExistsError(MlflowError):
    """A create call found the resource already there."""


class MlflowInvalidParameterError(MlflowError):
    """MLflow rejected a parameter (a bad filter string, an invalid source, ...)."""


class MlflowServerError(MlflowError):
    """HTTP 429 or 5xx that outlived the retries, or an unreadable response."""


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
    if status == 404:
        # With an MLflow error code it is a missing resource; without one, the URL is not MLflow's API at all.
        return MlflowNotFoundError if error_code else MlflowError
    if status == 409:
        return MlflowAlreadyExistsError
    if status is not None and (status == 429 or status >= 500):
        return MlflowServerError
    if status is not None and 400 <= status < 500:
        return MlflowInvalidParameterError
    return MlflowError


def redact_url(url):
    """Drop any user:password@ part of a URL before it goes into a message."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def backoff_delay(attempt, base, cap, rand=random.random):
    """Delay before retry number ``attempt`` (0-based): equal jitter on base * 2**attempt.

    The delay lies in [d/2, d] where d = min(cap, base * 2**attempt), so it grows
    with every attempt yet two clients never retry in lock-step.
    """
    ceiling = min(float(cap), float(base) * (2 ** attempt))
    return ceiling / 2.0 + rand() * ceiling / 2.0


def _retry_after(headers, cap):
    """Seconds from a numeric Retry-After header, capped; None when absent or a date."""
    if headers is None:
        return None
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return min(float(cap), max(0.0, float(value)))
    except ValueError:
        return None


class MlflowClient(object):
    """A small MLflow REST client. One instance per module run."""

    def __init__(self, tracking_uri, username=None, password=None, token=None,
                 validate_certs=True, ca_path=None, client_cert=None, timeout=30,
                 retries=0, backoff_base=0.5, backoff_max=10.0, sleep=time.sleep):
        if not tracking_uri:
            raise MlflowInvalidParameterError(
                "tracking_uri is required: set the option or the MLFLOW_TRACKING_URI environment variable")
        parts = urlsplit(tracking_uri)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise MlflowInvalidParameterError(
                "tracking_uri must be an http:// or https:// URL of an MLflow tracking server, got %r"
                % redact_url(tracking_uri))
        if parts.username is not None or parts.password is not None:
            raise MlflowInvalidParameterError(
                "tracking_uri must not carry credentials; use username/password or token instead")
        if token and (username or password):
            raise MlflowInvalidParameterError(
                "token and username/password are mutually exclusive: choose bearer or basic auth")
        if bool(username) != bool(password):
            raise MlflowInvalidParameterError("username and password must be given together")
        if retries < 0:
            raise MlflowInvalidParameterError("retries must be 0 or more, got %d" % retries)
        if timeout <= 0:
            raise MlflowInvalidParameterError("timeout must be a positive number of seconds, got %s" % timeout)
        self.base_url = tracking_uri.rstrip("/")
        self.retries = retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.timeout = timeout
        self.request_count = 0
        self.has_credentials = bool(token or username)
        self._sleep = sleep
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            headers["Authorization"] = "Bearer %s" % token
        self._request = Request(
            headers=headers,
            validate_certs=validate_certs,
            ca_path=ca_path,
            client_cert=client_cert,
            url_username=username or None,
            url_password=password or None,
            force_basic_auth=bool(username),
            timeout=timeout,
            follow_redirects="safe",
            use_netrc=False,
        )

    # -- transport ---------------------------------------------------------

    def request(self, method, endpoint, params=None, body=None):
        """Call ``<tracking_uri>/api/2.0/mlflow/<endpoint>`` and return the decoded JSON object.

        ``params`` go into the query string, ``body`` is sent as JSON. Retries
        apply to connection errors, 429 and 5xx only; everything else raises at once.
        """
        url = "%s%s/%s" % (self.base_url, API_PREFIX, endpoint)
        if params:
            url = "%s?%s" % (url, urlencode(_query_items(params)))
        data = json.dumps(body) if body is not None else None
        attempt = 0
        while True:
            try:
                return self._once(method, url, endpoint, data)
            except _Retryable as exc:
                if attempt >= self.retries:
                    raise exc.error
                delay = exc.retry_after
                if delay is None:
                    delay = backoff_delay(attempt, self.backoff_base, self.backoff_max)
                self._sleep(delay)
                attempt += 1

    def _once(self, method, url, endpoint, data):
        self.request_count += 1
        where = "%s %s" % (method, redact_url(url))
        try:
            response = self._request.open(method, url, data=data)
            raw = response.read()
        except HTTPError as exc:
            raise self._http_error(exc, where)
        except URLError as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, ssl.SSLError):
                raise MlflowConnectionError(
                    "TLS error talking to %s: %s. Set ca_path to the server's CA bundle, "
                    "or validate_certs=false to skip verification" % (redact_url(self.base_url), reason))
            raise _Retryable(MlflowConnectionError(
                "Cannot reach the MLflow server at %s: %s" % (redact_url(self.base_url), reason)))
        except ssl.SSLError as exc:
            raise MlflowConnectionError("TLS error talking to %s: %s" % (redact_url(self.base_url), exc))
        except (socket.timeout, ConnectionError, HTTPException, OSError) as exc:
            raise _Retryable(MlflowConnectionError(
                "Cannot reach the MLflow server at %s: %s" % (redact_url(self.base_url), exc or type(exc).__name__)))
        if not raw:
            return {}
        try:
            decoded = json.loads(raw)
        except ValueError:
            raise MlflowServerError("%s returned a response that is not JSON (is %s an MLflow server?)"
                                    % (where, redact_url(self.base_url)))
        if not isinstance(decoded, dict):
            raise MlflowServerError("%s returned JSON that is not an object" % where)
        return decoded

    def _http_error(self, exc, where):
        status = exc.code
        try:
            raw = exc.read()
        except (OSError, HTTPException, ValueError):  # a broken error body must not hide the status
            raw = b""
        error_code = None
        detail = None
        try:
            payload = json.loads(raw) if raw else {}
            if isinstance(payload, dict):
                error_code = payload.get("error_code")
                detail = payload.get("message")
        except ValueError:
            payload = None
        if detail is None:
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            text = re.sub(r"<[^>]+>", " ", text)
            detail = " ".join(text.split())[:300] or (exc.reason if hasattr(exc, "reason") else "")
        if status in (401, 403):
            if status == 403:
                hint = "the credentials lack permission for this call"
            elif self.has_credentials:
                hint = "the server rejected the credentials"
            else:
                hint = "the server requires authentication: set username/password or token"
            error = MlflowAuthError("%s: HTTP %d, %s (%s)" % (where, status, detail, hint),
                                    error_code or ("UNAUTHENTICATED" if status == 401 else "PERMISSION_DENIED"),
                                    status)
            raise error
        cls = classify_error(status, error_code, detail)
        message = "%s%s" % ("%s: " % error_code if error_code else "HTTP %d: " % status, detail)
        if status == 404 and not error_code:
            message = ("%s answered HTTP 404 without an MLflow error (%s): is tracking_uri the root URL of an "
                       "MLflow tracking server?" % (where, detail))
        error = cls(message, error_code, status)
        if status in RETRYABLE_STATUS:
            return _Retryable(error, _retry_after(exc.headers, self.backoff_max))
        return error

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
                page = self.request(method, endpoint, params=payload)
            else:
                page = self.request(method, endpoint, body=payload)
            items.extend(page.get(items_key, []))
            token = page.get("next_page_token")
            if not token or (limit is not None and len(items) >= limit):
                return items if limit is None else items[:limit]
            payload["page_token"] = token

    # -- experiments -------------------------------------------------------

    def get_experiment_by_name(self, name):
        return self.request("GET", "experiments/get-by-name", params={"experiment_name": name})["experiment"]

    def get_experiment(self, experiment_id):
        return self.request("GET", "experiments/get", params={"experiment_id": experiment_id})["experiment"]

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
        return self.request("POST", "experiments/create", body=body)["experiment_id"]

    def delete_experiment(self, experiment_id):
        self.request("POST", "experiments/delete", body={"experiment_id": experiment_id})

    def restore_experiment(self, experiment_id):
        self.request("POST", "experiments/restore", body={"experiment_id": experiment_id})

    def set_experiment_tag(self, experiment_id, key, value):
        self.request("POST", "experiments/set-experiment-tag",
                     body={"experiment_id": experiment_id, "key": key, "value": value})

    def delete_experiment_tag(self, experiment_id, key):
        self.request("POST", "experiments/delete-experiment-tag", body={"experiment_id": experiment_id, "key": key})

    # -- runs --------------------------------------------------------------

    def get_run(self, run_id):
        return self.request("GET", "runs/get", params={"run_id": run_id})["run"]

    def search_runs(self, experiment_ids, filter_string=None, order_by=None, run_view_type="ACTIVE_ONLY", limit=None):
        payload = {"experiment_ids": list(experiment_ids), "run_view_type": run_view_type}
        if filter_string:
            payload["filter"] = filter_string
        if order_by:
            payload["order_by"] = list(order_by)
        return self.paginate("POST", "runs/search", "runs", payload, limit)

    def get_metric_history(self, run_id, key):
        return self.paginate("GET", "metrics/get-history", "metrics", {"run_id": run_id, "metric_key": key})

    def get_logged_model(self, model_id):
        return self.request("GET", "logged-models/%s" % model_id)["model"]

    # -- registered models -------------------------------------------------

    def get_registered_model(self, name):
        return self.request("GET", "registered-models/get", params={"name": name})["registered_model"]

    def create_registered_model(self, name, description=None, tags=None):
        body = {"name": name}
        if description:
            body["description"] = description
        if tags:
            body["tags"] = _tag_list(tags)
        return self.request("POST", "registered-models/create", body=body)["registered_model"]

    def update_registered_model(self, name, description):
        self.request("PATCH", "registered-models/update", body={"name": name, "description": description})

    def delete_registered_model(self, name):
        self.request("DELETE", "registered-models/delete", body={"name": name})

    def set_registered_model_tag(self, name, key, value):
        self.request("POST", "registered-models/set-tag", body={"name": name, "key": key, "value": value})

    def delete_registered_model_tag(self, name, key):
        self.request("DELETE", "registered-models/delete-tag", body={"name": name, "key": key})

    def set_alias(self, name, alias, version):
        self.request("POST", "registered-models/alias", body={"name": name, "alias": alias, "version": str(version)})

    def delete_alias(self, name, alias):
        self.request("DELETE", "registered-models/alias", body={"name": name, "alias": alias})

    def get_version_by_alias(self, name, alias):
        return self.request("GET", "registered-models/alias", params={"name": name, "alias": alias})["model_version"]

    # -- model versions ----------------------------------------------------

    def get_model_version(self, name, version):
        return self.request("GET", "model-versions/get", params={"name": name, "version": str(version)})["model_version"]

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
        return self.request("POST", "model-versions/create", body=body)["model_version"]

    def update_model_version(self, name, version, description):
        self.request("PATCH", "model-versions/update",
                     body={"name": name, "version": str(version), "description": description})

    def delete_model_version(self, name, version):
        self.request("DELETE", "model-versions/delete", body={"name": name, "version": str(version)})

    def set_model_version_tag(self, name, version, key, value):
        self.request("POST", "model-versions/set-tag",
                     body={"name": name, "version": str(version), "key": key, "value": value})

    def delete_model_version_tag(self, name, version, key):
        self.request("DELETE", "model-versions/delete-tag", body={"name": name, "version": str(version), "key": key})


class _Retryable(Exception):
    """Internal carrier: an error that may succeed on another attempt."""

    def __init__(self, error, retry_after=None):
        super(_Retryable, self).__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def _tag_list(tags):
    return [{"key": str(k), "value": "" if v is None else str(v)} for k, v in sorted(tags.items())]


def _query_items(params):
    items = []
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            items.extend((key, v) for v in value)
        else:
            items.append((key, value))
    return items


def quote_filter_value(value):
    """Quote a value for an MLflow filter string (single quotes, escaped)."""
    return "'%s'" % str(value).replace("\\", "\\\\").replace("'", "\\'")


def tags_to_dict(tags):
    """MLflow's ``[{key, value}]`` tag list as a plain dict."""
    return dict((t["key"], t.get("value", "")) for t in (tags or []))
