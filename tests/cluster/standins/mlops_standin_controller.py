"""mlops-standin-controller: stand-ins for the controllers the cluster roles talk to.

Started and stopped by tests/cluster/controlplane.sh on the embedded control plane only; it
listens on nothing. It is NOT any of the controllers it stands in for: it writes the objects and
the status those controllers write, with their condition types, reasons and messages, so that the
roles' wait logic and error handling can be tested against a real API server. Everything it
creates is annotated ``mlops.platform/stand-in``. Failure switches are the annotation
``mlops.test/fail`` on the object (see tests/cluster/README.md, "Stand-ins and failure switches").

What is here rather than in a KWOK stage reads or writes *other* objects (a Secret a pod needs, the
Pipeline a PipelineRun names, the OperatorGroups of a namespace, the ConfigMap and Secret of an
ObjectBucketClaim...). Design: one informer (list + watch) per kind feeding a cache, one worker
thread reconciling keys from a de-duplicated queue; level-triggered, so a restart converges.
"""

import argparse
import base64
import datetime
import hashlib
import heapq
import json
import logging
import os
import re
import secrets
import string
import sys
import threading
import time
import traceback
import urllib.parse

import urllib3

from kubernetes import config as k8s_config
from kubernetes.watch.watch import iter_resp_lines

STANDIN = "mlops.platform/stand-in"
FAIL = "mlops.test/fail"
KUBELET_GATE = "mlops.platform/stand-in-kubelet"
KUBELET_READY = "references-resolved"
ROUTER_DOMAIN = "apps.embedded.invalid"
GATEWAY_CONTROLLER = "mlops.platform/standin-gateway-controller"
OBC_PROVISIONER = "openshift-storage.noobaa.io/obc"
SERVING_CERT = "service.beta.openshift.io/serving-cert-secret-name"
SERVING_CERT_ALPHA = "service.alpha.openshift.io/serving-cert-secret-name"
INJECT_CABUNDLE = "service.beta.openshift.io/inject-cabundle"

LOG = logging.getLogger("mlops-standin-controller")


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def meta(obj, key, default=None):
    return (obj.get("metadata") or {}).get(key, default)


def annotations(obj):
    return (obj.get("metadata") or {}).get("annotations") or {}


def labels(obj):
    return (obj.get("metadata") or {}).get("labels") or {}


def short_hash(*parts, length=5):
    digest = hashlib.sha256("/".join(parts).encode()).hexdigest()
    alphabet = string.ascii_lowercase + string.digits
    return "".join(alphabet[int(digest[i:i + 2], 16) % len(alphabet)] for i in range(0, 2 * length, 2))


def owner_ref(obj, controller=True):
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta(obj, "name"),
            "uid": meta(obj, "uid"), "controller": controller, "blockOwnerDeletion": False}


def standin_note(what):
    return {STANDIN: "created by mlops-standin-controller (%s)" % what}


def condition(ctype, status, reason, message, previous=None, **extra):
    """A condition; lastTransitionTime carried over from previous when the status is unchanged."""
    cond = {"type": ctype, "status": status, "reason": reason, "message": message}
    cond.update(extra)
    old = next((c for c in previous or [] if c.get("type") == ctype), None)
    cond["lastTransitionTime"] = old["lastTransitionTime"] if old and old.get("status") == status \
        and old.get("lastTransitionTime") else now()
    return cond


def without_times(value):
    """A status with its timestamps removed, to compare desired and current status."""
    if isinstance(value, dict):
        return {k: without_times(v) for k, v in value.items() if k not in (
            "lastTransitionTime", "lastUpdated", "lastUpdateTime", "lastHeartbeatTime",
            "lastResync", "lastConnect", "startTime", "completionTime")}
    if isinstance(value, list):
        return [without_times(v) for v in value]
    return value


def selector_matches(selector, obj_labels):
    """A metav1.LabelSelector against a label map; an empty selector matches everything."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if obj_labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and obj_labels.get(key) not in values:
            return False
        if op == "NotIn" and obj_labels.get(key) in values:
            return False
        if op == "Exists" and key not in obj_labels:
            return False
        if op == "DoesNotExist" and key in obj_labels:
            return False
    return True


# ============================================================================================
# API access: plain REST on the kubernetes client's connection (TLS from the kubeconfig)
# ============================================================================================
class Kinds:
    """Where each kind lives: name -> (API path prefix, plural, namespaced)."""

    TABLE = {
        "Pod": ("/api/v1", "pods", True),
        "Secret": ("/api/v1", "secrets", True),
        "ConfigMap": ("/api/v1", "configmaps", True),
        "Service": ("/api/v1", "services", True),
        "Namespace": ("/api/v1", "namespaces", False),
        "Event": ("/api/v1", "events", True),
        "Job": ("/apis/batch/v1", "jobs", True),
        "StorageClass": ("/apis/storage.k8s.io/v1", "storageclasses", False),
        "Project": ("/apis/project.openshift.io/v1", "projects", False),
        "ProjectRequest": ("/apis/project.openshift.io/v1", "projectrequests", False),
        "Route": ("/apis/route.openshift.io/v1", "routes", True),
        "Subscription": ("/apis/operators.coreos.com/v1alpha1", "subscriptions", True),
        "InstallPlan": ("/apis/operators.coreos.com/v1alpha1", "installplans", True),
        "ClusterServiceVersion": ("/apis/operators.coreos.com/v1alpha1", "clusterserviceversions", True),
        "CatalogSource": ("/apis/operators.coreos.com/v1alpha1", "catalogsources", True),
        "OperatorGroup": ("/apis/operators.coreos.com/v1", "operatorgroups", True),
        "PackageManifest": ("/apis/packages.operators.coreos.com/v1", "packagemanifests", True),
        "Pipeline": ("/apis/tekton.dev/v1", "pipelines", True),
        "Task": ("/apis/tekton.dev/v1", "tasks", True),
        "PipelineRun": ("/apis/tekton.dev/v1", "pipelineruns", True),
        "TaskRun": ("/apis/tekton.dev/v1", "taskruns", True),
        "EventListener": ("/apis/triggers.tekton.dev/v1beta1", "eventlisteners", True),
        "SeldonDeployment": ("/apis/machinelearning.seldon.io/v1", "seldondeployments", True),
        "Grafana": ("/apis/grafana.integreatly.org/v1beta1", "grafanas", True),
        "GrafanaDatasource": ("/apis/grafana.integreatly.org/v1beta1", "grafanadatasources", True),
        "GrafanaDashboard": ("/apis/grafana.integreatly.org/v1beta1", "grafanadashboards", True),
        "GrafanaFolder": ("/apis/grafana.integreatly.org/v1beta1", "grafanafolders", True),
        "ObjectBucketClaim": ("/apis/objectbucket.io/v1alpha1", "objectbucketclaims", True),
        "ObjectBucket": ("/apis/objectbucket.io/v1alpha1", "objectbuckets", False),
        "GatewayClass": ("/apis/gateway.networking.k8s.io/v1", "gatewayclasses", False),
        "Gateway": ("/apis/gateway.networking.k8s.io/v1", "gateways", True),
        "HTTPRoute": ("/apis/gateway.networking.k8s.io/v1", "httproutes", True),
    }

    @classmethod
    def path(cls, kind, namespace=None, name=None, subresource=None):
        prefix, plural, namespaced = cls.TABLE[kind]
        path = prefix
        if namespaced and namespace:
            path += "/namespaces/" + namespace
        path += "/" + plural
        if name:
            path += "/" + name
        if subresource:
            path += "/" + subresource
        return path

    @classmethod
    def api_version(cls, kind):
        prefix = cls.TABLE[kind][0]
        return prefix[len("/api/"):] if prefix.startswith("/api/") else prefix[len("/apis/"):]


class Api:
    def __init__(self, kubeconfig):
        self.client = k8s_config.new_client_from_config(config_file=kubeconfig)
        self.host = self.client.configuration.host
        self.pool = self.client.rest_client.pool_manager

    def request(self, method, path, body=None, query=None, content_type="application/json",
                timeout=30, stream=False):
        """One HTTP request on the client's TLS pool; JSON in, JSON out (a response when stream)."""
        url = self.host + path + ("?" + urllib.parse.urlencode(query) if query else "")
        if isinstance(timeout, tuple):
            timeout = urllib3.Timeout(connect=timeout[0], read=timeout[1])
        else:
            timeout = urllib3.Timeout(total=timeout)
        resp = self.pool.request(method, url, body=json.dumps(body) if body is not None else None,
                                 headers={"Accept": "application/json", "Content-Type": content_type},
                                 timeout=timeout, preload_content=False)
        if stream:
            return resp
        try:
            data = resp.data
        finally:
            resp.release_conn()
        if resp.status >= 300:
            raise ApiError(resp.status, resp.reason, data)
        return json.loads(data) if data else None

    def get(self, kind, namespace, name):
        try:
            return self.request("GET", Kinds.path(kind, namespace, name))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def create(self, kind, obj):
        """Create; an object that already exists is returned as it is."""
        namespace = meta(obj, "namespace")
        obj.setdefault("apiVersion", Kinds.api_version(kind))
        obj.setdefault("kind", kind)
        try:
            created = self.request("POST", Kinds.path(kind, namespace), body=obj)
            LOG.info("created %s %s/%s", kind, namespace or "-", meta(obj, "name"))
            return created
        except ApiError as exc:
            if exc.status == 409:
                return self.get(kind, namespace, meta(obj, "name"))
            raise

    def patch(self, kind, namespace, name, body, subresource=None):
        try:
            return self.request("PATCH", Kinds.path(kind, namespace, name, subresource), body=body,
                                content_type="application/merge-patch+json")
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def delete(self, kind, namespace, name):
        try:
            self.request("DELETE", Kinds.path(kind, namespace, name),
                         body={"propagationPolicy": "Background"})
            LOG.info("deleted %s %s/%s", kind, namespace or "-", name)
        except ApiError as exc:
            if exc.status != 404:
                raise

    def set_status(self, kind, obj, status, subresource=True):
        """Write status (merge patch) when it differs from what is there, timestamps aside."""
        if without_times(obj.get("status") or {}) == without_times(status):
            return obj
        LOG.info("status %s %s/%s: %s", kind, meta(obj, "namespace") or "-", meta(obj, "name"),
                 json.dumps(without_times(status), sort_keys=True)[:300])
        return self.patch(kind, meta(obj, "namespace"), meta(obj, "name"), {"status": status},
                          "status" if subresource else None)

    def event(self, obj, etype, reason, message, component, host=None):
        """A core/v1 Event about obj, the way controllers and kubelets report."""
        stamp = now()
        involved = {"apiVersion": obj.get("apiVersion", "v1"), "kind": obj.get("kind"),
                    "name": meta(obj, "name"), "namespace": meta(obj, "namespace"),
                    "uid": meta(obj, "uid"), "resourceVersion": meta(obj, "resourceVersion")}
        name = "%s.%s" % (meta(obj, "name"), short_hash(meta(obj, "uid") or "", reason, message, length=10))
        body = {"apiVersion": "v1", "kind": "Event",
                "metadata": {"name": name, "namespace": meta(obj, "namespace") or "default",
                             "annotations": standin_note("event")},
                "involvedObject": involved, "type": etype, "reason": reason, "message": message,
                "source": {"component": component, **({"host": host} if host else {})},
                "reportingComponent": component, "reportingInstance": host or component,
                "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1}
        try:
            self.request("POST", Kinds.path("Event", body["metadata"]["namespace"]), body=body)
            LOG.info("event %s %s/%s: %s %s", obj.get("kind"), meta(obj, "namespace"),
                     meta(obj, "name"), reason, message)
        except ApiError as exc:
            if exc.status != 409:      # the same event was already reported
                raise


class ApiError(Exception):
    """An API server answer that is not 2xx."""

    def __init__(self, status, reason, body=b""):
        super().__init__("%s %s: %s" % (status, reason, body[:300] if isinstance(body, bytes) else body))
        self.status, self.reason, self.body = status, reason, body


# ============================================================================================
# informers, queue, worker
# ============================================================================================
class Informer(threading.Thread):
    """List + watch one kind into a cache; every change is handed to on_change."""

    def __init__(self, api, kind, on_change):
        super().__init__(name="informer-" + kind, daemon=True)
        self.api, self.kind, self.on_change = api, kind, on_change
        self.cache = {}
        self.lock = threading.Lock()
        self.synced = threading.Event()
        self.available = True

    def items(self):
        with self.lock:
            return list(self.cache.values())

    def get(self, namespace, name):
        with self.lock:
            return self.cache.get((namespace or "", name))

    def _key(self, obj):
        return (meta(obj, "namespace") or "", meta(obj, "name"))

    def _list(self):
        data = self.api.request("GET", Kinds.path(self.kind))
        with self.lock:
            old = self.cache
            self.cache = {}
            for item in data.get("items") or []:
                item.setdefault("apiVersion", Kinds.api_version(self.kind))
                item.setdefault("kind", self.kind)
                self.cache[self._key(item)] = item
            gone = set(old) - set(self.cache)
        for key in list(self.cache) + list(gone):
            self.on_change(self.kind, key[0], key[1])
        return data["metadata"]["resourceVersion"]

    def run(self):
        backoff = 0.5
        while True:
            try:
                version = self._list()
                self.synced.set()
                backoff = 0.5
                while True:
                    version = self._watch(version)
                    if version is None:
                        break                      # expired: list again
            except ApiError as exc:
                if exc.status == 404:              # this API is not served (a bare control plane)
                    LOG.info("%s is not served; not watching it", self.kind)
                    self.available = False
                    self.synced.set()
                    return
                LOG.warning("%s informer: %s; retrying in %.1fs", self.kind, exc.status, backoff)
            except Exception:  # noqa: BLE001  pylint: disable=broad-except
                # a watch that breaks (connection reset, API server restart) is listed again
                LOG.warning("%s informer failed; retrying in %.1fs\n%s", self.kind, backoff,
                            traceback.format_exc(limit=3))
            time.sleep(backoff)
            backoff = min(backoff * 2, 5)

    def _watch(self, version):
        resp = self.api.request("GET", Kinds.path(self.kind), stream=True, timeout=(10, 330), query={
            "watch": "true", "resourceVersion": version, "timeoutSeconds": "300",
            "allowWatchBookmarks": "true"})
        try:
            if resp.status != 200:
                raise ApiError(resp.status, resp.reason)
            for line in iter_resp_lines(resp):
                event = json.loads(line)
                obj = event["object"]
                if event["type"] == "ERROR":
                    if obj.get("code") == 410:
                        return None
                    raise ApiError(obj.get("code"), obj.get("message"))
                version = meta(obj, "resourceVersion") or version
                if event["type"] == "BOOKMARK":
                    continue
                obj.setdefault("apiVersion", Kinds.api_version(self.kind))
                obj.setdefault("kind", self.kind)
                key = self._key(obj)
                with self.lock:
                    if event["type"] == "DELETED":
                        self.cache.pop(key, None)
                    else:
                        self.cache[key] = obj
                self.on_change(self.kind, key[0], key[1])
        finally:
            resp.release_conn()
        return version


class Queue:
    """De-duplicated work queue with delayed keys; one consumer."""

    def __init__(self):
        self.cond = threading.Condition()
        self.ready = []
        self.queued = set()
        self.delayed = []

    def add(self, key, delay=0.0):
        with self.cond:
            if delay > 0:
                heapq.heappush(self.delayed, (time.monotonic() + delay, key))
            elif key not in self.queued:
                self.queued.add(key)
                self.ready.append(key)
            self.cond.notify()

    def get(self):
        with self.cond:
            while True:
                moment = time.monotonic()
                while self.delayed and self.delayed[0][0] <= moment:
                    key = heapq.heappop(self.delayed)[1]
                    if key not in self.queued:
                        self.queued.add(key)
                        self.ready.append(key)
                if self.ready:
                    key = self.ready.pop(0)
                    self.queued.discard(key)
                    return key
                timeout = self.delayed[0][0] - moment if self.delayed else None
                self.cond.wait(timeout)


# ============================================================================================
# the stand-ins
# ============================================================================================
class Controller:
    KUBELET_KINDS = ["Pod", "Secret", "ConfigMap", "Job"]
    ALL_KINDS = KUBELET_KINDS + [
        "Service", "Namespace", "StorageClass", "Project", "ProjectRequest",
        "Subscription", "InstallPlan", "ClusterServiceVersion", "CatalogSource", "OperatorGroup",
        "PackageManifest", "Pipeline", "Task", "PipelineRun", "TaskRun", "EventListener",
        "SeldonDeployment", "Grafana", "GrafanaDatasource", "GrafanaDashboard", "GrafanaFolder",
        "ObjectBucketClaim", "ObjectBucket", "GatewayClass", "Gateway", "HTTPRoute"]

    def __init__(self, api, only_kubelet, service_ca_cert, service_ca_key):
        self.api = api
        self.queue = Queue()
        self.kinds = self.KUBELET_KINDS if only_kubelet else self.ALL_KINDS
        self.informers = {kind: Informer(api, kind, self.changed) for kind in self.kinds}
        self.service_ca_cert = service_ca_cert
        self.service_ca_key = service_ca_key
        self.reconcilers = {
            "Pod": self.reconcile_pod,
            "Namespace": self.reconcile_namespace, "Service": self.reconcile_service,
            "ConfigMap": self.reconcile_configmap,
            "Project": self.reconcile_project, "ProjectRequest": self.reconcile_project_request,
            "Subscription": self.reconcile_subscription, "InstallPlan": self.reconcile_installplan,
            "ClusterServiceVersion": self.reconcile_csv, "OperatorGroup": self.reconcile_operatorgroup,
            "CatalogSource": self.reconcile_catalogsource,
            "PipelineRun": self.reconcile_pipelinerun, "TaskRun": self.reconcile_taskrun,
            "EventListener": self.reconcile_eventlistener,
            "SeldonDeployment": self.reconcile_seldondeployment,
            "Grafana": self.reconcile_grafana, "GrafanaDatasource": self.reconcile_grafana_resource,
            "GrafanaDashboard": self.reconcile_grafana_resource,
            "GrafanaFolder": self.reconcile_grafana_resource,
            "ObjectBucketClaim": self.reconcile_obc,
            "GatewayClass": self.reconcile_gatewayclass, "Gateway": self.reconcile_gateway,
            "HTTPRoute": self.reconcile_httproute,
        }
        if only_kubelet:
            self.reconcilers = {"Pod": self.reconcile_pod}

    # ---- plumbing ---------------------------------------------------------------------------
    def cached(self, kind, namespace, name):
        informer = self.informers.get(kind)
        return informer.get(namespace, name) if informer else None

    def fresh(self, kind, namespace, name):
        """From the cache, or from the API server when the cache has not seen it (yet): a decision
        that cannot be taken back (a PipelineRun failed for a missing Pipeline) must not rest on a
        watch that lags behind."""
        return self.cached(kind, namespace, name) or self.api.get(kind, namespace, name)

    def live_list(self, kind, namespace):
        """Every object of a kind in a namespace, listed from the API server."""
        return self.api.request("GET", Kinds.path(kind, namespace)).get("items") or []

    def listed(self, kind, namespace=None):
        informer = self.informers.get(kind)
        if not informer:
            return []
        return [o for o in informer.items() if namespace is None or meta(o, "namespace") == namespace]

    def enqueue_kind(self, kind, namespace=None):
        for obj in self.listed(kind, namespace):
            self.queue.add((kind, meta(obj, "namespace") or "", meta(obj, "name")))

    def changed(self, kind, namespace, name):
        """An object changed: reconcile it, and what depends on it."""
        if kind in self.reconcilers:
            self.queue.add((kind, namespace, name))
        dependants = {
            "Secret": [("Pod", namespace)], "ConfigMap": [("Pod", namespace)],
            "Job": [("Pod", namespace)],
            "OperatorGroup": [("OperatorGroup", namespace), ("InstallPlan", namespace),
                              ("ClusterServiceVersion", namespace)],
            "Namespace": [("OperatorGroup", None), ("Project", None)],
            "PackageManifest": [("Subscription", None)], "CatalogSource": [("Subscription", None)],
            "InstallPlan": [("Subscription", namespace)],
            "ClusterServiceVersion": [("Subscription", namespace)],
            "Pipeline": [("PipelineRun", namespace)], "Task": [("TaskRun", namespace)],
            "TaskRun": [("PipelineRun", namespace)],
            "Grafana": [("GrafanaDatasource", None), ("GrafanaDashboard", None), ("GrafanaFolder", None)],
            "GrafanaDatasource": [("Grafana", None)], "GrafanaDashboard": [("Grafana", None)],
            "GrafanaFolder": [("Grafana", None)],
            "Service": [("HTTPRoute", namespace)],
            "Gateway": [("HTTPRoute", None)], "HTTPRoute": [("Gateway", None)],
            "GatewayClass": [("Gateway", None)],
            "StorageClass": [("ObjectBucketClaim", None)],
        }.get(kind, [])
        for dep_kind, dep_ns in dependants:
            if dep_kind != kind or dep_kind == "OperatorGroup":
                self.enqueue_kind(dep_kind, dep_ns)

    def run(self, ready_file):
        for informer in self.informers.values():
            informer.start()
        worker = threading.Thread(target=self.work, name="worker", daemon=True)
        worker.start()
        for informer in self.informers.values():
            informer.synced.wait()
        with open(ready_file, "w", encoding="utf-8") as handle:
            handle.write("synced %s\n" % now())
        LOG.info("informers synced for %d kinds; ready", len(self.informers))
        worker.join()

    def work(self):
        failures = {}
        while True:
            key = self.queue.get()
            kind, namespace, name = key
            try:
                obj = self.cached(kind, namespace, name)
                requeue = self.reconcilers[kind](obj, namespace, name)
                failures.pop(key, None)
                if requeue:
                    self.queue.add(key, requeue)
            except Exception:  # noqa: BLE001  pylint: disable=broad-except
                # one object's trouble must not stop the others: log it, retry with backoff
                count = failures.get(key, 0) + 1
                failures[key] = count
                LOG.error("reconciling %s %s/%s failed (attempt %d)\n%s", kind, namespace, name,
                          count, traceback.format_exc(limit=5))
                self.queue.add(key, min(0.5 * 2 ** count, 10))

    # ---- kubelet: pods wait for the Secrets and ConfigMaps they reference ---------------------
    def _pod_missing(self, pod):
        """(reason, message, kind) of the first reference a kubelet could not resolve, or None.

        kind is 'volume' (the pod waits in ContainerCreating, event FailedMount) or 'config' (a
        container waits in CreateContainerConfigError, event Failed)."""
        namespace = meta(pod, "namespace")
        spec = pod.get("spec") or {}

        def lookup(kind, name):
            return self.fresh(kind, namespace, name)

        for volume in spec.get("volumes") or []:
            sources = []
            if "secret" in volume:
                sources.append(("Secret", volume["secret"].get("secretName"), volume["secret"].get("optional")))
            if "configMap" in volume:
                sources.append(("ConfigMap", volume["configMap"].get("name"), volume["configMap"].get("optional")))
            for source in (volume.get("projected") or {}).get("sources") or []:
                if "secret" in source:
                    sources.append(("Secret", source["secret"].get("name"), source["secret"].get("optional")))
                if "configMap" in source:
                    sources.append(("ConfigMap", source["configMap"].get("name"), source["configMap"].get("optional")))
            for kind, ref, optional in sources:
                if ref and not optional and lookup(kind, ref) is None:
                    return ("FailedMount", 'MountVolume.SetUp failed for volume "%s" : %s "%s" not found'
                            % (volume.get("name"), kind.lower(), ref), "volume")
        for container in (spec.get("initContainers") or []) + (spec.get("containers") or []):
            for env_from in container.get("envFrom") or []:
                for field, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
                    ref = env_from.get(field)
                    if ref and not ref.get("optional") and lookup(kind, ref.get("name")) is None:
                        return ("Failed", '%s "%s" not found' % (kind.lower(), ref.get("name")), "config")
            for env in container.get("env") or []:
                source = env.get("valueFrom") or {}
                for field, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
                    ref = source.get(field)
                    if not ref or ref.get("optional"):
                        continue
                    found = lookup(kind, ref.get("name"))
                    if found is None:
                        return ("Failed", '%s "%s" not found' % (kind.lower(), ref.get("name")), "config")
                    if ref.get("key") not in (found.get("data") or {}) and \
                            ref.get("key") not in (found.get("binaryData") or {}):
                        return ("Failed", "couldn't find key %s in %s %s/%s"
                                % (ref.get("key"), kind, namespace, ref.get("name")), "config")
        return None

    def reconcile_pod(self, pod, _namespace, _name):
        if pod is None or meta(pod, "deletionTimestamp"):
            return None
        if annotations(pod).get(KUBELET_GATE) == KUBELET_READY:
            return None
        if not (pod.get("spec") or {}).get("nodeName"):
            return None                         # a kubelet only sees pods bound to its node
        missing = self._pod_missing(pod)
        if missing is None:
            patch = {KUBELET_GATE: KUBELET_READY}
            # a failure switch on the Job reaches the Job's pods
            for ref in meta(pod, "ownerReferences") or []:
                if ref.get("kind") == "Job":
                    job = self.cached("Job", meta(pod, "namespace"), ref.get("name"))
                    if job and FAIL in annotations(job) and FAIL not in annotations(pod):
                        patch[FAIL] = annotations(job)[FAIL]
            self.api.patch("Pod", meta(pod, "namespace"), meta(pod, "name"),
                           {"metadata": {"annotations": patch}})
            return None
        reason, message, where = missing
        containers = (pod["spec"].get("containers") or [])
        if where == "volume":
            waiting = {"reason": "ContainerCreating"}
        else:
            waiting = {"reason": "CreateContainerConfigError", "message": message}
        statuses = [{"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": False,
                     "started": False, "restartCount": 0, "state": {"waiting": waiting}}
                    for c in containers]
        current = (pod.get("status") or {}).get("containerStatuses")
        if without_times(current or []) != statuses:
            self.api.patch("Pod", meta(pod, "namespace"), meta(pod, "name"),
                           {"status": {"containerStatuses": statuses}}, "status")
        self.api.event(pod, "Warning", reason, message if where == "volume" else "Error: " + message,
                       "mlops-standin-kubelet", pod["spec"].get("nodeName"))
        return None

    # ---- namespaces, Services, ConfigMaps: OpenShift's service CA ----------------------------
    def _ca_pem(self):
        with open(self.service_ca_cert, encoding="utf-8") as handle:
            return handle.read()

    def reconcile_namespace(self, namespace_obj, _namespace, name):
        if namespace_obj is None:
            project = self.cached("Project", "", name)
            if project and not meta(project, "deletionTimestamp"):
                self.api.delete("Project", None, name)
            return None
        if (namespace_obj.get("status") or {}).get("phase") == "Terminating":
            return None
        # every OpenShift namespace has the service CA bundle in openshift-service-ca.crt
        if self.cached("ConfigMap", name, "openshift-service-ca.crt") is None:
            self.api.create("ConfigMap", {"metadata": {
                "name": "openshift-service-ca.crt", "namespace": name,
                "annotations": {INJECT_CABUNDLE: "true", **standin_note("service-ca-operator")}},
                "data": {"service-ca.crt": self._ca_pem()}})
        return None

    def reconcile_configmap(self, configmap, _namespace, _name):
        if configmap is None or annotations(configmap).get(INJECT_CABUNDLE) != "true":
            return None
        if (configmap.get("data") or {}).get("service-ca.crt") != self._ca_pem():
            self.api.patch("ConfigMap", meta(configmap, "namespace"), meta(configmap, "name"),
                           {"data": {"service-ca.crt": self._ca_pem()}})
        return None

    def reconcile_service(self, service, namespace, _name):
        if service is None:
            return None
        secret_name = annotations(service).get(SERVING_CERT) or annotations(service).get(SERVING_CERT_ALPHA)
        if not secret_name:
            return None
        existing = self.cached("Secret", namespace, secret_name)
        if existing is not None:
            if annotations(existing).get("service.beta.openshift.io/originating-service-uid") != meta(service, "uid"):
                message = "secret/%s references serviceUID %s, which does not match %s" % (
                    secret_name, annotations(existing).get("service.beta.openshift.io/originating-service-uid", ""),
                    meta(service, "uid"))
                if annotations(service).get("service.beta.openshift.io/serving-cert-generation-error") != message:
                    self.api.patch("Service", namespace, meta(service, "name"), {"metadata": {"annotations": {
                        "service.beta.openshift.io/serving-cert-generation-error": message}}})
            return None
        cert, key, expiry = self._serving_cert(meta(service, "name"), namespace)
        self.api.create("Secret", {
            "metadata": {"name": secret_name, "namespace": namespace,
                         "ownerReferences": [owner_ref(service, controller=False)],
                         "annotations": {
                             "service.beta.openshift.io/originating-service-name": meta(service, "name"),
                             "service.beta.openshift.io/originating-service-uid": meta(service, "uid"),
                             "service.beta.openshift.io/expiry": expiry,
                             **standin_note("service-ca-operator: serving certificate")}},
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": base64.b64encode(cert).decode(), "tls.key": base64.b64encode(key).decode()}})
        signer = "mlops-standin-service-serving-signer@%d" % int(time.time())
        self.api.patch("Service", namespace, meta(service, "name"), {"metadata": {"annotations": {
            "service.beta.openshift.io/serving-cert-signed-by": signer}}})
        return None

    def _serving_cert(self, service, namespace):
        # imported here: only the serving-cert stand-in needs them
        from cryptography import x509  # pylint: disable=import-outside-toplevel
        from cryptography.hazmat.primitives import hashes, serialization  # pylint: disable=import-outside-toplevel
        from cryptography.hazmat.primitives.asymmetric import ec  # pylint: disable=import-outside-toplevel
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # pylint: disable=import-outside-toplevel

        with open(self.service_ca_cert, "rb") as handle:
            ca_cert = x509.load_pem_x509_certificate(handle.read())
        with open(self.service_ca_key, "rb") as handle:
            ca_key = serialization.load_pem_private_key(handle.read(), password=None)
        key = ec.generate_private_key(ec.SECP256R1())
        dns = ["%s.%s.svc" % (service, namespace), "%s.%s.svc.cluster.local" % (service, namespace)]
        start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1)
        end = start + datetime.timedelta(days=7)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns[0])]))
                .issuer_name(ca_cert.subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(start).not_valid_after(end)
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .sign(ca_key, hashes.SHA256()))
        cert_pem = cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM)
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        return cert_pem, key_pem, end.strftime("%Y-%m-%dT%H:%M:%SZ")

    # ---- OpenShift projects -------------------------------------------------------------------
    def reconcile_project(self, project, _namespace, name):
        if project is None or meta(project, "deletionTimestamp"):
            return None                          # the Namespace goes with it (owner reference)
        namespace_obj = self.cached("Namespace", "", name)
        if namespace_obj is None:
            keep = {k: v for k, v in annotations(project).items() if k.startswith("openshift.io/")}
            self.api.create("Namespace", {"metadata": {
                "name": name, "labels": labels(project),
                "annotations": {**keep, **standin_note("openshift-apiserver: the Namespace of a Project")},
                "ownerReferences": [owner_ref(project, controller=False)]}})
            return 0.2
        phase = (namespace_obj.get("status") or {}).get("phase", "Active")
        self.api.set_status("Project", project, {"phase": phase}, subresource=False)
        return None

    def reconcile_project_request(self, request, _namespace, name):
        if request is None:
            return None
        extra = {}
        if request.get("displayName"):
            extra["openshift.io/display-name"] = request["displayName"]
        if request.get("description"):
            extra["openshift.io/description"] = request["description"]
        self.api.create("Project", {"metadata": {
            "name": name, "annotations": {**extra, **standin_note("openshift-apiserver: ProjectRequest")}}})
        # a ProjectRequest is not stored on OpenShift: it only creates the Project
        self.api.delete("ProjectRequest", None, name)
        return None

    # ---- OLM ------------------------------------------------------------------------------------
    def _resolve(self, sub):
        """(package manifest, channel, csv name) or the resolver's message."""
        spec = sub.get("spec") or {}
        source, source_ns = spec.get("source"), spec.get("sourceNamespace")
        name = meta(sub, "name")
        if self.cached("CatalogSource", source_ns, source) is None:
            return "no operators found from catalog %s in namespace %s referenced by subscription %s" % (
                source, source_ns, name)
        manifest = self.cached("PackageManifest", source_ns, spec.get("name"))
        if manifest is None or (manifest.get("status") or {}).get("catalogSource") != source:
            return "no operators found in package %s in the catalog referenced by subscription %s" % (
                spec.get("name"), name)
        status = manifest.get("status") or {}
        channel_name = spec.get("channel") or status.get("defaultChannel")
        channel = next((c for c in status.get("channels") or [] if c.get("name") == channel_name), None)
        if channel is None:
            return "no operators found in channel %s of package %s in the catalog referenced by subscription %s" % (
                channel_name, spec.get("name"), name)
        entries = [e.get("name") for e in channel.get("entries") or []] or [channel.get("currentCSV")]
        csv = spec.get("startingCSV") or channel.get("currentCSV")
        if csv not in entries:
            return ("no operators found with name %s in channel %s of package %s in the catalog "
                    "referenced by subscription %s" % (csv, channel_name, spec.get("name"), name))
        return manifest, channel, csv

    def reconcile_subscription(self, sub, namespace, name):
        if sub is None or meta(sub, "deletionTimestamp"):
            return None
        status = dict(sub.get("status") or {})
        previous = status.get("conditions") or []
        healthy = condition("CatalogSourcesUnhealthy", "False", "AllCatalogSourcesHealthy",
                            "all available catalogsources are healthy", previous)
        ref = status.get("installPlanRef")
        if not ref:
            resolved = self._resolve(sub)
            if isinstance(resolved, str):
                self.api.set_status("Subscription", sub, {
                    "conditions": [healthy, condition(
                        "ResolutionFailed", "True", "ConstraintsNotSatisfiable",
                        "constraints not satisfiable: %s, subscription %s exists" % (resolved, name), previous)],
                    "lastUpdated": now()})
                return None
            manifest, _channel, csv = resolved
            approval = (sub.get("spec") or {}).get("installPlanApproval") or "Automatic"
            plan_name = "install-" + short_hash(meta(sub, "uid") or name)
            plan_annotations = {"mlops.platform/stand-in-subscription": name,
                                "mlops.platform/stand-in-package": meta(manifest, "namespace") + "/" + meta(manifest, "name"),
                                **standin_note("OLM catalog operator: InstallPlan")}
            if FAIL in annotations(sub):
                plan_annotations[FAIL] = annotations(sub)[FAIL]
            plan = self.api.create("InstallPlan", {
                "metadata": {"name": plan_name, "namespace": namespace, "annotations": plan_annotations,
                             "ownerReferences": [owner_ref(sub, controller=False)]},
                "spec": {"approval": approval, "approved": approval == "Automatic",
                         "clusterServiceVersionNames": [csv], "generation": 1,
                         "source": sub["spec"]["source"], "sourceNamespace": sub["spec"]["sourceNamespace"]}})
            self.api.set_status("Subscription", sub, {
                "state": "UpgradePending", "currentCSV": csv, "installPlanGeneration": 1,
                "installPlanRef": {"apiVersion": "operators.coreos.com/v1alpha1", "kind": "InstallPlan",
                                   "name": plan_name, "namespace": namespace,
                                   "uid": meta(plan, "uid"), "resourceVersion": meta(plan, "resourceVersion")},
                "installplan": {"apiVersion": "operators.coreos.com/v1alpha1", "kind": "InstallPlan",
                                "name": plan_name, "uuid": meta(plan, "uid")},
                "conditions": [healthy, condition("InstallPlanPending", "True", "Installing",
                                                  "", previous)],
                "lastUpdated": now()})
            return None
        plan = self.cached("InstallPlan", namespace, ref.get("name"))
        if plan is None:
            return None
        phase = (plan.get("status") or {}).get("phase")
        csv_name = (plan.get("spec") or {}).get("clusterServiceVersionNames", [None])[0]
        desired = dict(status)
        if phase == "RequiresApproval":
            desired["conditions"] = [healthy, condition("InstallPlanPending", "True", "RequiresApproval", "", previous)]
        elif phase == "Complete" and self.cached("ClusterServiceVersion", namespace, csv_name) is not None:
            desired.update({"state": "AtLatestKnown", "currentCSV": csv_name, "installedCSV": csv_name,
                            "conditions": [healthy]})
        elif phase == "Installing":
            plan_conditions = (plan.get("status") or {}).get("conditions") or []
            failed = next((c for c in plan_conditions if c.get("type") == "Installed" and c.get("status") == "False"), None)
            if failed:
                desired["conditions"] = [healthy, condition("InstallPlanPending", "True", "Installing",
                                                            failed.get("message", ""), previous)]
        else:
            return None
        if without_times(desired) != without_times(status):
            desired["lastUpdated"] = now()
            self.api.set_status("Subscription", sub, desired)
        return None

    def reconcile_installplan(self, plan, namespace, _name):
        if plan is None or meta(plan, "deletionTimestamp"):
            return None
        spec, status = plan.get("spec") or {}, plan.get("status") or {}
        if status.get("phase") in ("Complete", "Failed"):
            return None
        catalogs = [spec.get("source")] if spec.get("source") else []
        if not spec.get("approved"):
            self.api.set_status("InstallPlan", plan, {"phase": "RequiresApproval", "catalogSources": catalogs})
            return None
        groups = self.live_list("OperatorGroup", namespace)
        if len(groups) != 1:
            message = ("no operator group found that is managing this namespace" if not groups else
                       "more than one operator group(s) are managing this namespace count=%d" % len(groups))
            self.api.set_status("InstallPlan", plan, {
                "phase": "Installing", "catalogSources": catalogs,
                "conditions": [condition("Installed", "False", "InstallCheckFailed", message,
                                         status.get("conditions"))]})
            return None
        group = groups[0]
        manifest_ns, manifest_name = annotations(plan).get("mlops.platform/stand-in-package", "/").split("/", 1)
        manifest = self.cached("PackageManifest", manifest_ns, manifest_name) or {}
        csv_name = spec["clusterServiceVersionNames"][0]
        desc = {}
        for channel in (manifest.get("status") or {}).get("channels") or []:
            if channel.get("currentCSV") == csv_name or csv_name in [e.get("name") for e in channel.get("entries") or []]:
                desc = channel.get("currentCSVDesc") or {}
                break
        targets = ((group.get("status") or {}).get("namespaces")) or self._og_targets(group)
        csv_annotations = {"olm.operatorGroup": meta(group, "name"), "olm.operatorNamespace": namespace,
                           "olm.targetNamespaces": ",".join(targets),
                           **standin_note("OLM catalog operator: the CSV of an InstallPlan")}
        if FAIL in annotations(plan):
            csv_annotations[FAIL] = annotations(plan)[FAIL]
        self.api.create("ClusterServiceVersion", {
            "metadata": {"name": csv_name, "namespace": namespace, "annotations": csv_annotations},
            "spec": {"displayName": desc.get("displayName") or csv_name,
                     "version": desc.get("version") or "0.0.0",
                     "installModes": desc.get("installModes") or [
                         {"type": t, "supported": True} for t in
                         ("OwnNamespace", "SingleNamespace", "MultiNamespace", "AllNamespaces")],
                     "install": {"strategy": "deployment", "spec": {"deployments": []}}}})
        self.api.set_status("InstallPlan", plan, {
            "phase": "Complete", "catalogSources": catalogs,
            "conditions": [condition("Installed", "True", "", "", status.get("conditions"))]})
        return None

    @staticmethod
    def _supports(modes, operator_ns, targets):
        """operator-framework's InstallModeSet.Supports: None or its message."""
        supported = {m.get("type"): bool(m.get("supported")) for m in modes}
        count = len(targets)
        if not supported.get("AllNamespaces") and count == 1 and targets[0] == "":
            return "AllNamespaces InstallModeType not supported, cannot configure to watch all namespaces"
        if not supported.get("SingleNamespace") and not supported.get("MultiNamespace") and count == 1 and targets[0] != "":
            return "SingleNamespace InstallModeType not supported, cannot configure to watch one namespace"
        if not supported.get("MultiNamespace") and count > 1:
            return "MultiNamespace InstallModeType not supported, cannot configure to watch %d namespaces" % count
        for index, target in enumerate(targets):
            if not supported.get("OwnNamespace") and target == operator_ns:
                return "OwnNamespace InstallModeType not supported, cannot configure to watch own namespace"
            if index > 0 and target == "":
                return "Invalid selected namespaces, NamespaceAll found when |selected namespaces| > 1"
        return None

    def reconcile_csv(self, csv, namespace, _name):
        if csv is None or meta(csv, "deletionTimestamp"):
            return None
        status = csv.get("status") or {}
        groups = self.live_list("OperatorGroup", namespace)
        if not groups:
            phase, reason, message = "Failed", "NoOperatorGroup", "csv in namespace with no operatorgroups"
        elif len(groups) > 1:
            phase, reason, message = ("Failed", "TooManyOperatorGroups",
                                      "csv created in namespace with multiple operatorgroups, can't pick one automatically")
        else:
            targets = ((groups[0].get("status") or {}).get("namespaces")) or self._og_targets(groups[0])
            unsupported = self._supports((csv.get("spec") or {}).get("installModes") or [], namespace, targets)
            if unsupported:
                phase, reason, message = "Failed", "UnsupportedOperatorGroup", unsupported
            elif FAIL in annotations(csv):
                phase, reason, message = ("Failed", "InstallComponentFailed",
                                          "install strategy failed: %s" % annotations(csv)[FAIL])
            else:
                phase, reason, message = "Succeeded", "InstallSucceeded", "install strategy completed with no errors"
        if (status.get("phase"), status.get("reason"), status.get("message")) == (phase, reason, message):
            return None
        stamp = now()
        history = list(status.get("conditions") or [])
        if phase == "Succeeded" and not history:
            for step_phase, step_reason, step_message in (
                    ("Pending", "RequirementsUnknown", "requirements not yet checked"),
                    ("InstallReady", "RequirementsMet", "all requirements found, attempting install"),
                    ("Installing", "InstallSucceeded", "waiting for install components to report healthy")):
                history.append({"phase": step_phase, "reason": step_reason, "message": step_message,
                                "lastUpdateTime": stamp, "lastTransitionTime": stamp})
        history.append({"phase": phase, "reason": reason, "message": message,
                        "lastUpdateTime": stamp, "lastTransitionTime": stamp})
        self.api.set_status("ClusterServiceVersion", csv, {
            "phase": phase, "reason": reason, "message": message, "lastUpdateTime": stamp,
            "lastTransitionTime": stamp, "conditions": history})
        self.api.event(csv, "Warning" if phase == "Failed" else "Normal", reason, message, "operator-lifecycle-manager")
        return None

    def _og_targets(self, group):
        spec = group.get("spec") or {}
        if spec.get("targetNamespaces"):
            return list(spec["targetNamespaces"])
        if spec.get("selector"):
            return sorted(meta(n, "name") for n in self.listed("Namespace")
                          if selector_matches(spec["selector"], labels(n)))
        return [""]

    def reconcile_operatorgroup(self, group, namespace, _name):
        if group is None or meta(group, "deletionTimestamp"):
            return None
        status = group.get("status") or {}
        others = self.live_list("OperatorGroup", namespace)
        conditions = [c for c in status.get("conditions") or [] if c.get("type") != "MultipleOperatorGroup"]
        if len(others) > 1:
            conditions.append(condition("MultipleOperatorGroup", "True", "MultipleOperatorGroupsFound",
                                        "Multiple OperatorGroup found in the same namespace",
                                        status.get("conditions")))
        desired = {"namespaces": self._og_targets(group), "lastUpdated": status.get("lastUpdated") or now()}
        if conditions:
            desired["conditions"] = conditions
        elif status.get("conditions"):
            desired["conditions"] = []
        self.api.set_status("OperatorGroup", group, desired)
        return None

    def reconcile_catalogsource(self, catalog, namespace, name):
        if catalog is None:
            return None
        created = ((catalog.get("status") or {}).get("registryService") or {}).get("createdAt") or now()
        self.api.set_status("CatalogSource", catalog, {
            "connectionState": {"address": "%s.%s.svc:50051" % (name, namespace),
                                "lastObservedState": "READY", "lastConnect": now()},
            "registryService": {"protocol": "grpc", "serviceName": name, "serviceNamespace": namespace,
                                "port": "50051", "createdAt": created}})
        return None

    # ---- Tekton ---------------------------------------------------------------------------------
    @staticmethod
    def _succeeded(obj):
        return next((c for c in (obj.get("status") or {}).get("conditions") or []
                     if c.get("type") == "Succeeded"), None)

    def _pipeline_spec(self, run):
        """The Pipeline spec of a PipelineRun, or the message of CouldntGetPipeline."""
        spec = run.get("spec") or {}
        if spec.get("pipelineSpec"):
            return spec["pipelineSpec"]
        ref = spec.get("pipelineRef") or {}
        namespace, name = meta(run, "namespace"), ref.get("name")
        if ref.get("resolver"):
            params = {p.get("name"): p.get("value") for p in ref.get("params") or []}
            if ref["resolver"] != "cluster":
                return "the %s resolver is not available on the embedded control plane (stand-in)" % ref["resolver"]
            namespace, name = params.get("namespace") or namespace, params.get("name")
        pipeline = self.fresh("Pipeline", namespace, name)
        if pipeline is None:
            return 'pipelines.tekton.dev "%s" not found' % name
        return pipeline.get("spec") or {}

    def reconcile_pipelinerun(self, run, namespace, name):
        if run is None or meta(run, "deletionTimestamp") or self._succeeded(run) and \
                self._succeeded(run).get("status") in ("True", "False"):
            return None
        status = dict(run.get("status") or {})
        previous = status.get("conditions")
        spec = run.get("spec") or {}
        start = status.get("startTime") or now()
        if spec.get("status") == "PipelineRunPending":
            self.api.set_status("PipelineRun", run, {"conditions": [condition(
                "Succeeded", "Unknown", "PipelineRunPending", 'PipelineRun "%s" is pending' % name, previous)]})
            return None
        if spec.get("status") in ("Cancelled", "CancelledRunFinally", "StoppedRunFinally"):
            self.api.set_status("PipelineRun", run, {"startTime": start, "completionTime": now(), "conditions": [
                condition("Succeeded", "False", "Cancelled", 'PipelineRun "%s" was cancelled' % name, previous)]})
            return None
        pipeline = self._pipeline_spec(run)
        if isinstance(pipeline, str):
            self.api.set_status("PipelineRun", run, {"startTime": start, "completionTime": now(), "conditions": [
                condition("Succeeded", "False", "CouldntGetPipeline",
                          "Error retrieving pipeline for pipelinerun %s/%s: %s" % (namespace, name, pipeline),
                          previous)]})
            return None
        tasks = list(pipeline.get("tasks") or [])
        final = list(pipeline.get("finally") or [])
        fail_value = annotations(run).get(FAIL)
        fail_task = None
        if fail_value is not None:
            names = [t.get("name") for t in tasks + final]
            fail_task = fail_value if fail_value in names else (names[0] if names else None)

        def child(task):
            return self.cached("TaskRun", namespace, "%s-%s" % (name, task["name"]))

        def outcome(task):
            run_obj = child(task)
            cond = self._succeeded(run_obj) if run_obj else None
            if run_obj is None:
                return "none"
            if cond and cond.get("status") == "True":
                return "succeeded"
            if cond and cond.get("status") == "False":
                return "failed"
            return "running"

        def deps(task):
            found = set(task.get("runAfter") or [])
            found |= set(re.findall(r"\$\(tasks\.([a-z0-9-]+)\.results\.", json.dumps(task.get("params") or [])))
            return found

        outcomes = {t["name"]: outcome(t) for t in tasks}
        stopping = any(v == "failed" for v in outcomes.values())
        skipped = []
        for task in tasks:
            if outcomes[task["name"]] != "none":
                continue
            if stopping:
                skipped.append({"name": task["name"], "reason": "PipelineRun was stopping"})
                continue
            if all(outcomes.get(d) == "succeeded" for d in deps(task)):
                self._create_taskrun(run, task, "tasks", fail_task)
        dag_done = all(outcomes[t["name"]] in ("succeeded", "failed") or
                       any(s["name"] == t["name"] for s in skipped) for t in tasks)
        final_outcomes = {}
        if dag_done:
            for task in final:
                final_outcomes[task["name"]] = outcome(task)
                if final_outcomes[task["name"]] == "none":
                    self._create_taskrun(run, task, "finally", fail_task)
        every = {**outcomes, **final_outcomes}
        children = [{"apiVersion": "tekton.dev/v1", "kind": "TaskRun", "name": "%s-%s" % (name, t["name"]),
                     "pipelineTaskName": t["name"]} for t in tasks + final if child(t) is not None]
        failed = sum(1 for v in every.values() if v == "failed")
        completed = sum(1 for v in every.values() if v in ("succeeded", "failed"))
        desired = {"startTime": start, "pipelineSpec": pipeline, "childReferences": children}
        if skipped:
            desired["skippedTasks"] = skipped
        finished = dag_done and all(v in ("succeeded", "failed") for v in final_outcomes.values()) \
            and len(final_outcomes) == len(final)
        if finished:
            desired["completionTime"] = status.get("completionTime") or now()
            message = "Tasks Completed: %d (Failed: %d, Cancelled 0), Skipped: %d" % (completed, failed, len(skipped))
            desired["conditions"] = [condition("Succeeded", "False" if failed else "True",
                                               "Failed" if failed else ("Completed" if skipped else "Succeeded"),
                                               message, previous)]
        else:
            incomplete = len(tasks) + len(final) - completed - len(skipped)
            desired["conditions"] = [condition(
                "Succeeded", "Unknown", "Stopping" if stopping else "Running",
                "Tasks Completed: %d (Failed: %d, Cancelled 0), Incomplete: %d, Skipped: %d"
                % (completed, failed, incomplete, len(skipped)), previous)]
        self.api.set_status("PipelineRun", run, desired)
        return None

    def _create_taskrun(self, run, task, member, fail_task):
        spec = run.get("spec") or {}
        taskrun_spec = {"params": task.get("params") or [],
                        "serviceAccountName": (spec.get("taskRunTemplate") or {}).get("serviceAccountName", "default")}
        if task.get("taskRef"):
            taskrun_spec["taskRef"] = task["taskRef"]
        if task.get("taskSpec"):
            taskrun_spec["taskSpec"] = task["taskSpec"]
        if task.get("timeout"):
            taskrun_spec["timeout"] = task["timeout"]
        notes = standin_note("Tekton pipelines controller: a TaskRun of a PipelineRun")
        if fail_task == task["name"]:
            notes[FAIL] = annotations(run)[FAIL]
        pipeline_name = (spec.get("pipelineRef") or {}).get("name") or meta(run, "name")
        self.api.create("TaskRun", {
            "metadata": {"name": "%s-%s" % (meta(run, "name"), task["name"]), "namespace": meta(run, "namespace"),
                         "labels": {"tekton.dev/pipelineRun": meta(run, "name"), "tekton.dev/pipelineTask": task["name"],
                                    "tekton.dev/pipeline": pipeline_name, "tekton.dev/memberOf": member},
                         "annotations": notes, "ownerReferences": [owner_ref(run)]},
            "spec": taskrun_spec})

    def reconcile_taskrun(self, run, namespace, name):
        if run is None or meta(run, "deletionTimestamp"):
            return None
        current = self._succeeded(run)
        if current and current.get("status") in ("True", "False"):
            return None
        status = dict(run.get("status") or {})
        previous = status.get("conditions")
        spec = run.get("spec") or {}
        task_spec = spec.get("taskSpec")
        ref = spec.get("taskRef") or {}
        if task_spec is None and ref.get("resolver"):
            params = {p.get("name"): p.get("value") for p in ref.get("params") or []}
            if ref["resolver"] == "cluster":
                task = self.fresh("Task", params.get("namespace") or namespace, params.get("name"))
                task_spec = (task or {}).get("spec")
            else:
                task_spec = {"steps": [{"name": "unnamed-0"}]}   # remote resolvers are not resolved here
        elif task_spec is None:
            task = self.fresh("Task", namespace, ref.get("name"))
            if task is None:
                missing = condition("Succeeded", "False", "CouldntGetTask",
                                    'Error retrieving task for taskrun %s/%s: tasks.tekton.dev "%s" not found'
                                    % (namespace, name, ref.get("name")), previous)
                self.api.set_status("TaskRun", run, {"startTime": status.get("startTime") or now(),
                                                     "completionTime": now(), "conditions": [missing]})
                return None
            task_spec = task.get("spec") or {}
        steps = [s.get("name") or "unnamed-%d" % i for i, s in enumerate((task_spec or {}).get("steps") or [])] \
            or ["unnamed-0"]
        if not current:
            self.api.set_status("TaskRun", run, {
                "startTime": now(), "podName": "%s-pod" % name,
                "steps": [{"name": s, "container": "step-" + s, "running": {"startedAt": now()}} for s in steps],
                "conditions": [condition("Succeeded", "Unknown", "Running",
                                         "Not all Steps in the Task have finished executing", previous)]})
            return 0.3
        failing = FAIL in annotations(run)
        done = now()
        step_status = []
        for index, step in enumerate(steps):
            exit_code = 1 if failing and index == 0 else 0
            if failing and index > 0:
                step_status.append({"name": step, "container": "step-" + step, "terminated": {
                    "exitCode": 1, "reason": "TaskRunCancelled", "startedAt": done, "finishedAt": done}})
                continue
            step_status.append({"name": step, "container": "step-" + step, "terminated": {
                "exitCode": exit_code, "reason": "Error" if exit_code else "Completed",
                "startedAt": status.get("startTime") or done, "finishedAt": done}})
        if failing:
            cond = condition("Succeeded", "False", "Failed", '"step-%s" exited with code 1' % steps[0], previous)
        else:
            cond = condition("Succeeded", "True", "Succeeded", "All Steps have completed executing", previous)
        self.api.set_status("TaskRun", run, {"startTime": status.get("startTime") or done, "completionTime": done,
                                             "podName": "%s-pod" % name, "steps": step_status, "conditions": [cond]})
        return None

    def reconcile_eventlistener(self, listener, namespace, name):
        if listener is None or meta(listener, "deletionTimestamp"):
            return None
        resource = ((listener.get("spec") or {}).get("resources") or {}).get("kubernetesResource") or {}
        port = int(resource.get("servicePort") or 8080)
        selector = {"app.kubernetes.io/managed-by": "EventListener", "app.kubernetes.io/part-of": "Triggers",
                    "eventlistener": name}
        service_name = "el-" + name
        if self.cached("Service", namespace, service_name) is None:
            self.api.create("Service", {
                "metadata": {"name": service_name, "namespace": namespace, "labels": selector,
                             "annotations": standin_note("Tekton triggers controller: the EventListener Service"),
                             "ownerReferences": [owner_ref(listener)]},
                "spec": {"type": resource.get("serviceType") or "ClusterIP", "selector": selector,
                         "ports": [{"name": "http-listener", "port": port, "targetPort": 8080, "protocol": "TCP"},
                                   {"name": "http-metrics", "port": 9000, "targetPort": 9000, "protocol": "TCP"}]}})
        previous = (listener.get("status") or {}).get("conditions")
        self.api.set_status("EventListener", listener, {
            "address": {"url": "http://%s.%s.svc.cluster.local:%d" % (service_name, namespace, port)},
            "configuration": {"generatedName": service_name},
            "observedGeneration": meta(listener, "generation"),
            "conditions": [
                condition("Deployment", "True", "MinimumReplicasAvailable", "Deployment has minimum availability", previous),
                condition("Ready", "True", "", "EventListener is ready", previous),
                condition("Service", "True", "", "Service exists", previous)]})
        return None

    # ---- Seldon Core: one Service per predictor ---------------------------------------------------
    def reconcile_seldondeployment(self, sdep, namespace, name):
        if sdep is None or meta(sdep, "deletionTimestamp"):
            return None
        wanted = set()
        for predictor in (sdep.get("spec") or {}).get("predictors") or []:
            service_name = "%s-%s" % (name, predictor.get("name"))
            wanted.add(service_name)
            if self.cached("Service", namespace, service_name) is not None:
                continue
            service_labels = {"seldon-app": service_name, "seldon-deployment-id": name,
                              "app.kubernetes.io/managed-by": "seldon-core"}
            self.api.create("Service", {
                "metadata": {"name": service_name, "namespace": namespace, "labels": service_labels,
                             "annotations": standin_note("Seldon Core operator: the predictor Service"),
                             "ownerReferences": [owner_ref(sdep)]},
                "spec": {"selector": {"seldon-app": service_name},
                         "ports": [{"name": "http", "port": 8000, "targetPort": 8000, "protocol": "TCP"},
                                   {"name": "grpc", "port": 5001, "targetPort": 5001, "protocol": "TCP"}]}})
        for service in self.listed("Service", namespace):
            owners = [r.get("uid") for r in meta(service, "ownerReferences") or []]
            if meta(sdep, "uid") in owners and meta(service, "name") not in wanted:
                self.api.delete("Service", namespace, meta(service, "name"))
        return None

    # ---- Grafana operator v5 -------------------------------------------------------------------
    def _grafana_ready(self, grafana):
        status = grafana.get("status") or {}
        return status.get("stage") == "complete" and status.get("stageStatus") == "success"

    def _instances(self, resource):
        spec = resource.get("spec") or {}
        cross = spec.get("allowCrossNamespaceImport")
        return [g for g in self.listed("Grafana", None if cross else meta(resource, "namespace"))
                if selector_matches(spec.get("instanceSelector"), labels(g))]

    def reconcile_grafana(self, grafana, namespace, name):
        if grafana is None or meta(grafana, "deletionTimestamp"):
            return None
        spec = grafana.get("spec") or {}
        status = grafana.get("status") or {}
        previous = status.get("conditions")
        if FAIL in annotations(grafana):
            self.api.set_status("Grafana", grafana, {
                "stage": "deployment", "stageStatus": "failed", "lastMessage": annotations(grafana)[FAIL],
                "conditions": [c for c in previous or [] if c.get("type") != "GrafanaReady"]})
            return None
        external = (spec.get("external") or {}).get("url")
        if not external:
            self._grafana_children(grafana, namespace, name)
        listed = {}
        for kind, key in (("GrafanaDatasource", "datasources"), ("GrafanaDashboard", "dashboards"),
                          ("GrafanaFolder", "folders")):
            listed[key] = sorted("%s/%s/%s" % (meta(r, "namespace"), meta(r, "name"),
                                               (r.get("spec") or {}).get("uid") or meta(r, "uid"))
                                 for r in self.listed(kind) if grafana in self._instances(r))
        desired = {"stage": "complete", "stageStatus": "success",
                   "version": spec.get("version") or "12.3.0",
                   "adminUrl": external or "http://%s-service.%s:3000" % (name, namespace),
                   "conditions": [condition("GrafanaReady", "True", "GrafanaReady", "Grafana reconcile completed",
                                            previous, observedGeneration=meta(grafana, "generation"))]}
        desired.update({k: v for k, v in listed.items() if v})
        self.api.set_status("Grafana", grafana, desired)
        return None

    def _grafana_children(self, grafana, namespace, name):
        note = standin_note("Grafana operator: an object of a Grafana instance")
        owner = [owner_ref(grafana)]
        spec = grafana.get("spec") or {}
        if self.cached("Service", namespace, name + "-service") is None:
            self.api.create("Service", {
                "metadata": {"name": name + "-service", "namespace": namespace, "annotations": note,
                             "labels": {"app": name}, "ownerReferences": owner},
                "spec": {"selector": {"app": name},
                         "ports": [{"name": "grafana", "port": 3000, "targetPort": "grafana-http", "protocol": "TCP"}]}})
        if not spec.get("disableDefaultAdminSecret") and \
                self.cached("Secret", namespace, name + "-admin-credentials") is None:
            self.api.create("Secret", {
                "metadata": {"name": name + "-admin-credentials", "namespace": namespace, "annotations": note,
                             "ownerReferences": owner},
                "stringData": {"GF_SECURITY_ADMIN_USER": "admin",
                               "GF_SECURITY_ADMIN_PASSWORD": secrets.token_urlsafe(18)}})
        route = spec.get("route")
        if route is not None and "Route" in Kinds.TABLE and \
                self.api.get("Route", namespace, name + "-route") is None:
            route_spec = {"to": {"kind": "Service", "name": name + "-service", "weight": 100},
                          "port": {"targetPort": "grafana"}, "wildcardPolicy": "None"}
            tls = ((route.get("spec") or {}).get("tls"))
            if tls:
                route_spec["tls"] = tls
            self.api.create("Route", {"metadata": {"name": name + "-route", "namespace": namespace,
                                                   "annotations": note, "ownerReferences": owner},
                                      "spec": route_spec})

    def reconcile_grafana_resource(self, resource, _namespace, _name):
        if resource is None or meta(resource, "deletionTimestamp"):
            return None
        what = resource["kind"][len("Grafana"):]           # Datasource, Dashboard, Folder
        sync_type = what + "Synchronized"
        status = dict(resource.get("status") or {})
        previous = status.get("conditions")
        instances = [g for g in self._instances(resource) if self._grafana_ready(g)]
        uid = (resource.get("spec") or {}).get("uid") or meta(resource, "uid")
        if not instances:
            desired = {"conditions": [condition(
                "NoMatchingInstance", "True", "EmptyAPIReply",
                "None of the available Grafana instances matched the selector, skipping reconciliation",
                previous, observedGeneration=meta(resource, "generation"))], "noMatchingInstances": True}
        else:
            desired = {"conditions": [condition(
                sync_type, "True", "ApplySuccessful",
                "%s was successfully applied to %d instances" % (what, len(instances)),
                previous, observedGeneration=meta(resource, "generation"))],
                "noMatchingInstances": False, "uid": uid, "lastResync": status.get("lastResync") or now()}
        self.api.set_status(resource["kind"], resource, desired)
        return None

    # ---- ObjectBucketClaim (lib-bucket-provisioner, as NooBaa runs it) ---------------------------
    def reconcile_obc(self, claim, namespace, name):
        bucket_name = "obc-%s-%s" % (namespace, name)
        if claim is None:
            if self.cached("ObjectBucket", "", bucket_name) is not None:
                self.api.delete("ObjectBucket", None, bucket_name)
            return None
        if meta(claim, "deletionTimestamp"):
            return None
        spec, status = claim.get("spec") or {}, claim.get("status") or {}
        if status.get("phase") == "Bound":
            return None
        storage_class = self.cached("StorageClass", "", spec.get("storageClassName") or "")
        if storage_class is None or storage_class.get("provisioner") != OBC_PROVISIONER:
            return None                           # not for this provisioner: nobody answers
        if FAIL in annotations(claim):
            self.api.set_status("ObjectBucketClaim", claim, {"phase": "Failed"})
            self.api.event(claim, "Warning", "ProvisioningFailed", annotations(claim)[FAIL], OBC_PROVISIONER)
            return None
        for kind in ("ConfigMap", "Secret"):
            clash = self.cached(kind, namespace, name)
            if clash is not None and meta(claim, "uid") not in [r.get("uid") for r in meta(clash, "ownerReferences") or []]:
                self.api.set_status("ObjectBucketClaim", claim, {"phase": "Pending"})
                self.api.event(claim, "Warning", "ProvisioningFailed",
                               'error provisioning bucket: %s "%s" already exists' % (kind.lower(), name), OBC_PROVISIONER)
                return None
        bucket = spec.get("bucketName") or "%s-%s" % (spec.get("generateBucketName") or name, meta(claim, "uid"))
        endpoint = {"bucketHost": "s3.openshift-storage.svc", "bucketPort": 443, "bucketName": bucket,
                    "region": "us-east-1", "subRegion": "", "additionalConfig": spec.get("additionalConfig") or {}}
        note = standin_note("lib-bucket-provisioner (NooBaa): the bucket of an ObjectBucketClaim")
        owner = [owner_ref(claim)]
        obc_labels = {"bucket-provisioner": OBC_PROVISIONER.replace("/", "-"), "app": "noobaa"}
        self.api.create("ObjectBucket", {
            "metadata": {"name": bucket_name, "labels": obc_labels, "annotations": note},
            "spec": {"storageClassName": spec.get("storageClassName"), "reclaimPolicy": "Delete",
                     "claimRef": {"apiVersion": "objectbucket.io/v1alpha1", "kind": "ObjectBucketClaim",
                                  "namespace": namespace, "name": name, "uid": meta(claim, "uid")},
                     "endpoint": endpoint}})
        bucket_obj = self.api.get("ObjectBucket", None, bucket_name)
        if bucket_obj is not None:
            self.api.set_status("ObjectBucket", bucket_obj, {"phase": "Bound"})
        self.api.create("ConfigMap", {
            "metadata": {"name": name, "namespace": namespace, "labels": obc_labels, "annotations": note,
                         "ownerReferences": owner},
            "data": {"BUCKET_HOST": endpoint["bucketHost"], "BUCKET_NAME": bucket,
                     "BUCKET_PORT": str(endpoint["bucketPort"]), "BUCKET_REGION": endpoint["region"],
                     "BUCKET_SUBREGION": ""}})
        alphabet = string.ascii_uppercase + string.digits
        self.api.create("Secret", {
            "metadata": {"name": name, "namespace": namespace, "labels": obc_labels, "annotations": note,
                         "ownerReferences": owner},
            "type": "Opaque",
            "stringData": {"AWS_ACCESS_KEY_ID": "".join(secrets.choice(alphabet) for _index in range(20)),
                           "AWS_SECRET_ACCESS_KEY": secrets.token_urlsafe(30)}})
        self.api.patch("ObjectBucketClaim", namespace, name, {"spec": {"bucketName": bucket,
                                                                       "objectBucketName": bucket_name}})
        self.api.set_status("ObjectBucketClaim", claim, {"phase": "Bound"})
        return None

    # ---- Gateway API -------------------------------------------------------------------------------
    def _our_gateway(self, namespace, name):
        gateway = self.cached("Gateway", namespace, name)
        if gateway is None:
            return None
        klass = self.cached("GatewayClass", "", (gateway.get("spec") or {}).get("gatewayClassName"))
        if klass is None or (klass.get("spec") or {}).get("controllerName") != GATEWAY_CONTROLLER:
            return None
        return gateway

    def reconcile_gatewayclass(self, klass, _namespace, _name):
        if klass is None or (klass.get("spec") or {}).get("controllerName") != GATEWAY_CONTROLLER:
            return None
        previous = (klass.get("status") or {}).get("conditions")
        self.api.set_status("GatewayClass", klass, {"conditions": [condition(
            "Accepted", "True", "Accepted", "Handled by the mlops.platform stand-in gateway controller",
            previous, observedGeneration=meta(klass, "generation"))]})
        return None

    def _route_parents(self, route):
        """(parentRef as written, gateway namespace, gateway name) of each Gateway parent."""
        found = []
        for ref in (route.get("spec") or {}).get("parentRefs") or []:
            if ref.get("group", "gateway.networking.k8s.io") != "gateway.networking.k8s.io" or \
                    ref.get("kind", "Gateway") != "Gateway":
                continue
            found.append((ref, ref.get("namespace") or meta(route, "namespace"), ref.get("name")))
        return found

    def _listener_allows(self, gateway, listener, route_ns):
        allowed = ((listener.get("allowedRoutes") or {}).get("namespaces") or {}).get("from", "Same")
        if allowed == "All":
            return True
        if allowed == "Same":
            return route_ns == meta(gateway, "namespace")
        if allowed == "Selector":
            namespace = self.cached("Namespace", "", route_ns)
            selector = ((listener.get("allowedRoutes") or {}).get("namespaces") or {}).get("selector")
            return namespace is not None and selector_matches(selector, labels(namespace))
        return False

    def reconcile_gateway(self, gateway, namespace, name):
        if gateway is None or self._our_gateway(namespace, name) is None:
            return None
        status = gateway.get("status") or {}
        previous = status.get("conditions")
        generation = meta(gateway, "generation")
        listeners = []
        for listener in (gateway.get("spec") or {}).get("listeners") or []:
            attached = 0
            for route in self.listed("HTTPRoute"):
                for ref, gw_ns, gw_name in self._route_parents(route):
                    if (gw_ns, gw_name) == (namespace, name) and ref.get("sectionName") in (None, listener.get("name")) \
                            and self._listener_allows(gateway, listener, meta(route, "namespace")):
                        attached += 1
            old = next((l for l in status.get("listeners") or [] if l.get("name") == listener.get("name")), {})
            old_conditions = old.get("conditions")
            listeners.append({
                "name": listener.get("name"), "attachedRoutes": attached,
                "supportedKinds": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}],
                "conditions": [
                    condition("Accepted", "True", "Accepted", "Listener is accepted", old_conditions, observedGeneration=generation),
                    condition("Programmed", "True", "Programmed", "Listener is programmed", old_conditions, observedGeneration=generation),
                    condition("ResolvedRefs", "True", "ResolvedRefs", "Resolved all the Object references", old_conditions, observedGeneration=generation),
                    condition("Conflicted", "False", "NoConflicts", "No conflicts", old_conditions, observedGeneration=generation)]})
        self.api.set_status("Gateway", gateway, {
            "addresses": [{"type": "Hostname", "value": "%s-%s.gateways.embedded.invalid" % (name, namespace)}],
            "listeners": listeners,
            "conditions": [
                condition("Accepted", "True", "Accepted", "Gateway is accepted", previous, observedGeneration=generation),
                condition("Programmed", "True", "Programmed", "Gateway is programmed", previous, observedGeneration=generation)]})
        return None

    def reconcile_httproute(self, route, namespace, _name):
        if route is None or meta(route, "deletionTimestamp"):
            return None
        status = route.get("status") or {}
        generation = meta(route, "generation")
        parents = [p for p in status.get("parents") or [] if p.get("controllerName") != GATEWAY_CONTROLLER]
        missing = None
        for rule in (route.get("spec") or {}).get("rules") or []:
            for backend in rule.get("backendRefs") or []:
                if backend.get("group", "") == "" and backend.get("kind", "Service") == "Service":
                    if self.cached("Service", backend.get("namespace") or namespace, backend.get("name")) is None:
                        missing = missing or ("BackendNotFound", 'Service "%s" not found' % backend.get("name"))
                else:
                    missing = missing or ("InvalidKind", "%s/%s is not a supported backend kind" % (
                        backend.get("group", ""), backend.get("kind")))
        for ref, gw_ns, gw_name in self._route_parents(route):
            gateway = self._our_gateway(gw_ns, gw_name)
            if gateway is None:
                continue                       # nobody owns that parent: no status from us
            old = next((p for p in status.get("parents") or [] if p.get("parentRef") == ref
                        and p.get("controllerName") == GATEWAY_CONTROLLER), {})
            previous = old.get("conditions")
            listeners = [l for l in (gateway.get("spec") or {}).get("listeners") or []
                         if ref.get("sectionName") in (None, l.get("name"))]
            if any(self._listener_allows(gateway, l, namespace) for l in listeners):
                accepted = condition("Accepted", "True", "Accepted", "Route was accepted", previous,
                                     observedGeneration=generation)
            else:
                accepted = condition("Accepted", "False", "NotAllowedByListeners",
                                     "No listener of the parent Gateway allows this route", previous,
                                     observedGeneration=generation)
            if missing:
                resolved = condition("ResolvedRefs", "False", missing[0], missing[1], previous, observedGeneration=generation)
            else:
                resolved = condition("ResolvedRefs", "True", "ResolvedRefs",
                                     "Resolved all the Object references for the Route", previous,
                                     observedGeneration=generation)
            parents.append({"parentRef": ref, "controllerName": GATEWAY_CONTROLLER,
                            "conditions": [accepted, resolved]})
        if parents or status.get("parents"):
            self.api.set_status("HTTPRoute", route, {"parents": parents})
        return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--service-ca-cert", required=True)
    parser.add_argument("--service-ca-key", required=True)
    parser.add_argument("--only", choices=["kubelet"],
                        help="only the kubelet's part (a bare control plane has no operators)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(threadName)s %(message)s")
    LOG.info("starting (pid %d%s)", os.getpid(), ", kubelet only" if args.only else "")
    controller = Controller(Api(args.kubeconfig), args.only == "kubelet", args.service_ca_cert, args.service_ca_key)
    controller.run(args.ready_file)


if __name__ == "__main__":
    main()
