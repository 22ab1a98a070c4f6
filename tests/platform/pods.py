"""Run the containers of a rendered pod spec as local processes, the way the kubelet would start them.

The platform tier renders the mlflow role's Deployments, Jobs and CronJobs (render.yml) and runs their containers'
commands here against real servers on 127.0.0.1, so what runs is what the role wrote:

* the environment is built as Kubernetes builds it: ``envFrom`` (Secrets, ConfigMaps) first, then ``env`` in
  order, ``valueFrom.secretKeyRef`` read from the Secrets given, and ``$(VAR)`` references expanded with the
  variables defined before (in ``command``/``args``: with all of them); nothing of the test's own environment
  leaks in (no AWS or MLflow variables), only PATH, LANG and the tools' locations;
* every volume a container mounts must be given a local directory; a path in ``command``, ``args`` or an
  environment value under a ``mountPath`` is rewritten to that directory;
* the image's programs are the local ones: ``mlflow`` and ``python`` of the test venv (the MLflow image), the
  PostgreSQL client tools of /usr/lib/postgresql/<major>/bin (the PostgreSQL image), ``/bin/sh``;
* init containers run first, in order, each to completion; a failing one stops the pod (as restartPolicy Never).
"""

import os
import re
import subprocess
import sys

REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def expand(value, env):
    return REFERENCE.sub(lambda m: env.get(m.group(1), m.group(0)), value)


class PodError(AssertionError):
    pass


class Pod:
    def __init__(self, spec, secrets, volumes, pg_bindir, configmaps=None):
        self.spec = spec
        self.secrets = secrets
        self.configmaps = configmaps or {}
        self.volumes = volumes
        self.pg_bindir = pg_bindir
        declared = {v["name"] for v in spec.get("volumes", [])}
        for container in spec.get("initContainers", []) + spec["containers"]:
            for mount in container.get("volumeMounts", []):
                if mount["name"] not in declared:
                    raise PodError("container %s mounts %s, which the pod does not declare" % (container["name"], mount["name"]))

    def container(self, name):
        for container in self.spec.get("initContainers", []) + self.spec["containers"]:
            if container["name"] == name:
                return container
        raise PodError("no container %s in the pod" % name)

    def environment(self, container):
        env = {}
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                env.update(self._lookup(self.secrets, "Secret", source["secretRef"]["name"]))
            elif "configMapRef" in source:
                env.update(self._lookup(self.configmaps, "ConfigMap", source["configMapRef"]["name"]))
        for item in container.get("env", []):
            if "value" in item:
                env[item["name"]] = expand(item["value"], env)
            else:
                ref = item["valueFrom"]["secretKeyRef"]
                data = self._lookup(self.secrets, "Secret", ref["name"])
                if ref["key"] not in data:
                    raise PodError("the Secret %s has no key %s (env %s)" % (ref["name"], ref["key"], item["name"]))
                env[item["name"]] = data[ref["key"]]
        return env

    @staticmethod
    def _lookup(store, kind, name):
        if name not in store:
            raise PodError("the %s %s is not given to the pod" % (kind, name))
        return store[name]

    def mounts(self, container):
        found = {}
        for mount in container.get("volumeMounts", []):
            if mount["name"] not in self.volumes:
                raise PodError("no local directory for the volume %s (%s)" % (mount["name"], mount["mountPath"]))
            found[mount["mountPath"]] = self.volumes[mount["name"]]
        return found

    @staticmethod
    def _rewrite(value, mounts):
        for path in sorted(mounts, key=len, reverse=True):
            if value == path or value.startswith(path + "/"):
                return mounts[path] + value[len(path):]
        return value

    def _program(self, name):
        if name in ("mlflow", "python"):
            return os.path.join(os.path.dirname(sys.executable), name) if name == "mlflow" else sys.executable
        return name

    def command(self, container, overrides=None):
        """argv and environment of a container; overrides maps an option (--host) to the value to use instead."""
        env = self.environment(container)
        mounts = self.mounts(container)
        argv = [expand(a, env) for a in container.get("command", []) + container.get("args", [])]
        argv = [self._rewrite(a, mounts) for a in argv]
        argv[0] = self._program(argv[0])
        for option, value in (overrides or {}).items():
            if option not in argv:
                raise PodError("the container %s has no %s option: %s" % (container["name"], option, argv))
            argv[argv.index(option) + 1] = value
        env = {k: self._rewrite(v, mounts) for k, v in env.items()}
        env["PATH"] = os.pathsep.join([self.pg_bindir, os.path.dirname(sys.executable), "/usr/bin", "/bin"])
        env.setdefault("LANG", "C.UTF-8")
        # No AWS configuration but what the container's environment holds.
        env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
        return argv, env

    def run(self, timeout=300):
        """Runs the init containers, then the containers, each to completion. Returns {name: CompletedProcess}."""
        results = {}
        for container in self.spec.get("initContainers", []) + self.spec["containers"]:
            argv, env = self.command(container)
            proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, check=False)
            results[container["name"]] = proc
            if proc.returncode != 0:
                break
        return results
