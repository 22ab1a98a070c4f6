#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cluster_objects
short_description: Apply a list of Kubernetes objects in one call (server-side apply), wait for them, or remove them
version_added: 0.1.0
description:
  - Makes a whole list of rendered Kubernetes manifests so in one task, the way the collection's roles apply a
    component on C(mlops_target=openshift) or C(kubernetes) - and about ten times faster per task than a
    C(kubernetes.core.k8s) call here, which imports the C(kubernetes) package and builds a dynamic client each time.
    It talks to the REST API directly (the group-versions it needs are discovered once per call) and sends the
    objects of a list concurrently (8 at a time; the API server has no order among them).
  - V(present) - Namespaces of the list are created, or patched when their labels or annotations differ (not
    server-side applied - a Namespace's first re-apply re-adopts the fields the API server set and reports a change);
    every other object is server-side applied with O(field_manager). An object is changed when the API server
    stored a new version of it that differs in more than its status (a controller writing the status between the
    read and the apply is not a change of the apply), so a rerun that changes nothing reports C(changed=false).
  - In check mode everything is sent as the API server's dry run (C(dryRun=All)) and compared with what is stored;
    the objects of a Namespace that does not exist yet cannot be dry-run and are reported (RV(deferred)) as to be
    created, a change.
  - O(wait) items are polled once a second, all at once, until their condition or phase is reached; a C(Failed)
    or C(ReplicaFailure) condition that is V(True) (or phase C(Failed)) ends the wait of that item at once. Items the
    apply's answer already shows ready (and whose controller saw the current spec) are not polled. What is not ready
    in time is returned (RV(not_ready), one line per object), not failed on - the caller words the failure.
  - V(absent) - deletes the objects (in the order given, Namespaces last) with C(propagationPolicy=Background), then
    waits until they are gone when O(wait_removed).
  - The connection options are those of C(kubernetes.core) (O(kubeconfig), O(context), O(host), O(api_key) ...);
    set them once with C(module_defaults) for C(group/mlops.platform.kubernetes), which extends
    C(group/kubernetes.core.k8s) - one setting for both collections' modules.
author:
  - mlops.platform contributors (@mlops-platform)
options:
  objects:
    description:
      - Whole manifests, each with C(apiVersion), C(kind) and C(metadata.name) (and C(metadata.namespace) for a
        namespaced kind).
    type: list
    elements: dict
    required: true
  state:
    description:
      - V(present) applies the objects, V(absent) removes them.
    type: str
    choices: [present, absent]
    default: present
  field_manager:
    description:
      - The server-side apply field manager, for example V(mlops.platform/mlflow). Also named on created Namespaces.
    type: str
    required: true
  force_conflicts:
    description:
      - Take over fields another manager owns (server-side apply's C(force)).
    type: bool
    default: true
  wait:
    description:
      - After a V(present) apply, wait for these objects. Each item is C({kind, name, namespace, api_version,
        condition, phase, timeout}) - C(condition) is C({type, status}) (status default V(True)), or C(phase) (for
        example V(Bound) or V(Succeeded)).
      - C(api_version) defaults to the C(apiVersion) of the object of that kind and name in O(objects) (else V(v1));
        C(timeout) (seconds) to V(120).
    type: list
    elements: dict
    default: []
  wait_removed:
    description:
      - With O(state=absent), wait until the removed objects are gone.
    type: bool
    default: true
  remove_timeout:
    description:
      - Seconds a removal waits for the objects to be gone.
    type: int
    default: 120
notes:
  - Not supported - a kubeconfig user with an C(auth-provider) (use a token or an exec credential plugin), proxies.
  - A CustomResourceDefinition and objects of its kind in one list - the kinds are discovered once per call, before
    the CRD exists; apply the CRD in a task of its own first.
  - Secrets' data never appears in the returned objects or in the diff.
extends_documentation_fragment:
  - mlops.platform.kubernetes
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
seealso:
  - module: kubernetes.core.k8s
  - module: mlops.platform.cluster_objects_info
"""

EXAMPLES = r"""
- name: Apply the objects of a component and wait for its Deployment
  mlops.platform.cluster_objects:
    field_manager: mlops.platform/mlflow
    objects: "{{ lookup('ansible.builtin.template', 'objects.yml.j2') | ansible.builtin.from_yaml }}"
    wait:
      - kind: Deployment
        name: mlflow
        namespace: mlops-mlflow
        condition: {type: Available}
        timeout: 300
  register: applied

- name: Remove them (the caller leaves out what it keeps)
  mlops.platform.cluster_objects:
    field_manager: mlops.platform/mlflow
    state: absent
    objects: "{{ objects | reverse | list }}"
"""

RETURN = r"""
objects:
  description:
    - The objects as the API server answered (server-side apply answers with the stored object; check mode with
      its dry run), in the order given, without C(managedFields); a Secret without its data.
  returned: state=present
  type: list
  elements: dict
changed_objects:
  description: C(Kind namespace/name) of every object created, changed or removed (would be, in check mode).
  returned: always
  type: list
  elements: str
deferred:
  description: Check mode - C(Kind namespace/name) of the objects of new Namespaces, which a dry run cannot place.
  returned: state=present
  type: list
  elements: str
new_namespaces:
  description: Check mode - the Namespaces the objects live in that do not exist yet.
  returned: state=present
  type: list
  elements: str
waited:
  description: The O(wait) items that were polled, each with C(ready) and C(seconds).
  returned: state=present
  type: list
  elements: dict
not_ready:
  description: One line per O(wait) item not ready in time (its condition's reason and message); empty when all are.
  returned: state=present
  type: list
  elements: str
not_removed:
  description: C(Kind namespace/name) of what was still there when O(remove_timeout) ran out.
  returned: state=absent
  type: list
  elements: str
"""

import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.mlops.platform.plugins.module_utils._api_module import ApiModule
from ansible_collections.mlops.platform.plugins.module_utils._http_client import ApiAuthError, ApiError
from ansible_collections.mlops.platform.plugins.module_utils._kube_client import (
    KUBE_CONNECTION_ARGSPEC,
    KubeClient,
    comparable,
    connection_settings,
    published,
    ref,
)

WORKERS = 8
FAILED_CONDITIONS = ("Failed", "ReplicaFailure")


def _each(fn, items):
    """fn over items, 8 at a time, results in order; the first error (its object named) is raised."""
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(items))) as pool:
        return list(pool.map(fn, items))


def _named_error(obj, doing, exc):
    return type(exc)("Failed to %s %s: %s" % (doing, ref(obj), exc.message), exc.error_code, exc.status)


def check_objects(objects):
    for index, obj in enumerate(objects):
        meta = obj.get("metadata") if isinstance(obj, dict) else None
        if not isinstance(meta, dict) or not obj.get("apiVersion") or not obj.get("kind") or not meta.get("name"):
            return "objects[%d] needs apiVersion, kind and metadata.name" % index
    return None


def check_waits(waits):
    for index, item in enumerate(waits):
        if not item.get("kind") or not item.get("name"):
            return "wait[%d] needs kind and name" % index
        if not item.get("condition") and not item.get("phase"):
            return "wait[%d] (%s %s) needs a condition ({type, status}) or a phase" % (index, item["kind"], item["name"])
        if item.get("condition") and not (isinstance(item["condition"], dict) and item["condition"].get("type")):
            return "wait[%d] (%s %s): condition needs a type" % (index, item["kind"], item["name"])
    return None


def _diff_view(obj):
    if not obj:
        return {}
    view = comparable(obj)
    if view.get("kind") == "Secret":
        view = dict(view, data=dict((k, "VALUE_HIDDEN") for k in (obj.get("data") or {})))
        view.pop("stringData", None)
    return view


def apply_namespace(client, module, ns):
    """(answer, changed, created) of create-or-patch of one Namespace."""
    check = module.check_mode
    name = ns["metadata"]["name"]
    before = client.get("v1", "Namespace", name)
    if before is None:
        if check:
            return dict(ns), True, True, None
        after = client.create(ns, module.params["field_manager"])
        return after, True, True, before
    wanted = dict((key, ns["metadata"].get(key) or {}) for key in ("labels", "annotations"))
    have = dict((key, before["metadata"].get(key) or {}) for key in ("labels", "annotations"))
    patch = {}
    for key in wanted:
        delta = dict((k, v) for k, v in wanted[key].items() if have[key].get(k) != v)
        if delta:
            patch[key] = delta
    if not patch:
        return before, False, False, before
    after = client.merge_patch("v1", "Namespace", name, {"metadata": patch}, field_manager=module.params["field_manager"],
                               dry_run=check)
    return after, True, False, before


def stored(client, objects):
    """{(apiVersion, kind, namespace, name): the stored object or None}: one list per kind and namespace."""
    groups = {}
    for obj in objects:
        meta = obj["metadata"]
        groups.setdefault((obj["apiVersion"], obj["kind"], meta.get("namespace")), []).append(obj)

    def read(key):
        api_version, kind, namespace = key
        members = groups[key]
        try:
            res = client.resources(api_version).get(kind)
            if len(members) > 1 and res is not None and (namespace or not res["namespaced"]):
                try:
                    listed = client.list(api_version, kind, namespace)
                    names = dict((item["metadata"]["name"], item) for item in listed)
                    return [(o, names.get(o["metadata"]["name"])) for o in members]
                except ApiAuthError:
                    pass  # allowed to get, not to list: one read each
            return [(o, client.get(api_version, kind, o["metadata"]["name"], namespace)) for o in members]
        except ApiError as exc:
            raise _named_error(members[0], "read", exc)

    found = {}
    for pairs in _each(read, list(groups)):
        for obj, before in pairs:
            meta = obj["metadata"]
            found[(obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"])] = before
    return found


def apply_object(client, module, obj, before):
    """(answer, changed, before) of one server-side apply."""
    after = client.apply(obj, module.params["field_manager"], force=module.params["force_conflicts"],
                         dry_run=module.check_mode)
    if before is None:
        return after, True, before
    # Stored again (its resourceVersion moved; a dry run never moves it) and different in more than the status that
    # a controller may have written meanwhile.
    moved = module.check_mode or before["metadata"].get("resourceVersion") != after["metadata"].get("resourceVersion")
    changed = moved and comparable(before) != comparable(after)
    return after, changed, before


def _wait_ref(item):
    return "%s %s%s" % (item["kind"], "%s/" % item["namespace"] if item.get("namespace") else "", item["name"])


def _has_condition(status, item):
    cond = item.get("condition") or {}
    wanted = str(cond.get("status", "True"))
    return any(c.get("type") == cond.get("type") and str(c.get("status")) == wanted
               for c in status.get("conditions") or [])


def ready_in(obj, item):
    """Whether the object as stored shows the item's phase or condition, its controller caught up with its spec."""
    if not obj:
        return False
    status = obj.get("status") or {}
    generation = int((obj.get("metadata") or {}).get("generation") or 0)
    caught_up = int(status.get("observedGeneration", generation) or 0) >= generation
    has_phase = bool(item.get("phase")) and status.get("phase") == item["phase"]
    has_condition = bool(item.get("condition")) and _has_condition(status, item)
    return caught_up and (has_phase or has_condition)


def wait_over(obj, item):
    """Whether polling the item can stop: reached, or failed."""
    if not obj:
        return False
    status = obj.get("status") or {}
    if status.get("phase") and status.get("phase") in (item.get("phase"), "Failed"):
        return True
    if item.get("condition") and _has_condition(status, item):
        return True
    return any(c.get("type") in FAILED_CONDITIONS and str(c.get("status")) == "True"
               for c in status.get("conditions") or [])


def not_ready_line(item, obj, error=None):
    """The line of an item not ready in time, or None when it is."""
    name = _wait_ref(item)
    after = " after %s s" % item.get("timeout", 120)
    if not obj:
        return "%s does not exist%s" % (name, (": %s" % error) if error else "")
    status = obj.get("status") or {}
    if item.get("phase"):
        if status.get("phase") != item["phase"]:
            return "%s is %s, not %s%s" % (name, status.get("phase") or "without a phase", item["phase"], after)
        return None
    cond_type = item["condition"]["type"]
    wanted = str(item["condition"].get("status", "True"))
    conditions = status.get("conditions") or []
    cond = [c for c in conditions if c.get("type") == cond_type]
    if cond and str(cond[0].get("status")) == wanted:
        return None
    bad = [c for c in conditions if c.get("type") in FAILED_CONDITIONS and str(c.get("status")) == "True"]
    last = (bad + cond)[0] if bad + cond else None
    why = " (%s %s: %s)" % (last.get("type"), last.get("reason", ""), last.get("message", "")) if last else ""
    return "%s: condition %s is not %s%s%s" % (name, cond_type, wanted, after, why)


def wait_for(client, items, sleep=time.sleep, clock=time.time):
    """Poll every item once a second until each is over or its timeout ran out; [(item, obj, error, seconds)]."""
    start = clock()
    state = [dict(item=item, obj=None, error=None, done=False, seconds=0.0) for item in items]
    while True:
        open_items = [s for s in state if not s["done"]]
        if not open_items:
            break

        def poll(entry):
            item = entry["item"]
            try:
                entry["obj"] = client.get(item["api_version"], item["kind"], item["name"], item.get("namespace"))
                entry["error"] = None
            except ApiError as exc:
                entry["obj"], entry["error"] = None, exc.message
            now = clock()
            entry["seconds"] = round(now - start, 1)
            if wait_over(entry["obj"], item) or now - start >= float(item.get("timeout", 120)):
                entry["done"] = True

        _each(poll, open_items)
        if any(not s["done"] for s in state):
            sleep(1)
    return state


def split_namespaces(objects):
    """(Namespaces, every other object) of a list, each in the order given."""
    namespaces = [o for o in objects if o["kind"] == "Namespace" and o["apiVersion"] == "v1"]
    return namespaces, [o for o in objects if o not in namespaces]


def present(module, client):
    params = module.params
    objects = params["objects"]
    namespaces, others = split_namespaces(objects)
    result = dict(changed=False, objects=[], changed_objects=[], deferred=[], new_namespaces=[], waited=[],
                  not_ready=[])
    diffs = []

    def ns_step(ns):
        try:
            return apply_namespace(client, module, ns)
        except ApiError as exc:
            raise _named_error(ns, "create or patch", exc)

    ns_answers = _each(ns_step, namespaces)
    new_namespaces = [ns["metadata"]["name"] for ns, answer in zip(namespaces, ns_answers) if answer[2]]
    if module.check_mode:
        # the Namespaces the objects live in that are not in the list: do they exist?
        listed = set(ns["metadata"]["name"] for ns in namespaces)
        referenced = sorted(set(o["metadata"].get("namespace") for o in others
                                if o["metadata"].get("namespace") and o["metadata"]["namespace"] not in listed))
        exists = _each(lambda name: client.get("v1", "Namespace", name) is not None, referenced)
        new_namespaces += [name for name, there in zip(referenced, exists) if not there]
        result["new_namespaces"] = new_namespaces
    deferred = [o for o in others if module.check_mode and o["metadata"].get("namespace") in new_namespaces]
    to_apply = [o for o in others if o not in deferred]

    before = stored(client, to_apply)

    def step(obj):
        meta = obj["metadata"]
        try:
            return apply_object(client, module, obj,
                                before[(obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"])])
        except ApiError as exc:
            raise _named_error(obj, "apply", exc)

    answers = _each(step, to_apply)
    for obj, (answer, changed, _created, before) in zip(namespaces, ns_answers):
        result["objects"].append(published(answer))
        if changed:
            result["changed_objects"].append(ref(obj))
            diffs.append(dict(before_header=ref(obj), after_header=ref(obj), before=_diff_view(before),
                              after=_diff_view(answer)))
    for obj, (answer, changed, before) in zip(to_apply, answers):
        result["objects"].append(published(answer))
        if changed:
            result["changed_objects"].append(ref(obj))
            diffs.append(dict(before_header=ref(obj), after_header=ref(obj), before=_diff_view(before),
                              after=_diff_view(answer)))
    result["deferred"] = [ref(o) for o in deferred]
    result["changed_objects"] += result["deferred"]
    result["changed"] = bool(result["changed_objects"])

    if not module.check_mode and params["wait"]:
        by_ref = dict(((o["kind"], o["metadata"]["name"]), o) for o in objects)
        answered = [a for a, _c, _b in answers] + [a[0] for a in ns_answers]
        pending = []
        for item in params["wait"]:
            item = dict(item)
            item.setdefault("api_version", (by_ref.get((item["kind"], item["name"])) or {}).get("apiVersion", "v1"))
            found = [a for a in answered if a.get("kind") == item["kind"]
                     and a["metadata"].get("name") == item["name"]
                     and (not item.get("namespace") or a["metadata"].get("namespace") == item["namespace"])]
            if not (found and ready_in(found[0], item)):
                pending.append(item)
        for entry in wait_for(client, pending):
            line = not_ready_line(entry["item"], entry["obj"], entry["error"])
            result["waited"].append(dict(kind=entry["item"]["kind"], name=entry["item"]["name"],
                                         namespace=entry["item"].get("namespace"), ready=line is None,
                                         seconds=entry["seconds"]))
            if line:
                result["not_ready"].append(line)
    if module._diff:
        result["diff"] = diffs
    return result


def absent(module, client):
    params = module.params
    objects = params["objects"]
    namespaces, others = split_namespaces(objects)
    result = dict(changed=False, changed_objects=[], not_removed=[])
    for batch in (others, namespaces):
        def remove(obj):
            meta = obj["metadata"]
            try:
                if not client.serves(obj["apiVersion"], obj["kind"]):
                    return False  # its CRD is gone: nothing of that kind is left
                return client.delete(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"),
                                     dry_run=module.check_mode)
            except ApiError as exc:
                raise _named_error(obj, "remove", exc)

        removed = _each(remove, batch)
        gone = [o for o, was in zip(batch, removed) if was]
        result["changed_objects"] += [ref(o) for o in gone]
        if module.check_mode or not params["wait_removed"] or not gone:
            continue
        deadline = time.time() + params["remove_timeout"]
        left = gone
        while left:
            there = _each(lambda o: client.get(o["apiVersion"], o["kind"], o["metadata"]["name"],
                                               o["metadata"].get("namespace")) is not None, left)
            left = [o for o, yes in zip(left, there) if yes]
            if not left or time.time() >= deadline:
                break
            time.sleep(1)
        if left:
            result["not_removed"] = [ref(o) for o in left]
            result["changed"] = True
            result["_failed"] = True
            result["msg"] = "Not removed after %d s: %s" % (params["remove_timeout"], ", ".join(result["not_removed"]))
            return result
    result["changed"] = bool(result["changed_objects"])
    return result


def cluster_objects(module):
    problem = check_objects(module.params["objects"]) or check_waits(module.params["wait"])
    if problem:
        module.fail_json(msg=problem)
    settings = connection_settings(module.params, run_command=module.run_command)
    client = KubeClient(settings, timeout=module.params["request_timeout"])
    if module.params["state"] == "present":
        return present(module, client)
    return absent(module, client)


def main():
    spec = dict(KUBE_CONNECTION_ARGSPEC)
    spec.update(
        objects=dict(type="list", elements="dict", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        field_manager=dict(type="str", required=True),
        force_conflicts=dict(type="bool", default=True),
        wait=dict(type="list", elements="dict", default=[]),
        wait_removed=dict(type="bool", default=True),
        remove_timeout=dict(type="int", default=120),
    )
    module = ApiModule(argument_spec=spec, supports_check_mode=True)
    module.run(cluster_objects)


if __name__ == "__main__":
    main()
