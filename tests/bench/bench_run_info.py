#!/usr/bin/env python
"""Benchmark: fetch the top run by a metric out of 10,000 runs, three ways, in one process run.

  (a) mlops.platform.mlflow_run_info   (a task in ansible-playbook)
  (b) ansible.builtin.uri              (the same REST call, a task in ansible-playbook)
  (c) the MLflow Python client         (in this process, and as a fresh process that imports mlflow)

A throwaway `mlflow server` (SQLite, 127.0.0.1) is filled with runs through MLflow's own
store, then started. Ansible's start-up cost is taken out by timing a playbook of K+1
identical tasks against one of 1 task: the difference / K is the marginal cost of one task.
Every variant talks to the server through a counting loopback proxy, so the number of HTTP
requests each made is printed beside its time. Prints ratios; it is not a pass/fail test.

Usage: tests/bench/bench_run_info.py [--runs 10000] [--tasks 10] [--repeat 3]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from support.fault_proxy import FaultProxy  # noqa: E402  pylint: disable=wrong-import-position
from support.mlflow_server import MlflowServer  # noqa: E402  pylint: disable=wrong-import-position

ROOT = os.path.dirname(os.path.dirname(HERE))
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")

MODULE_TASK = """
    - name: Top run (module)
      mlops.platform.mlflow_run_info:
        tracking_uri: "{{ uri }}"
        experiment_ids: ["{{ exp }}"]
        order_by: ["metrics.score DESC"]
        max_results: 1
      register: __top
"""
URI_TASK = """
    - name: Top run (uri)
      ansible.builtin.uri:
        url: "{{ uri }}/api/2.0/mlflow/runs/search"
        method: POST
        body_format: json
        body: {experiment_ids: ["{{ exp }}"], order_by: ["metrics.score DESC"], max_results: 1}
      register: __top
"""
CHECK = {
    "module": '__top.runs[0].run_id == best',
    "uri": '__top.json.runs[0].info.run_id == best',
}


def fill(db_uri, experiment_name, count):
    """Create `count` finished runs with a metric, a param and a tag.

    The experiment is made through MLflow's client (which also creates the schema); the runs are
    inserted in one transaction with MLflow's own ORM models, because 10,000 runs through the
    client's one-commit-per-call path would take most of an hour on this machine.
    """
    import uuid
    from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlMetric, SqlParam, SqlRun, SqlTag
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
    from mlflow.tracking import MlflowClient
    client = MlflowClient(tracking_uri=db_uri)
    experiment_id = client.create_experiment(experiment_name)
    location = client.get_experiment(experiment_id).artifact_location
    store = SqlAlchemyStore(db_uri, location)
    now = int(time.time() * 1000)
    best = None
    rows = []
    for i in range(count):
        run_id = uuid.uuid4().hex
        score = ((i * 7919) % count) / float(count)  # a permutation: exactly one run has the top score
        rows.append(SqlRun(run_uuid=run_id, name="run-%05d" % i, experiment_id=int(experiment_id), user_id="bench",
                           status="FINISHED", start_time=now, end_time=now + 1, lifecycle_stage="active",
                           artifact_uri="%s/%s/artifacts" % (location, run_id), source_type="LOCAL", source_name=""))
        rows.append(SqlMetric(key="score", value=score, timestamp=now, step=0, is_nan=False, run_uuid=run_id))
        rows.append(SqlLatestMetric(key="score", value=score, timestamp=now, step=0, is_nan=False, run_uuid=run_id))
        rows.append(SqlParam(key="i", value=str(i), run_uuid=run_id))
        rows.append(SqlTag(key="git_commit", value="c%04d" % (i % 100), run_uuid=run_id))
        if best is None or score > best[1]:
            best = (run_id, score)
    with store.ManagedSessionMaker() as session:
        session.add_all(rows)
    return experiment_id, best[0]


def playbook(path, task, tasks):
    with open(path, "w") as handle:
        handle.write("---\n- name: Bench\n  hosts: localhost\n  gather_facts: false\n  tasks:\n")
        for _unused in range(tasks):
            handle.write(task)
        handle.write("""
    - name: The answer is the best run
      ansible.builtin.assert:
        that: %s
""" % CHECK["module" if "mlflow_run_info" in task else "uri"])
    return path


def run_playbook(path, extra):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".cache", "collections"),
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_STDOUT_CALLBACK="default")
    cmd = [PLAYBOOK, "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=" + sys.executable, path]
    for key, value in extra.items():
        cmd += ["-e", "%s=%s" % (key, value)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit("playbook failed:\n%s\n%s" % (proc.stdout[-3000:], proc.stderr[-2000:]))
    return elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10000)
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="mlops-bench-")
    server = MlflowServer(root=work)
    db_uri = "sqlite:///%s" % os.path.join(work, "mlflow.db")
    t0 = time.perf_counter()
    experiment_id, best = fill(db_uri, "bench", args.runs)
    print("filled %d runs in %.1fs" % (args.runs, time.perf_counter() - t0))

    with server, FaultProxy(server.port) as proxy:
        extra = {"uri": proxy.uri, "exp": experiment_id, "best": best}
        results = {}
        for name, task in (("module", MODULE_TASK), ("uri", URI_TASK)):
            one = playbook(os.path.join(work, "%s-1.yml" % name), task, 1)
            many = playbook(os.path.join(work, "%s-%d.yml" % (name, args.tasks + 1)), task, args.tasks + 1)
            run_playbook(one, extra)  # warm caches (module compilation, server)
            marginals = []
            for _unused in range(args.repeat):
                t_one = run_playbook(one, extra)
                t_many = run_playbook(many, extra)
                marginals.append((t_many - t_one) / args.tasks)
            proxy.reset()
            run_playbook(one, extra)
            results[name] = (statistics.median(marginals), proxy.count())
            if os.environ.get("BENCH_DEBUG"):
                print(name, proxy.requests)

        # (c) the MLflow Python client: in this process (no start-up) and as a fresh process
        from mlflow.tracking import MlflowClient
        client = MlflowClient(tracking_uri=proxy.uri)
        proxy.reset()
        found = client.search_runs([experiment_id], order_by=["metrics.score DESC"], max_results=1)
        assert found[0].info.run_id == best
        sdk_requests = proxy.count()
        timings = []
        for _unused in range(args.tasks):
            start = time.perf_counter()
            client.search_runs([experiment_id], order_by=["metrics.score DESC"], max_results=1)
            timings.append(time.perf_counter() - start)
        sdk_call = statistics.median(timings)
        code = ("from mlflow.tracking import MlflowClient; import sys; "
                "r = MlflowClient(tracking_uri=sys.argv[1]).search_runs([sys.argv[2]], "
                "order_by=['metrics.score DESC'], max_results=1); assert r[0].info.run_id == sys.argv[3]")
        fresh = []
        for _unused in range(args.repeat):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code, proxy.uri, experiment_id, best], check=True)
            fresh.append(time.perf_counter() - start)
        sdk_fresh = statistics.median(fresh)

    module_t, module_n = results["module"]
    uri_t, uri_n = results["uri"]
    print("")
    print("top run by metric out of %d runs (median of %d, marginal cost of one task over %d tasks)"
          % (args.runs, args.repeat, args.tasks))
    print("  (a) mlops.platform.mlflow_run_info : %7.3f s/task  %d HTTP request(s)" % (module_t, module_n))
    print("  (b) ansible.builtin.uri            : %7.3f s/task  %d HTTP request(s)" % (uri_t, uri_n))
    print("  (c) MLflow client, in process      : %7.3f s/call  %d HTTP request(s)" % (sdk_call, sdk_requests))
    print("  (c') MLflow client, fresh process  : %7.3f s       (import mlflow + one call)" % sdk_fresh)
    print("ratio (a)/(b) = %.2f   (target <= 1.10)" % (module_t / uri_t))
    print("ratio (c')/(a) = %.2f  (a fresh SDK process against one module task)" % (sdk_fresh / module_t))


if __name__ == "__main__":
    main()
