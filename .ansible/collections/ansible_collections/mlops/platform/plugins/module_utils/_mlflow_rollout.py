# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The work behind mlflow_model_rollout and mlflow_model_rollout_info: read once, plan, write in order."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

from ansible_collections.mlops.platform.plugins.module_utils import _rollout
from ansible_collections.mlops.platform.plugins.module_utils._api_module import failed_to
from ansible_collections.mlops.platform.plugins.module_utils._mlflow_client import (
    MlflowAlreadyExistsError,
    MlflowError,
    MlflowInvalidParameterError,
    MlflowNotFoundError,
    tags_to_dict,
)
from ansible_collections.mlops.platform.plugins.module_utils._mlflow_gate import judge
from ansible_collections.mlops.platform.plugins.module_utils._mlflow_lock import (
    LOCK_TAG,
    LockLostError,
    describe,
    parse_lease,
)
from ansible_collections.mlops.platform.plugins.module_utils._mlflow_registry import (
    _find_registered,
    normalize_registered_model,
    normalize_version,
    resolve_source,
    validate_alias,
    wait_until_ready,
)


# The aliases the rollout moves (documented once: doc fragment mlops.platform.mlflow.rollout_aliases).
ALIASES_ARGSPEC = dict(
    champion_alias=dict(type="str", default="champion"),
    challenger_alias=dict(type="str", default="challenger"),
    previous_alias=dict(type="str", default="previous_champion"),
)


class Reader(object):
    """One read of a model's rollout state: the registered model, then the versions that matter."""

    def __init__(self, client, name, champion_alias, challenger_alias, previous_alias):
        self.client = client
        self.name = name
        self.aliases_cfg = (champion_alias, challenger_alias, previous_alias)
        self.raw_versions = {}
        self.model = None
        self.exists = False

    def read(self, wanted=(), required=True):
        """Snapshot with the candidate(s) in ``wanted``, the aliased versions and the versions their tags name."""
        champion_alias, challenger_alias, previous_alias = self.aliases_cfg
        try:
            raw = self.client.get_registered_model(self.name)
        except MlflowNotFoundError:
            if required:
                raise MlflowNotFoundError("Registered model %r does not exist" % self.name, "RESOURCE_DOES_NOT_EXIST", 404)
            raw = None
        self.exists = raw is not None
        self.model = normalize_registered_model(raw) if raw else {"aliases": {}, "tags": {}}
        aliases = self.model["aliases"]
        aliased = [aliases[a] for a in (champion_alias, challenger_alias, previous_alias) if a in aliases]
        todo = [str(v) for v in wanted if v] + aliased
        tags = {}
        while todo:
            number = todo.pop(0)
            if number in tags:
                continue
            try:
                version = self.client.get_model_version(self.name, number)
            except MlflowNotFoundError:
                if number in [str(v) for v in wanted if v]:
                    raise MlflowNotFoundError("Version %s of registered model %r does not exist" % (number, self.name),
                                              "RESOURCE_DOES_NOT_EXIST", 404)
                continue
            self.raw_versions[number] = version
            tags[number] = tags_to_dict(version.get("tags"))
            for key in (_rollout.TAG_PREVIOUS, _rollout.TAG_RESTORED):
                other = tags[number].get(key)
                if other and other != _rollout.NONE and other not in tags and len(tags) < 8:
                    todo.append(other)
        return _rollout.Snapshot(self.name, aliases, tags, champion_alias, challenger_alias, previous_alias)


def _check_lock(model, name, token, check_mode):
    if not token or (check_mode and token == "check-mode"):
        return None
    lease = parse_lease(model["tags"].get(LOCK_TAG))
    if lease is None or lease.get("token") != token:
        holder = "nobody holds it now" if lease is None else "it is held by %s" % describe(lease, time.time())
        raise LockLostError(
            "This rollout no longer holds the lock on model %r (%s): its lease expired or it was released. "
            "Nothing was changed; run the rollout again." % (name, holder), "LOCK_LOST")
    return lease


def _apply(client, name, write):
    kind = write[0]
    if kind == "tag":
        client.set_model_version_tag(name, write[1], write[2], write[3])
    elif kind == "alias":
        client.set_alias(name, write[1], write[2])
    elif kind == "unalias":
        client.delete_alias(name, write[1])


def describe_write(write):
    if write[0] == "tag":
        return "%s=%s on version %s" % (write[2], write[3] if len(write[3]) < 40 else write[3][:37] + "...", write[1])
    if write[0] == "alias":
        return "alias %s -> version %s" % (write[1], write[2])
    return "alias %s removed" % write[1]


def execute(client, name, plan, check_mode):
    """Apply the plan's writes in order; on failure say which were done and how to finish."""
    if check_mode:
        return
    for index, write in enumerate(plan.writes):
        try:
            _apply(client, name, write)
        except MlflowError as exc:
            done = "; ".join(describe_write(w) for w in plan.writes[:index]) or "none"
            where = "at write %d of %d (%s)" % (index + 1, len(plan.writes), describe_write(write))
            raise type(exc)(
                "Failed to %s version %s of model %r %s: %s. Written before it: %s. Run the same step again to finish "
                "it." % (plan.transition, plan.version, name, where, exc.message, done), exc.error_code, exc.status)


def _diff(snap, plan):
    before = snap.view(plan.version)
    after_snap = _rollout.Snapshot(snap.name, dict(snap.aliases), dict((k, dict(v)) for k, v in snap.versions.items()),
                                   snap.champion_alias, snap.challenger_alias, snap.previous_alias)
    for write in plan.writes:
        after_snap.apply(write)
    return {"before": before, "after": after_snap.view(plan.version)}


def _register(module, reader, p):
    """Find or create the version of the run's model; returns (version number or None, created, raw version)."""
    client = module.client
    name = p["name"]
    if p["version"]:
        return str(p["version"]), False, None
    if not (p["run_id"] or p["source"]):
        raise MlflowInvalidParameterError("transition register needs run_id (with artifact_path) or source")
    try:
        source, run_id, model_id, alternatives = resolve_source(client, p["source"], p["run_id"], p["artifact_path"])
        existing = _find_registered(client, name, source, run_id, alternatives) if reader.exists else None
    except MlflowError as exc:
        raise failed_to("find the version of model %r for %s" % (name, p["source"] or "run %s" % p["run_id"]), exc)
    if existing is not None:
        return str(existing["version"]), False, existing
    if module.check_mode:
        return None, True, {"source": source, "run_id": run_id}
    # The first write creates the version with its REGISTERED tags at once: a crash cannot leave it untagged.
    tags = dict((k, _rollout.tag_text(v)) for k, v in (p["tags"] or {}).items())
    tags[_rollout.TAG_REASON] = _rollout.tag_text(p["reason"] or "registered from run %s" % run_id)
    tags[_rollout.TAG_STATE] = _rollout.REGISTERED
    try:
        if not reader.exists:
            try:
                client.create_registered_model(name)
            except MlflowAlreadyExistsError:
                pass
        raw = client.create_model_version(name, source, run_id, model_id, None, tags)
        raw = wait_until_ready(client, raw, p["wait_timeout"])
    except MlflowError as exc:
        raise failed_to("register a version of model %r from %s" % (name, source), exc)
    return str(raw["version"]), True, raw


def rollout(module):
    p = module.params
    client = module.client
    name = p["name"]
    transition = p["transition"]
    for option in ("champion_alias", "challenger_alias", "previous_alias"):
        validate_alias(p[option], option)
    reader = Reader(client, name, p["champion_alias"], p["challenger_alias"], p["previous_alias"])
    try:
        snap = reader.read(required=transition != "register")
    except MlflowError as exc:
        raise failed_to("read the rollout state of model %r" % name, exc)
    lease = _check_lock(reader.model, name, p["lock_token"], module.check_mode)

    created = False
    version = p["version"]
    raw = None
    if transition == "register":
        version, created, raw = _register(module, reader, p)
        if version is not None:
            try:
                snap = reader.read(wanted=[version])
            except MlflowError as exc:
                raise failed_to("read the rollout state of model %r" % name, exc)
    elif transition != "rollback" and not version:
        version = snap.challenger
        if version is None:
            raise MlflowNotFoundError(
                "Model %r has no candidate: the alias %s is not set and no version was given. Train and register a "
                "candidate first (playbooks/train.yml), or set version." % (name, p["challenger_alias"]),
                "RESOURCE_DOES_NOT_EXIST", 404)
    if transition not in ("register", "rollback") or (transition == "rollback" and version):
        if str(version) not in snap.versions:
            try:
                snap = reader.read(wanted=[version])
            except MlflowError as exc:
                raise failed_to("read version %s of model %r" % (version, name), exc)

    verdict = None
    if transition == "validate" and snap.state(version) in _rollout.TRANSITIONS["validate"][0]:
        verdict = judge(client, name, p["metrics"], {"version": str(version)}, {"alias": p["champion_alias"]})

    if version is None and transition == "register":  # check mode, a version that would be created
        would = {"changed": True, "transition": transition, "version": None, "state": _rollout.REGISTERED,
                 "msg": "Would register a new version of model %r from %s" % (name, raw["source"]),
                 "champion": snap.champion, "previous_champion": snap.previous,
                 "serve": {"default_version": snap.champion, "versions": []}, "fallback_version": snap.champion,
                 "diff": {"before": snap.view(None),
                          "after": dict(snap.view(None), state=_rollout.REGISTERED, challenger="(new version)")}}
        return would
    try:
        plan = _rollout.plan(transition, snap, version, reason=p["reason"], verdict=verdict, extra_tags=p["tags"],
                             canary=p.get("canary"))
    except _rollout.IllegalTransition as exc:
        return {"_failed": True, "changed": False, "msg": str(exc), "transition": transition,
                "version": None if version is None else str(version), "state": snap.state(version),
                "champion": snap.champion, "previous_champion": snap.previous}
    diff = _diff(snap, plan)
    if created:
        diff["before"] = {"version": None, "state": None, "reason": None, "champion": snap.champion,
                          "previous_champion": snap.previous, "challenger": diff["before"]["challenger"]}
    execute(client, name, plan, module.check_mode)
    released = False
    if lease is not None and p["release_lock"] and not module.check_mode:
        try:
            client.delete_registered_model_tag(name, LOCK_TAG)
            released = True
        except MlflowError as exc:
            module.warn("Could not release the rollout lock on model %r: %s" % (name, exc))
    elif lease is not None and p["lock_ttl"] and not module.check_mode:
        try:
            if float(lease.get("expires", 0)) - time.time() < p["lock_ttl"] / 2.0:
                lease = dict(lease, expires=round(time.time() + p["lock_ttl"], 3))
                client.set_registered_model_tag(name, LOCK_TAG, json.dumps(lease, sort_keys=True))
        except MlflowError as exc:
            module.warn("Could not renew the rollout lock on model %r: %s" % (name, exc))
    result = plan.result()
    result.update(changed=plan.changed or created, previous_state=None if created else snap.state(version),
                  diff=diff, writes=[describe_write(w) for w in plan.writes], lock_released=released)
    if verdict is not None:
        result["verdict"] = {"passed": verdict["passed"], "msg": verdict["msg"], "results": verdict["results"],
                             "baseline_note": verdict["baseline_note"]}
    if raw is not None and transition == "register":
        result["model_version"] = normalize_version(reader.raw_versions.get(str(version)) or raw)
    return result


def rollout_info(module):
    """Read-only: the rollout state of a model and of one version."""
    p = module.params
    name = p["name"]
    for option in ("champion_alias", "challenger_alias", "previous_alias"):
        validate_alias(p[option], option)
    reader = Reader(module.client, name, p["champion_alias"], p["challenger_alias"], p["previous_alias"])
    try:
        snap = reader.read(wanted=[p["version"]] if p["version"] else [])
    except MlflowError as exc:
        raise failed_to("read the rollout state of model %r" % name, exc)
    version = str(p["version"]) if p["version"] else snap.challenger
    lease = parse_lease(reader.model["tags"].get(LOCK_TAG))
    versions = []
    for number in sorted(snap.versions, key=int):
        raw = reader.raw_versions[number]
        tags = snap.versions[number]
        versions.append({"version": number, "state": tags.get(_rollout.TAG_STATE),
                         "reason": tags.get(_rollout.TAG_REASON), "previous_champion": tags.get(_rollout.TAG_PREVIOUS),
                         "gate": tags.get(_rollout.TAG_GATE), "run_id": raw.get("run_id") or None,
                         "source": raw.get("source"),
                         "aliases": sorted(a for a, v in snap.aliases.items() if v == number)})
    return {
        "changed": False,
        "name": name,
        "champion": snap.champion,
        "challenger": snap.challenger,
        "previous_champion": snap.previous,
        "version": version,
        "state": snap.state(version) if version else None,
        "reason": snap.tag(version, _rollout.TAG_REASON) if version else None,
        "versions": versions,
        "lock": None if lease is None else dict(
            (k, lease[k]) for k in ("owner", "host", "acquired", "expires") if k in lease),
    }
