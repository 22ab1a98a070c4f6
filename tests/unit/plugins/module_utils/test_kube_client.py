"""Unit tests of _kube_client (connection settings as kubernetes.core resolves them, selectors, published answers),
of the keep-alive transport of _http_client, and of cluster_objects' pure parts (readiness, wait lines, checks).

The REST calls run against ``FakeApiServer``, a small HTTP/1.1 server on 127.0.0.1 that answers like the Kubernetes
API server does for what the client sends (discovery, get, list, apply, a Status body on errors) and counts the
connections it accepted. The real API server is the cluster tier's (tests/cluster): every role applies through
cluster_objects there.
"""

from __future__ import absolute_import, division, print_function

import base64
import json
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.mlops.platform.plugins.module_utils import _kube_client as kc
from ansible_collections.mlops.platform.plugins.module_utils._http_client import ApiNotFoundError
from ansible_collections.mlops.platform.plugins.modules import cluster_objects as co

CONFIG = {
    "apiVersion": "v1", "kind": "Config", "current-context": "dev",
    "clusters": [
        {"name": "c-dev", "cluster": {"server": "https://dev.example:6443",
                                      "certificate-authority-data": base64.b64encode(b"CA").decode()}},
        {"name": "c-prod", "cluster": {"server": "https://prod.example:6443", "insecure-skip-tls-verify": True}},
    ],
    "users": [
        {"name": "u-dev", "user": {"token": "dev-token"}},
        {"name": "u-prod", "user": {"client-certificate-data": base64.b64encode(b"CERT").decode(),
                                    "client-key-data": base64.b64encode(b"KEY").decode()}},
        {"name": "u-gcp", "user": {"auth-provider": {"name": "gcp"}}},
    ],
    "contexts": [
        {"name": "dev", "context": {"cluster": "c-dev", "user": "u-dev"}},
        {"name": "prod", "context": {"cluster": "c-prod", "user": "u-prod"}},
        {"name": "gcp", "context": {"cluster": "c-dev", "user": "u-gcp"}},
        {"name": "lost", "context": {"cluster": "c-none", "user": "u-dev"}},
    ],
}


def settings(environ=None, **params):
    return kc.connection_settings(params, environ=environ or {})


def test_current_context_of_a_kubeconfig_dict():
    got = settings(kubeconfig=CONFIG)
    assert got["server"] == "https://dev.example:6443"
    assert got["token"] == "dev-token"
    assert got["validate_certs"] is True
    with open(got["ca_path"], "rb") as f:
        assert f.read() == b"CA"
    assert oct(os.stat(got["ca_path"]).st_mode & 0o777) == "0o600"


def test_named_context_with_client_certificate_and_insecure_cluster():
    got = settings(kubeconfig=CONFIG, context="prod")
    assert got["server"] == "https://prod.example:6443"
    assert got["token"] is None
    assert got["validate_certs"] is False
    with open(got["client_cert"], "rb") as f:
        assert f.read() == b"CERT"
    with open(got["client_key"], "rb") as f:
        assert f.read() == b"KEY"


def test_explicit_host_and_api_key_win_over_the_kubeconfig():
    got = settings(kubeconfig=CONFIG, host="https://other:443", api_key="vault-token", validate_certs=False)
    assert (got["server"], got["token"], got["validate_certs"]) == ("https://other:443", "vault-token", False)


def test_host_and_api_key_alone():
    got = settings(host="https://api.example:6443", api_key="t")
    assert (got["server"], got["token"], got["ca_path"]) == ("https://api.example:6443", "t", None)


def test_environment_fallbacks_as_kubernetes_core(tmp_path):
    path = tmp_path / "config"
    path.write_text(json.dumps(CONFIG))
    got = settings(environ={"K8S_AUTH_KUBECONFIG": str(path), "K8S_AUTH_CONTEXT": "prod", "K8S_AUTH_VERIFY_SSL": "true"})
    assert got["server"] == "https://prod.example:6443"
    assert got["validate_certs"] is True  # the environment variable wins over the cluster's insecure flag


def test_kubeconfig_variable_merges_files_first_wins(tmp_path):
    first = tmp_path / "a"
    second = tmp_path / "b"
    first.write_text(json.dumps({"current-context": "prod", "clusters": [CONFIG["clusters"][1]],
                                 "users": [], "contexts": []}))
    second.write_text(json.dumps(dict(CONFIG, **{"current-context": "dev"})))
    got = settings(environ={"KUBECONFIG": "%s:%s" % (first, second)})
    assert got["server"] == "https://prod.example:6443"
    assert got["client_cert"]


def test_relative_token_file_is_read_next_to_the_kubeconfig(tmp_path):
    (tmp_path / "token").write_text("file-token\n")
    config = dict(CONFIG, users=[{"name": "u-dev", "user": {"tokenFile": "token"}}])
    path = tmp_path / "config"
    path.write_text(json.dumps(config))
    assert settings(kubeconfig=str(path))["token"] == "file-token"


def test_exec_credential_plugin(tmp_path):
    plugin = tmp_path / "plugin"
    plugin.write_text("#!/bin/sh\necho '{\"kind\": \"ExecCredential\", \"status\": {\"token\": \"'$TOKEN_OF'\"}}'\n")
    plugin.chmod(0o755)
    config = dict(CONFIG, users=[{"name": "u-dev", "user": {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin),
        "env": [{"name": "TOKEN_OF", "value": "exec-token"}]}}}])

    def run_command(argv, environ_update=None, cwd=None):
        done = subprocess.run(argv, env=dict(os.environ, **environ_update), cwd=cwd, capture_output=True, text=True, check=False)
        return done.returncode, done.stdout, done.stderr

    got = kc.connection_settings(dict(kubeconfig=config), environ={}, run_command=run_command)
    assert got["token"] == "exec-token"


@pytest.mark.parametrize("params, message", [
    (dict(kubeconfig=CONFIG, context="nope"), "the kubeconfig has no context named 'nope'"),
    (dict(kubeconfig=CONFIG, context="lost"), "the kubeconfig has no cluster named 'c-none'"),
    (dict(kubeconfig=CONFIG, context="gcp"),
     "the kubeconfig's user 'u-gcp' uses an auth-provider (gcp), which mlops.platform's cluster modules do not "
     "support; use a token or an exec credential plugin"),
    (dict(kubeconfig="/nonexistent/kubeconfig"), "kubeconfig /nonexistent/kubeconfig does not exist"),
    (dict(kubeconfig=dict(CONFIG, **{"current-context": ""})), "the kubeconfig has no current-context; set context"),
])
def test_unusable_connection_settings(params, message):
    with pytest.raises(kc.KubeConfigError) as err:
        settings(**params)
    assert str(err.value) == message


def test_nothing_to_talk_to(tmp_path):
    with pytest.raises(kc.KubeConfigError) as err:
        settings(environ={"KUBECONFIG": str(tmp_path / "none")})
    assert str(err.value).startswith("no Kubernetes API server to talk to: set kubeconfig")


@pytest.mark.parametrize("selectors, expected", [
    (["catalog=community"], True),
    (["catalog==community"], True),
    (["catalog=redhat"], False),
    (["catalog!=redhat"], True),
    (["catalog,app=x"], True),
    (["missing"], False),
    (["!missing"], True),
    (["catalog in (a, b)"], True),  # set-based: the server's
])
def test_selector_matches(selectors, expected):
    obj = {"metadata": {"labels": {"catalog": "community", "app": "x"}}}
    assert kc.selector_matches(selectors, obj) is expected


def test_published_answer_hides_secret_data_and_managed_fields():
    secret = {"kind": "Secret", "data": {"k": "c2VjcmV0"}, "stringData": {"k": "secret"},
              "metadata": {"name": "s", "managedFields": [{"manager": "x"}], "resourceVersion": "7"}}
    assert kc.published(secret) == {"kind": "Secret", "metadata": {"name": "s", "resourceVersion": "7"}}
    assert kc.comparable(secret)["metadata"] == {"name": "s"}


def test_a_status_written_meanwhile_is_not_a_change():
    before = {"kind": "Deployment", "metadata": {"name": "d", "resourceVersion": "5", "generation": 1},
              "spec": {"replicas": 1}, "status": {"readyReplicas": 0}}
    after = {"kind": "Deployment", "metadata": {"name": "d", "resourceVersion": "6", "generation": 1},
             "spec": {"replicas": 1}, "status": {"readyReplicas": 1}}
    assert kc.comparable(before) == kc.comparable(after)
    assert kc.comparable(before) != kc.comparable(dict(after, spec={"replicas": 2}))


# -- readiness and the wait lines of cluster_objects --------------------------------------------------------------

DEPLOY = {"kind": "Deployment", "name": "mlflow", "namespace": "ns", "condition": {"type": "Available"}, "timeout": 30}


def deployment(available, generation=2, observed=2, failure=None):
    conditions = [{"type": "Available", "status": available, "reason": "MinimumReplicasUnavailable",
                   "message": "Deployment does not have minimum availability."}]
    if failure:
        conditions.append({"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": failure})
    return {"metadata": {"generation": generation}, "status": {"observedGeneration": observed, "conditions": conditions}}


def test_ready_needs_the_condition_and_the_controller_caught_up():
    assert co.ready_in(deployment("True"), DEPLOY)
    assert not co.ready_in(deployment("True", generation=3), DEPLOY)
    assert not co.ready_in(deployment("False"), DEPLOY)
    assert co.ready_in({"status": {"phase": "Bound"}}, {"kind": "PersistentVolumeClaim", "name": "c", "phase": "Bound"})


def test_a_failure_condition_ends_the_wait():
    assert co.wait_over(deployment("False", failure="quota"), DEPLOY)
    assert not co.wait_over(deployment("False"), DEPLOY)
    assert co.wait_over({"status": {"phase": "Failed"}}, {"kind": "Job", "name": "j", "phase": "Succeeded"})


def test_not_ready_lines():
    assert co.not_ready_line(DEPLOY, deployment("True")) is None
    assert co.not_ready_line(DEPLOY, deployment("False")) == (
        "Deployment ns/mlflow: condition Available is not True after 30 s "
        "(Available MinimumReplicasUnavailable: Deployment does not have minimum availability.)")
    assert co.not_ready_line(DEPLOY, deployment("False", failure="exceeded quota")) == (
        "Deployment ns/mlflow: condition Available is not True after 30 s (ReplicaFailure FailedCreate: exceeded quota)")
    assert co.not_ready_line(DEPLOY, None) == "Deployment ns/mlflow does not exist"
    claim = {"kind": "ObjectBucketClaim", "name": "b", "namespace": "ns", "phase": "Bound"}
    assert co.not_ready_line(claim, {"status": {"phase": "Pending"}}) == "ObjectBucketClaim ns/b is Pending, not Bound after 120 s"
    assert co.not_ready_line(claim, {"status": {}}) == "ObjectBucketClaim ns/b is without a phase, not Bound after 120 s"


class FakeClock(object):
    def __init__(self):
        self.now = 0.0

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class ScriptedClient(object):
    """get() answers from a script per object: the n-th read gets the n-th answer (the last one repeats)."""

    def __init__(self, script):
        self.script = script
        self.reads = {}

    def get(self, api_version, kind, name, namespace=None):
        n = self.reads.get(name, 0)
        self.reads[name] = n + 1
        answers = self.script[name]
        return answers[min(n, len(answers) - 1)]


def test_wait_polls_every_item_at_once_until_ready_or_timed_out():
    clock = FakeClock()
    client = ScriptedClient({"mlflow": [deployment("False"), deployment("False"), deployment("True")],
                             "stuck": [deployment("False")]})
    items = [dict(DEPLOY, api_version="apps/v1"), dict(DEPLOY, name="stuck", api_version="apps/v1", timeout=5)]
    state = co.wait_for(client, items, sleep=clock.sleep, clock=clock.time)
    assert [s["done"] for s in state] == [True, True]
    assert client.reads == {"mlflow": 3, "stuck": 6}
    assert co.not_ready_line(state[0]["item"], state[0]["obj"]) is None
    assert co.not_ready_line(state[1]["item"], state[1]["obj"]).startswith(
        "Deployment ns/stuck: condition Available is not True after 5 s")
    assert clock.now == 5.0  # both waited in the same seconds, not one after the other


@pytest.mark.parametrize("objects, message", [
    ([{"kind": "ConfigMap", "metadata": {"name": "a"}}], "objects[0] needs apiVersion, kind and metadata.name"),
    ([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}], "objects[0] needs apiVersion, kind and metadata.name"),
])
def test_objects_are_checked_before_anything_is_sent(objects, message):
    assert co.check_objects(objects) == message


@pytest.mark.parametrize("waits, message", [
    ([{"name": "a", "phase": "Bound"}], "wait[0] needs kind and name"),
    ([{"kind": "Job", "name": "j"}], "wait[0] (Job j) needs a condition ({type, status}) or a phase"),
    ([{"kind": "Job", "name": "j", "condition": {"status": "True"}}], "wait[0] (Job j): condition needs a type"),
])
def test_waits_are_checked(waits, message):
    assert co.check_waits(waits) == message


# -- the REST calls and the keep-alive transport, against a fake API server ----------------------------------------

class FakeApiServer(object):
    """Serves discovery of v1 (ConfigMap, Namespace) and a store of ConfigMaps; counts accepted connections."""

    def __init__(self):
        self.store = {}
        self.version = 0
        self.connections = 0
        self.requests = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def setup(self):
                owner.connections += 1
                BaseHTTPRequestHandler.setup(self)

            def answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                owner.requests.append(("GET", self.path, self.headers.get("Authorization")))
                if self.path == "/api/v1":
                    return self.answer(200, {"resources": [
                        {"name": "configmaps", "kind": "ConfigMap", "namespaced": True},
                        {"name": "configmaps/status", "kind": "ConfigMap", "namespaced": True},
                        {"name": "namespaces", "kind": "Namespace", "namespaced": False}]})
                if self.path.startswith("/apis/"):
                    return self.answer(404, {"kind": "Status", "reason": "NotFound", "message": "the server could not find the requested resource"})
                name = self.path.rsplit("/", 1)[-1]
                if self.path.endswith("/configmaps"):
                    items = [dict((k, v) for k, v in o.items() if k not in ("apiVersion", "kind"))
                             for o in owner.store.values()]
                    return self.answer(200, {"kind": "ConfigMapList", "apiVersion": "v1", "items": items})
                if name in owner.store:
                    return self.answer(200, owner.store[name])
                return self.answer(404, {"kind": "Status", "reason": "NotFound", "message": 'configmaps "%s" not found' % name})

            def do_PATCH(self):
                length = int(self.headers["Content-Length"])
                obj = json.loads(self.rfile.read(length))
                owner.requests.append(("PATCH", self.path, self.headers.get("Content-Type")))
                if obj.get("data", {}).get("bad"):
                    return self.answer(422, {"kind": "Status", "reason": "Invalid", "message": "data.bad: Invalid value"})
                # every write moves the resourceVersion, as if a controller had written the status meanwhile
                owner.version += 1
                obj["metadata"]["resourceVersion"] = str(owner.version)
                owner.store[obj["metadata"]["name"]] = obj
                return self.answer(200, obj)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api():
    server = FakeApiServer()
    yield server
    server.close()


def test_requests_share_one_kept_connection(api):
    client = kc.KubeClient(dict(server=api.url, token="t0ken"))
    for i in range(5):
        client.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c%d" % i, "namespace": "ns"}},
                     "mlops.platform/test")
    assert client.get("v1", "ConfigMap", "c3", "ns")["metadata"]["name"] == "c3"
    assert client.get("v1", "ConfigMap", "missing", "ns") is None
    listed = client.list("v1", "ConfigMap", "ns")
    assert len(listed) == 5
    # the fake answers items without apiVersion and kind, as the API server does; the client gives them theirs
    assert {(o["apiVersion"], o["kind"]) for o in listed} == {("v1", "ConfigMap")}
    assert api.connections == 1
    patch = [r for r in api.requests if r[0] == "PATCH"][0]
    assert patch[1] == "/api/v1/namespaces/ns/configmaps/c0?fieldManager=mlops.platform%2Ftest&force=true"
    assert patch[2] == "application/apply-patch+yaml"
    assert [r[2] for r in api.requests if r[0] == "GET"][0] == "Bearer t0ken"


def test_api_errors_name_the_reason_and_the_message(api):
    client = kc.KubeClient(dict(server=api.url))
    with pytest.raises(Exception) as err:
        client.apply({"apiVersion": "v1", "kind": "ConfigMap", "data": {"bad": "x"},
                      "metadata": {"name": "c", "namespace": "ns"}}, "m")
    assert str(err.value) == (
        "PATCH %s/api/v1/namespaces/ns/configmaps/c: HTTP 422 Invalid: data.bad: Invalid value" % api.url)
    with pytest.raises(ApiNotFoundError) as err:
        client.path("example.com/v1", "Widget", "ns", "w")
    assert str(err.value) == ("example.com/v1 Widget is not served by the Kubernetes API server at %s "
                              "(is its CRD or operator installed?)" % api.url)
    assert client.serves("v1", "ConfigMap") and not client.serves("v1", "Widget")


class FakeModule(object):
    check_mode = False
    params = {"field_manager": "mlops.platform/test", "force_conflicts": True}


def test_a_listed_object_that_a_rerun_applies_unchanged_is_not_a_change(api):
    client = kc.KubeClient(dict(server=api.url))
    objs = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c%d" % i, "namespace": "ns"},
             "data": {"k": "v"}} for i in range(3)]
    first = co.stored(client, objs)
    assert list(first.values()) == [None, None, None]
    for obj in objs:
        assert co.apply_object(client, FakeModule(), obj, None)[1] is True
    before = co.stored(client, objs)  # one list for the three (a list's items carry no apiVersion and kind)
    assert [r for r in api.requests if r[0] == "GET"][-1][1] == "/api/v1/namespaces/ns/configmaps"
    for obj in objs:
        answer, changed, _before = co.apply_object(client, FakeModule(), obj, before[("v1", "ConfigMap", "ns", obj["metadata"]["name"])])
        assert changed is False, answer
    changed_one = dict(objs[0], data={"k": "w"})
    assert co.apply_object(client, FakeModule(), changed_one, before[("v1", "ConfigMap", "ns", "c0")])[1] is True
