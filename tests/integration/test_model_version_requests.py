"""What mlflow_model_version asks the server, request by request, on MLflow 3 and MLflow 2.

A counting loopback proxy sits between the module and the real server. Checking that a source exists costs one
or two requests (the run, then its logged models or the listing of the model's directory); finding an earlier
version one search by run, and a second by source only when the first finds nothing.
"""

import uuid

from conftest import run_playbook
from support.fault_proxy import FaultProxy

PLAY = """\
---
- name: Register
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Register a version
      mlops.platform.mlflow_model_version:
        tracking_uri: "{{ uri }}"
        name: "{{ model }}"
        run_id: "{{ run }}"
        artifact_path: "{{ path | default(omit) }}"
      register: __r
      ignore_errors: true
    - name: Show the result
      ansible.builtin.debug:
        var: __r
"""


CREATE = """\
---
- name: Create
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Create the registered model
      mlops.platform.mlflow_registered_model:
        tracking_uri: "{{ uri }}"
        name: "{{ model }}"
"""


def calls(proxy, start):
    return [(method, path.split("?")[0].replace("/api/2.0/mlflow/", "")) for method, path, _answered_by in proxy.requests[start:]]


def test_requests_per_registration(server_under_test, tmp_path):
    server, seed = server_under_test
    major = int(seed["mlflow_client_version"].split(".")[0])
    name = "requests-%s" % uuid.uuid4().hex[:8]
    playbook = tmp_path / "register.yml"
    playbook.write_text(PLAY)
    run = seed["runs"]["good"]
    # The proxy forwards to whichever server is under test; the registered model is made through it too.
    with FaultProxy(server.port) as proxy:
        create = tmp_path / "create.yml"
        create.write_text(CREATE)
        run_playbook(str(create), {"uri": proxy.uri, "model": name}, tmp_path=tmp_path).check(0)
        check = "logged-models/search" if major >= 3 else "artifacts/list"

        start = len(proxy.requests)
        first = run_playbook(str(playbook), {"uri": proxy.uri, "model": name, "run": run}, tmp_path=tmp_path)
        first.check(0)
        assert '"changed": true' in first.stdout
        assert calls(proxy, start) == [
            ("GET", "registered-models/get"),
            ("GET", "runs/get"),
            ("POST" if major >= 3 else "GET", check),
            ("GET", "model-versions/search"),  # by run
            ("GET", "model-versions/search"),  # by source: nothing by run
            ("POST", "model-versions/create"),
        ]

        start = len(proxy.requests)
        again = run_playbook(str(playbook), {"uri": proxy.uri, "model": name, "run": run}, tmp_path=tmp_path)
        again.check(0)
        assert '"changed": false' in again.stdout
        assert calls(proxy, start) == [
            ("GET", "registered-models/get"),
            ("GET", "runs/get"),
            ("POST" if major >= 3 else "GET", check),
            ("GET", "model-versions/search"),
        ]

        start = len(proxy.requests)
        wrong = run_playbook(str(playbook), {"uri": proxy.uri, "model": name, "run": run, "path": "modle"},
                             tmp_path=tmp_path)
        wrong.check(0)  # the failure is ignored, then shown
        assert "has no model at artifact path 'modle'" in wrong.stdout
        # MLflow 3: the path names no logged model, so the run's own artifacts are listed as well.
        assert calls(proxy, start) == [("GET", "registered-models/get"), ("GET", "runs/get")] + (
            [("POST", "logged-models/search"), ("GET", "artifacts/list")] if major >= 3 else [("GET", "artifacts/list")])
