"""The tekton role: every Tekton object it renders passes Tekton's own validation; bad input is refused naming the
option; on the embedded control plane (Tekton's CRDs are fixtures there, the stand-in controller plays Tekton's
controllers and OLM; no step container runs) its objects apply in one call, a rerun changes nothing, a PipelineRun
made from its TriggerTemplate runs its tasks, check mode changes nothing, and removal keeps the DVC cache claim."""

import json
import os
import re
import subprocess
import sys
import time
import uuid

import pytest
import yaml

from conftest import HERE, ROOT, render, validate

SECRET = "hook-" + uuid.uuid4().hex
S3_SECRET = "s3-" + uuid.uuid4().hex
TEKTON_KINDS = ("Task", "Pipeline", "TriggerTemplate", "TriggerBinding", "EventListener")


def base_vars(target, namespace="models"):
    return {
        "mlops_target": target, "tekton_namespace": namespace,
        "tekton_git_url": "https://git.example.com/models/breast-cancer.git",
        "tekton_webhook_host": "hooks.apps.example.com", "tekton_webhook_secret": SECRET,
        "tekton_dvc_remote": "s3://dvc/breast-cancer", "tekton_dvc_s3_endpoint_url": "https://s3.example.com",
        "tekton_dvc_s3_access_key_id": "dvc-reader", "tekton_dvc_s3_secret_access_key": S3_SECRET,
        "tekton_contract": {"mlops_target": target, "mlops_mlflow_tracking_uri": "https://mlflow.apps.example.com",
                            "mlops_inference_url": "http://serving.%s.svc:8080" % namespace},
        "tekton_rollout_vars": {"model_rollout_model_name": "breast-cancer-classifier", "model_rollout_training_kind": "dvc",
                                "model_rollout_gate_metrics": [{"name": "accuracy", "min": 0.9}]},
    }


# -- Tekton's own validation ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["openshift", "kubernetes"])
def test_every_rendered_tekton_object_passes_tektons_validation(validator, tmp_path, target):
    out = str(tmp_path / "objects.yaml")
    proc, objects = render(base_vars(target), out, str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:]
    rc, results, err = validate(validator, out)
    checked = sorted("%s/%s %s" % (r["kind"], r["name"], r["status"]) for r in results if r["status"] != "skipped")
    tasks = ["Task/cd4ml-ansible ok", "Task/cd4ml-dvc-pull ok", "Task/cd4ml-validate-data ok"]
    if target == "kubernetes":
        tasks.insert(1, "Task/cd4ml-git-clone ok")
    assert rc == 0, (results, err)
    assert checked == sorted([
        "EventListener/cd4ml ok", "Pipeline/cd4ml ok", "Pipeline/cd4ml (references) ok",
        "PipelineRun/cd4ml.spec.resourcetemplates[0] ok", "PipelineRun/cd4ml.spec.resourcetemplates[0] (references) ok",
        "TriggerBinding/cd4ml-push ok", "TriggerTemplate/cd4ml ok"] + tasks)
    # Every Tekton object of the list went through the validator.
    assert sorted(o["kind"] for o in objects if o["kind"] in TEKTON_KINDS) == sorted(
        r["kind"] for r in results if r["kind"] in TEKTON_KINDS and not r["name"].endswith("(references)"))
    by = dict(((o["kind"], o["metadata"]["name"]), o) for o in objects)
    pipeline = by[("Pipeline", "cd4ml")]["spec"]
    assert [t["name"] for t in pipeline["tasks"]] == [
        "fetch-source", "dvc-pull", "validate-data", "train", "gate", "deploy", "analyze", "rollback"]
    assert [t["name"] for t in pipeline["finally"]] == ["record-outcome"]
    clone = pipeline["tasks"][0]["taskRef"]
    assert clone == {"resolver": "cluster", "params": [
        {"name": "kind", "value": "task"},
        {"name": "name", "value": "git-clone" if target == "openshift" else "cd4ml-git-clone"},
        {"name": "namespace", "value": "openshift-pipelines" if target == "openshift" else "models"}]}
    playbooks = [dict((p["name"], p["value"]) for p in t["params"]).get("playbook") for t in pipeline["tasks"][3:]]
    assert playbooks == ["train", "test", "deploy", None, "rollback"]
    ansible = by[("Task", "cd4ml-ansible")]["spec"]
    env = dict((e["name"], e.get("value")) for e in ansible["stepTemplate"]["env"])
    assert env["HOME"] == "/var/run/mlops-home" and ansible["stepTemplate"]["volumeMounts"] == [
        {"name": "home", "mountPath": "/var/run/mlops-home"}]
    assert ansible["stepTemplate"]["image"] == "ghcr.io/mlops-platform/mlops-platform-ee:0.1.0"
    assert "ansible-playbook \"${args[@]}\"" in ansible["steps"][0]["script"]
    assert '"mlops.platform.$PLAYBOOK"' in ansible["steps"][0]["script"]
    run = by[("TriggerTemplate", "cd4ml")]["spec"]["resourcetemplates"][0]["spec"]
    assert run["taskRunTemplate"] == {"serviceAccountName": "cd4ml-pipeline"}
    inventory = yaml.safe_load(by[("ConfigMap", "cd4ml-inventory")]["data"]["hosts.yml"])
    assert inventory["all"]["vars"]["mlops_kube_connection"] == {}   # in-cluster: the ServiceAccount's token
    listener = by[("EventListener", "cd4ml")]["spec"]["triggers"][0]
    assert listener["interceptors"] == [
        {"ref": {"name": "github", "kind": "ClusterInterceptor"},
         "params": [{"name": "secretRef", "value": {"secretName": "cd4ml-webhook", "secretKey": "secret"}},
                    {"name": "eventTypes", "value": ["push"]}]},
        {"ref": {"name": "cel", "kind": "ClusterInterceptor"},
         "params": [{"name": "filter", "value": "body.ref == 'refs/heads/main'"}]}]


@pytest.mark.parametrize("change,message", [
    # The role's argument spec refuses it first.
    ({"mlops_target": "local"}, "value of tekton_target must be one of: openshift, kubernetes, got: local"),
    ({"tekton_install": "olm", "mlops_target": "kubernetes"},
     "tekton_install ('olm') is olm (openshift only), release or none"),
    ({"tekton_git_url": ""}, "tekton_git_url must be the model project's git URL (got '')"),
    ({"tekton_dvc_remote": "/srv/dvc"}, "tekton_dvc_remote is '' or s3://bucket/path (got '/srv/dvc')"),
    ({"tekton_rollout_vars": {}},
     "tekton_rollout_vars must be a mapping of model_rollout_* variables with model_rollout_model_name set"),
    ({"tekton_dvc_s3_secret_access_key": ""},
     "tekton_dvc_s3_access_key_id and tekton_dvc_s3_secret_access_key are set together"),
])
def test_bad_input_is_refused_naming_the_option(tmp_path, change, message):
    variables = dict(base_vars("openshift"), **change)
    proc, _objects = render(variables, str(tmp_path / "objects.yaml"), str(tmp_path))
    assert proc.returncode == 2, proc.stdout[-2000:]
    failed = [line for line in proc.stdout.splitlines() if line.startswith("fatal:")]
    assert len(failed) == 1 and message in " ".join(proc.stdout.split()), proc.stdout[-2000:]
    assert not os.path.exists(tmp_path / "objects.yaml")


# -- on the control plane --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def kubeconfig():
    path = os.environ.get("MLOPS_TEKTON_KUBECONFIG")
    if not path:
        proc = subprocess.run([os.path.join(ROOT, "tests", "cluster", "controlplane.sh"), "up"], capture_output=True,
                              text=True, check=False, env=dict(os.environ, MLOPS_PYTHON=sys.executable), timeout=3600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        path = proc.stdout.strip().splitlines()[-1].replace("KUBECONFIG=", "")
    return path


@pytest.fixture(scope="module")
def api(kubeconfig):
    from kubernetes import config as k8s_config
    from kubernetes.dynamic import DynamicClient
    return DynamicClient(k8s_config.new_client_from_config(config_file=kubeconfig))


def read(api, api_version, kind, name, namespace=None):
    from kubernetes.dynamic.exceptions import NotFoundError
    try:
        return api.resources.get(api_version=api_version, kind=kind).get(name=name, namespace=namespace).to_dict()
    except NotFoundError:
        return None


def apply(kubeconfig, tmp_path, variables, *args):
    path = tmp_path / ("vars-%s.json" % uuid.uuid4().hex[:6])
    path.write_text(json.dumps(dict(variables, mlops_kube_connection={"kubeconfig": kubeconfig})))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".cache", "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    started = time.time()
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                           os.path.join(HERE, "playbooks", "apply.yml"), "-e", "@%s" % path] + list(args),
                          capture_output=True, text=True, env=env, check=False, timeout=900)
    recap = re.search(r"localhost\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", proc.stdout)
    return proc, (dict(zip(("ok", "changed", "failed"), map(int, recap.groups()))) if recap else {}), time.time() - started


def test_kubernetes_apply_converges_runs_and_removes(kubeconfig, api, tmp_path):
    ns = "tekton-k-" + uuid.uuid4().hex[:6]
    variables = dict(base_vars("kubernetes", ns), tekton_install="none")

    proc, recap, _s = apply(kubeconfig, tmp_path, variables, "--check")
    assert proc.returncode == 0 and recap["failed"] == 0, proc.stdout[-3000:]
    assert read(api, "tekton.dev/v1", "Pipeline", "cd4ml", ns) is None     # check mode created nothing
    assert read(api, "v1", "Namespace", ns) is None

    proc, recap, first = apply(kubeconfig, tmp_path, variables)
    assert proc.returncode == 0 and recap["changed"] > 0, proc.stdout[-3000:]
    proc, recap, again = apply(kubeconfig, tmp_path, variables, "-v")
    assert proc.returncode == 0 and recap["changed"] == 0, proc.stdout[-3000:]
    for secret in (SECRET, S3_SECRET):
        assert secret not in proc.stdout + proc.stderr
    print("apply %.1f s, rerun %.1f s" % (first, again))

    listener = read(api, "triggers.tekton.dev/v1beta1", "EventListener", "cd4ml", ns)
    assert [c["status"] for c in listener["status"]["conditions"] if c["type"] == "Ready"] == ["True"]
    assert listener["spec"]["serviceAccountName"] == "cd4ml-listener"
    assert read(api, "v1", "Service", "el-cd4ml", ns) is not None
    ingress = read(api, "networking.k8s.io/v1", "Ingress", "el-cd4ml", ns)
    assert ingress["spec"]["rules"][0]["host"] == "hooks.apps.example.com"
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"] == {
        "name": "el-cd4ml", "port": {"name": "http-listener"}}
    binding = read(api, "rbac.authorization.k8s.io/v1", "RoleBinding", "cd4ml-listener", ns)
    assert binding["roleRef"]["name"] == "tekton-triggers-eventlistener-roles"
    cluster_binding = read(api, "rbac.authorization.k8s.io/v1", "ClusterRoleBinding", ns + "-cd4ml-listener")
    assert cluster_binding["subjects"] == [{"kind": "ServiceAccount", "name": "cd4ml-listener", "namespace": ns}]
    role = read(api, "rbac.authorization.k8s.io/v1", "Role", "cd4ml-pipeline", ns)
    assert all("*" not in rule["verbs"] and "delete" not in rule["verbs"] for rule in role["rules"])
    assert {r for rule in role["rules"] for r in rule["resources"]} == {
        "seldondeployments", "deployments", "services", "configmaps", "routes", "httproutes"}

    # A push as the listener would turn it into a run: the TriggerTemplate's PipelineRun, its param put in.
    template = read(api, "triggers.tekton.dev/v1beta1", "TriggerTemplate", "cd4ml", ns)
    body = json.loads(json.dumps(template["spec"]["resourcetemplates"][0]).replace("$(tt.params.git-revision)", "0" * 40))
    body["metadata"] = {"name": "cd4ml-push-1", "namespace": ns}
    api.resources.get(api_version="tekton.dev/v1", kind="PipelineRun").create(body=body, namespace=ns)
    deadline, run = time.time() + 120, None
    while time.time() < deadline:
        run = read(api, "tekton.dev/v1", "PipelineRun", "cd4ml-push-1", ns)
        conditions = (run.get("status") or {}).get("conditions") or []
        if any(c["type"] == "Succeeded" and c["status"] in ("True", "False") for c in conditions):
            break
        time.sleep(0.5)
    children = sorted(c["pipelineTaskName"] for c in run["status"].get("childReferences", []))
    assert children == sorted(["fetch-source", "dvc-pull", "validate-data", "train", "gate", "deploy", "analyze",
                               "rollback", "record-outcome"]), run["status"]
    # The stand-in runs every task (it does not evaluate when expressions or run steps); the run succeeds.
    assert [(c["type"], c["status"], c["message"]) for c in run["status"]["conditions"]] == [
        ("Succeeded", "True", "Tasks Completed: 9 (Failed: 0, Cancelled 0), Skipped: 0")]
    task_run = read(api, "tekton.dev/v1", "TaskRun", "cd4ml-push-1-train", ns)
    assert task_run["spec"]["serviceAccountName"] == "cd4ml-pipeline", task_run["spec"]

    removed = dict(variables, tekton_state="absent")
    proc, recap, _s = apply(kubeconfig, tmp_path, removed)
    assert proc.returncode == 0 and recap["changed"] > 0, proc.stdout[-3000:]
    assert read(api, "tekton.dev/v1", "Pipeline", "cd4ml", ns) is None
    assert read(api, "triggers.tekton.dev/v1beta1", "EventListener", "cd4ml", ns) is None
    assert read(api, "rbac.authorization.k8s.io/v1", "ClusterRoleBinding", ns + "-cd4ml-listener") is None
    assert read(api, "v1", "PersistentVolumeClaim", "cd4ml-dvc-cache", ns) is not None   # the DVC cache stays
    assert read(api, "v1", "Namespace", ns) is not None
    api.resources.get(api_version="v1", kind="Namespace").delete(name=ns)


def test_kubernetes_release_manifests_are_fetched_and_applied(kubeconfig, api, tmp_path):
    """tekton_install=release: the manifests at the (overridable) URLs are fetched and applied before the pipeline.
    The URL is a local HTTP server here (no internet), serving a stand-in manifest, not Tekton's release."""
    import functools
    import http.server
    import threading
    ns = "tekton-r-" + uuid.uuid4().hex[:6]
    (tmp_path / "release.yaml").write_text(
        "# stand-in for a Tekton release manifest (test data)\n"
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s-release\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: release-marker\n  namespace: %s-release\n"
        "data:\n  version: v1.6.0\n" % (ns, ns))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = "http://127.0.0.1:%d/release.yaml" % server.server_address[1]
        variables = dict(base_vars("kubernetes", ns), tekton_install="release", tekton_release_manifests=[url])
        proc, recap, _s = apply(kubeconfig, tmp_path, variables)
        assert proc.returncode == 0 and recap["failed"] == 0, proc.stdout[-3000:]
        marker = read(api, "v1", "ConfigMap", "release-marker", ns + "-release")
        assert marker["data"] == {"version": "v1.6.0"}
        assert read(api, "tekton.dev/v1", "Pipeline", "cd4ml", ns) is not None
        missing = dict(variables, tekton_release_manifests=[url.replace("release.yaml", "missing.yaml")])
        proc, recap, _s = apply(kubeconfig, tmp_path, missing)
        assert proc.returncode == 2 and "HTTP Error 404" in proc.stdout, proc.stdout[-3000:]
    finally:
        server.shutdown()
        for name in (ns, ns + "-release"):
            if read(api, "v1", "Namespace", name):
                api.resources.get(api_version="v1", kind="Namespace").delete(name=name)
