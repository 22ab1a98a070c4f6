#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mlflow_model_rollout
short_description: Move a model version through the rollout state machine, one transition per call
version_added: 0.2.0
description:
  - The rollout state of a model version lives in its tags (C(mlops.rollout.state), C(mlops.rollout.reason),
    C(mlops.rollout.previous_champion), C(mlops.rollout.gate), C(mlops.rollout.verdict)); the champion, the
    previous champion and the challenger are registry aliases. This module makes one transition per call.
  - V(register) - find the version of a run's model, or create it with the state C(REGISTERED) and its tags in one
    write; point the challenger alias at it. The same run never gets a second version.
  - V(validate) - judge the candidate on O(metrics) against the champion (like M(mlops.platform.mlflow_model_gate))
    and record the verdict table, C(VALIDATED) or C(REJECTED). V(reject) records C(REJECTED) with O(reason).
  - V(deploy) - C(VALIDATED) (or a C(RETIRED) former champion) becomes C(DEPLOYING); the outgoing champion is
    recorded on it. Serving then loads the candidate beside the champion; the default endpoint stays the champion's.
  - V(analyze) - a canary step - C(DEPLOYING) (or C(ANALYZING)) becomes C(ANALYZING) with the canary's progress
    (O(canary)) in the tag C(mlops.rollout.canary), so a rollout killed mid-canary resumes at its step - V(deploy) of
    an C(ANALYZING) version changes nothing and returns RV(canary).
  - V(promote) - C(DEPLOYING) (or C(ANALYZING)) becomes C(PROMOTED), the old champion C(RETIRED) (so the state tag
    alone tells the champion), then the aliases move - previous champion, champion, challenger - last.
  - V(rollback) - the champion becomes C(ROLLED_BACK) with O(reason) and the previous champion C(PROMOTED) again;
    the champion alias moves back. Only one step back; after it, a rollback is a no-op that says so.
  - V(abort) - a deployment (or a canary) that failed before promotion becomes C(ROLLED_BACK) with O(reason); the
    champion is untouched.
  - Every call reads the state once, refuses an illegal transition with a message that names the current state and
    what to do, writes the version's informative tags first, its state tag after them and aliases last, and skips
    writes already in place. So a transition interrupted at any point and run again finishes the job, and running it
    again after it finished changes nothing.
  - RV(serve) says what serving must look like after the transition - the version the default endpoint answers
    with, and the versions kept loaded beside it - so the serving step is one call as well.
author:
  - mlops.platform contributors (@mlops-platform)
options:
  name:
    description: Name of the registered model.
    type: str
    required: true
  transition:
    description: The transition to make.
    type: str
    required: true
    choices: [register, validate, reject, deploy, analyze, promote, rollback, abort]
  version:
    description:
      - The version to act on. Default - the version the challenger alias points at (for V(rollback) - the champion).
      - With V(register), an existing version to take into the rollout instead of a run.
    type: str
  run_id:
    description: V(register) - the run whose model is registered.
    type: str
  artifact_path:
    description:
      - V(register) - the model's name (MLflow 3) or artifact path (MLflow 2) in the run.
    type: str
  source:
    description: V(register) - a model source URI instead of O(run_id), for example V(models:/m-<id>).
    type: str
  tags:
    description:
      - V(register) - more tags of the new version (lineage, the alert that caused the rollout ...). Values become strings.
    type: dict
  reason:
    description:
      - V(reject), V(abort), V(rollback) - why, in words a person can act on; it is stored in C(mlops.rollout.reason).
      - V(register) - what the reason tag of the new version says (default C(registered from run <id>)).
      - V(analyze) - what the reason tag says during the step; by default C(canary step <n> of <steps>) and the
        canary's share of the traffic.
    type: str
  canary:
    description:
      - V(analyze) - where the canary is, recorded in the tag C(mlops.rollout.canary) as compact JSON. Required by
        V(analyze).
    type: dict
    suboptions:
      step:
        description: The step the canary is at, from V(1) to O(canary.steps).
        type: int
        required: true
      steps:
        description: How many traffic steps the canary has.
        type: int
        required: true
      weight:
        description: The percent of the traffic the canary gets at this step, V(0) to V(100).
        type: int
        required: true
      failed_checks:
        description: The failed analysis checks so far (RV(mlops.platform.canary_analysis#module:failed_checks)).
        type: int
        default: 0
  lock_token:
    description:
      - The token of the rollout lock this rollout holds (M(mlops.platform.mlflow_model_lock)). When set, the call fails
        without writing anything unless the lock is still held with this token, and renews the lease.
    type: str
  lock_ttl:
    description: Seconds to renew the lease for (renewed when less than half is left).
    type: int
    default: 900
  release_lock:
    description:
      - Release the rollout lock (held with O(lock_token)) once the transition is written - for the last step of a
        rollout, which then needs no call of M(mlops.platform.mlflow_model_lock) of its own.
    type: bool
    default: false
  wait_timeout:
    description: V(register) - seconds to wait for a new version to become C(READY).
    type: int
    default: 300
extends_documentation_fragment:
  - mlops.platform.mlflow
  - mlops.platform.mlflow.action_group
  - ansible.builtin.action_common_attributes
  - mlops.platform.mlflow.changes_state
  - mlops.platform.mlflow.gate_metrics
  - mlops.platform.mlflow.rollout_aliases
notes:
  - O(metrics) is required by V(validate) only.
seealso:
  - module: mlops.platform.mlflow_model_rollout_info
  - module: mlops.platform.mlflow_model_lock
  - module: mlops.platform.mlflow_model_gate
"""

EXAMPLES = r"""
- name: Register the run's model as the candidate
  mlops.platform.mlflow_model_rollout:
    name: fraud-classifier
    transition: register
    run_id: "{{ __train.run_id }}"
    tags: {git_commit: "{{ git_commit }}"}
  register: __candidate

- name: Gate it against the champion
  mlops.platform.mlflow_model_rollout:
    name: fraud-classifier
    transition: validate
    version: "{{ __candidate.version }}"
    metrics:
      - {name: roc_auc, min: 0.9}
      - {name: log_loss, greater_is_better: false, max: 0.4}
  register: __gate

- name: Start the deployment
  mlops.platform.mlflow_model_rollout:
    name: fraud-classifier
    transition: deploy
    version: "{{ __candidate.version }}"
  when: __gate.state == 'VALIDATED'

- name: Promote it once serving answers with it
  mlops.platform.mlflow_model_rollout:
    name: fraud-classifier
    transition: promote
    version: "{{ __candidate.version }}"

- name: Or end the deployment that failed
  mlops.platform.mlflow_model_rollout:
    name: fraud-classifier
    transition: abort
    version: "{{ __candidate.version }}"
    reason: "the smoke test got 3 of 8 held-out rows right"
"""

RETURN = r"""
transition:
  description: The transition.
  returned: always
  type: str
  sample: promote
version:
  description: The version acted on (null in check mode when register would create it).
  returned: always
  type: str
  sample: "5"
state:
  description: The version's state after the call (what it would be, in check mode).
  returned: always
  type: str
  sample: PROMOTED
previous_state:
  description: The version's state before the call (null for a version this call created).
  returned: success
  type: str
  sample: DEPLOYING
champion:
  description: The version the champion alias points at after the call.
  returned: always
  type: str
  sample: "5"
previous_champion:
  description: The version the previous-champion alias points at after the call.
  returned: always
  type: str
  sample: "4"
serve:
  description: What serving must look like after the transition.
  returned: success
  type: dict
  contains:
    default_version:
      description: The version the default endpoint answers with (null - nothing yet).
      type: str
      sample: "5"
    versions:
      description: Versions kept loaded at their own endpoints beside it (the candidate, or the old champion).
      type: list
      elements: str
      sample: ["4"]
fallback_version:
  description: The version to serve again if this step fails (the champion a candidate is deployed beside).
  returned: success
  type: str
  sample: "4"
canary:
  description:
    - The canary's progress recorded on the version (the tag C(mlops.rollout.canary)) - after the call for V(analyze),
      before it for the others; null when the version never was a canary.
  returned: success
  type: dict
  sample: {"step": 2, "steps": 4, "weight": 25, "failed_checks": 0}
verdict:
  description: V(validate) - the gate's decision and per-metric table (see M(mlops.platform.mlflow_model_gate)).
  returned: when the gate ran
  type: dict
  sample: {"passed": true, "msg": "Gate passed ...", "results": []}
model_version:
  description: V(register) - the registered version (source, run, tags, aliases).
  returned: when register found or created a version
  type: dict
  sample: {"version": "5", "source": "models:/m-0a1b", "run_id": "7cb2", "tags": {"mlops.rollout.state": "REGISTERED"}}
writes:
  description: The writes made (or, in check mode, that would be made), in order.
  returned: success
  type: list
  elements: str
  sample: ["mlops.rollout.state=PROMOTED on version 5", "alias champion -> version 5"]
lock_released:
  description: Whether this call released the rollout lock (O(release_lock)).
  returned: success
  type: bool
  sample: true
msg:
  description: What happened, or why the transition is refused and what to do.
  returned: always
  type: str
  sample: Version 5 of model 'fraud-classifier' is PROMOTED to champion (version 4 retired)
"""

from ansible_collections.mlops.platform.plugins.module_utils._mlflow_gate import RULE_OPTIONS
from ansible_collections.mlops.platform.plugins.module_utils._mlflow_module import MlflowModule
from ansible_collections.mlops.platform.plugins.module_utils._mlflow_rollout import ALIASES_ARGSPEC, rollout


def main():
    module = MlflowModule(
        argument_spec=dict(
            ALIASES_ARGSPEC,
            name=dict(type="str", required=True),
            transition=dict(type="str", required=True,
                            choices=["register", "validate", "reject", "deploy", "analyze", "promote", "rollback",
                                     "abort"]),
            version=dict(type="str"),
            run_id=dict(type="str"),
            artifact_path=dict(type="str"),
            source=dict(type="str"),
            tags=dict(type="dict"),
            reason=dict(type="str"),
            metrics=dict(type="list", elements="dict", options=RULE_OPTIONS),
            lock_token=dict(type="str", no_log=False),
            lock_ttl=dict(type="int", default=900),
            release_lock=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=300),
            canary=dict(type="dict", options=dict(
                step=dict(type="int", required=True),
                steps=dict(type="int", required=True),
                weight=dict(type="int", required=True),
                failed_checks=dict(type="int", default=0),
            )),
        ),
        mutually_exclusive=[("run_id", "version"), ("source", "version")],
        supports_check_mode=True,
    )
    if module.params["transition"] == "analyze" and not module.params["canary"]:
        module.fail_json(msg="canary is required by transition analyze: the step, steps and weight the canary is at")
    if module.params["transition"] == "validate" and not module.params["metrics"]:
        module.fail_json(msg="metrics must list at least one metric to judge (transition validate)")
    module.run(rollout)


if __name__ == "__main__":
    main()
