# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small Kubernetes API client on the collection's one HTTP layer.

Private to the collection. It exists for speed: a ``kubernetes.core`` module imports the whole ``kubernetes``
package (about 900 model classes, ~0.4 s) and builds a dynamic client on every task, about 1 s a task here; the
platform's roles read and apply through a handful of such tasks per component. This client speaks the REST API
directly - discovery of only the group-versions it needs, server-side apply as ``application/apply-patch+yaml``,
one thread pool for the objects of a call - and reads the same connection settings as ``kubernetes.core``
(kubeconfig file or dict with its context, host + api_key, client certificates, in-cluster service account,
``K8S_AUTH_*`` environment variables, exec credential plugins).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import atexit
import base64
import json
import os
import shutil
import tempfile

from ansible.module_utils.six.moves.urllib.parse import quote

from ansible_collections.mlops.platform.plugins.module_utils._http_client import (
    ApiClient,
    ApiInvalidParameterError,
    ApiNotFoundError,
)

IN_CLUSTER_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"
IN_CLUSTER_CA = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"

# The connection options, named as kubernetes.core names them (module_defaults for group/mlops.platform.kubernetes,
# which extends group/kubernetes.core.k8s, sets both collections' modules at once).
KUBE_CONNECTION_ARGSPEC = dict(
    kubeconfig=dict(type="raw"),
    context=dict(type="str"),
    host=dict(type="str"),
    api_key=dict(type="str", no_log=True),
    username=dict(type="str"),
    password=dict(type="str", no_log=True),
    validate_certs=dict(type="bool", aliases=["verify_ssl"]),
    ca_cert=dict(type="path", aliases=["ssl_ca_cert"]),
    client_cert=dict(type="path", aliases=["cert_file"]),
    client_key=dict(type="path", aliases=["key_file"], no_log=False),
    request_timeout=dict(type="int", default=30),
)

# The kubernetes.core environment variables for the options left unset.
ENV_FALLBACK = dict(
    kubeconfig="K8S_AUTH_KUBECONFIG",
    context="K8S_AUTH_CONTEXT",
    host="K8S_AUTH_HOST",
    api_key="K8S_AUTH_API_KEY",
    username="K8S_AUTH_USERNAME",
    password="K8S_AUTH_PASSWORD",
    ca_cert="K8S_AUTH_SSL_CA_CERT",
    client_cert="K8S_AUTH_CERT_FILE",
    client_key="K8S_AUTH_KEY_FILE",
)

# What the API server sets on an object and a manifest never carries: left out when two answers are compared.
VOLATILE_METADATA = ("resourceVersion", "managedFields", "generation", "uid", "creationTimestamp", "selfLink")


class KubeConfigError(ApiInvalidParameterError):
    """The connection settings (kubeconfig, context, credentials) are unusable."""


class _Scratch(object):
    """A private directory (0700) for certificate data a TLS context can only load from files; gone at exit."""

    path = None

    @classmethod
    def write(cls, name, data):
        if cls.path is None:
            cls.path = tempfile.mkdtemp(prefix="mlops-kube-")
            atexit.register(shutil.rmtree, cls.path, True)
        target = os.path.join(cls.path, name)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return target


def _b64(value, what):
    try:
        return base64.b64decode(value)
    except (TypeError, ValueError):
        raise KubeConfigError("the kubeconfig's %s is not base64" % what)


def _load_kubeconfig(source):
    """The merged kubeconfig dict from a path (``a:b`` as $KUBECONFIG lists them), a dict, or None."""
    if isinstance(source, dict):
        return source
    paths = [p for p in str(source).split(os.pathsep) if p]
    merged = {"clusters": [], "users": [], "contexts": []}
    found = False
    for path in paths:
        path = os.path.expanduser(path)
        if not os.path.exists(path):
            continue
        found = True
        try:
            import yaml
        except ImportError:
            yaml = None
        with open(path) as f:
            text = f.read()
        try:
            data = yaml.safe_load(text) if yaml else json.loads(text)
        except Exception as exc:  # a YAML or JSON error: name the file, not the content
            raise KubeConfigError("kubeconfig %s cannot be read: %s" % (path, type(exc).__name__))
        data = data or {}
        if not isinstance(data, dict):
            raise KubeConfigError("kubeconfig %s is not a mapping" % path)
        base = os.path.dirname(os.path.abspath(path))
        for section in ("clusters", "users", "contexts"):
            known = set(e.get("name") for e in merged[section])
            for entry in data.get(section) or []:
                if entry.get("name") in known:
                    continue
                entry = dict(entry)
                entry["_dir"] = base
                merged[section].append(entry)
        if not merged.get("current-context"):
            merged["current-context"] = data.get("current-context")
    if not found:
        raise KubeConfigError("kubeconfig %s does not exist" % ", ".join(paths))
    return merged


def _named(config, section, name, what):
    for entry in config.get(section) or []:
        if entry.get("name") == name:
            return entry
    raise KubeConfigError("the kubeconfig has no %s named %r" % (what, name))


def _file(value, base):
    value = os.path.expanduser(value)
    return value if os.path.isabs(value) or not base else os.path.join(base, value)


def _exec_credential(spec, base, run_command):
    """Token or client certificate from an exec credential plugin (client.authentication.k8s.io)."""
    command = spec.get("command")
    if not command:
        raise KubeConfigError("the kubeconfig's exec credential plugin has no command")
    env = {}
    for item in spec.get("env") or []:
        env[item["name"]] = item["value"]
    env["KUBERNETES_EXEC_INFO"] = json.dumps({
        "apiVersion": spec.get("apiVersion", "client.authentication.k8s.io/v1"),
        "kind": "ExecCredential", "spec": {"interactive": False}})
    argv = [command] + list(spec.get("args") or [])
    if run_command is None:
        raise KubeConfigError("the kubeconfig's exec credential plugin %s cannot run here" % command)
    try:
        rc, stdout, _stderr = run_command(argv, environ_update=env, cwd=base or None)
    except OSError as exc:
        raise KubeConfigError("the kubeconfig's exec credential plugin %s cannot run: %s" % (command, exc.strerror))
    if rc:
        raise KubeConfigError("the kubeconfig's exec credential plugin %s failed (exit %d)" % (command, rc))
    try:
        status = json.loads(stdout).get("status") or {}
    except ValueError:
        raise KubeConfigError("the kubeconfig's exec credential plugin %s printed no ExecCredential" % command)
    return status


def connection_settings(params, environ=None, run_command=None):
    """Resolve the connection as kubernetes.core does: explicit options over the kubeconfig's context.

    Order: host + credentials given -> those (a kubeconfig, when also given, fills what they leave out);
    else a kubeconfig (option, K8S_AUTH_KUBECONFIG, $KUBECONFIG, ~/.kube/config); else the in-cluster service
    account. ``run_command`` (AnsibleModule.run_command) runs an exec credential plugin.
    Returns dict(server, token, username, password, ca_path, client_cert, client_key, validate_certs).
    """
    environ = os.environ if environ is None else environ
    opts = dict((k, params.get(k)) for k in ENV_FALLBACK)
    for key, var in ENV_FALLBACK.items():
        if opts.get(key) in (None, "") and environ.get(var):
            opts[key] = environ[var]
    validate = params.get("validate_certs")
    if validate is None and environ.get("K8S_AUTH_VERIFY_SSL"):
        validate = environ["K8S_AUTH_VERIFY_SSL"].lower() in ("1", "true", "yes", "on")
    out = dict(server=None, token=None, username=None, password=None, ca_path=None, client_cert=None,
               client_key=None, validate_certs=True)

    source = opts.get("kubeconfig")
    explicit_host = bool(opts.get("host"))
    if source in (None, "") and not explicit_host:
        source = environ.get("KUBECONFIG") or "~/.kube/config"
        if not isinstance(source, dict) and not any(os.path.exists(os.path.expanduser(p))
                                                    for p in str(source).split(os.pathsep) if p):
            source = None
            if environ.get("KUBERNETES_SERVICE_HOST") and os.path.exists(IN_CLUSTER_TOKEN):
                host = environ["KUBERNETES_SERVICE_HOST"]
                if ":" in host:
                    host = "[%s]" % host
                out["server"] = "https://%s:%s" % (host, environ.get("KUBERNETES_SERVICE_PORT", "443"))
                with open(IN_CLUSTER_TOKEN) as f:
                    out["token"] = f.read().strip()
                out["ca_path"] = IN_CLUSTER_CA if os.path.exists(IN_CLUSTER_CA) else None
    if source not in (None, ""):
        config = _load_kubeconfig(source)
        name = opts.get("context") or config.get("current-context")
        if not name:
            raise KubeConfigError("the kubeconfig has no current-context; set context")
        context = _named(config, "contexts", name, "context").get("context") or {}
        cluster_entry = _named(config, "clusters", context.get("cluster"), "cluster")
        cluster = cluster_entry.get("cluster") or {}
        base = cluster_entry.get("_dir")
        out["server"] = cluster.get("server")
        if cluster.get("insecure-skip-tls-verify"):
            out["validate_certs"] = False
        if cluster.get("certificate-authority-data"):
            data = _b64(cluster["certificate-authority-data"], "certificate-authority-data")
            out["ca_path"] = _Scratch.write("ca.crt", data)
        elif cluster.get("certificate-authority"):
            out["ca_path"] = _file(cluster["certificate-authority"], base)
        if context.get("user"):
            user_entry = _named(config, "users", context["user"], "user")
            user = user_entry.get("user") or {}
            base = user_entry.get("_dir")
            if user.get("auth-provider"):
                raise KubeConfigError(
                    "the kubeconfig's user %r uses an auth-provider (%s), which mlops.platform's cluster modules do "
                    "not support; use a token or an exec credential plugin"
                    % (context["user"], (user["auth-provider"] or {}).get("name", "unnamed")))
            if user.get("exec"):
                user = dict(user, **_exec_status_as_user(_exec_credential(user["exec"], base, run_command)))
            if user.get("token"):
                out["token"] = user["token"]
            elif user.get("tokenFile"):
                with open(_file(user["tokenFile"], base)) as f:
                    out["token"] = f.read().strip()
            if user.get("username"):
                out["username"], out["password"] = user.get("username"), user.get("password")
            if user.get("client-certificate-data"):
                data = _b64(user["client-certificate-data"], "client-certificate-data")
                out["client_cert"] = _Scratch.write("client.crt", data)
            elif user.get("client-certificate"):
                out["client_cert"] = _file(user["client-certificate"], base)
            if user.get("client-key-data"):
                out["client_key"] = _Scratch.write("client.key", _b64(user["client-key-data"], "client-key-data"))
            elif user.get("client-key"):
                out["client_key"] = _file(user["client-key"], base)
    # explicit options win over the kubeconfig
    if explicit_host:
        out["server"] = opts["host"]
    if opts.get("api_key"):
        out["token"], out["username"], out["password"] = opts["api_key"], None, None
    elif opts.get("username"):
        out["token"], out["username"], out["password"] = None, opts["username"], opts.get("password")
    for key in ("client_cert", "client_key"):
        if opts.get(key):
            out[key] = os.path.expanduser(opts[key])
    if opts.get("ca_cert"):
        out["ca_path"] = os.path.expanduser(opts["ca_cert"])
    if validate is not None:
        out["validate_certs"] = bool(validate)
    if not out["server"]:
        raise KubeConfigError(
            "no Kubernetes API server to talk to: set kubeconfig (or K8S_AUTH_KUBECONFIG / KUBECONFIG, or "
            "~/.kube/config), or host with api_key - the module_defaults of group/mlops.platform.kubernetes")
    return out


def _exec_status_as_user(status):
    user = {}
    if status.get("token"):
        user["token"] = status["token"]
    if status.get("clientCertificateData"):
        user["client-certificate-data"] = base64.b64encode(status["clientCertificateData"].encode()).decode()
        user["client-key-data"] = base64.b64encode(status.get("clientKeyData", "").encode()).decode()
    return user


def selector_matches(selectors, obj):
    """Whether the object's labels match equality-based selectors (k=v, k==v, k!=v, k, !k); others are left to the server."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for selector in selectors or []:
        if "(" in selector:
            continue  # set-based (k in (a, b)): the server's to apply
        for term in [t.strip() for t in selector.split(",") if t.strip()]:
            if "!=" in term:
                key, value = [p.strip() for p in term.split("!=", 1)]
                if labels.get(key) == value:
                    return False
            elif "=" in term:
                key, value = [p.strip() for p in term.replace("==", "=").split("=", 1)]
                if labels.get(key) != value:
                    return False
            elif term.startswith("!"):
                if term[1:].strip() in labels:
                    return False
            elif term not in labels:
                return False
    return True


def ref(obj):
    """'Kind namespace/name' (or 'Kind name') of a manifest, for messages."""
    meta = obj.get("metadata") or {}
    where = "%s/" % meta["namespace"] if meta.get("namespace") else ""
    return "%s %s%s" % (obj.get("kind"), where, meta.get("name"))


def comparable(obj):
    """An answer without what the server changes on every write and without the status its controllers write.

    Two answers that compare equal are the same object as far as an apply is concerned: a controller writing the
    status between the read and the apply moves the resourceVersion, not the object's spec.
    """
    if not obj:
        return obj
    meta = dict((k, v) for k, v in (obj.get("metadata") or {}).items() if k not in VOLATILE_METADATA)
    out = dict((k, v) for k, v in obj.items() if k != "status")
    out["metadata"] = meta
    return out


def published(obj):
    """An answer as the roles see it: no managedFields, and a Secret without its data."""
    if not obj:
        return obj
    hidden = ("data", "stringData") if obj.get("kind") == "Secret" else ()
    out = dict((k, v) for k, v in obj.items() if k not in hidden)
    out["metadata"] = dict((k, v) for k, v in (obj.get("metadata") or {}).items() if k != "managedFields")
    return out


class KubeClient(ApiClient):
    """The REST API of one Kubernetes API server."""

    service = "Kubernetes API server"
    service_a = "a Kubernetes API server"
    url_of = "a Kubernetes API server"
    url_option = "host"

    def __init__(self, settings, timeout=30):
        super(KubeClient, self).__init__(
            settings["server"], username=settings.get("username"), password=settings.get("password"),
            token=settings.get("token"), validate_certs=settings.get("validate_certs", True),
            ca_path=settings.get("ca_path"), client_cert=settings.get("client_cert"),
            client_key=settings.get("client_key"), timeout=timeout, retries=2, backoff_base=0.2, backoff_max=2.0,
            keep_alive=True)
        self._resources = {}

    def parse_error_body(self, payload):
        # a Status object: reason (NotFound, Invalid, Conflict, ...) and a message naming the fields
        return payload.get("reason"), payload.get("message")

    def describe_error(self, status, error_code, detail, where):
        return "%s: HTTP %d %s: %s" % (where, status, error_code or "", detail)

    # -- discovery ---------------------------------------------------------

    def resources(self, api_version):
        """{kind: {name, namespaced}} the server serves in ``api_version`` ({} when it serves none)."""
        if api_version not in self._resources:
            path = "/api/v1" if api_version == "v1" else "/apis/%s" % api_version
            try:
                listing = self.request("GET", path)
            except ApiNotFoundError:
                listing = {}
            kinds = {}
            for res in listing.get("resources") or []:
                if "/" in res.get("name", ""):
                    continue  # a subresource
                kinds[res["kind"]] = dict(name=res["name"], namespaced=res.get("namespaced", False))
            self._resources[api_version] = kinds
        return self._resources[api_version]

    def serves(self, api_version, kind):
        return kind in self.resources(api_version)

    def path(self, api_version, kind, namespace=None, name=None):
        """The REST path of a kind (collection) or of one object."""
        res = self.resources(api_version).get(kind)
        if res is None:
            raise ApiNotFoundError(
                "%s %s is not served by the Kubernetes API server at %s (is its CRD or operator installed?)"
                % (api_version, kind, self.base_url))
        prefix = "/api/v1" if api_version == "v1" else "/apis/%s" % api_version
        if res["namespaced"] and namespace:
            prefix = "%s/namespaces/%s" % (prefix, quote(namespace, safe=""))
        elif res["namespaced"] and name is not None:
            raise ApiInvalidParameterError("%s %s needs a namespace (%s is namespaced)" % (kind, name, kind))
        path = "%s/%s" % (prefix, res["name"])
        return path if name is None else "%s/%s" % (path, quote(name, safe=""))

    # -- verbs -------------------------------------------------------------

    def get(self, api_version, kind, name, namespace=None):
        """The object, or None when it does not exist."""
        try:
            return self.request("GET", self.path(api_version, kind, namespace, name))
        except ApiNotFoundError as exc:
            if exc.error_code == "NotFound" or exc.status == 404:
                return None
            raise

    def list(self, api_version, kind, namespace=None, label_selector=None, field_selector=None):
        """The objects of a kind (in a namespace, or in all). A list's items carry no apiVersion and kind: each gets
        its own, so an item reads like the object a get returns."""
        params = dict(labelSelector=label_selector or None, fieldSelector=field_selector or None)
        items = self.request("GET", self.path(api_version, kind, namespace), params=params).get("items") or []
        return [dict(item, apiVersion=api_version, kind=kind) for item in items]

    def apply(self, obj, field_manager, force=True, dry_run=False):
        meta = obj["metadata"]
        params = dict(fieldManager=field_manager, force="true" if force else None, dryRun="All" if dry_run else None)
        return self.request("PATCH", self.path(obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"]),
                            params=params, text=json.dumps(obj), text_type="application/apply-patch+yaml")

    def create(self, obj, field_manager, dry_run=False):
        meta = obj["metadata"]
        params = dict(fieldManager=field_manager, dryRun="All" if dry_run else None)
        return self.request("POST", self.path(obj["apiVersion"], obj["kind"], meta.get("namespace")),
                            params=params, body=obj)

    def merge_patch(self, api_version, kind, name, patch, namespace=None, field_manager=None, dry_run=False):
        params = dict(fieldManager=field_manager, dryRun="All" if dry_run else None)
        return self.request("PATCH", self.path(api_version, kind, namespace, name), params=params,
                            text=json.dumps(patch), text_type="application/merge-patch+json")

    def delete(self, api_version, kind, name, namespace=None, propagation="Background", dry_run=False):
        """True when something was deleted, False when it was not there."""
        params = dict(dryRun="All" if dry_run else None)
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation}
        try:
            self.request("DELETE", self.path(api_version, kind, namespace, name), params=params, body=body)
        except ApiNotFoundError as exc:
            if exc.status == 404:
                return False
            raise
        return True
