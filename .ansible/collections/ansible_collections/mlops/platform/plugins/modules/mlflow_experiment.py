#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mlflow_experiment
short_description: Create, update, restore or delete an MLflow experiment
version_added: 0.1.0
description:
  - Makes an MLflow experiment present (created, or restored when it was deleted) with the given tags and
    description, or absent. Absent is MLflow's soft delete, which moves the experiment to the C(deleted)
    lifecycle stage.
  - Reads first and writes only what differs, so a second run with the same options reports no change.
author:
  - mlops.platform contributors (@mlops-platform)
options:
  name:
    description: Name of the experiment.
    type: str
    required: true
  state:
    description:
      - V(present) creates the experiment or restores a deleted one; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  artifact_location:
    description:
      - Where the runs of a new experiment store artifacts (for example V(s3://bucket/path)). Used at creation only;
        asking for a different location on an existing experiment is an error, as MLflow cannot change it.
      - When not set, the server's default artifact root is used.
    type: str
  description:
    description:
      - Description of the experiment (MLflow keeps it in the C(mlflow.note.content) tag).
    type: str
  tags:
    description:
      - Tags to set. Values are stored as strings (booleans as V(true)/V(false)).
    type: dict
  purge_tags:
    description:
      - Remove tags that are not in O(tags). Tags whose key starts with C(mlflow.) are never removed.
      - MLflow 2 servers cannot delete experiment tags; there a purge that has tags to remove fails before it
        writes anything.
    type: bool
    default: false
extends_documentation_fragment:
  - mlops.platform.mlflow
  - mlops.platform.mlflow.action_group
  - ansible.builtin.action_common_attributes
  - mlops.platform.mlflow.changes_state
seealso:
  - module: mlops.platform.mlflow_experiment_info
"""

EXAMPLES = r"""
- name: Make sure the experiment of the fraud model exists
  mlops.platform.mlflow_experiment:
    tracking_uri: http://127.0.0.1:5000
    name: fraud-detection
    description: Training runs of the fraud classifier
    tags:
      team: risk

- name: Delete an experiment (soft delete; state present restores it)
  mlops.platform.mlflow_experiment:
    tracking_uri: http://127.0.0.1:5000
    name: scratch
    state: absent
"""

RETURN = r"""
experiment:
  description: The experiment after the change; null when it never existed, or in check mode before creation.
  returned: always
  type: dict
  contains:
    experiment_id:
      description: Experiment id.
      type: str
      sample: "1"
    name:
      description: Experiment name.
      type: str
      sample: fraud-detection
    artifact_location:
      description: Artifact location of the experiment's runs.
      type: str
      sample: mlflow-artifacts:/1
    lifecycle_stage:
      description: V(active) or V(deleted).
      type: str
      sample: active
    description:
      description: The description, or null.
      type: str
      sample: Training runs of the fraud classifier
    tags:
      description: Tags other than the description.
      type: dict
      sample: {"team": "risk"}
    creation_time:
      description: Creation time, milliseconds since the epoch.
      type: int
      sample: 1764145200000
    last_update_time:
      description: Last update time, milliseconds since the epoch.
      type: int
      sample: 1764145200000
"""

from ansible_collections.mlops.platform.plugins.module_utils._mlflow_module import MlflowModule
from ansible_collections.mlops.platform.plugins.module_utils._mlflow_tracking import ensure_experiment


def main():
    module = MlflowModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            artifact_location=dict(type="str"),
            description=dict(type="str"),
            tags=dict(type="dict"),
            purge_tags=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    module.run(ensure_experiment)


if __name__ == "__main__":
    main()
