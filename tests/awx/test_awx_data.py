"""The AWX objects as data (awx/), checked against the code they drive: the credential type's injectors against
the environment variables the modules read, the job templates' playbooks (they exist, parse, never prompt), the
workflow's graph, and playbooks/awx_setup.yml run against stand-ins of the awx.awx modules (awx.awx is not
installable here) that record what the playbook asks the controller to create."""

import json
import os
import re
import subprocess
import sys

import pytest
import yaml

import awx_emulation as awx

ROOT = awx.ROOT
BIN = os.path.dirname(sys.executable)
INVENTORY = os.path.join(ROOT, "inventories", "local")
MLFLOW_TYPE = "MLflow tracking server"


@pytest.fixture(scope="module")
def data():
    return awx.load_data()


def env():
    found = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    return found


# ------------------------------------------------------------------ the credential type

def module_environment_names():
    """The MLFLOW_* variables the MLflow modules fall back to (read from the module_utils source, not copied)."""
    with open(os.path.join(ROOT, "plugins", "module_utils", "_mlflow_module.py")) as handle:
        source = handle.read()
    return set(re.findall(r'"(MLFLOW_TRACKING_[A-Z_]+)"', source))


def test_injectors_set_the_variables_the_modules_read(data):
    ctype = awx.credential_type(data, MLFLOW_TYPE)
    injected = set(ctype["injectors"]["env"])
    read = module_environment_names()
    assert {"MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN",
            "MLFLOW_TRACKING_INSECURE_TLS"} == injected
    assert injected <= read, injected - read
    # Every input is injected somewhere; secret inputs never as extra vars.
    fields = [f["id"] for f in ctype["inputs"]["fields"]]
    templates = " ".join(list(ctype["injectors"]["env"].values()) + list(ctype["injectors"]["extra_vars"].values()))
    assert [f for f in fields if "{{ %s" % f not in templates] == []
    secret = [f["id"] for f in ctype["inputs"]["fields"] if f.get("secret")]
    assert sorted(secret) == ["password", "token"]
    assert [s for s in secret if s in " ".join(ctype["injectors"]["extra_vars"].values())] == []


def test_basic_auth_credential_renders_as_awx_renders_it(data):
    ctype = awx.credential_type(data, MLFLOW_TYPE)
    env, extra, safe = awx.inject(ctype, {"tracking_uri": "https://mlflow.example.com", "username": "ds",
                                          "password": "s3cret-Pw"})
    assert env == {"MLFLOW_TRACKING_URI": "https://mlflow.example.com", "MLFLOW_TRACKING_USERNAME": "ds",
                   "MLFLOW_TRACKING_PASSWORD": "s3cret-Pw", "MLFLOW_TRACKING_TOKEN": "",
                   "MLFLOW_TRACKING_INSECURE_TLS": "false"}
    assert extra == {"mlops_mlflow_tracking_uri": "https://mlflow.example.com"}
    # What AWX stores with the job shows no secret.
    assert safe["MLFLOW_TRACKING_PASSWORD"] == awx.HIDDEN
    assert "s3cret-Pw" not in json.dumps(safe)


def test_token_credential_with_insecure_tls(data):
    ctype = awx.credential_type(data, MLFLOW_TYPE)
    env, _extra, safe = awx.inject(ctype, {"tracking_uri": "https://m", "token": "tok-123", "insecure_tls": True})
    assert (env["MLFLOW_TRACKING_TOKEN"], env["MLFLOW_TRACKING_USERNAME"], env["MLFLOW_TRACKING_INSECURE_TLS"]) == (
        "tok-123", "", "true")
    assert safe["MLFLOW_TRACKING_TOKEN"] == awx.HIDDEN


@pytest.mark.parametrize("inputs, message", [
    ({"username": "ds"}, "credential type 'MLflow tracking server' requires tracking_uri"),
    ({"tracking_uri": "http://m", "url": "http://m"}, "credential type 'MLflow tracking server' has no input url"),
    ({"tracking_uri": "http://m", "insecure_tls": "yes"},
     "input insecure_tls of credential type 'MLflow tracking server' must be a boolean"),
])
def test_inputs_that_do_not_fit_the_type_are_refused(data, inputs, message):
    with pytest.raises(ValueError) as err:
        awx.inject(awx.credential_type(data, MLFLOW_TYPE), inputs)
    assert str(err.value) == message


# ------------------------------------------------------------------ job templates and the workflow

def test_job_templates_cover_the_entry_points_and_use_the_credential(data):
    names = [t["name"] for t in data["mlops_awx_job_templates"]]
    assert names == ["mlops-train", "mlops-test", "mlops-deploy", "mlops-rollback", "mlops-platform"]
    for template in data["mlops_awx_job_templates"]:
        assert template["credentials"] == [data["mlops_awx_credential"]["name"]], template["name"]
        assert isinstance(template["extra_vars"], dict)
        assert template["timeout"] > 0
    assert data["mlops_awx_credential"]["credential_type"] in [t["name"] for t in data["mlops_awx_credential_types"]]
    assert os.path.isdir(os.path.join(ROOT, data["mlops_awx_inventory"]["source_path"]))


def test_workflow_graph_names_existing_templates_and_nodes(data):
    templates = set(t["name"] for t in data["mlops_awx_job_templates"])
    for workflow in data["mlops_awx_workflows"]:
        ids = [n["identifier"] for n in workflow["nodes"]]
        assert len(ids) == len(set(ids)), workflow["name"]
        for node in workflow["nodes"]:
            assert node["job_template"] in templates, node
            assert set(node["success_nodes"]) <= set(ids), node
    rollout = [w for w in data["mlops_awx_workflows"] if w["name"] == "mlops-rollout"][0]
    chain = [(n["identifier"], n["job_template"], n["success_nodes"]) for n in rollout["nodes"]]
    assert chain == [("train", "mlops-train", ["test"]), ("test", "mlops-test", ["deploy"]), ("deploy", "mlops-deploy", [])]


@pytest.mark.parametrize("template", ["mlops-train", "mlops-test", "mlops-deploy", "mlops-rollback", "mlops-platform"])
def test_job_template_playbook_exists_and_parses_with_its_extra_vars(data, template, tmp_path):
    job = awx.job_template(data, template)
    playbook = os.path.join(ROOT, job["playbook"])
    assert os.path.isfile(playbook), playbook
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps(job["extra_vars"]))
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "--syntax-check", "-i", INVENTORY, playbook,
                           "-e", "@%s" % extra], capture_output=True, text=True, timeout=120, env=env(),
                          stdin=subprocess.DEVNULL, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "playbook: %s" % playbook in proc.stdout


def yaml_files_of(playbook):
    """The playbook, the playbooks it imports and the task files of the roles it can reach (this collection's)."""
    found, todo = [], [playbook]
    while todo:
        path = todo.pop()
        found.append(path)
        with open(path) as handle:
            plays = yaml.safe_load(handle) or []
        for play in plays:
            if "ansible.builtin.import_playbook" in play:
                todo.append(os.path.join(os.path.dirname(path), play["ansible.builtin.import_playbook"]))
    roles = os.path.join(ROOT, "roles")
    for role in sorted(os.listdir(roles)):
        for sub in ("tasks", "handlers"):
            folder = os.path.join(roles, role, sub)
            if os.path.isdir(folder):
                found += [os.path.join(folder, n) for n in sorted(os.listdir(folder)) if n.endswith(".yml")]
    return found


def walk_tasks(node):
    if isinstance(node, list):
        for item in node:
            yield from walk_tasks(item)
    elif isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk_tasks(value)


@pytest.mark.parametrize("template", ["mlops-train", "mlops-test", "mlops-deploy", "mlops-rollback", "mlops-platform"])
def test_job_templates_never_prompt(data, template):
    """A job has nobody to answer: no vars_prompt, no pause, no interactive module anywhere it can reach."""
    offenders = []
    for path in yaml_files_of(os.path.join(ROOT, awx.job_template(data, template)["playbook"])):
        with open(path) as handle:
            content = yaml.safe_load(handle)
        for node in walk_tasks(content):
            for key in ("vars_prompt", "ansible.builtin.pause", "pause", "ansible.builtin.expect", "expect"):
                if key in node:
                    offenders.append("%s: %s" % (os.path.relpath(path, ROOT), key))
    assert offenders == []


# ------------------------------------------------------------------ playbooks/awx_setup.yml

STUB_ACTION = '''
# A STAND-IN for the awx.awx module of this name (awx.awx is not installable here and there is no AWX to talk to):
# it records the arguments the playbook passes, one JSON line per call, and reports a change.
import json
import os

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        with open(os.environ["AWX_STANDIN_LOG"], "a") as handle:
            handle.write(json.dumps({"module": self._task.action, "args": self._task.args}) + "\\n")
        result.update(changed=True)
        return result
'''

STUB_MODULE = '''#!/usr/bin/python
DOCUMENTATION = """
module: {name}
short_description: stand-in (tests/awx) for awx.awx.{name}
"""
'''

MODULES = ["credential_type", "credential", "execution_environment", "project", "inventory", "inventory_source",
           "job_template", "workflow_job_template", "workflow_job_template_node"]


@pytest.fixture
def standin(tmp_path):
    """A collection awx.awx of stand-ins, on the collections path before everything else."""
    base = tmp_path / "collections" / "ansible_collections" / "awx" / "awx"
    (base / "plugins" / "action").mkdir(parents=True)
    (base / "plugins" / "modules").mkdir(parents=True)
    (base / "galaxy.yml").write_text("namespace: awx\nname: awx\nversion: 0.0.0-standin\n")
    for name in MODULES:
        (base / "plugins" / "action" / ("%s.py" % name)).write_text(STUB_ACTION)
        (base / "plugins" / "modules" / ("%s.py" % name)).write_text(STUB_MODULE.format(name=name))
    log = tmp_path / "calls.jsonl"
    environ = env()
    environ["ANSIBLE_COLLECTIONS_PATH"] = "%s:%s" % (tmp_path / "collections", os.environ.get("ANSIBLE_COLLECTIONS_PATH", ""))
    environ["AWX_STANDIN_LOG"] = str(log)

    def play(inputs):
        extra = tmp_path / "inputs.json"
        extra.write_text(json.dumps({"mlops_awx_mlflow_inputs": inputs}))
        proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), os.path.join(ROOT, "playbooks", "awx_setup.yml"),
                               "-e", "@%s" % extra], capture_output=True, text=True, timeout=300, env=environ,
                              stdin=subprocess.DEVNULL, check=False)
        calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        return proc, calls

    return play


def test_setup_playbook_creates_the_objects_of_the_data_in_order(data, standin):
    secret = "pw-not-in-output-1234"
    proc, calls = standin({"tracking_uri": "https://mlflow.example.com", "username": "ds", "password": secret})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert secret not in proc.stdout + proc.stderr
    modules = [c["module"].replace("awx.awx.", "") for c in calls]
    assert modules == (["credential_type"] * len(data["mlops_awx_credential_types"])
                       + ["credential", "execution_environment", "project", "inventory", "inventory_source"]
                       + ["job_template"] * len(data["mlops_awx_job_templates"])
                       + ["workflow_job_template"] * len(data["mlops_awx_workflows"])
                       + ["workflow_job_template_node"] * sum(len(w["nodes"]) for w in data["mlops_awx_workflows"]))
    by = dict((m, [c["args"] for c in calls if c["module"] == "awx.awx." + m]) for m in MODULES)
    # The injector templates reach AWX verbatim (AWX renders them at launch, not Ansible here).
    ctype = by["credential_type"][0]
    assert ctype["injectors"]["env"]["MLFLOW_TRACKING_PASSWORD"] == "{{ password }}"
    assert ctype["injectors"]["extra_vars"] == {"mlops_mlflow_tracking_uri": "{{ tracking_uri }}"}
    assert ctype["inputs"] == awx.credential_type(data, MLFLOW_TYPE)["inputs"]
    assert by["credential"][0]["inputs"]["password"] == secret
    assert by["credential"][0]["credential_type"] == MLFLOW_TYPE
    for args, template in zip(by["job_template"], data["mlops_awx_job_templates"]):
        assert (args["name"], args["playbook"], args["credentials"], args["extra_vars"]) == (
            template["name"], template["playbook"], template["credentials"], template["extra_vars"])
        assert (args["project"], args["inventory"], args["execution_environment"]) == (
            "mlops-platform", "mlops-platform", "mlops-platform-ee")
    # A node names only success nodes that exist already: created last one first.
    nodes = [(a["identifier"], a["unified_job_template"], a["success_nodes"]) for a in by["workflow_job_template_node"]]
    assert nodes == [("deploy", "mlops-deploy", []), ("test", "mlops-test", ["deploy"]), ("train", "mlops-train", ["test"])]


@pytest.mark.parametrize("inputs", [{}, {"tracking_uri": "mlflow:5000"}, {"tracking_uri": "http://m", "username": "ds"},
                                    {"tracking_uri": "http://m", "username": "ds", "password": "p", "token": "t"}])
def test_setup_playbook_refuses_bad_mlflow_inputs_before_creating_anything(standin, inputs):
    proc, calls = standin(inputs)
    assert proc.returncode == 2
    assert calls == []
    assert ("mlops_awx_mlflow_inputs must be a mapping with tracking_uri (an http:// or https:// URL) and either "
            "username and password, or token, or neither (a server without authentication). Nothing was changed.") in proc.stdout
