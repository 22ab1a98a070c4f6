"""Unit tests of the MLflow client: backoff, pagination and error mapping.

The client talks to a scripted HTTP server on 127.0.0.1 (a real socket, a real
HTTP exchange), so these tests exercise ansible.module_utils.urls as well.
"""

from __future__ import absolute_import, division, print_function

import pytest

from support.scripted_http import scripted_servers

from ansible_collections.mlops.platform.plugins.module_utils._mlflow_client import (
    MlflowAlreadyExistsError,
    MlflowAuthError,
    MlflowClient,
    MlflowConnectionError,
    MlflowError,
    MlflowInvalidParameterError,
    MlflowNotFoundError,
    MlflowServerError,
    classify_error,
    endpoint_missing,
    quote_filter_value,
)
from ansible_collections.mlops.platform.plugins.module_utils._http_client import backoff_delay, redact_url


@pytest.fixture
def scripted():
    make, close_all = scripted_servers()
    yield make
    close_all()


def client_for(server, **kwargs):
    sleeps = []
    kwargs.setdefault("sleep", sleeps.append)
    client = MlflowClient(server.uri, **kwargs)
    return client, sleeps


# ---------------------------------------------------------------- backoff

def test_backoff_grows_exponentially_with_equal_jitter():
    low = [backoff_delay(n, 0.5, 10, rand=lambda: 0.0) for n in range(6)]
    high = [backoff_delay(n, 0.5, 10, rand=lambda: 1.0) for n in range(6)]
    assert low == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0]
    assert high == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0]


def test_backoff_jitter_stays_in_its_band():
    for attempt in range(8):
        ceiling = min(10.0, 0.5 * 2 ** attempt)
        for _unused in range(50):
            assert ceiling / 2 <= backoff_delay(attempt, 0.5, 10) <= ceiling


def test_retries_on_503_then_succeeds(scripted):
    server = scripted((503, {"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"}, None),
                      (502, b"<html>bad gateway</html>", None),
                      (200, {"experiment": {"experiment_id": "7"}}, None))
    client, sleeps = client_for(server, retries=2)
    assert client.get_experiment("7") == {"experiment_id": "7"}
    assert client.request_count == 3
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0


def test_retry_after_header_is_honoured_and_capped(scripted):
    server = scripted((429, {"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"}, {"Retry-After": "3"}),
                      (429, {"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"}, {"Retry-After": "600"}),
                      (200, {"experiment": {}}, None))
    client, sleeps = client_for(server, retries=2)
    client.get_experiment("1")
    assert sleeps == [3.0, 10.0]


def test_retries_exhausted_raise_the_last_error(scripted):
    server = scripted(*[(503, {"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"}, None)] * 3)
    client, sleeps = client_for(server, retries=2)
    with pytest.raises(MlflowServerError) as err:
        client.get_experiment("1")
    assert str(err.value) == "TEMPORARILY_UNAVAILABLE: busy"
    assert err.value.status == 503
    assert client.request_count == 3 and len(sleeps) == 2


@pytest.mark.parametrize("status,code,cls", [
    (400, "INVALID_PARAMETER_VALUE", MlflowInvalidParameterError),
    (404, "RESOURCE_DOES_NOT_EXIST", MlflowNotFoundError),
    (401, None, MlflowAuthError),
    (403, "PERMISSION_DENIED", MlflowAuthError),
])
def test_client_errors_are_never_retried(scripted, status, code, cls):
    body = {"error_code": code, "message": "nope"} if code else b"Unauthorized"
    server = scripted((status, body, None))
    client, sleeps = client_for(server, retries=5)
    with pytest.raises(cls):
        client.get_experiment("1")
    assert client.request_count == 1 and sleeps == []


def test_connection_refused_is_retried_then_reported():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the with-block ends: nothing listens there
    sleeps = []
    client = MlflowClient("http://127.0.0.1:%d" % port, retries=3, sleep=sleeps.append)
    with pytest.raises(MlflowConnectionError) as err:
        client.get_experiment("1")
    assert str(err.value).startswith("Cannot reach the MLflow server at http://127.0.0.1:%d: " % port)
    assert "Connection refused" in str(err.value)
    assert client.request_count == 4 and len(sleeps) == 3


# ---------------------------------------------------------------- pagination

def test_pagination_follows_tokens_and_hides_pages(scripted):
    server = scripted((200, {"runs": [{"id": 1}, {"id": 2}], "next_page_token": "t1"}, None),
                      (200, {"runs": [{"id": 3}], "next_page_token": "t2"}, None),
                      (200, {"runs": [{"id": 4}]}, None))
    client = client_for(server)[0]
    runs = client.search_runs(["1"], filter_string="metrics.a > 0", order_by=["metrics.a DESC"])
    assert [r["id"] for r in runs] == [1, 2, 3, 4]
    bodies = [r["body"] for r in server.requests]
    assert [b.get("page_token") for b in bodies] == [None, "t1", "t2"]
    assert all(b["max_results"] == 50000 for b in bodies)
    assert bodies[0]["filter"] == "metrics.a > 0" and bodies[0]["order_by"] == ["metrics.a DESC"]


def test_pagination_with_a_limit_asks_only_for_what_is_missing(scripted):
    server = scripted((200, {"model_versions": [{"v": i} for i in range(3)], "next_page_token": "p"}, None),
                      (200, {"model_versions": [{"v": 3}, {"v": 4}], "next_page_token": "q"}, None))
    client = client_for(server)[0]
    versions = client.search_model_versions("name='m'", limit=5)
    assert [v["v"] for v in versions] == [0, 1, 2, 3, 4]
    assert [r["method"] for r in server.requests] == ["GET", "GET"]
    assert [r["query"]["max_results"] for r in server.requests] == [["5"], ["2"]]
    assert server.requests[1]["query"]["page_token"] == ["p"]


def test_top_one_is_one_request(scripted):
    server = scripted((200, {"runs": [{"id": 9}], "next_page_token": "more"}, None))
    client = client_for(server)[0]
    assert client.search_runs(["1"], order_by=["metrics.auc DESC"], limit=1) == [{"id": 9}]
    assert client.request_count == 1


def test_logged_models_search_sends_experiments_and_filter(scripted):
    server = scripted((200, {"models": [{"info": {"model_id": "m-1"}}], "next_page_token": "n"}, None),
                      (200, {"models": [{"info": {"model_id": "m-2"}}]}, None))
    client = client_for(server)[0]
    found = client.search_logged_models([1], "source_run_id = 'r'")
    assert [m["info"]["model_id"] for m in found] == ["m-1", "m-2"]
    assert [(r["method"], r["path"]) for r in server.requests] == [("POST", "/api/2.0/mlflow/logged-models/search")] * 2
    assert server.requests[0]["body"] == {"experiment_ids": ["1"], "filter": "source_run_id = 'r'", "max_results": 100}
    assert server.requests[1]["body"]["page_token"] == "n"


def test_run_artifacts_listing_follows_tokens(scripted):
    server = scripted((200, {"root_uri": "mlflow-artifacts:/1/r/artifacts",
                             "files": [{"path": "model/MLmodel", "is_dir": False}], "next_page_token": "t"}, None),
                      (200, {"root_uri": "mlflow-artifacts:/1/r/artifacts"}, None))
    client = client_for(server)[0]
    assert client.list_run_artifacts("r", "model") == [{"path": "model/MLmodel", "is_dir": False}]
    assert [r["query"] for r in server.requests] == [{"run_id": ["r"], "path": ["model"]},
                                                     {"run_id": ["r"], "path": ["model"], "page_token": ["t"]}]


def test_an_endpoint_an_older_server_lacks(scripted):
    server = scripted((404, b"<!doctype html><title>404 Not Found</title>", None),
                      (404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no such model"}, None))
    client = client_for(server)[0]
    with pytest.raises(MlflowError) as missing:
        client.get_logged_model("m-1")
    with pytest.raises(MlflowNotFoundError) as absent:
        client.get_logged_model("m-1")
    assert endpoint_missing(missing.value)
    assert not endpoint_missing(absent.value)


def test_empty_search_returns_an_empty_list(scripted):
    server = scripted((200, {}, None))
    client = client_for(server)[0]
    assert client.search_experiments() == []


# ---------------------------------------------------------------- error mapping

@pytest.mark.parametrize("status,code,message,cls", [
    (404, "RESOURCE_DOES_NOT_EXIST", "Registered Model with name=m not found", MlflowNotFoundError),
    (400, "INVALID_PARAMETER_VALUE", "Registered model alias champion not found.", MlflowNotFoundError),
    (400, "INVALID_PARAMETER_VALUE", "Invalid clause(s) in filter string", MlflowInvalidParameterError),
    (400, "RESOURCE_ALREADY_EXISTS", "Experiment(name=x) already exists", MlflowAlreadyExistsError),
    (401, "UNAUTHENTICATED", "no", MlflowAuthError),
    (403, "PERMISSION_DENIED", "no", MlflowAuthError),
    (500, "INTERNAL_ERROR", "boom", MlflowServerError),
    (503, None, "Service Unavailable", MlflowServerError),
    (429, None, "", MlflowServerError),
    (418, None, "teapot", MlflowInvalidParameterError),
    (404, None, "Not Found", MlflowError),
])
def test_classify_error(status, code, message, cls):
    assert classify_error(status, code, message) is cls


def test_missing_alias_reads_as_not_found(scripted):
    server = scripted((400, {"error_code": "INVALID_PARAMETER_VALUE",
                             "message": "Registered model alias champion not found."}, None))
    client = client_for(server)[0]
    with pytest.raises(MlflowNotFoundError) as err:
        client.get_version_by_alias("m", "champion")
    assert str(err.value) == "INVALID_PARAMETER_VALUE: Registered model alias champion not found."
    assert server.requests[0]["query"] == {"name": ["m"], "alias": ["champion"]}


def test_unauthenticated_message_names_the_fix(scripted):
    server = scripted((401, b"You are not authenticated.", None))
    client = client_for(server)[0]
    with pytest.raises(MlflowAuthError) as err:
        client.get_registered_model("m")
    assert str(err.value) == (
        "GET %s/api/2.0/mlflow/registered-models/get: HTTP 401, You are not authenticated. "
        "(the server requires authentication: set username/password or token)" % server.uri)


def test_html_404_is_not_a_missing_resource(scripted):
    server = scripted((404, b"<html><body><h1>Not Found</h1></body></html>", None))
    client = client_for(server)[0]
    with pytest.raises(MlflowError) as err:
        client.get_registered_model("m")
    assert err.type is MlflowError
    assert str(err.value) == ("GET %s/api/2.0/mlflow/registered-models/get answered HTTP 404 without an MLflow error "
                              "(Not Found): is tracking_uri the root URL of an MLflow tracking server?" % server.uri)


def test_non_json_success_is_a_clear_error(scripted):
    server = scripted((200, b"<html>a login page</html>", None))
    client = client_for(server)[0]
    with pytest.raises(MlflowServerError) as err:
        client.get_experiment("1")
    assert str(err.value) == ("GET %s/api/2.0/mlflow/experiments/get returned a response that is not JSON "
                              "(is %s an MLflow server?)" % (server.uri, server.uri))


# ---------------------------------------------------------------- auth headers and input checks

def test_bearer_token_header(scripted):
    server = scripted((200, {"experiment": {}}, None))
    client = client_for(server, token="tok-123")[0]
    client.get_experiment("1")
    assert server.requests[0]["headers"]["Authorization"] == "Bearer tok-123"
    assert server.requests[0]["headers"]["Content-Type"] == "application/json"


def test_basic_auth_header(scripted):
    import base64
    server = scripted((200, {"experiment": {}}, None))
    client = client_for(server, username="alice", password="wonder")[0]
    client.get_experiment("1")
    assert server.requests[0]["headers"]["Authorization"] == "Basic " + base64.b64encode(b"alice:wonder").decode()


@pytest.mark.parametrize("kwargs,message", [
    ({"tracking_uri": None}, "tracking_uri is required: set the option or the MLFLOW_TRACKING_URI environment variable"),
    ({"tracking_uri": "databricks"}, "tracking_uri must be an http:// or https:// URL of an MLflow tracking server, got 'databricks'"),
    ({"tracking_uri": "http://u:p@h"}, "tracking_uri must not carry credentials; use username/password or token instead"),
    ({"tracking_uri": "http://h", "username": "u"}, "username and password must be given together"),
    ({"tracking_uri": "http://h", "token": "t", "username": "u", "password": "p"},
     "token and username/password are mutually exclusive: choose bearer or basic auth"),
    ({"tracking_uri": "http://h", "retries": -2}, "retries must be 0 or more, got -2"),
    ({"tracking_uri": "http://h", "timeout": 0}, "timeout must be a positive number of seconds, got 0"),
])
def test_bad_connection_input(kwargs, message):
    with pytest.raises(MlflowInvalidParameterError) as err:
        MlflowClient(**kwargs)
    assert str(err.value) == message


def test_redact_url_and_quote():
    assert redact_url("https://alice:pw@mlflow.example.com:5000/api?q=1") == "https://mlflow.example.com:5000/api"
    assert quote_filter_value("it's") == "'it\\'s'"
