# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Experiments and runs: the work behind mlflow_experiment, mlflow_experiment_info and mlflow_run_info."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mlops.platform.plugins.module_utils._mlflow_client import (
    MlflowError,
    MlflowInvalidParameterError,
    MlflowNotFoundError,
    endpoint_missing,
    tags_to_dict,
)
from ansible_collections.mlops.platform.plugins.module_utils._api_module import failed_to
from ansible_collections.mlops.platform.plugins.module_utils._http_client import redact_url

DESCRIPTION_TAG = "mlflow.note.content"


def tag_value(value):
    """Tag values are strings in MLflow; booleans are written the YAML way."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def plan_tags(current, desired, purge):
    """Return (to_set: dict, to_delete: list) that turn ``current`` into ``desired``.

    Tags under the ``mlflow.`` prefix belong to MLflow and are never purged.
    """
    desired = dict((str(k), tag_value(v)) for k, v in (desired or {}).items())
    to_set = dict((k, v) for k, v in desired.items() if current.get(k) != v)
    to_delete = []
    if purge:
        to_delete = sorted(k for k in current if k not in desired and not k.startswith("mlflow."))
    return to_set, to_delete


def normalize_experiment(exp):
    if exp is None:
        return None
    tags = tags_to_dict(exp.get("tags"))
    return {
        "experiment_id": exp.get("experiment_id"),
        "name": exp.get("name"),
        "artifact_location": exp.get("artifact_location"),
        "lifecycle_stage": exp.get("lifecycle_stage"),
        "creation_time": exp.get("creation_time"),
        "last_update_time": exp.get("last_update_time"),
        "description": tags.get(DESCRIPTION_TAG),
        "tags": dict((k, v) for k, v in tags.items() if k != DESCRIPTION_TAG),
    }


def find_experiment(client, name=None, experiment_id=None):
    """The experiment (active or deleted) or None."""
    try:
        if experiment_id is not None:
            return client.get_experiment(experiment_id)
        return client.get_experiment_by_name(name)
    except MlflowNotFoundError:
        return None
    except MlflowInvalidParameterError as exc:
        # A malformed id ("abc") is reported by MLflow as a bad parameter; for a lookup it means "no such experiment".
        if experiment_id is not None and "experiment" in exc.message.lower():
            return None
        raise


def _experiment_view(exp):
    """The user-facing state compared for diff/idempotence."""
    if exp is None or exp.get("lifecycle_stage") == "deleted":
        return {"state": "absent"}
    return {
        "state": "present",
        "name": exp["name"],
        "artifact_location": exp["artifact_location"],
        "description": exp["description"],
        "tags": exp["tags"],
    }


def ensure_experiment(module):
    p = module.params
    client = module.client
    name = p["name"]
    try:
        raw = find_experiment(client, name=name)
    except MlflowError as exc:
        raise failed_to("look up experiment %r" % name, exc)
    current = normalize_experiment(raw)
    before = _experiment_view(current)

    if p["state"] == "absent":
        if before["state"] == "absent":
            return {"changed": False, "experiment": current, "diff": {"before": before, "after": before}}
        if not module.check_mode:
            try:
                client.delete_experiment(current["experiment_id"])
            except MlflowError as exc:
                raise failed_to("delete experiment %r" % name, exc)
            current = normalize_experiment(find_experiment(client, experiment_id=current["experiment_id"]))
        after = {"state": "absent"}
        return {"changed": True, "experiment": current, "diff": {"before": before, "after": after}}

    desired_tags = dict(p["tags"] or {})
    if p["description"] is not None:
        desired_tags[DESCRIPTION_TAG] = p["description"]

    if current is None:
        after = {
            "state": "present",
            "name": name,
            "artifact_location": p["artifact_location"],
            "description": p["description"],
            "tags": dict((str(k), tag_value(v)) for k, v in (p["tags"] or {}).items()),
        }
        if module.check_mode:
            return {"changed": True, "experiment": None, "diff": {"before": before, "after": after}}
        try:
            experiment_id = client.create_experiment(
                name, p["artifact_location"], dict((k, tag_value(v)) for k, v in desired_tags.items()))
            current = normalize_experiment(client.get_experiment(experiment_id))
        except MlflowError as exc:
            raise failed_to("create experiment %r" % name, exc)
        return {"changed": True, "experiment": current,
                "diff": {"before": before, "after": _experiment_view(current)}}

    if p["artifact_location"] and p["artifact_location"] != current["artifact_location"]:
        raise MlflowInvalidParameterError(
            "artifact_location of experiment %r is %r and cannot be changed after creation (asked for %r)"
            % (name, current["artifact_location"], p["artifact_location"]))

    current_tags = tags_to_dict(raw.get("tags"))
    to_set, to_delete = plan_tags(current_tags, desired_tags, p["purge_tags"])
    restore = current["lifecycle_stage"] == "deleted"
    changed = bool(restore or to_set or to_delete)
    after = dict(before, state="present", name=current["name"], artifact_location=current["artifact_location"])
    after_tags = dict(current_tags)
    after_tags.update(to_set)
    for key in to_delete:
        after_tags.pop(key, None)
    after["description"] = after_tags.pop(DESCRIPTION_TAG, None)
    after["tags"] = after_tags
    if changed and not module.check_mode:
        experiment_id = current["experiment_id"]
        try:
            if restore:
                client.restore_experiment(experiment_id)
            for key in to_delete:  # first: a server that cannot delete tags fails before anything is written
                try:
                    client.delete_experiment_tag(experiment_id, key)
                except MlflowError as exc:
                    if not endpoint_missing(exc):
                        raise
                    raise MlflowInvalidParameterError(
                        "the MLflow server at %s cannot delete experiment tags (MLflow < 3 has no "
                        "experiments/delete-experiment-tag), so purge_tags cannot remove %s"
                        % (redact_url(client.base_url), ", ".join("'%s'" % k for k in to_delete)))
            for key, value in sorted(to_set.items()):
                client.set_experiment_tag(experiment_id, key, value)
            current = normalize_experiment(client.get_experiment(experiment_id))
        except MlflowError as exc:
            raise failed_to("update experiment %r" % name, exc)
    return {"changed": changed, "experiment": current, "diff": {"before": before, "after": after}}


def experiment_info(module):
    p = module.params
    client = module.client
    try:
        if p["name"] is not None:
            found = find_experiment(client, name=p["name"])
            found = [found] if found else []
        elif p["experiment_id"] is not None:
            found = find_experiment(client, experiment_id=p["experiment_id"])
            found = [found] if found else []
        else:
            found = client.search_experiments(p["filter"], p["order_by"], p["view_type"], p["max_results"])
            return {"changed": False, "experiments": [normalize_experiment(e) for e in found]}
    except MlflowError as exc:
        raise failed_to("read experiments", exc)
    if p["view_type"] == "ACTIVE_ONLY":
        found = [e for e in found if e.get("lifecycle_stage") != "deleted"]
    elif p["view_type"] == "DELETED_ONLY":
        found = [e for e in found if e.get("lifecycle_stage") == "deleted"]
    return {"changed": False, "experiments": [normalize_experiment(e) for e in found]}


def resolve_experiment_ids(client, names, ids):
    """Experiment ids for the given names (one lookup each) and ids (taken as given; see check_experiment_ids)."""
    resolved = []
    for name in names or []:
        try:
            resolved.append(client.get_experiment_by_name(name)["experiment_id"])
        except MlflowNotFoundError:
            raise MlflowNotFoundError("Experiment %r does not exist" % name, "RESOURCE_DOES_NOT_EXIST", 404)
    resolved.extend(str(i) for i in ids or [])
    return list(dict.fromkeys(resolved))


def check_experiment_ids(client, ids, runs):
    """A missing experiment is an error (it is the search scope), but MLflow's search just returns nothing for it.

    Only ids that no returned run belongs to can be missing, so only those are looked up: a search that
    found runs in every experiment costs no extra request.
    """
    seen = set(r.get("info", {}).get("experiment_id") for r in runs)
    for experiment_id in ids:
        if experiment_id not in seen and find_experiment(client, experiment_id=experiment_id) is None:
            raise MlflowNotFoundError("Experiment with id %r does not exist" % experiment_id,
                                      "RESOURCE_DOES_NOT_EXIST", 404)


def normalize_run(run):
    info = run.get("info", {})
    data = run.get("data", {})
    tags = tags_to_dict(data.get("tags"))
    outputs = run.get("outputs") or {}
    return {
        "run_id": info.get("run_id") or info.get("run_uuid"),
        "run_name": info.get("run_name") or tags.get("mlflow.runName"),
        "experiment_id": info.get("experiment_id"),
        "status": info.get("status"),
        "start_time": info.get("start_time"),
        "end_time": info.get("end_time"),
        "artifact_uri": info.get("artifact_uri"),
        "lifecycle_stage": info.get("lifecycle_stage"),
        "user_id": info.get("user_id"),
        "params": dict((m["key"], m.get("value")) for m in data.get("params", [])),
        "metrics": dict((m["key"], m.get("value")) for m in data.get("metrics", [])),
        "tags": tags,
        "logged_model_ids": [o.get("model_id") for o in outputs.get("model_outputs", []) if o.get("model_id")],
    }


def run_info(module):
    p = module.params
    client = module.client
    if p["run_id"]:
        try:
            runs = [client.get_run(p["run_id"])]
        except MlflowNotFoundError:
            runs = []
        except MlflowError as exc:
            raise failed_to("read run %r" % p["run_id"], exc)
        experiment_ids = [r["info"]["experiment_id"] for r in runs]
    else:
        try:
            experiment_ids = resolve_experiment_ids(client, p["experiment_names"], p["experiment_ids"])
        except MlflowError as exc:
            raise failed_to("resolve experiments", exc)
        try:
            runs = client.search_runs(experiment_ids, p["filter"], p["order_by"], p["run_view_type"], p["max_results"])
        except MlflowError as exc:
            raise failed_to("search runs in experiments %s" % ", ".join(experiment_ids), exc)
        try:
            check_experiment_ids(client, [str(i) for i in p["experiment_ids"] or []], runs)
        except MlflowError as exc:
            raise failed_to("resolve experiments", exc)
    result = [normalize_run(r) for r in runs]
    for run in result:
        if p["metric_history"]:
            history = {}
            for key in p["metric_history"]:
                try:
                    points = client.get_metric_history(run["run_id"], key)
                except MlflowError as exc:
                    raise failed_to("read the history of metric %r of run %s" % (key, run["run_id"]), exc)
                history[key] = [{"value": m.get("value"), "step": int(m.get("step", 0)), "timestamp": m.get("timestamp")}
                                for m in points]
            run["metric_history"] = history
    return {"changed": False, "runs": result, "experiment_ids": experiment_ids}
