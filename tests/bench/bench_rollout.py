#!/usr/bin/env python
"""Benchmark: one rollout.yml against the same steps run by hand in one script, and the rollback time.

In one process run, on a real local platform (platform.yml, throw-away root, test ports):
  (A) rollout.yml for a new model (a parameter change forces a retrain): copy, dvc repro, register,
      gate, serve, smoke test, promote;
  (B) the same steps by hand: dvc repro in a copy of the project, register the run's model with the
      MLflow client and move the alias, point MLServer at the version and restart it with
      supervisorctl, wait until it is ready, one inference request;
  (R) rollback.yml: the time from its start until the previous champion answers on MLServer's
      versioned readiness endpoint, and until the playbook ends.
Prints the ratio A/B (target <= 1.3) and the rollback times. Not a pass/fail test.

Usage: tests/bench/bench_rollout.py
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "rollout"))

from conftest import MODEL, Platform  # noqa: E402  pylint: disable=wrong-import-position

PROJECT = os.path.join(ROOT, "examples", "breast_cancer_classifier")
BIN = os.path.dirname(sys.executable)


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def by_hand(plat, seed):
    """The rollout's steps, scripted directly."""
    work = tempfile.mkdtemp(prefix="bench-hand-", dir=plat.root)
    shutil.copytree(PROJECT, work, dirs_exist_ok=True, ignore=shutil.ignore_patterns("tests", "data", "outputs", "models"))
    subprocess.run([os.path.join(BIN, "python"), "-m", "breast_cancer.set_params", "model.seed=%d" % seed],
                   cwd=work, check=True, env=env(plat))
    subprocess.run([os.path.join(BIN, "dvc"), "repro", "-q"], cwd=work, check=True, env=env(plat))
    with open(os.path.join(work, "outputs", "run.json")) as handle:
        run = json.load(handle)
    client = plat.client()
    version = client.create_model_version(MODEL, run["logged_model_uri"], run_id=run["run_id"], model_id=run["model_id"]).version
    client.set_registered_model_alias(MODEL, "champion", version)
    settings_path = os.path.join(plat.vars["mlops_local_root"], "seldon", "models", MODEL, "model-settings.json")
    with open(settings_path) as handle:
        settings = json.load(handle)
    settings["parameters"] = {"uri": "models:/%s/%s" % (MODEL, version), "version": version}
    with open(settings_path, "w") as handle:
        json.dump(settings, handle, indent=2)
    conf = os.path.join(plat.vars["mlops_local_root"], "supervisor", "supervisord.conf")
    subprocess.run([os.path.join(plat.vars["supervisor_local_venv"], "bin", "supervisorctl"), "-c", conf,
                    "restart", "mlserver"], check=True, capture_output=True)
    wait_ready(plat, version, 120)
    with open(os.path.join(work, "data", "prepared", "heldout.json")) as handle:
        request = json.load(handle)["v2_request"]
    req = urllib.request.Request("%s/v2/models/%s/infer" % (plat.inference, MODEL), data=json.dumps(request).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        json.load(resp)
    return version


def env(plat):
    e = dict(os.environ, PATH=BIN + ":" + os.environ["PATH"], MLFLOW_TRACKING_URI=plat.tracking_uri,
             MLFLOW_EXPERIMENT_NAME=MODEL, GIT_COMMIT="bench")
    return e


def wait_ready(plat, version, timeout):
    deadline = time.time() + timeout
    url = "%s/v2/models/%s/versions/%s/ready" % (plat.inference, MODEL, version)
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return time.time()
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise SystemExit("version %s did not become ready within %ss" % (version, timeout))


def main():
    plat = Platform(tempfile.mkdtemp(prefix="mlops-bench-rollout-"))
    try:
        plat.play("platform.yml").check(0)
        plat.play("rollout.yml").check(0)  # a first champion, and warm caches
        first = plat.alias("champion")
        t_rollout, _ignored = timed(lambda: plat.play("rollout.yml", model_rollout_params={"model": {"seed": 101}}).check(0))
        promoted = plat.alias("champion")
        t_hand, hand_version = timed(lambda: by_hand(plat, 202))
        # put the rollout's champion back in charge (by hand, as the script bypassed the rollout's records)
        plat.client().set_registered_model_alias(MODEL, "champion", promoted)
        plat.play("deploy.yml", model_rollout_version=promoted).check(0)

        answered = {}
        watcher = threading.Thread(target=lambda: answered.setdefault("at", wait_ready(plat, first, 300)))
        start = time.time()
        watcher.start()  # polls the previous champion's readiness while rollback.yml runs
        t_rb, _ignored = timed(lambda: plat.play("rollback.yml").check(0))
        watcher.join()
        print("")
        print("rollout of a retrained model (one process run)")
        print("  (A) rollout.yml                     : %6.1f s  (version %s)" % (t_rollout, promoted))
        print("  (B) the same steps by hand          : %6.1f s  (version %s)" % (t_hand, hand_version))
        print("  ratio A/B = %.2f   (target <= 1.30)" % (t_rollout / t_hand))
        print("rollback.yml to version %s: %.1f s to the end of the playbook; the previous version answered "
              "ready %.1f s after the start" % (first, t_rb, answered["at"] - start))
    finally:
        plat.play("platform_stop.yml")


if __name__ == "__main__":
    main()
