#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mlflow_model_rollout_info
short_description: Read the rollout state of a registered model - champion, candidate, states, lock
version_added: 0.2.0
description:
  - Reads, in one pass, what M(mlops.platform.mlflow_model_rollout) keeps - the champion, challenger and previous
    champion aliases, the rollout state and reason of those versions (and of O(version)), and the rollout lock.
  - Never changes anything.
author:
  - mlops.platform contributors (@mlops-platform)
options:
  name:
    description: Name of the registered model.
    type: str
    required: true
  version:
    description: A version to report on besides the aliased ones. Default - the challenger.
    type: str
extends_documentation_fragment:
  - mlops.platform.mlflow
  - mlops.platform.mlflow.action_group
  - ansible.builtin.action_common_attributes
  - mlops.platform.mlflow.read_only
  - mlops.platform.mlflow.rollout_aliases
seealso:
  - module: mlops.platform.mlflow_model_rollout
"""

EXAMPLES = r"""
- name: Which version is the champion, and what happened to the last candidate?
  mlops.platform.mlflow_model_rollout_info:
    name: fraud-classifier
  register: __rollout

- name: Show it
  ansible.builtin.debug:
    msg: "champion {{ __rollout.champion }}; version {{ __rollout.version }} is {{ __rollout.state }} ({{ __rollout.reason }})"
"""

RETURN = r"""
champion:
  description: The version the champion alias points at (null when not set).
  returned: always
  type: str
  sample: "4"
challenger:
  description: The version the challenger alias points at.
  returned: always
  type: str
  sample: "5"
previous_champion:
  description: The version the previous-champion alias points at.
  returned: always
  type: str
  sample: "3"
version:
  description: The version reported in RV(state) (O(version), else the challenger).
  returned: always
  type: str
  sample: "5"
state:
  description: Its rollout state (null when it has none).
  returned: always
  type: str
  sample: ROLLED_BACK
reason:
  description: Its reason tag.
  returned: always
  type: str
  sample: "MLServer could not load version 5 of model 'fraud-classifier': ..."
versions:
  description: Every version read (the aliased ones, O(version), and the versions their tags name), oldest first.
  returned: always
  type: list
  elements: dict
  sample: [{"version": "4", "state": "PROMOTED", "aliases": ["champion"], "reason": "promoted to champion"}]
lock:
  description: The rollout lock's lease (owner, host, acquired, expires), or null when the model is not locked.
  returned: always
  type: dict
  sample: {"owner": "awx@controller-1", "host": "controller-1", "acquired": 1796116080.5, "expires": 1796116980.5}
"""

from ansible_collections.mlops.platform.plugins.module_utils._mlflow_module import MlflowModule
from ansible_collections.mlops.platform.plugins.module_utils._mlflow_rollout import ALIASES_ARGSPEC, rollout_info


def main():
    module = MlflowModule(
        argument_spec=dict(
            ALIASES_ARGSPEC,
            name=dict(type="str", required=True),
            version=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    module.run(rollout_info)


if __name__ == "__main__":
    main()
