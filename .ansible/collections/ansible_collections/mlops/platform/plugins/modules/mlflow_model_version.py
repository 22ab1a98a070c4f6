#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mlflow_model_version
short_description: Register a model version idempotently, tag it, or delete it
version_added: 0.1.0
description:
  - Registers a new version of a registered model from the model a run logged (O(run_id), and O(artifact_path)
    unless the run logged exactly one model) or from a source URI. The same model never creates a second
    version, whatever the spelling it was registered under; the existing version is returned and its tags and
    description are brought in line.
  - A source that names no model is refused before anything is written, in check mode too. Two requests check
    it, the run (C(runs/get)) and then its MLflow 3 logged models (C(logged-models/search), where a model of
    that name must be) or, for a model saved among the run's artifacts (MLflow 2), the listing of
    O(artifact_path) (C(artifacts/list), which must show an C(MLmodel) file). An MLflow 3 run whose logged models do
    not include O(artifact_path) costs that listing as well. A V(models:/m-<id>) source is one request
    (C(logged-models/<id>)). A logged model must exist and must not have ended in C(LOGGED_MODEL_UPLOAD_FAILED).
    A run without the model fails with a message that lists the models the run logged.
  - "These spellings are one model: V(runs:/<run>/<path>); the run's artifact URI followed by V(/<path>)
    (V(mlflow-artifacts:/<exp>/<run>/artifacts/<path>), or the V(file:), V(s3://) ... root the server uses: what
    MLflow 2's own client stores); on MLflow 3, the logged model V(models:/m-<id>) (what MLflow 3's client stores)
    and its artifact location V(mlflow-artifacts:/<exp>/models/m-<id>/artifacts); each with or without a trailing
    slash. On MLflow 3 a run's path that names one of its logged models is that logged model."
  - A new version's source is V(models:/m-<id>) for a logged model and V(runs:/<run>/<path>) for a model among a
    run's artifacts, whichever spelling was given. A storage URI outside any run or logged model is registered
    as given, without a check.
  - Finding an earlier version costs one model version search by run, and a second one by source when the
    first finds none (versions registered without a run id).
  - Waits until the version is C(READY); a version that ends in C(FAILED_REGISTRATION), or stays pending past
    O(wait_timeout), fails the task with the server's status message.
  - With O(version), updates the tags and description of that version (this is how a rollout records its state
    on the version).
  - The registered model must exist (create it with M(mlops.platform.mlflow_registered_model)).
  - Works with MLflow 2 and MLflow 3 servers; logged models (V(models:/m-<id>)) need MLflow 3.
author:
  - mlops.platform contributors (@mlops-platform)
options:
  name:
    description: Name of the registered model.
    type: str
    required: true
  version:
    description:
      - An existing version to update or delete. Mutually exclusive with O(source) and O(run_id).
    type: str
  run_id:
    description:
      - Register the model this run logged at O(artifact_path).
      - With O(source), the run the source belongs to.
    type: str
  artifact_path:
    description:
      - Name (MLflow 3 logged model) or artifact path (MLflow 2) of the model within the run of O(run_id).
      - If not set, the run's only model. A run that logged no model or several fails, naming them.
    type: str
  source:
    description:
      - Source URI of the version, for example V(runs:/<run>/model), V(models:/m-<id>),
        V(mlflow-artifacts:/1/<run>/artifacts/model) or V(s3://bucket/model).
    type: str
  description:
    description: Description of the version. Left as it is when not set.
    type: str
  tags:
    description: Tags to set. Values are stored as strings (booleans as V(true)/V(false)).
    type: dict
  purge_tags:
    description: Remove tags that are not in O(tags). Tags whose key starts with C(mlflow.) are never removed.
    type: bool
    default: false
  state:
    description: V(present) registers or updates; V(absent) deletes the version.
    type: str
    choices: [present, absent]
    default: present
  force:
    description: With O(state=absent), delete the version even when aliases point at it.
    type: bool
    default: false
  wait:
    description: Wait for an existing version that is still C(PENDING_REGISTRATION). New versions are always awaited.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the version to become C(READY).
    type: int
    default: 300
extends_documentation_fragment:
  - mlops.platform.mlflow
  - mlops.platform.mlflow.action_group
  - ansible.builtin.action_common_attributes
  - mlops.platform.mlflow.changes_state
seealso:
  - module: mlops.platform.mlflow_registered_model
  - module: mlops.platform.mlflow_model_alias
"""

EXAMPLES = r"""
- name: Register the model of the training run (idempotent; the run's only model)
  mlops.platform.mlflow_model_version:
    tracking_uri: http://127.0.0.1:5000
    name: fraud-classifier
    run_id: "{{ train_run_id }}"
    description: Trained by pipeline {{ pipeline_id | default('manual') }}
    tags:
      git_commit: "{{ git_commit | default('unknown') }}"
  register: __version

- name: Register one of the models of a run that logged several
  mlops.platform.mlflow_model_version:
    tracking_uri: http://127.0.0.1:5000
    name: fraud-classifier
    run_id: "{{ train_run_id }}"
    artifact_path: calibrated

- name: Register what MLflow 2's client would (found, not registered again, when it already did)
  mlops.platform.mlflow_model_version:
    tracking_uri: http://127.0.0.1:5000
    name: fraud-classifier
    source: mlflow-artifacts:/1/{{ train_run_id }}/artifacts/model

- name: Record the gate verdict on the version
  mlops.platform.mlflow_model_version:
    tracking_uri: http://127.0.0.1:5000
    name: fraud-classifier
    version: "{{ __version.model_version.version }}"
    tags:
      mlops.rollout.state: VALIDATED

- name: Delete a version nobody uses
  mlops.platform.mlflow_model_version:
    tracking_uri: http://127.0.0.1:5000
    name: fraud-classifier
    version: "2"
    state: absent
"""

RETURN = r"""
model_version:
  description: The version after the change; null in check mode before creation or when absent.
  returned: always
  type: dict
  contains:
    name:
      description: Registered model name.
      type: str
      sample: fraud-classifier
    version:
      description: Version number.
      type: str
      sample: "4"
    source:
      description: Source URI the version was registered from.
      type: str
      sample: models:/m-6aac3ccdce6c4b908cbd918c1c46efe0
    run_id:
      description: Run that produced the model, or null.
      type: str
      sample: 7cb217e1eb8a4be8aadbe308383badc7
    model_id:
      description: MLflow 3 logged model id, or null.
      type: str
      sample: m-6aac3ccdce6c4b908cbd918c1c46efe0
    status:
      description: V(READY), V(PENDING_REGISTRATION) or V(FAILED_REGISTRATION).
      type: str
      sample: READY
    status_message:
      description: The server's status message (empty when none).
      type: str
      sample: ""
    description:
      description: Description.
      type: str
      sample: Trained by pipeline 42
    tags:
      description: Tags.
      type: dict
      sample: {"git_commit": "abc123"}
    aliases:
      description: Aliases pointing at this version.
      type: list
      elements: str
      sample: ["challenger"]
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
from ansible_collections.mlops.platform.plugins.module_utils._mlflow_registry import ensure_model_version


def main():
    module = MlflowModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            version=dict(type="str"),
            run_id=dict(type="str"),
            artifact_path=dict(type="str"),
            source=dict(type="str"),
            description=dict(type="str"),
            tags=dict(type="dict"),
            purge_tags=dict(type="bool", default=False),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            force=dict(type="bool", default=False),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=300),
        ),
        required_one_of=[("version", "run_id", "source")],
        mutually_exclusive=[("version", "run_id"), ("version", "source"), ("source", "artifact_path")],
        required_by={"artifact_path": "run_id"},
        supports_check_mode=True,
    )
    if module.params["wait_timeout"] < 0:
        module.fail_json(msg="wait_timeout must be 0 or more seconds, got %d" % module.params["wait_timeout"])
    module.run(ensure_model_version)


if __name__ == "__main__":
    main()
