#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: model_smoke_test
short_description: Smoke-test a served model over the Open Inference (V2) protocol
version_added: 0.2.0
description:
  - Sends rows to a model served by a V2 inference server (MLServer, Seldon Core, KServe) - the default endpoint
    C(/v2/models/<name>/infer), or one version's own endpoint C(/v2/models/<name>/versions/<version>/infer) - and
    judges the answers.
  - The rows come from O(input), from O(heldout_file), or from the input example MLflow logged with the model
    (C(serving_input_example.json) or C(input_example.json) in O(model_dir)). A document may hold MLflow's
    C(dataframe_split) (C({columns, data})), a ready V2 request (C(v2_request), or V2 C(inputs)), and C(labels).
  - With labels, at least O(min_accuracy) of the rows must be predicted right; without, every row must get a valid
    (non-null, finite) prediction.
  - Sends one inference request and changes nothing, so it also runs in check mode.
author:
  - mlops.platform contributors (@mlops-platform)
options:
  url:
    description: Base URL of the inference server, for example V(http://127.0.0.1:8080).
    type: str
    required: true
  name:
    description: The model's name on the server.
    type: str
    required: true
  version:
    description: Test this version's own endpoint instead of the default one.
    type: str
  input:
    description: The rows, as a document (see the description).
    type: dict
  heldout_file:
    description:
      - A JSON file holding the rows (see the description), on the host the module runs on.
      - With O(model_dir) as well, a file that does not exist falls back to the model's input example.
    type: path
  model_dir:
    description: A local copy of the model's files, whose logged input example is used (when O(heldout_file) is not).
    type: path
  labels:
    description: The expected predictions, in row order (overrides the document's C(labels)).
    type: list
    elements: raw
  min_accuracy:
    description: With labels, the share of rows that must be predicted right.
    type: float
    default: 1.0
  token:
    description: A bearer token for the inference server.
    type: str
  validate_certs:
    description: Verify the server's TLS certificate.
    type: bool
    default: true
  ca_path:
    description: PEM file of the CA certificates used to verify the server.
    type: path
  timeout:
    description: Seconds to wait for the answer.
    type: int
    default: 30
  retries:
    description: Retries on connection errors, HTTP 429 and 5xx (jittered backoff).
    type: int
    default: 0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Sends the request in check mode too (inference changes nothing).
  diff_mode:
    support: none
  platform:
    platforms: all
seealso:
  - module: mlops.platform.mlflow_model_rollout
"""

EXAMPLES = r"""
- name: The candidate must get 7 of 8 held-out rows right on its own endpoint
  mlops.platform.model_smoke_test:
    url: http://127.0.0.1:8080
    name: breast-cancer-classifier
    version: "5"
    heldout_file: /var/lib/mlops/rollout/heldout.json
    min_accuracy: 0.875

- name: Without labels, every row of the logged input example must get a prediction
  mlops.platform.model_smoke_test:
    url: http://127.0.0.1:8080
    name: wine-classifier
    model_dir: /var/lib/mlops/serving/artifacts/wine-classifier/3
"""

RETURN = r"""
passed:
  description: Whether the served model passed.
  returned: success
  type: bool
  sample: true
predictions:
  description: The model's predictions, in row order.
  returned: success
  type: list
  elements: raw
  sample: [0, 1, 1, 0]
labels:
  description: The expected predictions (null when the rows had none).
  returned: success
  type: list
  elements: raw
  sample: [0, 1, 1, 0]
right:
  description: How many predictions matched the labels (without labels - the number of valid predictions).
  returned: success
  type: int
  sample: 4
rows:
  description: How many rows were sent.
  returned: success
  type: int
  sample: 4
source:
  description: Where the rows came from.
  returned: success
  type: str
  sample: the model's input example (serving_input_example.json)
model_version:
  description: The version the server says answered.
  returned: success
  type: str
  sample: "5"
msg:
  description: The verdict in words.
  returned: always
  type: str
  sample: "Smoke test passed for version 5 of model 'breast-cancer-classifier': the served model answered 8 of 8 held-out rows right"
"""

from ansible_collections.mlops.platform.plugins.module_utils._api_module import ApiModule
from ansible_collections.mlops.platform.plugins.module_utils._smoke import smoke_test


def main():
    module = ApiModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            name=dict(type="str", required=True),
            version=dict(type="str"),
            input=dict(type="dict"),
            heldout_file=dict(type="path"),
            model_dir=dict(type="path"),
            labels=dict(type="list", elements="raw"),
            min_accuracy=dict(type="float", default=1.0),
            token=dict(type="str", no_log=True),
            validate_certs=dict(type="bool", default=True),
            ca_path=dict(type="path"),
            timeout=dict(type="int", default=30),
            retries=dict(type="int", default=0),
        ),
        mutually_exclusive=[("input", "heldout_file"), ("input", "model_dir")],
        required_one_of=[("input", "heldout_file", "model_dir")],
        supports_check_mode=True,
    )
    if not 0.0 <= module.params["min_accuracy"] <= 1.0:
        module.fail_json(msg="min_accuracy must lie in [0, 1], got %s" % module.params["min_accuracy"])
    module.run(smoke_test)


if __name__ == "__main__":
    main()
