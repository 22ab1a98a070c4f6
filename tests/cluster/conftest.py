"""Cluster tier: the harness (control plane, fixtures, stand-ins) against a real API server.

By default the session uses this checkout's embedded control plane (tests/cluster/controlplane.sh:
etcd, kube-apiserver, kube-controller-manager, kube-scheduler, KWOK and the stand-ins on
127.0.0.1). If it is already running (run-tests.sh, `make cluster-up`) it is reused (fixtures
re-applied) and left running; if this session starts it, this session stops it.

MLOPS_TEST_KUBECONFIG=<path> points the tier at an existing cluster instead (kind, CRC,
OpenShift). Nothing is installed there unless MLOPS_TEST_INSTALL_FIXTURES=1: then the CRD
fixtures of API groups the cluster does not serve are created, and deleted again at the end of
the session. Tests marked `standin` need a stand-in of the embedded control plane and are skipped
there, with the reason; tests that need a kind the cluster does not serve are skipped too.
"""

import atexit
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

import pytest
import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CONTROLPLANE = os.path.join(HERE, "controlplane.sh")
CRD_DIR = os.path.join(HERE, "crds")
EXTERNAL = os.environ.get("MLOPS_TEST_KUBECONFIG")
INSTALL_FIXTURES = os.environ.get("MLOPS_TEST_INSTALL_FIXTURES") == "1"
PLAYBOOKS = os.path.join(HERE, "playbooks")
INVENTORY = os.path.join(HERE, "inventory.yml")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


def _pinned_version():
    """The release controlplane.sh builds (its K8S_VERSION line); /version must report it."""
    with open(CONTROLPLANE) as handle:
        for line in handle:
            match = re.match(r'^K8S_VERSION="(v[0-9.]+)"', line)
            if match:
                return match.group(1)
    raise AssertionError("no K8S_VERSION in " + CONTROLPLANE)


PINNED_K8S_VERSION = _pinned_version()


def load_manifests(path):
    """The objects of a YAML file: documents, with `kind: List` documents flattened."""
    with open(path, encoding="utf-8") as handle:
        docs = [d for d in yaml.safe_load_all(handle) if d]
    found = []
    for doc in docs:
        found.extend(doc["items"] if doc.get("kind") == "List" else [doc])
    return found


def fixture_crds():
    """Every CRD fixture, in file order."""
    return [d for name in sorted(os.listdir(CRD_DIR)) for d in load_manifests(os.path.join(CRD_DIR, name))]


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "standin(name): needs the named stand-in of the embedded control plane; "
                   "skipped on MLOPS_TEST_KUBECONFIG")
    config.addinivalue_line(
        "markers", "lifecycle: starts and stops embedded control planes of its own; "
                   "skipped on MLOPS_TEST_KUBECONFIG")


def pytest_collection_modifyitems(config, items):  # pylint: disable=unused-argument
    if not EXTERNAL:
        return
    for item in items:
        standin = item.get_closest_marker("standin")
        if standin:
            item.add_marker(pytest.mark.skip(reason=(
                "stand-in only: on the embedded control plane %s answers; on MLOPS_TEST_KUBECONFIG the "
                "real controller would have to, and this test does not assume it is installed" % standin.args[0])))
        elif item.get_closest_marker("lifecycle"):
            item.add_marker(pytest.mark.skip(reason=(
                "tests the embedded control plane's own lifecycle (controlplane.sh), not a cluster")))


class Cluster:
    """Where the tier points: a kubeconfig, and whether it is the embedded control plane."""

    def __init__(self, kubeconfig, embedded):
        self.kubeconfig = kubeconfig
        self.embedded = embedded
        self.api = k8s_config.new_client_from_config(config_file=kubeconfig)
        self._dynamic = None

    def core(self):
        return k8s_client.CoreV1Api(self.api)

    def custom(self):
        return k8s_client.CustomObjectsApi(self.api)

    def token_client(self, token):
        """An API client that authenticates with a bearer token only (no client cert)."""
        base = self.api.configuration
        conf = k8s_client.Configuration()
        conf.host = base.host
        conf.ssl_ca_cert = base.ssl_ca_cert
        conf.verify_ssl = base.verify_ssl
        conf.api_key = {"authorization": "Bearer " + token}
        return k8s_client.ApiClient(conf)

    def ca_file(self):
        """Path of the API server's CA bundle, for modules that take ca_cert."""
        return self.api.configuration.ssl_ca_cert

    @property
    def dynamic(self):
        """A dynamic client whose discovery cache belongs to this session (the default cache file
        in /tmp is shared by every session that talks to the same host:port)."""
        if self._dynamic is None:
            cache = tempfile.mkdtemp(prefix="mlops-cluster-discovery-")
            atexit.register(shutil.rmtree, cache, True)
            self._dynamic = DynamicClient(self.api, cache_file=os.path.join(cache, "discovery.json"))
        return self._dynamic

    def resource(self, api_version, kind):
        return self.dynamic.resources.get(api_version=api_version, kind=kind)

    def create(self, obj, namespace=None):
        """Create a manifest (dict); returns it as the server stored it (a plain dict)."""
        res = self.resource(obj["apiVersion"], obj["kind"])
        return res.create(body=obj, namespace=namespace if res.namespaced else None).to_dict()

    def read(self, api_version, kind, name, namespace=None):
        """The object as a dict, or None when it does not exist."""
        res = self.resource(api_version, kind)
        try:
            return res.get(name=name, namespace=namespace if res.namespaced else None).to_dict()
        except NotFoundError:
            return None

    def patch(self, api_version, kind, name, body, namespace=None):
        res = self.resource(api_version, kind)
        return res.patch(body=body, name=name, namespace=namespace if res.namespaced else None,
                         content_type="application/merge-patch+json").to_dict()

    def delete(self, api_version, kind, name, namespace=None):
        res = self.resource(api_version, kind)
        try:
            res.delete(name=name, namespace=namespace if res.namespaced else None)
        except NotFoundError:
            pass

    def events(self, namespace, name):
        """(type, reason, message, source component) of the events about the object `name`."""
        found = self.core().list_namespaced_event(namespace, field_selector="involvedObject.name=" + name)
        return sorted((e.type, e.reason, e.message,
                       (e.source.component if e.source and e.source.component else None) or e.reporting_component)
                      for e in found.items)


def _controlplane(*args, timeout=3600):
    return subprocess.run([CONTROLPLANE, *args], capture_output=True, text=True, timeout=timeout, check=False)


def _served_groups(cluster):
    return {g.name for g in k8s_client.ApisApi(cluster.api).get_api_versions().groups}


def _install_missing_fixtures(cluster):
    """MLOPS_TEST_INSTALL_FIXTURES=1 on an external cluster: create the CRD fixtures of API groups
    it does not serve; returns their names, for _remove_fixtures."""
    ext = k8s_client.ApiextensionsV1Api(cluster.api)
    served = _served_groups(cluster)
    created = []
    for doc in fixture_crds():
        if doc["spec"]["group"] not in served:
            ext.create_custom_resource_definition(doc)
            created.append(doc["metadata"]["name"])

    def established(crd_name):
        conditions = ext.read_custom_resource_definition(crd_name).status.conditions or []
        return any(c.type == "Established" and c.status == "True" for c in conditions)

    for crd_name in created:
        wait_until(lambda name=crd_name: established(name), 60, "CRD %s to be established" % crd_name)
    return created


def _remove_fixtures(cluster, created):
    """Delete the CRD fixtures this session installed, and wait until they are gone."""
    ext = k8s_client.ApiextensionsV1Api(cluster.api)
    for crd_name in created:
        try:
            ext.delete_custom_resource_definition(crd_name)
        except ApiException as exc:
            if exc.status != 404:
                raise
    for crd_name in created:
        wait_until(lambda name=crd_name: not _exists(ext.read_custom_resource_definition, name), 120,
                   "CRD %s to be deleted" % crd_name)


@pytest.fixture(scope="session")
def cluster():
    if EXTERNAL:
        found = Cluster(EXTERNAL, embedded=False)
        created = _install_missing_fixtures(found) if INSTALL_FIXTURES else []
        try:
            yield found
        finally:
            _remove_fixtures(found, created)
        return
    started_here = _controlplane("status").returncode != 0
    up = _controlplane("up")
    assert up.returncode == 0, "controlplane.sh up failed:\n" + up.stderr[-4000:]
    last = up.stdout.strip().splitlines()[-1]
    assert last.startswith("KUBECONFIG="), up.stdout
    try:
        yield Cluster(last.split("=", 1)[1], embedded=True)
    finally:
        if started_here:
            _controlplane("down", timeout=120)


def require_kind(cluster, api_version, kind):
    """Skip, with the reason, when the cluster does not serve api_version/kind."""
    try:
        cluster.resource(api_version, kind)
    except ResourceNotFoundError:
        pytest.skip("the cluster does not serve %s %s (set MLOPS_TEST_INSTALL_FIXTURES=1 to install "
                    "the fixture CRDs for the session)" % (api_version, kind))


@pytest.fixture
def namespace(cluster):
    """A fresh namespace per test, deleted afterwards (the namespace controller empties it)."""
    name = "mlops-t-" + uuid.uuid4().hex[:8]
    core = cluster.core()
    core.create_namespace(k8s_client.V1Namespace(metadata=k8s_client.V1ObjectMeta(
        name=name, labels={"mlops.platform/test": "cluster"})))
    # pods need the namespace's `default` ServiceAccount, which the controller-manager creates
    wait_until(lambda: _exists(core.read_namespaced_service_account, "default", name), 30,
               "ServiceAccount default in " + name)
    yield name
    try:
        core.delete_namespace(name)
    except ApiException as exc:  # already gone is fine
        if exc.status != 404:
            raise


def _exists(reader, *args):
    try:
        reader(*args)
        return True
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise


def condition_of(obj, ctype):
    """The condition of that type in obj.status.conditions, or None."""
    return next((c for c in ((obj or {}).get("status") or {}).get("conditions") or [] if c.get("type") == ctype), None)


def wait_until(predicate, timeout, what, interval=0.25):
    """Poll predicate() until it returns a truthy value; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)


class PlaybookRun:
    """One ansible-playbook run with the JSON callback: results by task name."""

    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.tasks = {}
        try:
            doc = json.loads(proc.stdout)
        except ValueError:
            doc = {"plays": []}
        for play in doc.get("plays", []):
            for task in play.get("tasks", []):
                host = task.get("hosts", {}).get("localhost")
                if host is not None:
                    self.tasks[task["task"]["name"]] = host

    def __getitem__(self, name):
        assert name in self.tasks, "task %r did not run: %r" % (name, self)
        return self.tasks[name]

    def __repr__(self):
        return "rc=%s\n--- stdout ---\n%s\n--- stderr ---\n%s" % (
            self.rc, self.stdout[-8000:], self.stderr[-3000:])


@pytest.fixture
def playbook(cluster, tmp_path):
    """run(name, check=False, **extra_vars): run tests/cluster/playbooks/<name>.yml (the
    harness_* playbooks: hand-written plays that test the harness, not the roles)."""

    def run(name, check=False, env=None, **extra_vars):
        # env: extra environment; a None value removes that variable
        vars_file = tmp_path / ("vars-%s.json" % uuid.uuid4().hex[:8])
        vars_file.write_text(json.dumps(extra_vars))
        cmd = [ANSIBLE_PLAYBOOK, "-i", INVENTORY, os.path.join(PLAYBOOKS, name + ".yml"),
               "-e", "@" + str(vars_file)]
        if check:
            cmd.append("--check")
        run_env = dict(os.environ)
        run_env.update({
            "K8S_AUTH_KUBECONFIG": cluster.kubeconfig,
            "ANSIBLE_COLLECTIONS_PATH": os.environ.get(
                "ANSIBLE_COLLECTIONS_PATH", os.path.join(ROOT, ".cache", "collections")),
            "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        })
        for key, value in (env or {}).items():
            if value is None:
                run_env.pop(key, None)
            else:
                run_env[key] = value
        proc = subprocess.run(cmd, capture_output=True, text=True, env=run_env, timeout=600, check=False)
        return PlaybookRun(proc)

    return run


@pytest.fixture
def adhoc(cluster):
    """adhoc(module, **args): run one module with `ansible` (ad hoc) on the controller; its result.
    For modules a hand-written play should not name (ansible-lint wants another name for
    community.okd.k8s, whose action plugin routes to kubernetes.core's)."""

    def run(module, **args):
        cmd = [os.path.join(os.path.dirname(sys.executable), "ansible"), "-i", INVENTORY, "localhost",
               "-m", module, "-a", json.dumps(args)]
        run_env = dict(os.environ, K8S_AUTH_KUBECONFIG=cluster.kubeconfig, ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                       ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_NOCOLOR="1",
                       ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
        run_env.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(ROOT, ".cache", "collections"))
        proc = subprocess.run(cmd, capture_output=True, text=True, env=run_env, timeout=300, check=False)
        try:
            return json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
        except (ValueError, KeyError, IndexError) as exc:
            raise AssertionError("ansible %s gave no result: rc=%s\n%s\n%s" % (
                module, proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:])) from exc

    return run


@pytest.fixture
def service_account_token(cluster):
    """token(namespace, name): create a ServiceAccount and a short-lived token for it."""

    def make(namespace, name):
        core = cluster.core()
        core.create_namespaced_service_account(
            namespace, k8s_client.V1ServiceAccount(metadata=k8s_client.V1ObjectMeta(name=name)))
        request = k8s_client.AuthenticationV1TokenRequest(
            spec=k8s_client.V1TokenRequestSpec(audiences=[], expiration_seconds=600))
        return core.create_namespaced_service_account_token(name, namespace, request).status.token

    return make
