#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mlflow_model_alias
short_description: Point an alias of a registered model at a version, or remove it
version_added: 0.1.0
description:
  - Sets an alias (V(champion), V(challenger), ...) of a registered model to a version, or deletes it.
  - Returns the version the alias pointed at before (RV(previous_version)), so a playbook can record it and
    restore it on rollback.
  - The model and, for O(state=present), the version must exist; the version must be C(READY).
author:
  - mlops.platform contributors (@mlops-platform)
options:
  name:
    description: Name of the registered model.
    type: str
    required: true
  alias:
    description:
      - The alias. Letters, digits, C(_) and C(-); V(latest), V(v<N>) and V(version<N>) are reserved by MLflow.
    type: str
    required: true
  version:
    description: The version the alias must point at. Required with O(state=present).
    type: str
  state:
    description: V(present) points the alias at O(version); V(absent) deletes the alias.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - mlops.platform.mlflow
  - mlops.platform.mlflow.action_group
  - ansible.builtin.action_common_attributes
  - mlops.platform.mlflow.changes_state
seealso:
  - module: mlops.platform.mlflow_model_version_info
"""

EXAMPLES = r"""
- name: Promote version 4 and remember the outgoing champion
  mlops.platform.mlflow_model_alias:
    tracking_uri: http://127.0.0.1:5000
    name: fraud-classifier
    alias: champion
    version: "4"
  register: __promotion

- name: Record the previous champion so rollback can restore it
  mlops.platform.mlflow_model_alias:
    tracking_uri: http://127.0.0.1:5000
    name: fraud-classifier
    alias: previous_champion
    version: "{{ __promotion.previous_version }}"
  when: __promotion.previous_version is not none and __promotion is changed

- name: Remove the challenger alias
  mlops.platform.mlflow_model_alias:
    tracking_uri: http://127.0.0.1:5000
    name: fraud-classifier
    alias: challenger
    state: absent
"""

RETURN = r"""
name:
  description: The registered model.
  returned: always
  type: str
  sample: fraud-classifier
alias:
  description: The alias.
  returned: always
  type: str
  sample: champion
version:
  description: The version the alias points at now (null when deleted).
  returned: always
  type: str
  sample: "4"
previous_version:
  description: The version the alias pointed at before this task (null when it was not set).
  returned: always
  type: str
  sample: "3"
"""

from ansible_collections.mlops.platform.plugins.module_utils._mlflow_module import MlflowModule
from ansible_collections.mlops.platform.plugins.module_utils._mlflow_registry import ensure_alias


def main():
    module = MlflowModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            alias=dict(type="str", required=True),
            version=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        required_if=[("state", "present", ["version"])],
        supports_check_mode=True,
    )
    module.run(ensure_alias)


if __name__ == "__main__":
    main()
