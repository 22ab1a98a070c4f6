#!/usr/bin/env python
"""Benchmark: one rollout.yml against the same steps run by hand in one script, and the rollback time.

In one process run, on a real local platform (platform.yml, throw-away root, free ports):
  (A) rollout.yml for a new model (a parameter change forces a retrain): lock, copy, dvc repro, register,
      gate, load beside the champion, smoke test on the version's endpoint, switch the default endpoint,
      promote, unlock;
  (B) the same steps as a person would script them, the fastest way: dvc repro in a copy of the project, dvc push,
      register
      the run's model with the MLflow client, download its files, write MLServer model settings for the new version
      and load it through the repository API (no restart), wait until it is ready, one inference request on its
      endpoint, point the default entry at it and load again, move the alias;
  (R) rollback.yml: the time from its start until the default endpoint answers with the previous champion (read
      from MLServer's metadata), and until the playbook ends.
Prints the ratio A/B (target <= 1.3) and the rollback times (target <= 5 s). Not a pass/fail test.

Usage: tests/bench/bench_rollout.py [--repeat N]
"""

import argparse
import json
import os
import shutil
import statistics
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

from conftest import BREAST_CANCER, Platform  # noqa: E402  pylint: disable=wrong-import-position

PROJECT = os.path.join(ROOT, "examples", "breast_cancer_classifier")
BIN = os.path.dirname(sys.executable)
MODEL = "bench-breast-cancer"


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def post(url, body=None, timeout=120):
    req = urllib.request.Request(url, data=json.dumps(body or {}).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        raw = resp.read()
    return json.loads(raw) if raw.strip() else {}


def by_hand(plat, seed):
    """The rollout's steps, scripted directly."""
    work = tempfile.mkdtemp(prefix="bench-hand-", dir=plat.root)
    shutil.copytree(PROJECT, work, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("tests", "data", "outputs", "models", "metrics", "reports"))
    env = dict(os.environ, PATH=BIN + ":" + os.environ["PATH"], MLFLOW_TRACKING_URI=plat.tracking_uri,
               MLFLOW_EXPERIMENT_NAME=BREAST_CANCER["model_rollout_experiment"], GIT_COMMIT="bench")
    subprocess.run([os.path.join(BIN, "python"), "-m", "breast_cancer.set_params", "model.seed=%d" % seed],
                   cwd=work, check=True, env=env)
    remote = os.path.join(plat.vars["mlops_local_root"], "dvc-remote-hand")
    with open(os.path.join(work, ".dvc", "config.local"), "w") as handle:
        handle.write("['remote \"bench\"']\n    url = %s\n" % remote)
    subprocess.run([os.path.join(BIN, "dvc"), "repro", "-q"], cwd=work, check=True, env=env)
    subprocess.run([os.path.join(BIN, "dvc"), "push", "-q", "-r", "bench"], cwd=work, check=True, env=env)
    with open(os.path.join(work, "outputs", "run.json")) as handle:
        run = json.load(handle)
    client = plat.client()
    version = client.create_model_version(MODEL, run["logged_model_uri"], run_id=run["run_id"],
                                          model_id=run["model_id"]).version
    repo = os.path.join(plat.vars["mlops_local_root"], "seldon", "models", MODEL)
    import mlflow.artifacts  # pylint: disable=import-outside-toplevel
    local = mlflow.artifacts.download_artifacts(artifact_uri=client.get_model_version_download_uri(MODEL, version),
                                                dst_path=os.path.join(work, "served-model"),
                                                tracking_uri=plat.tracking_uri)

    def entry(key, number):
        os.makedirs(os.path.join(repo, key), exist_ok=True)
        with open(os.path.join(repo, key, "model-settings.json"), "w") as handle:
            json.dump({"name": MODEL, "implementation": "mlserver_mlflow.MLflowRuntime",
                       "versions": ["models:/%s/%s" % (MODEL, number)],
                       "parameters": {"uri": local, "version": key}}, handle)

    entry(str(version), version)
    post("%s/v2/repository/models/%s/load" % (plat.inference, MODEL))
    wait_ready(plat, version, 120)
    with open(os.path.join(work, "data", "prepared", "heldout.json")) as handle:
        request = json.load(handle)["v2_request"]
    post("%s/v2/models/%s/versions/%s/infer" % (plat.inference, MODEL, version), request)
    entry("champion", version)
    post("%s/v2/repository/models/%s/load" % (plat.inference, MODEL))
    client.set_registered_model_alias(MODEL, "champion", version)
    return version


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
        time.sleep(0.05)
    raise SystemExit("version %s did not become ready within %ss" % (version, timeout))


def wait_default(plat, version, timeout):
    """When the default endpoint's entry says it serves ``version`` (MLServer's own metadata)."""
    deadline = time.time() + timeout
    url = "%s/v2/models/%s/versions/champion" % (plat.inference, MODEL)
    wanted = "models:/%s/%s" % (MODEL, version)
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if wanted in json.load(resp).get("versions", []):
                    return time.time()
        except (urllib.error.URLError, OSError, ValueError):
            pass
        time.sleep(0.02)
    raise SystemExit("the default endpoint did not serve version %s within %ss" % (version, timeout))


def play(plat, playbook, **extra):
    return plat.play(playbook, model_rollout_model_name=MODEL, **dict(BREAST_CANCER, **extra)).check(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="measured rounds (the median is reported)")
    args = parser.parse_args()
    plat = Platform(tempfile.mkdtemp(prefix="mlops-bench-rollout-"))
    rollouts, hands, rollbacks, rollback_ends = [], [], [], []
    try:
        plat.play("platform.yml", "--skip-tags", "jupyterhub").check(0)  # a rollout needs no JupyterHub
        play(plat, "rollout.yml")  # a first champion, and warm caches (venvs, DVC cache, imports)
        for round_ in range(args.repeat):
            previous = plat.model(MODEL).alias("champion")
            t_rollout, _ignored = timed(lambda: play(plat, "rollout.yml", model_rollout_params={"model": {"seed": 100 + round_}}))
            promoted = plat.model(MODEL).alias("champion")
            rollouts.append(t_rollout)
            # (R) the rollout's champion back to the previous one, watched on the default endpoint
            answered = {}
            start = time.time()
            watcher = threading.Thread(target=lambda: answered.setdefault("at", wait_default(plat, previous, 300)))
            watcher.start()
            t_rb, _ignored = timed(lambda: play(plat, "rollback.yml"))
            watcher.join()
            rollbacks.append(answered["at"] - start)
            rollback_ends.append(t_rb)
            # (B) by hand, on the registry state the rollback left
            t_hand, hand_version = timed(lambda: by_hand(plat, 200 + round_))
            hands.append(t_hand)
            print("round %d: rollout %.1f s (version %s), by hand %.1f s (version %s), rollback answered after %.2f s"
                  % (round_ + 1, t_rollout, promoted, t_hand, hand_version, rollbacks[-1]))
            # Put the registry back in the rollout's hands: the hand-made version is only a measurement.
            plat.client().delete_model_version(MODEL, hand_version)
            plat.client().set_registered_model_alias(MODEL, "champion", previous)
            play(plat, "deploy.yml", model_rollout_version=previous)
        a, b = statistics.median(rollouts), statistics.median(hands)
        print("")
        print("rollout of a retrained model (one process run, median of %d)" % args.repeat)
        print("  (A) rollout.yml                     : %6.1f s" % a)
        print("  (B) the same steps by hand          : %6.1f s" % b)
        print("  ratio A/B = %.2f   (target <= 1.30)" % (a / b))
        print("rollback.yml: %.1f s to the end of the playbook; the previous version answered ready %.2f s after the "
              "start (target <= 5 s)" % (statistics.median(rollback_ends), statistics.median(rollbacks)))
    finally:
        plat.play("platform_stop.yml")


if __name__ == "__main__":
    main()
