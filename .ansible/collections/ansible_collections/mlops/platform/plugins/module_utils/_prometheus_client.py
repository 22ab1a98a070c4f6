# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus's HTTP API (instant queries), on the collection's one HTTP layer.

Private to the collection. ``PrometheusClient`` adds to ``ApiClient`` only what is Prometheus's own: its error
body (``{"status": "error", "errorType": "bad_data", "error": "..."}``), the mapping of its error types, and the
decoding of ``/api/v1/query`` answers into (labels, float) pairs. Connection, auth, TLS, timeouts and retries are
the base's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

from ansible_collections.mlops.platform.plugins.module_utils._http_client import (
    ApiClient,
    ApiError,
    ApiInvalidParameterError,
    ApiNotFoundError,
    ApiServerError,
    classify_status,
    redact_url,
)

# Documented once in plugins/doc_fragments/prometheus.py.
PROMETHEUS_CONNECTION_ARGSPEC = dict(
    url=dict(type="str", required=True),
    token=dict(type="str", no_log=True),
    username=dict(type="str"),
    password=dict(type="str", no_log=True),
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
    timeout=dict(type="int", default=30),
    retries=dict(type="int", default=0),
)

#: Prometheus's errorType values and what they mean to a caller (the HTTP status alone decides the rest).
_INVALID_TYPES = frozenset(["bad_data", "execution"])
_SERVER_TYPES = frozenset(["timeout", "canceled", "internal", "unavailable"])

#: How Prometheus writes the floats that Python's float() would take in other spellings too: named, not guessed.
_SPECIAL_VALUES = {"NaN": float("nan"), "+Inf": float("inf"), "-Inf": float("-inf")}


def parse_sample_value(text, where):
    """A sample value of Prometheus's JSON (a string: "0.2", "NaN", "+Inf", "-Inf") as a float."""
    problem = ApiServerError("%s returned a sample value that is not a number: %r" % (where, text))
    if not isinstance(text, str):  # Prometheus writes every sample value as a string
        raise problem
    if text in _SPECIAL_VALUES:
        return _SPECIAL_VALUES[text]
    try:
        value = float(text)
    except ValueError:
        raise problem
    if math.isnan(value) or math.isinf(value):  # "nan", "inf" ...: not how Prometheus writes them
        raise problem
    return value


class PrometheusClient(ApiClient):
    """Instant queries against Prometheus's HTTP API (``/api/v1/query``)."""

    service = "Prometheus"
    service_a = "a Prometheus server"
    url_of = "a Prometheus server"
    url_option = "url"

    def unreachable_message(self, reason):
        return "Cannot reach Prometheus at %s: %s" % (redact_url(self.base_url), reason)

    def parse_error_body(self, payload):
        if payload.get("status") == "error" and isinstance(payload.get("error"), str):
            return payload.get("errorType") or None, payload["error"]
        return None, None

    def classify(self, status, error_code, detail):
        if error_code in _INVALID_TYPES:
            return ApiInvalidParameterError
        if error_code in _SERVER_TYPES:
            return ApiServerError
        if error_code == "not_found":
            return ApiNotFoundError
        if status == 404:
            return ApiError  # no Prometheus error body: the URL is not Prometheus's API
        return classify_status(status)

    def describe_error(self, status, error_code, detail, where):
        if status == 404 and error_code is None:
            return ("%s answered HTTP 404 without a Prometheus error (%s): is url the address of a Prometheus server "
                    "(without /api/v1)?" % (where, detail))
        return super(PrometheusClient, self).describe_error(status, error_code, detail, where)

    def query(self, expr, at=None, timeout=None):
        """Evaluate ``expr`` at ``at`` (Unix seconds or RFC 3339; None: Prometheus's now).

        Returns a list of (labels dict, float value): one per series of an instant vector (in Prometheus's order),
        or one with empty labels for a scalar. NaN, +Inf and -Inf come back as the floats they name. ``timeout``
        (seconds) bounds both the HTTP request and Prometheus's evaluation of the query.
        """
        params = {"query": expr, "time": at}
        if timeout is not None:
            params["timeout"] = "%ds" % timeout
        payload = self.request("GET", "api/v1/query", params=params, timeout=timeout)
        where = "GET %s" % redact_url(self.url("api/v1/query"))
        data = payload.get("data")
        if payload.get("status") != "success" or not isinstance(data, dict):
            raise ApiServerError("%s returned no query result (status %r): is url the address of a Prometheus "
                                 "server?" % (where, payload.get("status")))
        kind = data.get("resultType")
        result = data.get("result")
        if kind == "scalar":
            return [({}, self._value(result, where))]
        if kind == "vector":
            if not isinstance(result, list):
                raise ApiServerError("%s returned a vector that is not a list" % where)
            samples = []
            for item in result:
                if not isinstance(item, dict):
                    raise ApiServerError("%s returned a vector that is not a list of samples" % where)
                samples.append((dict(item.get("metric") or {}), self._value(item.get("value"), where)))
            return samples
        if kind == "matrix":
            raise ApiInvalidParameterError(
                "the query %s returns a range vector; it must return an instant vector or a scalar (apply a function "
                "such as rate() to the range)" % expr)
        raise ApiInvalidParameterError(
            "the query %s returns a %s; it must return an instant vector or a scalar" % (expr, kind))

    @staticmethod
    def _value(pair, where):
        """The float of a [timestamp, "value"] pair."""
        if not isinstance(pair, list) or len(pair) != 2:
            raise ApiServerError("%s returned a sample that is not a [timestamp, value] pair: %r" % (where, pair))
        return parse_sample_value(pair[1], where)


def prometheus_client(params):
    """The client of a module whose argspec includes PROMETHEUS_CONNECTION_ARGSPEC."""
    return PrometheusClient(
        params["url"],
        token=params["token"],
        username=params["username"],
        password=params["password"],
        validate_certs=params["validate_certs"],
        ca_path=params["ca_path"],
        timeout=params["timeout"],
        retries=params["retries"],
    )
