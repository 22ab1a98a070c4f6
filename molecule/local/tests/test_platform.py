"""The local platform is up: processes, bindings, health endpoints and the Prometheus scrape."""

import os

import pytest

# Everything runs on the controller itself.
testinfra_hosts = ["local://"]

PROGRAMS = ["mlflow", "mlserver", "prometheus", "mlserver-canary", "canary-router"]
LOOPBACK = {"127.0.0.1", "::ffff:127.0.0.1", "::1"}


def _supervisorctl(host, platform, *args):
    """Run the supervisorctl that sits next to the running supervisord."""
    pid = host.file(platform.root + "/supervisor/supervisord.pid").content_string.strip()
    argv = host.file("/proc/%s/cmdline" % pid).content_string.split("\0")
    daemon = next(arg for arg in argv if arg.endswith("/supervisord"))
    ctl = os.path.join(os.path.dirname(daemon), "supervisorctl")
    return host.run(" ".join(["%s"] * (3 + len(args))), ctl, "-c", platform.supervisor_conf, *args)


@pytest.mark.parametrize("program", PROGRAMS)
def test_supervisor_program_running(host, platform, program):
    status = _supervisorctl(host, platform, "status", program)
    assert status.rc == 0, status.stdout + status.stderr
    assert status.stdout.split()[1] == "RUNNING", status.stdout


def test_supervisord_runs_as_a_user_level_daemon(host, platform):
    pidfile = host.file(platform.root + "/supervisor/supervisord.pid")
    assert pidfile.exists
    socket = host.file(platform.root + "/supervisor/supervisor.sock")
    assert socket.is_socket
    assert socket.mode & 0o077 == 0, "the control socket must not be open to other users"


@pytest.mark.parametrize("name", ["mlflow", "mlserver-http", "mlserver-grpc", "mlserver-metrics", "prometheus",
                                  "mlserver-canary-http", "mlserver-canary-grpc", "mlserver-canary-metrics",
                                  "canary-router", "canary-router-metrics"])
def test_port_listens_on_loopback_only(host, platform, name):
    port = platform.ports[name]
    listeners = []
    for spec in host.socket.get_listening_sockets():
        if not spec.startswith("tcp://"):
            continue
        address, _ignored, listen_port = spec[len("tcp://"):].rpartition(":")
        if listen_port == str(port):
            listeners.append(address.strip("[]"))
    assert listeners, "nothing listens on port %d (%s)" % (port, name)
    assert set(listeners) <= LOOPBACK, "port %d (%s) listens on %s" % (port, name, listeners)


def test_mlflow_health(platform, http):
    status, body = http.get(platform.mlflow_url + "/health")
    assert status == 200
    assert body.strip() == "OK"


def test_mlflow_registry_answers(platform, http):
    models = http.get_json(platform.mlflow_url + "/api/2.0/mlflow/registered-models/search?max_results=1")
    assert isinstance(models, dict)


def test_mlserver_live_and_ready(platform, http):
    for path in ("/v2/health/live", "/v2/health/ready"):
        status, body = http.get(platform.seldon_url + path)
        assert status == 200, "%s answered %s: %s" % (path, status, body)


def test_mlserver_exposes_metrics(platform, http):
    status, body = http.get("http://127.0.0.1:%d/metrics" % platform.seldon_metrics_port)
    assert status == 200
    assert "# TYPE" in body


def test_prometheus_ready(platform, http):
    status, _ignored = http.get(platform.prometheus_url + "/-/ready")
    assert status == 200


def test_prometheus_config_is_valid(host, platform):
    check = host.run("promtool check config %s", platform.prometheus_config)
    assert check.rc == 0, check.stdout + check.stderr


def test_prometheus_runs_our_config(platform, http):
    config = http.get_json(platform.prometheus_url + "/api/v1/status/config")["data"]["yaml"]
    assert "job_name: mlserver" in config
    assert "127.0.0.1:%d" % platform.seldon_metrics_port in config


def test_prometheus_scrapes_mlserver(platform, http):
    def mlserver_up():
        targets = http.get_json(platform.prometheus_url + "/api/v1/targets?state=active")["data"]["activeTargets"]
        health = [t["health"] for t in targets if t["labels"].get("job") == "mlserver"]
        return health == ["up"] and health

    http.wait_for(mlserver_up, timeout=60, what="Prometheus target job=mlserver up")
    result = http.get_json(platform.prometheus_url + '/api/v1/query?query=up%7Bjob%3D%22mlserver%22%7D')
    values = [sample["value"][1] for sample in result["data"]["result"]]
    assert values == ["1"], result


@pytest.mark.parametrize("job", ["mlserver-canary", "canary-router"])
def test_prometheus_scrapes_the_canary(platform, http, job):
    def up():
        targets = http.get_json(platform.prometheus_url + "/api/v1/targets?state=active")["data"]["activeTargets"]
        health = [t["health"] for t in targets if t["labels"].get("job") == job]
        return health == ["up"] and health

    http.wait_for(up, timeout=60, what="Prometheus target job=%s up" % job)


def test_the_two_mlservers_export_their_own_counters(platform, http):
    """Each MLServer has a metrics directory of its own: sharing one, each would export the sum of both."""
    status, body = http.get("http://127.0.0.1:%d/metrics" % platform.canary_metrics_port)
    assert status == 200
    assert not any(line.startswith("model_infer_request_success_total") for line in body.splitlines()), (
        "the canary MLServer serves nothing, yet exports request counters:\n" + body[:2000])


def test_the_router_sends_everything_to_the_primary(platform, http):
    status, _body = http.get("http://127.0.0.1:%d/v2/health/ready" % platform.router_port)
    assert status == 200
    status, body = http.get("http://127.0.0.1:%d/metrics" % platform.router_metrics_port)
    assert status == 200
    weights = dict(
        (line.split('server="')[1].split('"')[0], float(line.rsplit(" ", 1)[1]))
        for line in body.splitlines()
        if line.startswith("haproxy_server_uweight{") and 'proxy="inference"' in line)
    assert weights == {"primary": 100.0, "canary": 0.0}, weights
