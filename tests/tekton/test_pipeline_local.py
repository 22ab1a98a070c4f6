"""The pipeline's steps, run for real on this machine in the pipeline's order: the scripts of the rendered Tasks
(tests/tekton/steprunner.py plays Tekton's substitution and ordering, outside containers), against a local platform
(MLflow + MLServer + Prometheus under supervisord, playbooks/platform.yml) and a real S3 server (SeaweedFS) holding
the DVC remote. The project is the bundled DVC example, as its own git repository with its data pushed to S3."""

import functools
import os
import shutil
import subprocess
import sys
import tempfile
import uuid

import pytest
import yaml

from conftest import HERE, ROOT, load_rollout_platform, render
from steprunner import PipelineRunner
from support.seaweed_s3 import SeaweedS3

EXAMPLE = os.path.join(ROOT, "examples", "breast_cancer_classifier")
BIN = os.path.dirname(sys.executable)
BUCKET = "dvc"
ACCESS_KEY = "mlops-dvc"
SECRET_KEY = "dvc-secret-7f3a91c2"


def git(cwd, *args):
    subprocess.run(["git", "-c", "user.name=mlops-test", "-c", "user.email=test@mlops.invalid"] + list(args), cwd=cwd,
                   check=True, capture_output=True, text=True)


@functools.lru_cache(maxsize=None)
def dvc_s3_overlay():
    """DVC's S3 plugin (tests/tekton/requirements-dvc-s3.txt), a directory for PYTHONPATH."""
    if os.environ.get("MLOPS_TEKTON_DVC_S3"):
        return os.environ["MLOPS_TEKTON_DVC_S3"]
    proc = subprocess.run([os.path.join(HERE, "dvc-s3-overlay.sh")], capture_output=True, text=True, check=False,
                          env=dict(os.environ, MLOPS_PYTHON=sys.executable), timeout=900)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def host_env(extra=None):
    """This machine's environment for a step: the test venv first on PATH, DVC's S3 plugin, the collection."""
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ["PATH"], PYTHONPATH=dvc_s3_overlay(),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".cache", "collections"))
    for key in [k for k in env if k.startswith(("MLFLOW_", "AWS_"))]:
        del env[key]
    env.update(extra or {})
    return env


def distinct_ports(plat):
    urls = [plat.tracking_uri, plat.inference, plat.vars["mlops_inference_metrics_url"], plat.vars["mlops_prometheus_url"]]
    ports = [int(u.split(":")[2].split("/")[0]) for u in urls] + [plat.vars["seldon_grpc_port"]]
    return len(set(ports)) == len(ports)


@pytest.fixture(scope="module")
def platform():
    module = load_rollout_platform()
    root = tempfile.mkdtemp(prefix="mlops-tekton-")
    plat = module.Platform(root)
    # The rollout tier's free_port() closes each socket before asking for the next: the kernel may hand out the same
    # port twice (seen here: MLflow and MLServer on one port). Draw again until the five differ.
    while not distinct_ports(plat):
        plat = module.Platform(root)
    try:
        plat.play("platform.yml", "--skip-tags", "jupyterhub").check(0)  # the steps need no JupyterHub
        yield plat
    finally:
        plat.play("platform_stop.yml")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    server = SeaweedS3(ACCESS_KEY, SECRET_KEY, root=str(tmp_path_factory.mktemp("s3"))).start()
    server.client().create_bucket(Bucket=BUCKET)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def project(tmp_path_factory, s3):
    """The example as a model repository: its data materialized once, pushed to S3, dvc.lock committed."""
    base = tmp_path_factory.mktemp("project")
    repo = str(base / "breast-cancer")
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("tests", "__pycache__", ".dvc-storage", "data", "models",
                                                                 "outputs", "reports", "metrics", "dvc.lock"))
    env = host_env({"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY})
    for args in (["remote", "add", "--local", "--force", "--default", "s3", "s3://%s/breast-cancer" % BUCKET],
                 ["remote", "modify", "--local", "s3", "endpointurl", s3.endpoint],
                 ["repro", "materialize"], ["push"]):
        proc = subprocess.run(["dvc"] + args, cwd=repo, env=env, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    os.remove(os.path.join(repo, ".dvc", "config.local"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "add", "-f", "dvc.lock")
    git(repo, "commit", "-q", "-m", "the model project")
    shutil.rmtree(os.path.join(repo, "data"))
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()
    return {"repo": repo, "commit": head, "objects": len(s3.client().list_objects_v2(Bucket=BUCKET)["Contents"])}


def rollout_vars(model):
    with open(os.path.join(ROOT, "inventories", "local", "group_vars", "all", "rollout.yml")) as handle:
        values = yaml.safe_load(handle)
    values.pop("model_rollout_project_dir")
    values.update(model_rollout_model_name=model, model_rollout_experiment=model, model_rollout_lock_ttl=120,
                  model_rollout_deploy_timeout=90)
    return values


def pipeline_objects(platform, s3, project, model, tmpdir):
    contract = dict(platform.vars, mlops_target="local", mlops_mlflow_tracking_uri=platform.tracking_uri)
    variables = {
        "mlops_target": "kubernetes", "tekton_namespace": "models", "tekton_git_url": "file://" + project["repo"],
        "tekton_webhook_host": "hooks.example.com", "tekton_webhook_secret": "hook-secret-1c9e",
        "tekton_dvc_remote": "s3://%s/breast-cancer" % BUCKET, "tekton_dvc_s3_endpoint_url": s3.endpoint,
        "tekton_dvc_s3_access_key_id": ACCESS_KEY, "tekton_dvc_s3_secret_access_key": SECRET_KEY,
        "tekton_contract": contract, "tekton_rollout_vars": rollout_vars(model),
    }
    proc, objects = render(variables, os.path.join(tmpdir, "objects.yaml"), tmpdir)
    assert proc.returncode == 0, proc.stdout[-3000:]
    return objects


def run_pipeline(objects, root, params=None):
    """Bind the workspaces as the TriggerTemplate does: a fresh source claim, the DVC cache claim, the ConfigMap."""
    inventory = os.path.join(root, "inventory")
    os.makedirs(inventory)
    configmap = next(o for o in objects if o["kind"] == "ConfigMap")
    for key, value in configmap["data"].items():
        with open(os.path.join(inventory, key), "w") as handle:
            handle.write(value)
    secrets = dict((o["metadata"]["name"], o["stringData"]) for o in objects if o["kind"] == "Secret")
    workspaces = {"source": os.path.join(root, "source"), "dvc-cache": os.path.join(root, "..", "dvc-cache"),
                  "inventory": inventory}
    for path in workspaces.values():
        os.makedirs(path, exist_ok=True)
    runner = PipelineRunner(objects, "cd4ml", params or {}, workspaces, root, secrets=secrets, env=host_env(),
                            run_name="cd4ml-" + os.path.basename(root))
    return runner.run()


def statuses(run):
    return [(name, run.outcomes[name].status) for name in run.order]


def explain(run):
    return "\n".join("== %s %s %s\n%s" % (n, run.outcomes[n].status, run.outcomes[n].reason,
                                          run.outcomes[n].output()[-2500:]) for n in run.order)


def test_a_push_trains_gates_deploys_and_records(platform, s3, project, tmp_path):
    model = "tekton-bc-" + uuid.uuid4().hex[:6]
    objects = pipeline_objects(platform, s3, project, model, str(tmp_path))
    run = run_pipeline(objects, str(tmp_path / "run1"))
    assert statuses(run) == [
        ("fetch-source", "Succeeded"), ("dvc-pull", "Succeeded"), ("validate-data", "Succeeded"),
        ("train", "Succeeded"), ("gate", "Succeeded"), ("deploy", "Succeeded"), ("analyze", "Succeeded"),
        ("rollback", "Skipped"), ("record-outcome", "Succeeded")], explain(run)
    out = run.outcomes
    assert out["fetch-source"].results == {"COMMIT": project["commit"], "URL": "file://" + project["repo"]}
    # The data came from S3 (the clone has none), so the validation did not materialize it again.
    assert "A       data/raw/breast_cancer.csv" in out["dvc-pull"].output() or "1 file added" in out["dvc-pull"].output(), \
        out["dvc-pull"].output()
    assert "Stage 'materialize' didn't change, skipping" in out["validate-data"].output(), out["validate-data"].output()
    assert "Running stage 'validate'" in out["validate-data"].output()
    assert out["train"].results == {"version": "1", "state": "REGISTERED", "champion": "-", "verdict": "-"}
    assert out["gate"].results == {"version": "1", "state": "VALIDATED", "champion": "-", "verdict": "-"}
    assert out["deploy"].results == {"version": "1", "state": "PROMOTED", "champion": "1", "verdict": "-"}
    assert out["analyze"].results["verdict"] == "healthy"
    assert out["rollback"].reason == "WhenExpressionsSkip"
    # MLflow and MLServer say the same.
    handle = platform.model(model)
    assert handle.alias("champion") == "1" and handle.served() == "1"
    tags = handle.tags(1)
    assert (tags["mlops.pipeline.status"], tags["mlops.pipeline.run"]) == ("Succeeded", "cd4ml-run1")
    # The training pushed its outputs to the S3 remote beside the pulled data.
    assert len(s3.client().list_objects_v2(Bucket=BUCKET)["Contents"]) > project["objects"]


def test_a_broken_step_script_stops_the_run_and_the_outcome_is_recorded(platform, s3, project, tmp_path):
    model = "tekton-broken-" + uuid.uuid4().hex[:6]
    objects = pipeline_objects(platform, s3, project, model, str(tmp_path))
    task = next(o for o in objects if o["kind"] == "Task" and o["metadata"]["name"] == "cd4ml-dvc-pull")
    task["spec"]["steps"][0]["script"] = task["spec"]["steps"][0]["script"].replace(
        "dvc pull --allow-missing", "dvc pul --allow-missing")
    run = run_pipeline(objects, str(tmp_path / "run2"))
    assert statuses(run) == [
        ("fetch-source", "Succeeded"), ("dvc-pull", "Failed"), ("validate-data", "Skipped"), ("train", "Skipped"),
        ("gate", "Skipped"), ("deploy", "Skipped"), ("analyze", "Skipped"), ("rollback", "Skipped"),
        ("record-outcome", "Succeeded")], explain(run)
    assert run.outcomes["dvc-pull"].reason == '"step-pull" exited with code 254'
    assert "ERROR: argument command: invalid choice: 'pul'" in run.outcomes["dvc-pull"].output()
    # Nothing was registered: the record step says so and changes nothing.
    assert platform.model(model).versions() == []
    assert "Model %s: record: version - is -, champion -; run cd4ml-run2 Failed." % model in \
        run.outcomes["record-outcome"].output()
