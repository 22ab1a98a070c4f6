# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The work behind mlflow_model_train: get the run a rollout registers, training only when nothing has its lineage.

Training kinds: a DVC pipeline, any command that logs an MLflow run, an MLflow
Project, or an existing run (a notebook's). For the first three, the rollout
creates the MLflow run itself and hands it to the project through
``MLFLOW_RUN_ID`` (MLflow's client resumes it), so no project has to write a
file saying which run it logged. The lineage - the project's own lineage
command, or else its git commit, file contents, parameters and data - is a tag
on that run; a finished run with the same lineage is reused instead of training
again.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

from ansible_collections.mlops.platform.plugins.module_utils import _process
from ansible_collections.mlops.platform.plugins.module_utils._api_module import failed_to
from ansible_collections.mlops.platform.plugins.module_utils._mlflow_client import (
    MlflowError,
    MlflowInvalidParameterError,
    MlflowNotFoundError,
    quote_filter_value,
    tags_to_dict,
)
from ansible_collections.mlops.platform.plugins.module_utils._mlflow_lock import LockLostError, RolloutLock

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover - ansible-core needs PyYAML on the controller
    HAS_YAML = False

TAG_LINEAGE = "mlops.lineage"
TAG_PARAMS_HASH = "mlops.params_hash"
TAG_DATA_HASH = "mlops.data_hash"
TAG_ROLLOUT_ID = "mlops.rollout.id"
TAG_GIT = "git_commit"
TAG_WORK_DIR = "mlops.work_dir"
KINDS = ("auto", "dvc", "command", "mlflow_project", "existing_run")
KILL_GRACE = 10.0


class TrainingFailed(MlflowError):
    """The training command failed, timed out, was stopped, or logged no usable run."""


def deep_merge(base, override):
    """``base`` with ``override`` merged in, dicts recursively (neither is changed)."""
    merged = dict(base or {})
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def excluded(relpath, patterns):
    """True when a path relative to the project matches a pattern (the path, or any of its leading parts)."""
    parts = relpath.split(os.sep)
    for index in range(1, len(parts) + 1):
        head = "/".join(parts[:index])
        for pattern in patterns:
            if fnmatch.fnmatch(head, pattern) or ("/" not in pattern and fnmatch.fnmatch(parts[index - 1], pattern)):
                return True
    return False


def project_files(root, patterns):
    """Sorted relative paths of the files of a project, without the excluded ones."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = "" if rel_dir == "." else rel_dir
        dirnames[:] = sorted(d for d in dirnames if not excluded(os.path.join(rel_dir, d) if rel_dir else d, patterns))
        for name in filenames:
            rel = os.path.join(rel_dir, name) if rel_dir else name
            if not excluded(rel, patterns):
                found.append(rel)
    return sorted(found)


def hash_files(root, relpaths, skip=()):
    digest = hashlib.sha256()
    for rel in relpaths:
        if rel in skip:
            continue
        path = os.path.join(root, rel)
        digest.update(rel.encode("utf-8") + b"\0")
        if os.path.islink(path):
            digest.update(os.readlink(path).encode("utf-8"))
            continue
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


def hash_paths(paths):
    """Hash of files and directories outside the project (data the project reads)."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        if os.path.isdir(path):
            digest.update(hash_files(path, project_files(path, [])).encode())
        elif os.path.exists(path):
            digest.update(hash_files(os.path.dirname(path) or ".", [os.path.basename(path)]).encode())
        else:
            raise MlflowInvalidParameterError("data_paths: %s does not exist" % path)
    return digest.hexdigest()


def git_commit(module, path):
    """The commit of the git work tree holding ``path``, else 'unknown'."""
    git = module.get_bin_path("git")
    if not git:
        return "unknown"
    rc, out, _err = module.run_command([git, "-C", path, "rev-parse", "HEAD"])
    return out.strip() if rc == 0 and out.strip() else "unknown"


def detect_kind(project_dir, command):
    if os.path.exists(os.path.join(project_dir, "dvc.yaml")):
        return "dvc"
    if os.path.exists(os.path.join(project_dir, "MLproject")):
        return "mlflow_project"
    if command:
        return "command"
    raise MlflowInvalidParameterError(
        "kind=auto cannot tell how to train %s: it has no dvc.yaml and no MLproject, and command is not set. "
        "Set kind and command (any command that logs an MLflow run), or kind=existing_run" % project_dir)


_ERROR_LINE = re.compile(r"(?i)(\berror\b|exception|traceback|failed)")


def failure_excerpt(text, limit=1500):
    """The lines of a failed command's output that say what went wrong, joined with ' | '."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    picked = []
    keep_bullets = False
    for line in lines:
        if _ERROR_LINE.search(line):
            picked.append(line.strip())
            keep_bullets = True
        elif keep_bullets and re.match(r"^\s+(-|\*)\s", line):
            picked.append(line.strip())
        else:
            keep_bullets = False
    if not picked:
        picked = [line.strip() for line in lines[-8:]]
    text = " | ".join(dict.fromkeys(picked))
    return text if len(text) <= limit else "... " + text[-limit:]


def last_stage(text):
    """The DVC stage that failed: from 'failed to reproduce <stage>', else the last 'Running stage <stage>'."""
    failed = re.findall(r"failed to reproduce '([^']+)'", text)
    if failed:
        return failed[-1]
    stages = re.findall(r"Running stage '([^']+)'", text)
    return stages[-1] if stages else None


class Trainer(object):
    def __init__(self, module, sleep=time.sleep, clock=time.time):
        self.module = module
        self.p = module.params
        self.client = module.client
        self.sleep = sleep
        self.clock = clock

    # ---------------------------------------------------------------- helpers

    def experiment_id(self, create):
        name = self.p["experiment"]
        try:
            return self.client.get_experiment_by_name(name)["experiment_id"]
        except MlflowNotFoundError:
            if not create:
                return None
        try:
            return self.client.create_experiment(name)
        except MlflowError as exc:
            raise failed_to("create the experiment %r" % name, exc)

    def params(self, project_dir):
        """(effective parameters, params file name or None)."""
        name = self.p["params_file"]
        path = os.path.join(project_dir, name) if name else None
        base = {}
        if path and os.path.exists(path):
            if not HAS_YAML:
                raise MlflowInvalidParameterError("reading %s needs PyYAML on the host that trains" % path)
            with open(path) as handle:
                base = yaml.safe_load(handle) or {}
            if not isinstance(base, dict):
                raise MlflowInvalidParameterError("params_file %s must hold a mapping, got %s"
                                                  % (path, type(base).__name__))
            return deep_merge(base, self.p["params"]), name
        return dict(self.p["params"] or {}), None

    def lineage(self, project_dir, kind, params, params_file, env):
        """{lineage, params_hash, data_hash, git_commit}: what makes a rerun reuse a run instead of training."""
        commit = git_commit(self.module, project_dir)
        params_hash = hashlib.sha256(canonical(params).encode()).hexdigest()
        if self.p["lineage_command"]:
            out = self.run_quick(self.p["lineage_command"], project_dir, env, "lineage_command")
            try:
                reported = json.loads(out)
            except ValueError:
                raise MlflowInvalidParameterError("lineage_command must print a JSON object, printed %r" % out[:200])
            if not isinstance(reported, dict):
                raise MlflowInvalidParameterError("lineage_command must print a JSON object, printed %r" % out[:200])
            data_hash = str(reported.get("data_hash") or reported.get("dvc_data_hash") or "")
            basis = {"reported": reported, "params": params}
        else:
            files = project_files(project_dir, self.p["exclude"])
            data_hash = hash_paths(self.p["data_paths"]) if self.p["data_paths"] else ""
            basis = {"files": hash_files(project_dir, files, skip=(params_file,) if params_file else ()),
                     "params": params, "data": data_hash, "git": commit}
        basis.update(kind=kind, command=self.p["command"], entry_point=self.p["entry_point"])
        return {"lineage": hashlib.sha256(canonical(basis).encode()).hexdigest(), "params_hash": params_hash,
                "data_hash": data_hash, "git_commit": commit}

    def run_quick(self, command, cwd, env, option):
        argv = command if isinstance(command, list) else ["/bin/sh", "-c", command]
        extra = dict((k, v) for k, v in env.items() if os.environ.get(k) != v)
        rc, out, err = self.module.run_command(argv, cwd=cwd, environ_update=extra)
        if rc != 0:
            raise TrainingFailed("%s exited %d: %s" % (option, rc, failure_excerpt(err + "\n" + out)), "TRAINING_FAILED")
        return out.strip()

    def environment(self, extra=None):
        p = self.p
        env = dict(os.environ)
        for key in [k for k in env if k.startswith("MLFLOW_")]:
            del env[key]
        if p["python_bin_dir"]:
            env["PATH"] = p["python_bin_dir"] + os.pathsep + env.get("PATH", "")
        env["MLFLOW_TRACKING_URI"] = self.client.base_url
        for option, variable in (("username", "MLFLOW_TRACKING_USERNAME"), ("password", "MLFLOW_TRACKING_PASSWORD"),
                                 ("token", "MLFLOW_TRACKING_TOKEN")):
            if p.get(option):
                env[variable] = p[option]
        if p.get("validate_certs") is False:
            env["MLFLOW_TRACKING_INSECURE_TLS"] = "true"
        if p.get("ca_path"):
            env["MLFLOW_TRACKING_SERVER_CERT_PATH"] = p["ca_path"]
        env["MLFLOW_EXPERIMENT_NAME"] = p["experiment"]
        env["MLOPS_PARAMS"] = canonical(p["params"] or {})
        env["PYTHONUNBUFFERED"] = "1"
        if p["rollout_id"]:
            env["MLOPS_ROLLOUT_ID"] = p["rollout_id"]
        env.update(dict((str(k), str(v)) for k, v in (p["environment"] or {}).items()))
        env.update(extra or {})
        return env

    def find_reusable(self, experiment_id, lineage):
        if experiment_id is None:
            return None
        runs = self.client.search_runs(
            [experiment_id], "attributes.status = 'FINISHED' and tags.`%s` = %s" % (TAG_LINEAGE, quote_filter_value(lineage)),
            ["attributes.start_time DESC"], limit=1)
        return runs[0] if runs else None

    # ---------------------------------------------------------------- the kinds

    def existing_run(self):
        p = self.p
        if p["run_id"]:
            try:
                run = self.client.get_run(p["run_id"])
            except MlflowNotFoundError:
                raise MlflowNotFoundError("Run %r does not exist" % p["run_id"], "RESOURCE_DOES_NOT_EXIST", 404)
            how = "run %s" % p["run_id"]
        else:
            experiment_id = self.experiment_id(create=False)
            if experiment_id is None:
                raise MlflowNotFoundError("Experiment %r does not exist: no run to adopt" % p["experiment"],
                                          "RESOURCE_DOES_NOT_EXIST", 404)
            where = "attributes.status = 'FINISHED'" + (" and (%s)" % p["run_filter"] if p["run_filter"] else "")
            runs = self.client.search_runs([experiment_id], where, p["run_order_by"] or ["attributes.start_time DESC"],
                                           limit=1)
            if not runs:
                raise MlflowNotFoundError("No finished run of experiment %r matches %s" % (
                    p["experiment"], p["run_filter"] or "(any)"), "RESOURCE_DOES_NOT_EXIST", 404)
            run = runs[0]
            how = "the best finished run of experiment %r by %s" % (
                p["experiment"], ", ".join(p["run_order_by"] or ["start time"]))
        info = run["info"]
        if info.get("status") != "FINISHED":
            raise MlflowInvalidParameterError("Run %s is %s, not FINISHED: only a finished run is rolled out"
                                              % (info["run_id"], info.get("status")))
        return {"changed": False, "run_id": info["run_id"], "experiment_id": info.get("experiment_id"),
                "kind": "existing_run", "reused": True, "trained": False, "lineage": None,
                "msg": "Adopted %s (%s)" % (info["run_id"], how)}

    def command_for(self, kind, work_dir, experiment_id, run_id):
        p = self.p
        if kind == "dvc":
            return list(p["dvc_command"])
        if kind == "mlflow_project":
            mlflow = os.path.join(p["python_bin_dir"], "mlflow") if p["python_bin_dir"] else "mlflow"
            argv = [mlflow, "run", work_dir, "--env-manager", p["env_manager"], "--experiment-id", str(experiment_id),
                    "--run-id", run_id]
            if p["entry_point"]:
                argv += ["-e", p["entry_point"]]
            for key, value in sorted(_flat(p["params"] or {}).items()):
                argv += ["-P", "%s=%s" % (key, value)]
            return argv
        command = p["command"]
        if not command:
            raise MlflowInvalidParameterError("kind=command needs command (a list of arguments, or a shell string)")
        return command if isinstance(command, list) else ["/bin/sh", "-c", command]

    def copy_project(self, project_dir, work_dir, params, params_file):
        if os.path.realpath(project_dir) == os.path.realpath(work_dir):
            return
        if os.path.exists(work_dir):
            shutil.rmtree(work_dir)
        parent = os.path.dirname(work_dir.rstrip("/")) or "."
        if not os.path.isdir(parent):
            os.makedirs(parent, 0o750)
        staging = tempfile.mkdtemp(prefix=".copy-", dir=parent)
        try:
            for rel in project_files(project_dir, self.p["exclude"]):
                source = os.path.join(project_dir, rel)
                target = os.path.join(staging, rel)
                if not os.path.isdir(os.path.dirname(target)):
                    os.makedirs(os.path.dirname(target))
                if os.path.islink(source):
                    os.symlink(os.readlink(source), target)
                else:
                    shutil.copy2(source, target)
            if params_file:
                with open(os.path.join(staging, params_file), "w") as handle:
                    yaml.safe_dump(params, handle, default_flow_style=False, sort_keys=False)
            os.rename(staging, work_dir)
        except Exception:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def prune_work_dirs(self, work_dir, project_dir):
        """Keep the newest ``keep_work_dirs`` earlier work directories beside ``work_dir``; remove older ones."""
        keep = self.p["keep_work_dirs"]
        parent = os.path.dirname(work_dir.rstrip("/"))
        if not keep or not os.path.isdir(parent) or os.path.realpath(work_dir) == os.path.realpath(project_dir):
            return
        siblings = []
        for name in os.listdir(parent):
            path = os.path.join(parent, name)
            if path != work_dir and os.path.isdir(path) and not name.startswith(".") and \
                    os.path.exists(os.path.join(path, ".mlops-train.log")):
                siblings.append((os.path.getmtime(path), path))
        for _mtime, path in sorted(siblings, reverse=True)[keep:]:
            shutil.rmtree(path, ignore_errors=True)

    def configure_dvc(self, work_dir):
        lines = []
        if self.p["dvc_remote"]:
            if not os.path.isdir(self.p["dvc_remote"]) and "://" not in self.p["dvc_remote"]:
                os.makedirs(self.p["dvc_remote"], 0o750)
            lines += ['[\'remote "mlops"\']', "    url = %s" % self.p["dvc_remote"], "[core]", "    remote = mlops"]
        if self.p["dvc_cache_dir"]:
            if not os.path.isdir(self.p["dvc_cache_dir"]):
                os.makedirs(self.p["dvc_cache_dir"], 0o750)
            lines += ["[cache]", "    dir = %s" % self.p["dvc_cache_dir"]]
        if lines:
            if not os.path.isdir(os.path.join(work_dir, ".dvc")):
                os.makedirs(os.path.join(work_dir, ".dvc"))
            with open(os.path.join(work_dir, ".dvc", "config.local"), "w") as handle:
                handle.write("\n".join(lines) + "\n")

    def supervise(self, argv, cwd, env, log_path, what):
        """Run ``argv`` in its own process group; stop it when Ansible goes away, on timeout, or on a lost lock."""
        p = self.p
        chain = _process.ancestors()
        lock = RolloutLock(self.client, p["name"]) if p["lock_token"] else None
        renew_every = max(5.0, p["lock_ttl"] / 3.0)
        started = self.clock()
        next_renewal = started + renew_every
        with open(log_path, "wb") as log:
            try:
                # Not run_command: the command needs a process group of its own, and this loop must watch it.
                proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,  # pylint: disable=ansible-bad-function
                                        stdin=subprocess.DEVNULL, start_new_session=True)
            except OSError as exc:
                raise TrainingFailed("The training command %s could not start: %s" % (argv[0], exc))
            stop = None
            while proc.poll() is None:
                now = self.clock()
                gone = _process.gone(chain)
                if gone is not None:
                    stop = "Ansible (process %d) went away" % gone[0]
                elif p["train_timeout"] and now - started > p["train_timeout"]:
                    stop = "it ran longer than train_timeout (%ds)" % p["train_timeout"]
                elif lock is not None and now >= next_renewal:
                    try:
                        lock.check(p["lock_token"], p["lock_ttl"])
                    except LockLostError as exc:
                        stop = str(exc)
                    except MlflowError as exc:
                        self.module.warn("Could not renew the rollout lock while training: %s" % exc)
                    next_renewal = now + renew_every
                if stop:
                    _stop(proc)
                    break
                try:
                    proc.wait(timeout=0.5)  # returns as soon as the command ends
                except subprocess.TimeoutExpired:
                    pass
        with open(log_path, "rb") as log:
            output = log.read().decode("utf-8", "replace")
        return proc.returncode, output, stop, self.clock() - started

    def mark_run(self, run_id, status, note=None):
        try:
            if note:
                self.client.set_run_tag(run_id, "mlops.note", note)
            self.client.update_run(run_id, status, int(self.clock() * 1000))
        except MlflowError as exc:
            self.module.warn("Could not mark run %s %s: %s" % (run_id, status, exc))

    # ---------------------------------------------------------------- main

    def train(self):
        p = self.p
        if p["kind"] == "existing_run":
            return self.existing_run()
        project_dir = p["project_dir"]
        if not project_dir or not os.path.isdir(project_dir):
            raise MlflowInvalidParameterError(
                "project_dir %s does not exist or is not a directory: point it at the model project" % project_dir)
        kind = detect_kind(project_dir, p["command"]) if p["kind"] == "auto" else p["kind"]
        if kind == "dvc" and not os.path.exists(os.path.join(project_dir, "dvc.yaml")):
            raise MlflowInvalidParameterError(
                "project_dir %s is not a DVC project: it has no dvc.yaml. Set kind (command, mlflow_project or "
                "existing_run) for a project without DVC" % project_dir)
        if kind == "mlflow_project" and not os.path.exists(os.path.join(project_dir, "MLproject")):
            raise MlflowInvalidParameterError("project_dir %s has no MLproject file (kind=mlflow_project)" % project_dir)
        if kind == "command" and not p["command"]:
            raise MlflowInvalidParameterError("kind=command needs command (a list of arguments, or a shell string)")
        work_dir = p["work_dir"] or project_dir
        params, params_file = self.params(project_dir)
        env = self.environment()
        lineage = self.lineage(project_dir, kind, params, params_file, env)
        try:
            experiment_id = self.experiment_id(create=not self.module.check_mode)
            reusable = self.find_reusable(experiment_id, lineage["lineage"]) if p["reuse"] else None
        except MlflowError as exc:
            raise failed_to("look for a finished run of the same lineage in experiment %r" % p["experiment"], exc)
        base = {"kind": kind, "lineage": lineage, "experiment_id": experiment_id, "work_dir": work_dir}
        if reusable is not None:
            run_id = reusable["info"]["run_id"]
            earlier = tags_to_dict(reusable.get("data", {}).get("tags")).get(TAG_WORK_DIR)
            base["work_dir"] = earlier if earlier and os.path.isdir(earlier) else None
            base.update(changed=False, run_id=run_id, reused=True, trained=False,
                        msg="Reused run %s: it has the same code, data and parameters (lineage %s)"
                        % (run_id, lineage["lineage"][:12]))
            return base
        if self.module.check_mode:
            base.update(changed=True, run_id=None, reused=False, trained=False, would_train=True,
                        msg="Check mode: no finished run has this lineage (%s), so a real run would train with %s; "
                            "nothing more can be predicted without training" % (lineage["lineage"][:12], kind))
            return base

        tags = {TAG_LINEAGE: lineage["lineage"], TAG_PARAMS_HASH: lineage["params_hash"],
                TAG_GIT: lineage["git_commit"], "mlops.model": p["name"], "mlops.training_kind": kind}
        if lineage["data_hash"]:
            tags[TAG_DATA_HASH] = lineage["data_hash"]
        if p["rollout_id"]:
            tags[TAG_ROLLOUT_ID] = p["rollout_id"]
        if work_dir != project_dir:
            tags[TAG_WORK_DIR] = work_dir
        tags.update(dict((str(k), str(v)) for k, v in (p["tags"] or {}).items()))
        try:
            run = self.client.create_run(experiment_id, "%s-%s" % (p["name"], lineage["lineage"][:8]),
                                         int(self.clock() * 1000), tags)
        except MlflowError as exc:
            raise failed_to("create the training run in experiment %r" % p["experiment"], exc)
        run_id = run["info"]["run_id"]
        self.prune_work_dirs(work_dir, project_dir)
        self.copy_project(project_dir, work_dir, params, params_file)
        if kind == "dvc":
            self.configure_dvc(work_dir)
        extra = {"MLFLOW_RUN_ID": run_id, "MLFLOW_EXPERIMENT_ID": str(experiment_id), "GIT_COMMIT": lineage["git_commit"]}
        if params_file:
            extra["MLOPS_PARAMS_FILE"] = os.path.join(work_dir, params_file)
        env = self.environment(extra)
        if kind == "mlflow_project":
            del env["MLFLOW_EXPERIMENT_NAME"]  # `mlflow run` refuses both the experiment's name and its id
        argv = self.command_for(kind, work_dir, experiment_id, run_id)
        log_path = os.path.join(work_dir, ".mlops-train.log")
        started_ms = int(self.clock() * 1000)
        rc, output, stopped, seconds = self.supervise(argv, work_dir, env, log_path, kind)
        if stopped or rc != 0:
            self.mark_run(run_id, "KILLED" if stopped else "FAILED",
                          "training %s" % ("stopped: " + stopped if stopped else "exited %d" % rc))
            stage = last_stage(output)
            raise TrainingFailed(
                "Training failed in %s (%s%s %s): %s. Nothing was registered." % (
                    work_dir, " ".join(argv[:3]), " ..." if len(argv) > 3 else "",
                    ("was stopped: " + stopped) if stopped else "exited %d%s" % (
                        rc, ", stage '%s'" % stage if stage else ""),
                    failure_excerpt(output) or "no output"), "TRAINING_FAILED")
        if kind == "dvc" and self.p["dvc_remote"] and self.p["dvc_push"]:
            push_rc, push_out, push_stop, _s = self.supervise(["dvc", "push"], work_dir, env,
                                                              os.path.join(work_dir, ".mlops-push.log"), "dvc push")
            if push_rc != 0 or push_stop:
                self.module.warn("dvc push failed: %s" % failure_excerpt(push_out))
        run_id = self.settle_run(run_id, experiment_id, started_ms, tags)
        base.update(changed=True, run_id=run_id, reused=False, trained=True, seconds=round(seconds, 1),
                    log=log_path, msg="Trained run %s with %s in %.1fs" % (run_id, kind, seconds))
        return base

    def settle_run(self, run_id, experiment_id, started_ms, tags):
        """The run the command logged: ours when it resumed it (MLFLOW_RUN_ID), else the one it created."""
        try:
            run = self.client.get_run(run_id)
            status = run["info"].get("status")
            if status == "FINISHED":
                return run_id
            if status != "RUNNING":
                raise TrainingFailed("Training run %s ended %s" % (run_id, status), "TRAINING_FAILED")
            own = [r for r in self.client.search_runs(
                [experiment_id], "attributes.start_time >= %d" % started_ms, ["attributes.start_time DESC"], limit=10)
                if r["info"]["run_id"] != run_id and r["info"].get("status") == "FINISHED"]
            if not own:
                # The command used our run but did not end it (no end_run): the run is complete now.
                self.client.update_run(run_id, "FINISHED", int(self.clock() * 1000))
                return run_id
            adopted = own[0]["info"]["run_id"]
            for key, value in sorted(tags.items()):
                if tags_to_dict(own[0].get("data", {}).get("tags")).get(key) != value:
                    self.client.set_run_tag(adopted, key, value)
            self.mark_run(run_id, "KILLED", "unused: the training command logged to run %s instead" % adopted)
            return adopted
        except TrainingFailed:
            raise
        except MlflowError as exc:
            raise failed_to("read the training run %s" % run_id, exc)


def _flat(params, prefix=""):
    out = {}
    for key, value in params.items():
        name = "%s.%s" % (prefix, key) if prefix else str(key)
        if isinstance(value, dict):
            out.update(_flat(value, name))
        else:
            out[name] = value
    return out


def _stop(proc):
    """SIGTERM the process group, SIGKILL it after a grace period."""
    for sig, wait in ((signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except OSError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def train(module):
    return Trainer(module).train()
