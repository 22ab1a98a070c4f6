#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mlflow_model_gate
short_description: Decide on MLflow metrics whether a candidate model may go on
version_added: 0.1.0
description:
  - Judges a candidate model (a version, an alias or a run) on the metrics MLflow holds for its run, against
    absolute thresholds per metric and against a baseline (by default the V(champion) alias), the way MLflow's
    C(MetricThreshold) does.
  - Returns RV(passed) and a table with one row per metric (candidate, baseline, thresholds, change, verdict,
    reason). Fails the task when the candidate is rejected unless O(fail_on_reject=false).
  - A metric missing on the candidate, or on an existing baseline, is a failure, never a silent pass.
  - When the baseline alias is not set yet (the first model), that is reported in RV(baseline_note) and the
    candidate is judged on the thresholds alone.
  - Read-only; never reports a change.
author:
  - mlops.platform contributors (@mlops-platform)
options:
  name:
    description: Registered model of the candidate and the baseline.
    type: str
    required: true
  candidate:
    description: The model under judgement. Exactly one of its keys.
    type: dict
    required: true
    suboptions:
      version:
        description: A version of O(name).
        type: str
      alias:
        description: An alias of O(name), for example V(challenger).
        type: str
      run_id:
        description: A run, for a model not registered yet.
        type: str
  baseline:
    description:
      - What the candidate must beat; one of its keys. Set it to V({}) to judge on thresholds only.
    type: dict
    default: {alias: champion}
    suboptions:
      version:
        description: A version of O(name).
        type: str
      alias:
        description: An alias of O(name). A baseline alias that is not set means "no baseline yet".
        type: str
      run_id:
        description: A run.
        type: str
  fail_on_reject:
    description: Fail the task when the candidate is rejected. With V(false), check RV(passed) yourself.
    type: bool
    default: true
extends_documentation_fragment:
  - mlops.platform.mlflow
  - mlops.platform.mlflow.action_group
  - ansible.builtin.action_common_attributes
  - mlops.platform.mlflow.read_only
  - mlops.platform.mlflow.gate_metrics
seealso:
  - module: mlops.platform.mlflow_run_info
  - module: mlops.platform.mlflow_model_alias
"""

EXAMPLES = r"""
- name: The challenger must be good and beat the champion
  mlops.platform.mlflow_model_gate:
    tracking_uri: http://127.0.0.1:5000
    name: fraud-classifier
    candidate:
      alias: challenger
    baseline:
      alias: champion
    metrics:
      - name: roc_auc
        min: 0.90
        min_absolute_change: 0.0
      - name: accuracy
        min: 0.85
        min_absolute_change: -0.01   # may lose at most one point of accuracy
      - name: log_loss
        greater_is_better: false
        max: 0.5
  register: __gate

- name: Judge without failing, then decide
  mlops.platform.mlflow_model_gate:
    tracking_uri: http://127.0.0.1:5000
    name: fraud-classifier
    candidate:
      version: "7"
    metrics:
      - name: f1
        min: 0.8
    fail_on_reject: false
  register: __verdict
"""

RETURN = r"""
passed:
  description: Whether every metric passed.
  returned: always
  type: bool
  sample: true
msg:
  description: One line that says what was decided and why.
  returned: always
  type: str
  sample: "Gate passed for alias challenger (version 5) of model 'fraud-classifier': 2 metric(s) ok; compared with alias champion (version 4)"
baseline_found:
  description: Whether a baseline was found. False for the first model, or when O(baseline={}).
  returned: always
  type: bool
  sample: true
baseline_note:
  description: What the candidate was compared with, in words.
  returned: always
  type: str
  sample: no baseline yet (alias 'champion' is not set) - judged on thresholds only
candidate:
  description: The candidate that was judged.
  returned: always
  type: dict
  contains:
    reference:
      description: How it was named, in words.
      type: str
      sample: alias challenger (version 5)
    version:
      description: Version number (null for a run).
      type: str
      sample: "5"
    run_id:
      description: Run whose metrics were read.
      type: str
      sample: 7cb217e1eb8a4be8aadbe308383badc7
    metrics:
      description: All metrics of that run.
      type: dict
      sample: {"roc_auc": 0.991, "accuracy": 0.96}
baseline:
  description: The baseline, with the same keys as RV(candidate); null when there is none.
  returned: always
  type: dict
  sample: {"reference": "alias champion (version 4)", "version": "4", "run_id": "0a1b", "metrics": {"roc_auc": 0.98}}
results:
  description: One row per metric in O(metrics).
  returned: always
  type: list
  elements: dict
  contains:
    metric:
      description: Metric key.
      type: str
      sample: roc_auc
    candidate:
      description: The candidate's value (null when not logged).
      type: float
      sample: 0.991
    baseline:
      description: The baseline's value (null when there is no baseline or it lacks the metric).
      type: float
      sample: 0.98
    greater_is_better:
      description: Direction of the metric.
      type: bool
      sample: true
    min:
      description: Absolute minimum, or null.
      type: float
      sample: 0.9
    max:
      description: Absolute maximum, or null.
      type: float
      sample: null
    min_absolute_change:
      description: Required absolute improvement, or null.
      type: float
      sample: 0.0
    min_relative_change:
      description: Required relative improvement, or null.
      type: float
      sample: null
    absolute_change:
      description: Improvement over the baseline (positive is better), or null.
      type: float
      sample: 0.011
    relative_change:
      description: Improvement over the baseline as a fraction of it, or null.
      type: float
      sample: 0.0112
    verdict:
      description: V(pass) or V(fail).
      type: str
      sample: pass
    reason:
      description: Why, in words.
      type: str
      sample: ok
"""

from ansible_collections.mlops.platform.plugins.module_utils._mlflow_gate import RULE_OPTIONS, evaluate_gate
from ansible_collections.mlops.platform.plugins.module_utils._mlflow_module import MlflowModule

REF_OPTIONS = dict(
    version=dict(type="str"),
    alias=dict(type="str"),
    run_id=dict(type="str"),
)


def main():
    module = MlflowModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            candidate=dict(type="dict", required=True, options=REF_OPTIONS,
                           mutually_exclusive=[("version", "alias", "run_id")],
                           required_one_of=[("version", "alias", "run_id")]),
            baseline=dict(type="dict", default={"alias": "champion"}, options=REF_OPTIONS,
                          mutually_exclusive=[("version", "alias", "run_id")]),
            metrics=dict(type="list", elements="dict", options=RULE_OPTIONS),
            fail_on_reject=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    if not module.params["metrics"]:
        module.fail_json(msg="metrics must list at least one metric to judge")
    baseline = module.params["baseline"] or {}
    module.params["baseline"] = dict((k, v) for k, v in baseline.items() if v is not None)
    module.run(evaluate_gate)


if __name__ == "__main__":
    main()
