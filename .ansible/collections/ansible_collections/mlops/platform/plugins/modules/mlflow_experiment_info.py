#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mlflow_experiment_info
short_description: Read MLflow experiments
version_added: 0.1.0
description:
  - Returns one experiment by name or id, or searches experiments with an MLflow filter string.
  - Never changes anything. When nothing matches, O(ignore:experiments) is an empty list.
author:
  - mlops.platform contributors (@mlops-platform)
options:
  name:
    description: Name of one experiment to read.
    type: str
  experiment_id:
    description: Id of one experiment to read.
    type: str
  filter:
    description:
      - MLflow search filter, for example V(name LIKE 'fraud%') or V(tags.team = 'risk').
    type: str
  order_by:
    description: Ordering clauses, for example V(["last_update_time DESC"]).
    type: list
    elements: str
  view_type:
    description: Which lifecycle stages to return.
    type: str
    choices: [ACTIVE_ONLY, DELETED_ONLY, ALL]
    default: ACTIVE_ONLY
  max_results:
    description: At most this many experiments (search only). All of them when not set.
    type: int
extends_documentation_fragment:
  - mlops.platform.mlflow
  - mlops.platform.mlflow.action_group
  - ansible.builtin.action_common_attributes
  - mlops.platform.mlflow.read_only
seealso:
  - module: mlops.platform.mlflow_experiment
"""

EXAMPLES = r"""
- name: Read one experiment
  mlops.platform.mlflow_experiment_info:
    tracking_uri: http://127.0.0.1:5000
    name: fraud-detection
  register: __exp

- name: Experiments of one team, newest first
  mlops.platform.mlflow_experiment_info:
    tracking_uri: http://127.0.0.1:5000
    filter: "tags.team = 'risk'"
    order_by: ["creation_time DESC"]
"""

RETURN = r"""
experiments:
  description: The matching experiments (empty when none match). Same keys as RV(mlops.platform.mlflow_experiment#module:experiment).
  returned: always
  type: list
  elements: dict
  sample:
    - experiment_id: "1"
      name: fraud-detection
      artifact_location: mlflow-artifacts:/1
      lifecycle_stage: active
      description: null
      tags: {"team": "risk"}
      creation_time: 1764145200000
      last_update_time: 1764145200000
"""

from ansible_collections.mlops.platform.plugins.module_utils._mlflow_module import MlflowModule
from ansible_collections.mlops.platform.plugins.module_utils._mlflow_tracking import experiment_info


def main():
    module = MlflowModule(
        argument_spec=dict(
            name=dict(type="str"),
            experiment_id=dict(type="str"),
            filter=dict(type="str"),
            order_by=dict(type="list", elements="str"),
            view_type=dict(type="str", default="ACTIVE_ONLY", choices=["ACTIVE_ONLY", "DELETED_ONLY", "ALL"]),
            max_results=dict(type="int"),
        ),
        mutually_exclusive=[("name", "experiment_id", "filter")],
        supports_check_mode=True,
    )
    module.run(experiment_info)


if __name__ == "__main__":
    main()
