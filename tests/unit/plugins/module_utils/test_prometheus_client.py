"""Unit tests of PrometheusClient: query results (vector, scalar, NaN and infinities), Prometheus's error body, the
mapping of its error types, retries, auth headers, and messages without secrets.

The client talks to a scripted HTTP server on 127.0.0.1 that answers with bodies as Prometheus 2.42 writes them
(a real socket, a real HTTP exchange); the monitoring tier runs it against a real Prometheus.
"""

from __future__ import absolute_import, division, print_function

import base64
import math
import socket

import pytest

from support.scripted_http import scripted_servers

from ansible_collections.mlops.platform.plugins.module_utils._http_client import (
    ApiAuthError,
    ApiConnectionError,
    ApiError,
    ApiInvalidParameterError,
    ApiNotFoundError,
    ApiServerError,
)
from ansible_collections.mlops.platform.plugins.module_utils._prometheus_client import (
    PrometheusClient,
    parse_sample_value,
    prometheus_client,
)

AT = 1704067500


@pytest.fixture
def scripted():
    make, close_all = scripted_servers()
    yield make
    close_all()


def client_for(server, **kwargs):
    sleeps = []
    kwargs.setdefault("sleep", sleeps.append)
    return PrometheusClient(server.uri, **kwargs), sleeps


def vector(*samples):
    return {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": labels, "value": [AT, value]} for labels, value in samples]}}


def error(error_type, message):
    return {"status": "error", "errorType": error_type, "error": message}


# ---------------------------------------------------------------- results

def test_vector_is_a_list_of_labels_and_floats(scripted):
    server = scripted((200, vector(({"version": "1"}, "0.0125"), ({"version": "2"}, "0.2"))))
    client, _sleeps = client_for(server)
    assert client.query("sum by (version) (x)", at=AT) == [({"version": "1"}, 0.0125), ({"version": "2"}, 0.2)]
    (request,) = server.requests
    assert (request["method"], request["path"]) == ("GET", "/api/v1/query")
    assert request["query"] == {"query": ["sum by (version) (x)"], "time": [str(AT)]}


def test_nan_and_infinities_are_the_floats_they_name(scripted):
    server = scripted((200, vector(({"a": "nan"}, "NaN"), ({"a": "inf"}, "+Inf"), ({"a": "-inf"}, "-Inf"))))
    client, _sleeps = client_for(server)
    (nan, inf, minus_inf) = client.query("x")
    assert nan[0] == {"a": "nan"} and math.isnan(nan[1])
    assert inf == ({"a": "inf"}, float("inf"))
    assert minus_inf == ({"a": "-inf"}, float("-inf"))


def test_scalar_result_is_one_sample_without_labels(scripted):
    server = scripted((200, {"status": "success", "data": {"resultType": "scalar", "result": [AT, "1.5"]}}))
    client, _sleeps = client_for(server)
    assert client.query("scalar(x)") == [({}, 1.5)]


def test_empty_vector_is_an_empty_list(scripted):
    server = scripted((200, vector()))
    client, _sleeps = client_for(server)
    assert client.query("x") == []


def test_without_time_prometheus_picks_now(scripted):
    server = scripted((200, vector()))
    client, _sleeps = client_for(server)
    client.query("x")
    assert server.requests[0]["query"] == {"query": ["x"]}


def test_timeout_bounds_the_evaluation_too(scripted):
    server = scripted((200, vector()))
    client, _sleeps = client_for(server)
    client.query("x", at="2024-01-01T00:05:00Z", timeout=7)
    assert server.requests[0]["query"] == {"query": ["x"], "time": ["2024-01-01T00:05:00Z"], "timeout": ["7s"]}


def test_range_vector_is_refused(scripted):
    server = scripted((200, {"status": "success", "data": {"resultType": "matrix", "result": []}}))
    client, _sleeps = client_for(server)
    with pytest.raises(ApiInvalidParameterError) as info:
        client.query("x[1m]")
    assert str(info.value) == ("the query x[1m] returns a range vector; it must return an instant vector or a scalar "
                               "(apply a function such as rate() to the range)")


def test_string_result_is_refused(scripted):
    server = scripted((200, {"status": "success", "data": {"resultType": "string", "result": [AT, "a"]}}))
    client, _sleeps = client_for(server)
    with pytest.raises(ApiInvalidParameterError) as info:
        client.query('"a"')
    assert str(info.value) == 'the query "a" returns a string; it must return an instant vector or a scalar'


@pytest.mark.parametrize("text", ["nan", "inf", "Infinity", "fast", None, 3])
def test_values_prometheus_never_writes_are_refused(text):
    with pytest.raises(ApiServerError) as info:
        parse_sample_value(text, "GET http://127.0.0.1:9090/api/v1/query")
    assert str(info.value) == ("GET http://127.0.0.1:9090/api/v1/query returned a sample value that is not a number: "
                               "%r" % (text,))


def test_a_sample_that_is_not_a_pair(scripted):
    server = scripted((200, {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {}, "value": "0.2"}]}}))
    client, _sleeps = client_for(server)
    with pytest.raises(ApiServerError) as info:
        client.query("x")
    assert str(info.value) == ("GET %s/api/v1/query returned a sample that is not a [timestamp, value] pair: '0.2'"
                               % server.uri)


def test_json_that_is_not_a_query_answer(scripted):
    server = scripted((200, {"hello": "world"}))
    client, _sleeps = client_for(server)
    with pytest.raises(ApiServerError) as info:
        client.query("x")
    assert str(info.value) == ("GET %s/api/v1/query returned no query result (status None): is url the address of a "
                               "Prometheus server?" % server.uri)


# ---------------------------------------------------------------- errors

def test_bad_data_is_an_invalid_parameter_with_prometheus_own_text_and_is_not_retried(scripted):
    server = scripted((400, error("bad_data", 'invalid parameter "query": 1:16: parse error: unclosed left parenthesis')))
    client, sleeps = client_for(server, retries=3)
    with pytest.raises(ApiInvalidParameterError) as info:
        client.query("sum(rate(x[1m])")
    assert str(info.value) == ('GET %s/api/v1/query: bad_data: invalid parameter "query": 1:16: parse error: '
                               "unclosed left parenthesis" % server.uri)
    assert (info.value.error_code, info.value.status) == ("bad_data", 400)
    assert len(server.requests) == 1 and sleeps == []


def test_execution_error_is_an_invalid_parameter(scripted):
    server = scripted((422, error("execution", "found duplicate series for the match group")))
    client, _sleeps = client_for(server)
    with pytest.raises(ApiInvalidParameterError) as info:
        client.query("a / on() b")
    assert str(info.value) == "GET %s/api/v1/query: execution: found duplicate series for the match group" % server.uri


def test_unavailable_is_retried_then_reported(scripted):
    server = scripted((503, error("unavailable", "TSDB not ready")), (503, error("unavailable", "TSDB not ready")))
    client, sleeps = client_for(server, retries=1)
    with pytest.raises(ApiServerError) as info:
        client.query("x")
    assert str(info.value) == "GET %s/api/v1/query: unavailable: TSDB not ready" % server.uri
    assert len(server.requests) == 2 and len(sleeps) == 1


def test_timeout_error_type_is_a_server_error(scripted):
    server = scripted((503, error("timeout", "query timed out in expression evaluation")))
    client, _sleeps = client_for(server)
    with pytest.raises(ApiServerError):
        client.query("x")


def test_retried_503_then_success(scripted):
    server = scripted((503, error("unavailable", "TSDB not ready")), (200, vector(({}, "1"))))
    client, sleeps = client_for(server, retries=2)
    assert client.query("x") == [({}, 1.0)]
    assert len(sleeps) == 1


def test_not_found_error_type(scripted):
    server = scripted((404, error("not_found", "no such thing")))
    client, _sleeps = client_for(server)
    with pytest.raises(ApiNotFoundError):
        client.query("x")


def test_404_without_a_prometheus_body_names_the_url_option(scripted):
    server = scripted((404, b"404 page not found"))
    client, _sleeps = client_for(server)
    with pytest.raises(ApiError) as info:
        client.query("x")
    assert info.type is ApiError
    assert str(info.value) == ("GET %s/api/v1/query answered HTTP 404 without a Prometheus error (404 page not found): "
                               "is url the address of a Prometheus server (without /api/v1)?" % server.uri)


def test_unreachable_prometheus_message():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    sleeps = []
    client = PrometheusClient("http://127.0.0.1:%d" % port, retries=2, sleep=sleeps.append)
    with pytest.raises(ApiConnectionError) as info:
        client.query("x")
    assert str(info.value) == "Cannot reach Prometheus at http://127.0.0.1:%d: [Errno 111] Connection refused" % port
    assert len(sleeps) == 2


# ---------------------------------------------------------------- auth

def test_bearer_token_is_sent_and_never_shown(scripted):
    server = scripted((401, b"Unauthorized"))
    client, _sleeps = client_for(server, token="s3cret-token")
    with pytest.raises(ApiAuthError) as info:
        client.query("x")
    assert server.requests[0]["headers"]["Authorization"] == "Bearer s3cret-token"
    assert str(info.value) == ("GET %s/api/v1/query: HTTP 401, Unauthorized (the server rejected the credentials)"
                               % server.uri)


def test_basic_auth_is_sent(scripted):
    server = scripted((200, vector()))
    client, _sleeps = client_for(server, username="canary", password="s3cret")
    client.query("x")
    expected = base64.b64encode(b"canary:s3cret").decode()
    assert server.requests[0]["headers"]["Authorization"] == "Basic " + expected


def test_credentials_in_the_url_are_refused_without_showing_them():
    with pytest.raises(ApiInvalidParameterError) as info:
        PrometheusClient("http://canary:s3cret@127.0.0.1:9090")
    assert str(info.value) == "url must not carry credentials; use username/password or token instead"


def test_url_must_be_http():
    with pytest.raises(ApiInvalidParameterError) as info:
        PrometheusClient("prometheus:9090")
    assert str(info.value) == "url must be an http:// or https:// URL of a Prometheus server, got 'prometheus:9090'"


def test_client_from_module_params(scripted):
    server = scripted((200, vector()))
    client = prometheus_client({"url": server.uri + "/", "token": None, "username": None, "password": None,
                                "validate_certs": True, "ca_path": None, "timeout": 5, "retries": 2})
    assert (client.base_url, client.timeout, client.retries) == (server.uri, 5, 2)
    assert client.query("x") == []
