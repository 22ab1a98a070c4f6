"""Run a rendered Tekton Pipeline's steps on this machine, outside containers, in the order Tekton would.

Not Tekton: a small interpreter of the parts of tekton.dev/v1 the role's Pipeline uses, so that the scripts the
role ships run for real. What it does:
- orders the pipeline tasks by runAfter and $(tasks.<t>.results.<r>) references (ties: the order in the Pipeline),
  runs `finally` tasks last; a failed task skips every task not run yet (Tekton skips its dependants; every later
  task of this Pipeline depends on the one before), `when` expressions (in / notin) skip a task;
- resolves taskRef by name or through the cluster resolver (kind task) among the given objects;
- substitutes $(params.x), $(workspaces.w.path), $(results.r.path), $(tasks.t.results.r), $(tasks.status),
  $(context.pipelineRun.name) in params, env and scripts; any other $(...) Tekton variable is an error, as is a
  param without a value;
- env: the host's (PATH and so on) below the Task's stepTemplate below the step's; valueFrom.secretKeyRef and
  envFrom.secretRef read the given Secrets (optional ones may be missing); every volumeMount's mountPath is a
  fresh directory per task, and env values under a mountPath point into it;
- a step is its script, run as an executable file (its shebang), in a fresh working directory.
"""

import os
import re
import stat
import subprocess

VARIABLE = re.compile(r"\$\(([^()]+)\)")
TEKTON_PREFIXES = ("params.", "workspaces.", "results.", "tasks.", "context.", "steps.", "step.")


class StepRunError(AssertionError):
    pass


class Outcome:
    def __init__(self, name):
        self.name = name
        self.status = "NotRun"    # Succeeded, Failed, Skipped
        self.reason = ""
        self.steps = []           # (step name, exit code, output)
        self.results = {}

    def output(self):
        return "\n".join(out for _n, _rc, out in self.steps)

    def __repr__(self):
        return "<%s %s %s>" % (self.name, self.status, self.results)


class PipelineRunner:
    def __init__(self, objects, pipeline, params, workspaces, root, secrets=None, env=None, run_name="local-run",
                 timeout=1800):
        self.objects = objects
        self.pipeline = self.find("Pipeline", pipeline)
        self.params = self.pipeline_params(params)
        self.workspaces = workspaces
        self.root = root
        self.secrets = secrets or {}
        self.env = env or dict(os.environ)
        self.run_name = run_name
        self.timeout = timeout
        self.outcomes = {}
        self.order = []

    # -- objects -------------------------------------------------------------------------------------------
    def find(self, kind, name):
        for obj in self.objects:
            if obj["kind"] == kind and obj["metadata"]["name"] == name:
                return obj
        raise StepRunError("no %s %s among the rendered objects" % (kind, name))

    def task_spec(self, ptask):
        ref = ptask.get("taskRef")
        if ptask.get("taskSpec"):
            return ptask["taskSpec"]
        if ref.get("resolver") == "cluster":
            args = dict((p["name"], p["value"]) for p in ref.get("params", []))
            if args.get("kind", "task") != "task":
                raise StepRunError("cluster resolver kind %s is not a task" % args.get("kind"))
            return self.find("Task", args["name"])["spec"]
        if ref.get("resolver"):
            raise StepRunError("resolver %s cannot be run here" % ref["resolver"])
        return self.find("Task", ref["name"])["spec"]

    def pipeline_params(self, given):
        values = {}
        for spec in self.pipeline["spec"].get("params", []):
            if spec["name"] in given:
                values[spec["name"]] = given[spec["name"]]
            elif "default" in spec:
                values[spec["name"]] = spec["default"]
            else:
                raise StepRunError("pipeline param %s has no value" % spec["name"])
        unknown = sorted(set(given) - set(values))
        if unknown:
            raise StepRunError("the Pipeline declares no param %s" % ", ".join(unknown))
        return values

    # -- substitution -----------------------------------------------------------------------------------------
    def substitute(self, text, scope, where):
        def replace(match):
            name = match.group(1)
            if name in scope:
                return scope[name]
            if name.startswith(TEKTON_PREFIXES):
                raise StepRunError("%s: unknown or unavailable variable $(%s)" % (where, name))
            return match.group(0)  # $(command) substitution of a shell, not Tekton's
        return VARIABLE.sub(replace, text)

    def pipeline_scope(self):
        scope = dict(("params." + k, v) for k, v in self.params.items())
        for name, outcome in self.outcomes.items():
            for key, value in outcome.results.items():
                scope["tasks.%s.results.%s" % (name, key)] = value
            scope["tasks.%s.status" % name] = outcome.status if outcome.status != "Skipped" else "None"
        failed = any(o.status == "Failed" for o in self.outcomes.values())
        scope["tasks.status"] = "Failed" if failed else "Succeeded"
        scope["context.pipelineRun.name"] = self.run_name
        return scope

    # -- order ------------------------------------------------------------------------------------------------
    def ordered_tasks(self):
        tasks = self.pipeline["spec"]["tasks"]
        needs = {}
        for task in tasks:
            deps = set(task.get("runAfter", []))
            text = repr(task.get("params", [])) + repr(task.get("when", []))
            deps |= set(m for m in re.findall(r"\$\(tasks\.([a-z0-9-]+)\.results\.", text))
            needs[task["name"]] = deps
        done, order = set(), []
        while len(order) < len(tasks):
            ready = [t for t in tasks if t["name"] not in done and needs[t["name"]] <= done]
            if not ready:
                raise StepRunError("the Pipeline's tasks have a cycle or a missing dependency: %s" % needs)
            order.append(ready[0])
            done.add(ready[0]["name"])
        return order

    # -- running ----------------------------------------------------------------------------------------------
    def run(self):
        stopped = False
        for ptask in self.ordered_tasks():
            outcome = Outcome(ptask["name"])
            self.outcomes[ptask["name"]] = outcome
            self.order.append(ptask["name"])
            if stopped:
                outcome.status, outcome.reason = "Skipped", "PipelineRun was stopping"
                continue
            self.run_task(ptask, outcome)
            stopped = outcome.status == "Failed"
        for ptask in self.pipeline["spec"].get("finally", []):
            outcome = Outcome(ptask["name"])
            self.outcomes[ptask["name"]] = outcome
            self.order.append(ptask["name"])
            self.run_task(ptask, outcome)
        return self

    def when_holds(self, ptask, scope):
        for expr in ptask.get("when", []):
            value = self.substitute(expr["input"], scope, "%s when" % ptask["name"])
            inside = value in expr["values"]
            if inside != (expr["operator"] == "in"):
                return False
        return True

    def run_task(self, ptask, outcome):
        scope = self.pipeline_scope()
        if not self.when_holds(ptask, scope):
            outcome.status, outcome.reason = "Skipped", "WhenExpressionsSkip"
            return
        spec = self.task_spec(ptask)
        given = dict((p["name"], self.substitute(p["value"], scope, "%s params" % ptask["name"]))
                     for p in ptask.get("params", []))
        tscope = {}
        for pspec in spec.get("params", []):
            if pspec["name"] in given:
                tscope["params." + pspec["name"]] = given.pop(pspec["name"])
            elif "default" in pspec:
                tscope["params." + pspec["name"]] = pspec["default"]
            else:
                raise StepRunError("%s: Task param %s has no value" % (ptask["name"], pspec["name"]))
        if given:
            raise StepRunError("%s: the Task declares no param %s" % (ptask["name"], ", ".join(sorted(given))))
        bound = dict((w["name"], w["workspace"]) for w in ptask.get("workspaces", []))
        for wspec in spec.get("workspaces", []):
            if wspec["name"] in bound:
                tscope["workspaces.%s.path" % wspec["name"]] = self.workspaces[bound[wspec["name"]]]
            elif not wspec.get("optional"):
                raise StepRunError("%s: workspace %s is not bound" % (ptask["name"], wspec["name"]))
        task_dir = os.path.join(self.root, "tasks", ptask["name"])
        results_dir = os.path.join(task_dir, "results")
        os.makedirs(results_dir, exist_ok=True)
        for rspec in spec.get("results", []):
            tscope["results.%s.path" % rspec["name"]] = os.path.join(results_dir, rspec["name"])
        tscope["context.pipelineRun.name"] = self.run_name
        template = spec.get("stepTemplate", {})
        for step in spec["steps"]:
            rc, out = self.run_step(ptask["name"], task_dir, step, template, tscope)
            outcome.steps.append((step["name"], rc, out))
            if rc != 0:
                outcome.status = "Failed"
                outcome.reason = '"step-%s" exited with code %d' % (step["name"], rc)
                return
        for rspec in spec.get("results", []):
            path = os.path.join(results_dir, rspec["name"])
            if os.path.exists(path):
                with open(path) as handle:
                    outcome.results[rspec["name"]] = handle.read()
        outcome.status = "Succeeded"

    def env_value(self, item, where):
        source = item.get("valueFrom")
        if not source:
            return item.get("value", "")
        ref = source.get("secretKeyRef")
        if not ref:
            raise StepRunError("%s: env %s: only secretKeyRef is supported here" % (where, item["name"]))
        data = self.secrets.get(ref["name"])
        if data is None or ref["key"] not in data:
            if ref.get("optional"):
                return None
            raise StepRunError("%s: env %s: Secret %s has no key %s" % (where, item["name"], ref["name"], ref["key"]))
        return data[ref["key"]]

    def run_step(self, task, task_dir, step, template, scope):
        where = "%s step %s" % (task, step["name"])
        mounts = {}
        for mount in template.get("volumeMounts", []) + step.get("volumeMounts", []):
            local = os.path.join(task_dir, "volumes", mount["name"])
            os.makedirs(local, exist_ok=True)
            mounts[mount["mountPath"]] = local
        env = dict(self.env)
        for source in template.get("envFrom", []) + step.get("envFrom", []):
            ref = source["secretRef"]
            data = self.secrets.get(ref["name"])
            if data is None and not ref.get("optional"):
                raise StepRunError("%s: envFrom Secret %s does not exist" % (where, ref["name"]))
            env.update(data or {})
        for item in template.get("env", []) + step.get("env", []):
            value = self.env_value(item, where)
            if value is None:
                env.pop(item["name"], None)
                continue
            value = self.substitute(value, scope, "%s env %s" % (where, item["name"]))
            for path, local in mounts.items():
                if value == path or value.startswith(path + "/"):
                    value = local + value[len(path):]
            env[item["name"]] = value
        script = self.substitute(step["script"], scope, where + " script")
        if not script.startswith("#!"):
            script = "#!/bin/sh\n" + script
        path = os.path.join(task_dir, "step-%s.sh" % step["name"])
        with open(path, "w") as handle:
            handle.write(script)
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
        cwd = os.path.join(task_dir, "cwd-%s" % step["name"])
        os.makedirs(cwd, exist_ok=True)
        proc = subprocess.run([path], cwd=cwd, env=env, capture_output=True, text=True, timeout=self.timeout,
                              check=False)
        return proc.returncode, proc.stdout + proc.stderr
