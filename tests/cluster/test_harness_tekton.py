"""The Tekton stand-in (stand-in controller): PipelineRuns and TaskRuns run to Succeeded with the
conditions and messages Tekton writes, TaskRuns are made in DAG order (runAfter and results), the
failure switch mlops.test/fail fails a named pipeline task, and an EventListener gets its address
and its el-<name> Service. No pod is made for any step."""

import pytest

from conftest import condition_of, wait_until

TEKTON = "tekton.dev/v1"
STANDIN = "Tekton (stand-in controller)"


def task(name, steps=("run",)):
    return {"apiVersion": TEKTON, "kind": "Task", "metadata": {"name": name},
            "spec": {"params": [{"name": "model", "type": "string", "default": "iris"}],
                     "results": [{"name": "version"}],
                     "steps": [{"name": s, "image": "registry.invalid/mlops/%s:1" % name, "script": "true"}
                               for s in steps]}}


PIPELINE = {"apiVersion": TEKTON, "kind": "Pipeline", "metadata": {"name": "rollout"},
            "spec": {"params": [{"name": "model", "type": "string"}],
                     "tasks": [
                         {"name": "train", "taskRef": {"name": "train"}, "params": [{"name": "model", "value": "$(params.model)"}]},
                         {"name": "test", "taskRef": {"name": "test"},
                          "params": [{"name": "model", "value": "$(tasks.train.results.version)"}]},
                         {"name": "deploy", "taskRef": {"name": "deploy"}, "runAfter": ["test"]}],
                     "finally": [{"name": "report", "taskRef": {"name": "report"}}]}}


def pipeline_run(name, annotations=None, **spec):
    body = {"pipelineRef": {"name": "rollout"}, "params": [{"name": "model", "value": "iris"}],
            "taskRunTemplate": {"serviceAccountName": "pipeline"}}
    body.update(spec)
    return {"apiVersion": TEKTON, "kind": "PipelineRun",
            "metadata": {"name": name, "annotations": annotations or {}}, "spec": body}


@pytest.fixture
def pipeline(cluster, namespace):
    for name, steps in (("train", ("fetch", "fit")), ("test", ("score",)), ("deploy", ("apply",)), ("report", ("post",))):
        cluster.create(task(name, steps), namespace)
    cluster.create(PIPELINE, namespace)


def finished(cluster, kind, name, namespace):
    def done():
        found = cluster.read(TEKTON, kind, name, namespace)
        cond = condition_of(found, "Succeeded")
        return found if cond and cond["status"] in ("True", "False") else None
    return wait_until(done, 60, "%s %s to finish" % (kind, name))


@pytest.mark.standin(STANDIN)
def test_pipelinerun_succeeds_with_a_taskrun_per_task(cluster, namespace, pipeline):
    cluster.create(pipeline_run("rollout-1"), namespace)
    run = finished(cluster, "PipelineRun", "rollout-1", namespace)
    cond = condition_of(run, "Succeeded")
    assert (cond["status"], cond["reason"], cond["message"]) == (
        "True", "Succeeded", "Tasks Completed: 4 (Failed: 0, Cancelled 0), Skipped: 0")
    assert run["status"]["startTime"] and run["status"]["completionTime"]
    assert sorted((c["name"], c["pipelineTaskName"]) for c in run["status"]["childReferences"]) == [
        ("rollout-1-deploy", "deploy"), ("rollout-1-report", "report"), ("rollout-1-test", "test"), ("rollout-1-train", "train")]

    train = cluster.read(TEKTON, "TaskRun", "rollout-1-train", namespace)
    assert train["metadata"]["labels"] == {"tekton.dev/pipelineRun": "rollout-1", "tekton.dev/pipelineTask": "train",
                                           "tekton.dev/pipeline": "rollout", "tekton.dev/memberOf": "tasks"}
    assert train["metadata"]["ownerReferences"][0]["name"] == "rollout-1"
    assert train["spec"]["serviceAccountName"] == "pipeline"
    assert train["spec"]["taskRef"] == {"name": "train"}
    assert condition_of(train, "Succeeded")["message"] == "All Steps have completed executing"
    assert [(s["name"], s["container"], s["terminated"]["exitCode"]) for s in train["status"]["steps"]] == [
        ("fetch", "step-fetch", 0), ("fit", "step-fit", 0)]
    report = cluster.read(TEKTON, "TaskRun", "rollout-1-report", namespace)
    assert report["metadata"]["labels"]["tekton.dev/memberOf"] == "finally"


@pytest.mark.standin(STANDIN)
@pytest.mark.parametrize("failing, step, completed, skipped", [
    ("test", "score", 3, ["deploy"]),              # deploy runs after test
    ("train", "fetch", 2, ["test", "deploy"]),     # test needs train's result; deploy needs test
])
def test_failure_switch_fails_the_named_task_skips_what_follows_and_runs_finally(
        cluster, namespace, pipeline, failing, step, completed, skipped):
    cluster.create(pipeline_run("rollout-bad", annotations={"mlops.test/fail": failing}), namespace)
    run = finished(cluster, "PipelineRun", "rollout-bad", namespace)
    cond = condition_of(run, "Succeeded")
    assert (cond["status"], cond["reason"], cond["message"]) == (
        "False", "Failed", "Tasks Completed: %d (Failed: 1, Cancelled 0), Skipped: %d" % (completed, len(skipped)))
    assert run["status"]["skippedTasks"] == [{"name": t, "reason": "PipelineRun was stopping"} for t in skipped]
    failed = cluster.read(TEKTON, "TaskRun", "rollout-bad-" + failing, namespace)
    cond = condition_of(failed, "Succeeded")
    assert (cond["status"], cond["reason"], cond["message"]) == ("False", "Failed", '"step-%s" exited with code 1' % step)
    assert failed["status"]["steps"][0]["terminated"]["exitCode"] == 1
    for name in skipped:                          # never started: the DAG order was kept
        assert cluster.read(TEKTON, "TaskRun", "rollout-bad-" + name, namespace) is None
    assert condition_of(cluster.read(TEKTON, "TaskRun", "rollout-bad-report", namespace), "Succeeded")["status"] == "True"


@pytest.mark.standin(STANDIN)
def test_pipelinerun_of_a_missing_pipeline_fails_as_tekton_reports(cluster, namespace):
    cluster.create(pipeline_run("orphan", pipelineRef={"name": "ghost"}), namespace)
    cond = condition_of(finished(cluster, "PipelineRun", "orphan", namespace), "Succeeded")
    assert (cond["status"], cond["reason"], cond["message"]) == (
        "False", "CouldntGetPipeline",
        'Error retrieving pipeline for pipelinerun %s/orphan: pipelines.tekton.dev "ghost" not found' % namespace)


@pytest.mark.standin(STANDIN)
def test_cluster_resolver_and_inline_pipeline_spec(cluster, namespace, pipeline):
    cluster.create(pipeline_run("resolved", pipelineRef={"resolver": "cluster", "params": [
        {"name": "kind", "value": "pipeline"}, {"name": "name", "value": "rollout"},
        {"name": "namespace", "value": namespace}]}), namespace)
    assert condition_of(finished(cluster, "PipelineRun", "resolved", namespace), "Succeeded")["status"] == "True"
    inline = pipeline_run("inline", pipelineSpec={"tasks": [{"name": "only", "taskSpec": {"steps": [
        {"name": "echo", "image": "registry.invalid/busybox", "script": "echo hi"}]}}]})
    del inline["spec"]["pipelineRef"]
    cluster.create(inline, namespace)
    run = finished(cluster, "PipelineRun", "inline", namespace)
    assert condition_of(run, "Succeeded")["message"] == "Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0"
    assert cluster.read(TEKTON, "TaskRun", "inline-only", namespace)["status"]["steps"][0]["name"] == "echo"
    # other resolvers fetch from outside: not here, and the run says so
    cluster.create(pipeline_run("from-git", pipelineRef={"resolver": "git", "params": [
        {"name": "url", "value": "https://git.invalid/p.git"}]}), namespace)
    cond = condition_of(finished(cluster, "PipelineRun", "from-git", namespace), "Succeeded")
    assert (cond["reason"], cond["message"]) == (
        "CouldntGetPipeline", "Error retrieving pipeline for pipelinerun %s/from-git: the git resolver is not "
        "available on the embedded control plane (stand-in)" % namespace)


@pytest.mark.standin(STANDIN)
def test_pending_pipelinerun_waits(cluster, namespace, pipeline):
    cluster.create(pipeline_run("later", status="PipelineRunPending"), namespace)
    cond = wait_until(lambda: condition_of(cluster.read(TEKTON, "PipelineRun", "later", namespace), "Succeeded"),
                      30, "the pending condition")
    assert (cond["status"], cond["reason"], cond["message"]) == ("Unknown", "PipelineRunPending", 'PipelineRun "later" is pending')
    assert cluster.read(TEKTON, "TaskRun", "later-train", namespace) is None
    cluster.patch(TEKTON, "PipelineRun", "later", {"spec": {"status": None}}, namespace)
    assert condition_of(finished(cluster, "PipelineRun", "later", namespace), "Succeeded")["status"] == "True"


@pytest.mark.standin(STANDIN)
def test_taskrun_alone_succeeds_fails_by_switch_or_for_a_missing_task(cluster, namespace):
    cluster.create(task("train", ("fit",)), namespace)
    cluster.create({"apiVersion": TEKTON, "kind": "TaskRun", "metadata": {"name": "ok"},
                    "spec": {"taskRef": {"name": "train"}}}, namespace)
    cluster.create({"apiVersion": TEKTON, "kind": "TaskRun",
                    "metadata": {"name": "bad", "annotations": {"mlops.test/fail": "true"}},
                    "spec": {"taskRef": {"name": "train"}}}, namespace)
    cluster.create({"apiVersion": TEKTON, "kind": "TaskRun", "metadata": {"name": "lost"},
                    "spec": {"taskRef": {"name": "ghost"}}}, namespace)
    results = {name: condition_of(finished(cluster, "TaskRun", name, namespace), "Succeeded")
               for name in ("ok", "bad", "lost")}
    assert (results["ok"]["status"], results["ok"]["reason"]) == ("True", "Succeeded")
    assert (results["bad"]["status"], results["bad"]["reason"], results["bad"]["message"]) == (
        "False", "Failed", '"step-fit" exited with code 1')
    assert (results["lost"]["reason"], results["lost"]["message"]) == (
        "CouldntGetTask", 'Error retrieving task for taskrun %s/lost: tasks.tekton.dev "ghost" not found' % namespace)


@pytest.mark.standin(STANDIN)
def test_eventlistener_gets_its_service_and_address(cluster, namespace):
    cluster.create({"apiVersion": "triggers.tekton.dev/v1beta1", "kind": "EventListener",
                    "metadata": {"name": "mlflow-webhook"},
                    "spec": {"serviceAccountName": "pipeline",
                             "triggers": [{"name": "registered", "bindings": [{"ref": "model"}], "template": {"ref": "rollout"}}],
                             "resources": {"kubernetesResource": {"serviceType": "ClusterIP", "servicePort": 8080}}}},
                   namespace)

    def ready():
        found = cluster.read("triggers.tekton.dev/v1beta1", "EventListener", "mlflow-webhook", namespace)
        return found if condition_of(found, "Ready") else None
    listener = wait_until(ready, 30, "the EventListener to be ready")
    assert listener["status"]["address"]["url"] == "http://el-mlflow-webhook.%s.svc.cluster.local:8080" % namespace
    assert listener["status"]["configuration"]["generatedName"] == "el-mlflow-webhook"
    assert {c["type"]: c["status"] for c in listener["status"]["conditions"]} == {
        "Deployment": "True", "Ready": "True", "Service": "True"}
    service = cluster.core().read_namespaced_service("el-mlflow-webhook", namespace)
    assert [(p.name, p.port, p.target_port) for p in service.spec.ports] == [("http-listener", 8080, 8080), ("http-metrics", 9000, 9000)]
    assert service.spec.selector == {"app.kubernetes.io/managed-by": "EventListener",
                                     "app.kubernetes.io/part-of": "Triggers", "eventlistener": "mlflow-webhook"}
    assert service.metadata.owner_references[0].kind == "EventListener"
