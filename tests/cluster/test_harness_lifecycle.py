"""controlplane.sh itself: a second checkout gets its own control plane (state dir, port block)
while this one runs, `status` names the owner, a reused control plane picks up edited fixtures,
KWOK stages and stand-in code, `down` returns only when every process it started is gone, and a
bare control plane stands in for an external cluster (MLOPS_TEST_KUBECONFIG) to test the opt-in
fixture install and the skip reasons. Two up/down cycles of the second checkout; the long loop is
tests/cluster/cycle.sh, the two-tier run tests/cluster/two-checkouts.sh."""

import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import CONTROLPLANE, HERE, ROOT, load_manifests
from test_harness_crd_fixtures import EXAMPLES, REFUSED

pytestmark = pytest.mark.lifecycle


def run(script, *args, env=None, timeout=600):
    full = {k: v for k, v in os.environ.items() if k not in ("MLOPS_CP_STATE_DIR", "MLOPS_CP_PORT_BASE",
                                                             "MLOPS_CP_BARE", "MLOPS_TEST_KUBECONFIG",
                                                             "MLOPS_TEST_INSTALL_FIXTURES")}
    full["MLOPS_PYTHON"] = sys.executable
    full.update(env or {})
    return subprocess.run([script, *args], capture_output=True, text=True, timeout=timeout, env=full, check=False)


def info(script, env=None):
    out = run(script, "info", env=env)
    assert out.returncode == 0, out.stderr
    return dict(line.split("=", 1) for line in out.stdout.splitlines())


def pids(details):
    return {k[len("pid_"):]: tuple(int(x) for x in v.split()) for k, v in details.items() if k.startswith("pid_")}


def alive(pid, start):
    """That process (PID and start time) exists and has not exited."""
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8") as handle:
            fields = handle.read().rsplit(") ", 1)[1].split()
    except FileNotFoundError:
        return False
    return fields[0] != "Z" and int(fields[19]) == start


def port_open(port):
    import socket  # pylint: disable=import-outside-toplevel
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def other():
    """A second checkout: this directory tree copied elsewhere (its path is its identity)."""
    base = os.path.realpath(os.path.join(os.environ.get("TMPDIR", "/tmp"), "mlops-cp-other-%d" % os.getpid()))
    shutil.copytree(HERE, os.path.join(base, "tests", "cluster"),
                    ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    script = os.path.join(base, "tests", "cluster", "controlplane.sh")
    try:
        yield script
    finally:
        run(script, "down", env={"MLOPS_CP_BARE": "1"})
        state_dir = info(script)["state_dir"]
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(state_dir, ignore_errors=True)      # the copy is gone: so is its state dir


def kubectl(kubeconfig, *args):
    binary = os.path.join(info(CONTROLPLANE)["bin_dir"], "kubectl")
    return subprocess.run([binary, "--kubeconfig", kubeconfig, *args], capture_output=True, text=True, timeout=60,
                          check=False)


def test_second_checkout_isolated_reused_and_stopped_by_pid(cluster, other):
    assert cluster.embedded
    ours = info(CONTROLPLANE)
    mine = pids(ours)
    status = run(other, "status")
    assert status.returncode == 3
    assert "not running for checkout %s" % os.path.dirname(os.path.dirname(os.path.dirname(other))) in status.stderr

    up = run(other, "up")
    assert up.returncode == 0, up.stderr[-3000:]
    theirs = info(other)
    assert theirs["checkout"] == os.path.dirname(os.path.dirname(os.path.dirname(other)))
    assert theirs["state_dir"] != ours["state_dir"]
    assert theirs["port_base"] != ours["port_base"]
    for pid, start in pids(theirs).values():
        assert alive(pid, start)
    assert all(alive(*p) for p in mine.values()), "starting the second checkout touched ours"

    owner = run(other, "status")
    assert owner.returncode == 0
    assert "owned by checkout %s" % theirs["checkout"] in owner.stderr
    everyone = run(other, "status", "--all").stdout
    assert "state=running checkout=%s " % theirs["checkout"] in everyone
    assert "state=running checkout=%s " % ours["checkout"] in everyone

    # reuse: nothing changed, nothing restarted
    again = run(other, "up")
    assert again.returncode == 0 and "reused; restarted: nothing" in again.stderr
    # an edited KWOK stage file and stand-in source restart those two; an edited CRD is applied
    cluster_dir = os.path.dirname(other)
    with open(os.path.join(cluster_dir, "kwok", "stages-standins.yaml"), "a", encoding="utf-8") as handle:
        handle.write("# edited by test_harness_lifecycle\n")
    with open(os.path.join(cluster_dir, "standins", "mlops_standin_controller.py"), "a", encoding="utf-8") as handle:
        handle.write("# edited by test_harness_lifecycle\n")
    crd_file = os.path.join(cluster_dir, "crds", "seldon.yaml")
    crd = load_manifests(crd_file)[0]
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["mlopsEdited"] = {"type": "string"}
    with open(crd_file, "w", encoding="utf-8") as handle:
        yaml.safe_dump(crd, handle)
    edited = run(other, "up")
    assert edited.returncode == 0, edited.stderr[-3000:]
    assert "reused; restarted: kwok mlops-standin-controller" in edited.stderr
    after = pids(info(other))
    assert after["kwok"] != pids(theirs)["kwok"] and after["mlops_standin_controller"] != pids(theirs)["mlops_standin_controller"]
    assert after["kube_apiserver"] == pids(theirs)["kube_apiserver"]
    served = kubectl(os.path.join(theirs["run_dir"], "kubeconfig"), "get", "crd", "seldondeployments.machinelearning.seldon.io",
                     "-o", "jsonpath={.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.mlopsEdited.type}")
    assert served.stdout == "string", served.stderr

    # down returns when every process is gone (checked by PID) and every port is closed
    final = pids(info(other))
    down = run(other, "down")
    assert down.returncode == 0, down.stderr
    assert [name for name, p in final.items() if alive(*p)] == []
    assert [p for p in range(int(theirs["port_base"]), int(theirs["port_base"]) + 100) if port_open(p)] == []
    assert not os.path.exists(theirs["run_dir"])
    assert run(other, "status").returncode == 3
    assert all(alive(*p) for p in mine.values()), "stopping the second checkout touched ours"
    assert run(CONTROLPLANE, "status").returncode == 0


def test_bare_control_plane_as_an_external_cluster(other):
    """Cycle 2 of the second checkout: MLOPS_CP_BARE=1 has no fixtures and no operator stand-ins,
    like a kind cluster; the tier pointed at it skips with reasons, installs the CRD fixtures only
    on MLOPS_TEST_INSTALL_FIXTURES=1, and removes them afterwards."""
    bare = {"MLOPS_CP_BARE": "1"}
    up = run(other, "up", env=bare)
    assert up.returncode == 0, up.stderr[-3000:]
    details = info(other, env=bare)
    kubeconfig = os.path.join(details["run_dir"], "kubeconfig")
    try:
        assert kubectl(kubeconfig, "get", "crd", "-o", "name").stdout == ""
        tests = [os.path.join(HERE, "test_harness_crd_fixtures.py"),
                 os.path.join(HERE, "test_harness_tekton.py") + "::test_eventlistener_gets_its_service_and_address",
                 os.path.join(HERE, "test_harness_api_server.py") + "::test_fake_nodes_are_ready_and_schedulable"]
        external = {"MLOPS_TEST_KUBECONFIG": kubeconfig}
        skipped = run(sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *tests, env=external)
        assert skipped.returncode == 0, skipped.stdout[-4000:]
        assert "the cluster does not serve route.openshift.io/v1 Route (set MLOPS_TEST_INSTALL_FIXTURES=1 to install " \
               "the fixture CRDs for the session)" in skipped.stdout
        assert "stand-in only: on the embedded control plane Tekton (stand-in controller) answers; on " \
               "MLOPS_TEST_KUBECONFIG the real controller would have to, and this test does not assume it is " \
               "installed" in skipped.stdout
        # what needs no fixture and no stand-in runs: the kind list and the nodes
        # every example and every refusal (their kinds are not served), and the stand-in test
        expected = r"^2 passed, %d skipped in " % (len(EXAMPLES) + len(REFUSED) + 1)
        assert re.search(expected, skipped.stdout, re.M), skipped.stdout[-2000:]
        assert kubectl(kubeconfig, "get", "crd", "-o", "name").stdout == ""

        installed = run(sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", tests[0],
                        env={**external, "MLOPS_TEST_INSTALL_FIXTURES": "1"})
        assert installed.returncode == 0, installed.stdout[-4000:]
        assert "skipped" not in installed.stdout
        assert kubectl(kubeconfig, "get", "crd", "-o", "name").stdout == "", "the fixture CRDs were left behind"
    finally:
        final = pids(info(other, env=bare))
        down = run(other, "down", env=bare)
        assert down.returncode == 0, down.stderr
        assert [name for name, p in final.items() if alive(*p)] == []


def test_root_and_here_are_this_checkout():
    assert os.path.samefile(ROOT, os.path.dirname(os.path.dirname(HERE)))
