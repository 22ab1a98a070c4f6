"""What AWX does with the objects in awx/ when it runs a job, done with ansible-runner on this machine.

- The data: awx/credential_types.yml and awx/job_templates.yml, read as the setup playbook reads them (the
  injector templates are tagged !unsafe there: AWX renders them, Ansible must not).
- A credential's injectors rendered the way AWX renders them (awx's credential injection: a Jinja2 immutable
  sandbox; an input that was not given renders as '', a boolean that was not given is False): the environment
  variables of the job, the extra vars it gets from an `-e @file` under the private data dir's env/, and the
  "safe" environment AWX stores with the job (secret inputs shown as **********).
- A job: a private data dir laid out as AWX lays it (project/ = the checkout, env/envvars, env/extravars, the
  credential's extra vars file), one ansible_runner.run() with no passwords to answer, a job timeout, and the
  set_stats data read back from the artifacts' job events (the playbook_on_stats event's artifact_data, which
  AWX hands to the workflow's next nodes as extra vars).
"""

import glob
import json
import os
import tempfile
import threading

import ansible_runner
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
AWX_DIR = os.path.join(ROOT, "awx")
HIDDEN = "**********"


class _Loader(yaml.SafeLoader):
    """YAML as Ansible reads the data files: !unsafe marks a string Ansible does not template."""


_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def load_data():
    data = {}
    for name in ("credential_types.yml", "job_templates.yml"):
        with open(os.path.join(AWX_DIR, name)) as handle:
            data.update(yaml.load(handle, Loader=_Loader))  # nosec - a safe loader with one tag added
    return data


def credential_type(data, name):
    found = [t for t in data["mlops_awx_credential_types"] if t["name"] == name]
    assert len(found) == 1, "credential type %r: %d definitions" % (name, len(found))
    return found[0]


def job_template(data, name):
    found = [t for t in data["mlops_awx_job_templates"] if t["name"] == name]
    assert len(found) == 1, "job template %r: %d definitions" % (name, len(found))
    return found[0]


def check_inputs(ctype, inputs):
    """AWX refuses a credential whose inputs do not fit its type: unknown fields and missing required ones."""
    fields = dict((f["id"], f) for f in ctype["inputs"]["fields"])
    unknown = sorted(set(inputs) - set(fields))
    if unknown:
        raise ValueError("credential type %r has no input %s" % (ctype["name"], ", ".join(unknown)))
    missing = [f for f in ctype["inputs"].get("required", []) if not inputs.get(f)]
    if missing:
        raise ValueError("credential type %r requires %s" % (ctype["name"], ", ".join(missing)))
    for key, value in inputs.items():
        if fields[key]["type"] == "boolean" and not isinstance(value, bool):
            raise ValueError("input %s of credential type %r must be a boolean" % (key, ctype["name"]))


def inject(ctype, inputs):
    """(env, extra_vars, safe_env) of a credential with these inputs, as AWX injects them into a job."""
    check_inputs(ctype, inputs)
    secret = set(f["id"] for f in ctype["inputs"]["fields"] if f.get("secret"))
    namespace, safe = {}, {}
    for key, value in inputs.items():
        if isinstance(value, bool):
            namespace[key] = safe[key] = value
            continue
        if value:
            namespace[key] = value
            safe[key] = HIDDEN if key in secret else value
        elif key in secret:
            safe[key] = HIDDEN
    for field in ctype["inputs"]["fields"]:
        if field["type"] == "boolean" and field["id"] not in inputs:
            namespace[field["id"]] = safe[field["id"]] = False
    sandbox = ImmutableSandboxedEnvironment()
    injectors = ctype.get("injectors") or {}
    env = dict((k, sandbox.from_string(t).render(**namespace)) for k, t in (injectors.get("env") or {}).items())
    safe_env = dict((k, sandbox.from_string(t).render(**safe)) for k, t in (injectors.get("env") or {}).items())

    def render(node):
        if isinstance(node, dict):
            return dict((render(k), render(v)) for k, v in node.items())
        if isinstance(node, list):
            return [render(v) for v in node]
        return sandbox.from_string(node).render(**namespace)

    return env, render(injectors.get("extra_vars") or {}), safe_env


def os_threads():
    """Threads of this process as the kernel counts them (native ones included)."""
    with open("/proc/self/status") as handle:
        return int([line.split()[1] for line in handle if line.startswith("Threads:")][0])


class Job:
    """One finished job: its runner, status, artifacts dir and what it handed on with set_stats."""

    def __init__(self, name, runner, private_data_dir):
        self.name, self.runner, self.private_data_dir = name, runner, private_data_dir
        self.status, self.rc = runner.status, runner.rc
        self.artifact_dir = runner.config.artifact_dir

    def events(self):
        found = []
        for path in glob.glob(os.path.join(self.artifact_dir, "job_events", "*.json")):
            with open(path) as handle:
                found.append(json.load(handle))
        return sorted(found, key=lambda e: e.get("counter", 0))

    def artifacts(self):
        """The set_stats data of the job (per_host: false), from the artifacts dir: what AWX hands on."""
        stats = [e for e in self.events() if e.get("event") == "playbook_on_stats"]
        assert len(stats) == 1, "%s: %d playbook_on_stats events" % (self.name, len(stats))
        return stats[0]["event_data"].get("artifact_data", {})

    def stdout(self):
        with open(os.path.join(self.artifact_dir, "stdout")) as handle:
            return handle.read()

    def output_files(self):
        """What a job leaves that a person reads: its stdout, stderr and events (not env/, the runner's inputs)."""
        paths = [os.path.join(self.artifact_dir, n) for n in ("stdout", "stderr")]
        return [p for p in paths if os.path.exists(p)] + glob.glob(os.path.join(self.artifact_dir, "job_events", "*"))

    def failures(self):
        """The msg of every failed task that was not ignored or rescued, in order."""
        return [e["event_data"]["res"].get("msg", "") for e in self.events()
                if e.get("event") == "runner_on_failed" and not e["event_data"].get("ignore_errors")]

    def played_tasks(self):
        return [e["event_data"].get("task") for e in self.events() if e.get("event") == "playbook_on_task_start"]


def run_job(data, name, workdir, credentials, extra_vars=None, artifacts=None, env=None, timeout=1800):
    """Run job template ``name`` as AWX would: ``credentials`` maps a credential name to its inputs,
    ``extra_vars`` are the launch's (or the node's) extra vars, ``artifacts`` what the workflow's earlier nodes
    handed on with set_stats."""
    template = job_template(data, name)
    # ansible-runner forks the job under a pty; a fork in a multi-threaded process can deadlock the child.
    threads = [t.name for t in threading.enumerate()]
    assert threads == ["MainThread"] and os_threads() == 1, "threads in the test process before job %s: %s, %d in all" % (
        name, threads, os_threads())
    pdd = tempfile.mkdtemp(prefix="awx-%s-" % name, dir=workdir)
    os.symlink(ROOT, os.path.join(pdd, "project"))
    os.makedirs(os.path.join(pdd, "env"))
    envvars = dict(env or {})
    cmdline = []
    for cred_name in template.get("credentials", []):
        assert cred_name == data["mlops_awx_credential"]["name"], "job template %s: unknown credential %s" % (name, cred_name)
        ctype = credential_type(data, data["mlops_awx_credential"]["credential_type"])
        cred_env, cred_vars, _safe = inject(ctype, credentials[cred_name])
        envvars.update(cred_env)
        if cred_vars:
            handle, path = tempfile.mkstemp(dir=os.path.join(pdd, "env"))
            with os.fdopen(handle, "w") as out:
                yaml.safe_dump(cred_vars, out)
            os.chmod(path, 0o400)
            cmdline += ["-e", "@%s" % path]
    # AWX's precedence: the template's extra vars, then the launch's, then the workflow's artifacts.
    merged = dict(template.get("extra_vars") or {})
    merged.update(extra_vars or {})
    merged.update(artifacts or {})
    runner = ansible_runner.run(
        private_data_dir=pdd,
        ident=name,
        playbook=template["playbook"],
        inventory=os.path.join(pdd, "project", data["mlops_awx_inventory"]["source_path"]),
        extravars=merged,
        envvars=envvars,
        cmdline=" ".join(cmdline) or None,
        passwords={},
        timeout=timeout,
        quiet=True,
    )
    return Job(name, runner, pdd)
