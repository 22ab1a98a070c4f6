"""The local canary router: a real HAProxy, configured by the seldon role's template, in front of two real MLServers.

The configuration is rendered through ansible-playbook from the role's own defaults (haproxy_render.yml,
which also runs ``haproxy -c`` on it) with only the directories and ports overridden. The primary MLServer
serves MODEL as version key "1", the canary as "2" (opposite predictions), so every answer says which server
gave it. A load generator sends inference requests back to back through HAProxy while
mlops.platform.haproxy_backend_weights, run through ansible-playbook, moves the weights 100/0 -> 90/10 ->
50/50 -> 0/100 -> 100/0: not one request may fail, each step's split is counted from the answers (and, in
total, from HAProxy's own per-server counters), and HAProxy is the same process from start to end.
"""

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import pytest

from serving_helpers import MEASUREMENTS, MODEL, PREDICTION, Poller, infer
from support.haproxy_process import HAPROXY, HaproxyProcess, info, runtime, stat, weights
from support.mlserver_process import MlserverProcess
from support.server_process import free_ports

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
INVENTORY = os.path.join(HERE, "inventory.yml")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
PRIMARY, CANARY = "1", "2"  # the MLServer version key each server serves MODEL under
WINDOW = 100  # requests counted after each step
TOLERANCE = 3.0  # percentage points; roundrobin splits sequential requests exactly (10 of 100 at 90/10)


# ---------------------------------------------------------------- ansible-playbook

def playbook(tmp_path, name, extra, check=False, diff=False):
    """(rc, the last task's result for localhost, stdout+stderr) of one ansible-playbook run of tests/serving/<name>."""
    path = os.path.join(str(tmp_path), "vars-%s.json" % uuid.uuid4().hex[:8])
    with open(path, "w") as handle:
        json.dump(extra, handle)
    cmd = [ANSIBLE_PLAYBOOK, "-i", INVENTORY, os.path.join(HERE, name), "-e", "@" + path]
    cmd += ["--check"] if check else []
    cmd += ["--diff"] if diff else []
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": os.environ.get("ANSIBLE_COLLECTIONS_PATH",
                                                   os.path.join(ROOT, ".cache", "collections")),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
    })
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, check=False)
    try:
        tasks = json.loads(proc.stdout)["plays"][0]["tasks"]
        result = tasks[-1]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        result = None
    return proc.returncode, result, proc.stdout[-4000:] + proc.stderr[-2000:]


# ---------------------------------------------------------------- servers

def save_model(path, flip):
    """A skops scikit-learn MLflow model, built like the serving tier's (conftest._log_version), saved to ``path``."""
    import numpy as np
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression
    x = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]])
    y = np.array([1, 0, 1, 0]) if flip else np.array([0, 1, 0, 1])
    mlflow.sklearn.save_model(
        LogisticRegression().fit(x, y), path, input_example=x[:1],
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
        pip_requirements=mlflow.sklearn.get_default_pip_requirements(include_skops=True))


def mlserver_serving(root, key, flip):
    """An MLServer (not started) whose repository serves MODEL under version key ``key``."""
    model_dir = os.path.join(root, "model")
    save_model(model_dir, flip)
    repository = os.path.join(root, "models")
    os.makedirs(os.path.join(repository, MODEL, key))
    with open(os.path.join(repository, MODEL, key, "model-settings.json"), "w") as handle:
        json.dump({"name": MODEL, "implementation": "mlserver_mlflow.MLflowRuntime",
                   "parameters": {"uri": model_dir, "version": key}}, handle)
    return MlserverProcess(root, repository)


class Router:
    """What the tests need of the running router."""

    def __init__(self, haproxy, facts, servers, tmp_path):
        self.haproxy = haproxy
        self.config = facts["config"]
        self.socket = facts["socket"]
        self.backend = facts["backend"]
        self.port = facts["port"]
        self.metrics_port = facts["metrics_port"]
        self.url = "http://127.0.0.1:%d/v2/models/%s/infer" % (facts["port"], MODEL)
        self.metrics_url = "http://127.0.0.1:%d/metrics" % facts["metrics_port"]
        self.servers = servers
        self.tmp_path = tmp_path

    def weights(self):
        return weights(self.socket, self.backend)

    def reset(self, primary, canary):
        """Set the weights through the test's own runtime API client (not the module under test).

        Raised weights first, like the module: lowering first (primary 100 -> 50 while the canary is at 0, then the
        canary 0 -> 50) made HAProxy 2.6's roundrobin send the next 100 requests in a row to the canary in 2 of 6
        trials; raising first kept the split exact from the first request in 35 of 35 random transitions.
        """
        current = self.weights()
        wanted = {"primary": primary, "canary": canary}
        changes = [server for server in sorted(wanted) if wanted[server] != current[server]]
        for server in sorted(changes, key=lambda server: wanted[server] < current[server]):
            command = "set server %s/%s weight %d" % (self.backend, server, wanted[server])
            assert runtime(self.socket, command).strip() == ""
        assert self.weights() == {"primary": primary, "canary": canary}

    def set_weights(self, tmp_path, weights, check=False, diff=False, backend=None):
        extra = {"haproxy_socket": self.socket,
                 "weights_args": {"backend": backend or self.backend, "weights": weights}}
        return playbook(tmp_path, "haproxy_weights.yml", extra, check=check, diff=diff)


@pytest.fixture(scope="module")
def router(tmp_path_factory):
    """HAProxy from the role's template in front of two MLServers, all on free loopback ports; everything stopped."""
    assert os.access(HAPROXY, os.X_OK), (
        "HAProxy is not installed at %s (set MLOPS_HAPROXY): tests/support/debian-packages.sh installs Debian's "
        "haproxy package" % HAPROXY)
    root = tmp_path_factory.mktemp("canary-router")
    started = []
    try:
        primary = mlserver_serving(str(root / "primary"), PRIMARY, flip=False)
        canary = mlserver_serving(str(root / "canary"), CANARY, flip=True)
        for server in (primary, canary):
            started.append(server)
            server.launch()
        for server in (primary, canary):
            server.wait_ready(lambda s=server: s.status("/v2/health/ready") == 200, 180, "get ready", interval=0.25)
        port, metrics_port = free_ports(2)
        rc, result, output = playbook(root, "haproxy_render.yml", {
            "seldon_role_dir": os.path.join(ROOT, "roles", "seldon"),
            "haproxy_binary": HAPROXY,
            "seldon_dir": str(root / "seldon"),
            "seldon_canary_router_port": port,
            "seldon_canary_router_metrics_port": metrics_port,
            "seldon_canary_router_primary_port": primary.http_port,
            "seldon_canary_router_canary_port": canary.http_port,
        })
        assert rc == 0 and result is not None, output
        facts = result["msg"]
        assert facts["config"] == str(root / "seldon" / "canary-router" / "haproxy.cfg")
        assert facts["socket"] == str(root / "seldon" / "canary-router" / "admin.sock")
        haproxy = HaproxyProcess(facts["config"], facts["socket"], facts["backend"], str(root / "haproxy.log"))
        started.append(haproxy)
        haproxy.start()
        yield Router(haproxy, facts, {PRIMARY: primary, CANARY: canary}, root)
    finally:
        for server in reversed(started):
            server.stop()


# ---------------------------------------------------------------- traffic

class Load(Poller):
    """Inference requests back to back through the router: (started, ok, model_version or the error)."""

    pause = 0.005  # two shared cores: a modest, steady stream

    def request(self):
        version, prediction = infer(self.url)
        ok = prediction == PREDICTION[version]  # the canary's model predicts the opposite
        return ok, version if ok else "version %s predicted %r" % (version, prediction)

    def window(self, since, count=WINDOW, timeout=30):
        """The first ``count`` results of requests started at ``since`` or later (waits for them, bounded)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                results = [r for r in self.results if r[0] >= since]
            if len(results) >= count:
                return results[:count]
            assert time.monotonic() < deadline, "only %d requests in %ss" % (len(results), timeout)
            time.sleep(0.02)


def split(results):
    """{version key: count} of the answered requests."""
    counts = {PRIMARY: 0, CANARY: 0}
    for _started, ok, version in results:
        if ok:
            counts[version] += 1
    return counts


def assert_split(results, canary_percent, step):
    failures = [r for r in results if not r[1]]
    assert failures == [], "%s: %r" % (step, failures[:5])
    counts = split(results)
    observed = 100.0 * counts[CANARY] / len(results)
    MEASUREMENTS.append("%-34s requests=%d canary=%d (%.0f %%)" % (step, len(results), counts[CANARY], observed))
    if canary_percent in (0, 100):
        assert counts[CANARY] == len(results) * canary_percent // 100, (step, counts)
    else:
        assert abs(observed - canary_percent) <= TOLERANCE, (step, counts)


# ---------------------------------------------------------------- tests

def test_the_rendered_configuration_is_the_roles_and_valid(router):
    with open(router.config) as handle:
        text = handle.read()
    assert "stats socket %s mode 600 level admin" % router.socket in text
    assert oct(os.stat(router.socket).st_mode & 0o777) == "0o600"
    binds = ["127.0.0.1:%d" % router.port, "127.0.0.1:%d" % router.metrics_port]
    assert re.findall(r"^\s*bind (\S+)$", text, re.M) == binds
    # seldon_canary_router_{primary,canary}_weight: every request to the primary until the rollout moves them
    assert re.findall(r"^\s*server (\S+) (\S+) weight (\d+)$", text, re.M) == [
        ("primary", "127.0.0.1:%d" % router.servers[PRIMARY].http_port, "100"),
        ("canary", "127.0.0.1:%d" % router.servers[CANARY].http_port, "0")]
    checked = subprocess.run([HAPROXY, "-c", "-f", router.config], capture_output=True, text=True, check=False)
    assert checked.returncode == 0 and "Configuration file is valid" in checked.stdout, checked


def test_weights_move_step_by_step_without_a_failed_request_or_a_reload(router, tmp_path):
    pid = info(router.socket)["Pid"]
    assert pid == str(router.haproxy.proc.pid)
    router.reset(100, 0)  # what the configuration starts with
    before = stat(router.socket, router.backend)
    rc, result, output = router.set_weights(tmp_path, {"primary": 100, "canary": 0})
    assert rc == 0 and result["changed"] is False, output
    load = Load(router.url)
    load.start()
    try:
        assert_split(load.window(time.monotonic()), 0, "100/0 (start)")

        rc, result, output = router.set_weights(tmp_path, {"primary": 90, "canary": 10}, diff=True)
        assert rc == 0, output
        assert (result["changed"], result["weights"], result["previous"], result["share"]) == (
            True, {"primary": 90, "canary": 10}, {"primary": 100, "canary": 0}, {"primary": 90.0, "canary": 10.0})
        assert result["diff"] == {"before": {"weights": {"primary": 100, "canary": 0}},
                                  "after": {"weights": {"primary": 90, "canary": 10}}}
        assert result["changed_servers"] == ["canary", "primary"]  # raised first, lowered last
        assert_split(load.window(time.monotonic()), 10, "90/10")

        rc, result, output = router.set_weights(tmp_path, {"primary": 90, "canary": 10})
        assert rc == 0 and result["changed"] is False and result["changed_servers"] == [], output
        assert result["weights"] == result["previous"] == {"primary": 90, "canary": 10}

        rc, result, output = router.set_weights(tmp_path, {"primary": 50, "canary": 50}, check=True)
        assert rc == 0, output
        assert (result["changed"], result["weights"], result["previous"], result["share"]) == (
            True, {"primary": 50, "canary": 50}, {"primary": 90, "canary": 10}, {"primary": 50.0, "canary": 50.0})
        assert router.weights() == {"primary": 90, "canary": 10}
        assert_split(load.window(time.monotonic()), 10, "90/10 (after check mode 50/50)")

        rc, result, output = router.set_weights(tmp_path, {"primary": 50, "canary": 50})
        assert rc == 0 and result["changed"] is True and result["share"] == {"primary": 50.0, "canary": 50.0}, output
        assert_split(load.window(time.monotonic()), 50, "50/50")

        rc, result, output = router.set_weights(tmp_path, {"primary": 0, "canari": 100})
        assert rc == 2, output
        assert result["msg"] == ("HAProxy backend 'inference' has no server 'canari' (its servers: primary, canary); "
                                 "no weight was changed")
        assert router.weights() == {"primary": 50, "canary": 50}

        rc, result, output = router.set_weights(tmp_path, {"primary": 0, "canary": 100})
        assert rc == 0 and result["changed"] is True and result["share"] == {"primary": 0.0, "canary": 100.0}, output
        assert_split(load.window(time.monotonic()), 100, "0/100")

        rc, result, output = router.set_weights(tmp_path, {"primary": 100, "canary": 0})
        assert rc == 0 and result["changed"] is True and result["previous"] == {"primary": 0, "canary": 100}, output
        assert_split(load.window(time.monotonic()), 0, "100/0 (back)")
    finally:
        load.stop()

    failures = [r for r in load.results if not r[1]]
    assert failures == [], failures[:5]
    MEASUREMENTS.append("%-34s requests=%d failed=%d" % (
        "whole sequence through HAProxy", len(load.results), len(failures)))
    # HAProxy's own counters agree with the answers, request for request.
    after = stat(router.socket, router.backend)
    counts = split(load.results)
    for server, key in (("primary", PRIMARY), ("canary", CANARY)):
        assert int(after[server]["stot"]) - int(before[server]["stot"]) == counts[key], (server, counts)
        assert int(after[server]["hrsp_2xx"]) - int(before[server]["hrsp_2xx"]) == counts[key], (server, counts)
    assert info(router.socket)["Pid"] == pid and router.haproxy.running()  # the same process: no reload


def test_an_unknown_backend_fails_with_its_name_and_changes_nothing(router, tmp_path):
    start = router.weights()
    rc, result, output = router.set_weights(tmp_path, {"primary": 1}, backend="inferense")
    assert rc == 2, output
    assert result["msg"] == ("HAProxy at %s has no backend 'inferense' (its backends: inference); no weight was "
                             "changed" % router.socket)
    assert router.weights() == start


def scrape(url):
    """{(metric, proxy, server, code): value} of the per-server samples of HAProxy's exporter."""
    with urllib.request.urlopen(url, timeout=10) as resp:
        text = resp.read().decode()
    samples = {}
    for name, labels, value in re.findall(r"^(haproxy_server_\w+)\{([^}]*)\} (\S+)$", text, re.M):
        label = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        samples[(name, label.get("proxy"), label.get("server"), label.get("code"))] = float(value)
    return samples


def test_the_metrics_frontend_counts_requests_per_server(router):
    backend = router.backend
    router.reset(50, 50)
    key = "haproxy_server_http_responses_total"
    before = scrape(router.metrics_url)
    results = [infer(router.url) for _request in range(20)]
    after = scrape(router.metrics_url)
    served = dict((server, after[(key, backend, server, "2xx")] - before[(key, backend, server, "2xx")])
                  for server in ("primary", "canary"))
    answered = split([(0, True, version) for version, _prediction in results])
    rows = stat(router.socket, backend)
    fields = ("status", "weight", "stot", "econ", "wretr", "wredis", "hrsp_2xx", "check_status", "lastchg")
    why = dict((server, dict((k, rows[server][k]) for k in fields)) for server in rows)
    assert served == {"primary": 10.0, "canary": 10.0}, why  # roundrobin at 50/50: strictly alternating
    assert answered == {PRIMARY: 10, CANARY: 10}
    assert after[("haproxy_server_uweight", backend, "canary", None)] == 50.0
    try:
        urllib.request.urlopen(router.metrics_url.replace("/metrics", "/stats"), timeout=10)
        status = 200
    except urllib.error.HTTPError as exc:
        status = exc.code
    assert status == 404
