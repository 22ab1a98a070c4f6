#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mlflow_run_info
short_description: Search MLflow runs and read their params, metrics and tags
version_added: 0.1.0
description:
  - Searches the runs of one or more experiments with MLflow's own filter and ordering, done by the server and
    paginated for you, or reads one run by id.
  - This is how a playbook queries MLflow metrics; the top run by a metric, the runs of a git commit, the runs above
    a threshold.
  - Never changes anything. When nothing matches, O(ignore:runs) is an empty list. An experiment named in
    O(experiment_names) or O(experiment_ids) that does not exist is an error (it is the scope of the search).
author:
  - mlops.platform contributors (@mlops-platform)
options:
  run_id:
    description: Read this one run. Mutually exclusive with the search options.
    type: str
  experiment_names:
    description: Names of the experiments to search.
    type: list
    elements: str
  experiment_ids:
    description: Ids of the experiments to search.
    type: list
    elements: str
  filter:
    description:
      - MLflow search filter, for example V(metrics.accuracy > 0.9 and tags.git_commit = 'abc123').
    type: str
  order_by:
    description: Ordering clauses, for example V(["metrics.roc_auc DESC"]).
    type: list
    elements: str
  max_results:
    description:
      - At most this many runs. All matching runs when not set. The server is asked for no more than this,
        so V(1) with O(order_by) costs one request.
    type: int
  run_view_type:
    description: Which lifecycle stages to return.
    type: str
    choices: [ACTIVE_ONLY, DELETED_ONLY, ALL]
    default: ACTIVE_ONLY
  metric_history:
    description:
      - Metric keys whose full history (every step) to return in RV(runs[].metric_history). Costs one request per
        run and key, so combine it with a small O(max_results).
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - mlops.platform.mlflow
  - mlops.platform.mlflow.action_group
  - ansible.builtin.action_common_attributes
  - mlops.platform.mlflow.read_only
seealso:
  - module: mlops.platform.mlflow_model_gate
"""

EXAMPLES = r"""
- name: Best finished run by ROC AUC
  mlops.platform.mlflow_run_info:
    tracking_uri: http://127.0.0.1:5000
    experiment_names: [fraud-detection]
    filter: "attributes.status = 'FINISHED'"
    order_by: ["metrics.roc_auc DESC"]
    max_results: 1
  register: __best

- name: Runs of one git commit, with the loss curve
  mlops.platform.mlflow_run_info:
    tracking_uri: http://127.0.0.1:5000
    experiment_names: [fraud-detection]
    filter: "tags.git_commit = '{{ git_commit }}'"
    metric_history: [loss]
"""

RETURN = r"""
experiment_ids:
  description: Ids of the experiments that were searched.
  returned: always
  type: list
  elements: str
  sample: ["1"]
runs:
  description: The matching runs, in the requested order.
  returned: always
  type: list
  elements: dict
  contains:
    run_id:
      description: Run id.
      type: str
      sample: 7cb217e1eb8a4be8aadbe308383badc7
    run_name:
      description: Run name.
      type: str
      sample: upset-tern-511
    experiment_id:
      description: Experiment of the run.
      type: str
      sample: "1"
    status:
      description: V(RUNNING), V(SCHEDULED), V(FINISHED), V(FAILED) or V(KILLED).
      type: str
      sample: FINISHED
    start_time:
      description: Start, milliseconds since the epoch.
      type: int
      sample: 1764145200000
    end_time:
      description: End, milliseconds since the epoch (null while running).
      type: int
      sample: 1764145260000
    artifact_uri:
      description: Root of the run's artifacts.
      type: str
      sample: mlflow-artifacts:/1/7cb217e1eb8a4be8aadbe308383badc7/artifacts
    lifecycle_stage:
      description: V(active) or V(deleted).
      type: str
      sample: active
    user_id:
      description: Who started the run.
      type: str
      sample: ci
    params:
      description: Parameters, as strings.
      type: dict
      sample: {"max_depth": "6"}
    metrics:
      description: Latest value of each metric.
      type: dict
      sample: {"accuracy": 0.97, "roc_auc": 0.99}
    tags:
      description: Tags, including MLflow's own C(mlflow.*) tags.
      type: dict
      sample: {"git_commit": "abc123"}
    logged_model_ids:
      description: Ids of the models the run logged (MLflow 3 logged models).
      type: list
      elements: str
      sample: ["m-6aac3ccdce6c4b908cbd918c1c46efe0"]
    metric_history:
      description: For each key in O(metric_history), every logged point.
      type: dict
      returned: when O(metric_history) is set
      sample: {"loss": [{"value": 0.5, "step": 0, "timestamp": 1764145200000}]}
"""

from ansible_collections.mlops.platform.plugins.module_utils._mlflow_module import MlflowModule
from ansible_collections.mlops.platform.plugins.module_utils._mlflow_tracking import run_info


def main():
    module = MlflowModule(
        argument_spec=dict(
            run_id=dict(type="str"),
            experiment_names=dict(type="list", elements="str"),
            experiment_ids=dict(type="list", elements="str"),
            filter=dict(type="str"),
            order_by=dict(type="list", elements="str"),
            max_results=dict(type="int"),
            run_view_type=dict(type="str", default="ACTIVE_ONLY", choices=["ACTIVE_ONLY", "DELETED_ONLY", "ALL"]),
            metric_history=dict(type="list", elements="str", default=[]),
        ),
        required_one_of=[("run_id", "experiment_names", "experiment_ids")],
        mutually_exclusive=[("run_id", "experiment_names"), ("run_id", "experiment_ids"), ("run_id", "filter"),
                            ("run_id", "order_by"), ("run_id", "max_results")],
        supports_check_mode=True,
    )
    if module.params["max_results"] is not None and module.params["max_results"] < 1:
        module.fail_json(msg="max_results must be 1 or more, got %d" % module.params["max_results"])
    module.run(run_info)


if __name__ == "__main__":
    main()
