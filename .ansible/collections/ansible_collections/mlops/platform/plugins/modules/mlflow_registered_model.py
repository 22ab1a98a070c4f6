#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mlflow_registered_model
short_description: Create, update or delete a model in the MLflow model registry
version_added: 0.1.0
description:
  - Makes a registered model present with the given description and tags, or absent.
  - Deleting a registered model deletes all of its versions and aliases, as MLflow does.
author:
  - mlops.platform contributors (@mlops-platform)
options:
  name:
    description: Name of the registered model.
    type: str
    required: true
  state:
    description: V(present) creates or updates the model; V(absent) deletes it with all its versions.
    type: str
    choices: [present, absent]
    default: present
  description:
    description: Description of the model. Left as it is when not set.
    type: str
  tags:
    description: Tags to set. Values are stored as strings (booleans as V(true)/V(false)).
    type: dict
  purge_tags:
    description: Remove tags that are not in O(tags). Tags whose key starts with C(mlflow.) are never removed.
    type: bool
    default: false
extends_documentation_fragment:
  - mlops.platform.mlflow
  - mlops.platform.mlflow.action_group
  - ansible.builtin.action_common_attributes
  - mlops.platform.mlflow.changes_state
seealso:
  - module: mlops.platform.mlflow_model_version
  - module: mlops.platform.mlflow_model_alias
"""

EXAMPLES = r"""
- name: Register the fraud classifier
  mlops.platform.mlflow_registered_model:
    tracking_uri: http://127.0.0.1:5000
    name: fraud-classifier
    description: Gradient-boosted fraud classifier, served by the risk team
    tags:
      owner: risk
"""

RETURN = r"""
registered_model:
  description: The model after the change; null when absent, or in check mode before creation.
  returned: always
  type: dict
  contains:
    name:
      description: Model name.
      type: str
      sample: fraud-classifier
    description:
      description: Description.
      type: str
      sample: Gradient-boosted fraud classifier
    tags:
      description: Tags.
      type: dict
      sample: {"owner": "risk"}
    aliases:
      description: Each alias and the version it points at.
      type: dict
      sample: {"champion": "3"}
    creation_timestamp:
      description: Creation time, milliseconds since the epoch.
      type: int
      sample: 1764145200000
    last_updated_timestamp:
      description: Last update, milliseconds since the epoch.
      type: int
      sample: 1764145200000
"""

from ansible_collections.mlops.platform.plugins.module_utils._mlflow_module import MlflowModule
from ansible_collections.mlops.platform.plugins.module_utils._mlflow_registry import ensure_registered_model


def main():
    module = MlflowModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            description=dict(type="str"),
            tags=dict(type="dict"),
            purge_tags=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    module.run(ensure_registered_model)


if __name__ == "__main__":
    main()
