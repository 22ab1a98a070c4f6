#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mlflow_model_version_info
short_description: Read versions of registered models, with their aliases
version_added: 0.1.0
description:
  - Reads one version by number or by alias, or searches versions with an MLflow filter string.
  - Each version comes with the aliases that point at it; MLflow's search leaves them out, so they are read from
    the registered model (one request per model, not per version).
  - Never changes anything. An unset alias or a missing version gives an empty list; a registered model named in
    O(name) that does not exist is an error.
author:
  - mlops.platform contributors (@mlops-platform)
options:
  name:
    description: Name of the registered model. Required with O(version) or O(alias).
    type: str
  version:
    description: Read this version.
    type: str
  alias:
    description: Read the version this alias points at.
    type: str
  filter:
    description:
      - MLflow filter for model versions, for example V(run_id = '<id>') or V(tags.`mlops.rollout.state` = 'PROMOTED').
        Combined with O(name) by C(and) when both are set.
    type: str
  order_by:
    description: Ordering clauses, for example V(["version_number DESC"]).
    type: list
    elements: str
  max_results:
    description: At most this many versions (search only). All of them when not set.
    type: int
  download_uri:
    description:
      - Also read where each version's files are stored (MLflow's C(GET /api/2.0/mlflow/model-versions/get-download-uri),
        one request per version) and return it as RV(model_versions[].download_uri), with the object-store URI a
        serving object reads as RV(model_versions[].storage_uri).
      - A version whose files are not in an object store (a local path, C(file:), C(models:/), C(runs:/)) makes the
        task fail with a message naming the version and its URI - a serving pod on a cluster cannot read them.
    type: bool
    default: false
  artifacts_destination:
    description:
      - The MLflow server's C(--artifacts-destination), for example V(s3://mlflow-artifacts/mlflow). With
        O(download_uri), a download URI in MLflow's artifact proxy (C(mlflow-artifacts:/<path>), what a server
        started with C(--serve-artifacts) answers) becomes C(<artifacts_destination>/<path>).
    type: str
extends_documentation_fragment:
  - mlops.platform.mlflow
  - mlops.platform.mlflow.action_group
  - ansible.builtin.action_common_attributes
  - mlops.platform.mlflow.read_only
seealso:
  - module: mlops.platform.mlflow_model_version
"""

EXAMPLES = r"""
- name: Which version is the champion?
  mlops.platform.mlflow_model_version_info:
    tracking_uri: http://127.0.0.1:5000
    name: fraud-classifier
    alias: champion
  register: __champion

- name: The five newest versions
  mlops.platform.mlflow_model_version_info:
    tracking_uri: http://127.0.0.1:5000
    name: fraud-classifier
    order_by: ["version_number DESC"]
    max_results: 5

- name: Where the serving pods read version 4 from (the S3 path behind MLflow's artifact proxy)
  mlops.platform.mlflow_model_version_info:
    tracking_uri: http://127.0.0.1:5000
    name: fraud-classifier
    version: "4"
    download_uri: true
    artifacts_destination: s3://mlflow-artifacts/mlflow
  register: __where
"""

RETURN = r"""
model_versions:
  description: The matching versions. Same keys as RV(mlops.platform.mlflow_model_version#module:model_version).
  returned: always
  type: list
  elements: dict
  sample:
    - name: fraud-classifier
      version: "4"
      source: models:/m-6aac3ccdce6c4b908cbd918c1c46efe0
      run_id: 7cb217e1eb8a4be8aadbe308383badc7
      model_id: m-6aac3ccdce6c4b908cbd918c1c46efe0
      status: READY
      status_message: ""
      description: ""
      tags: {}
      aliases: ["champion"]
      creation_timestamp: 1764145200000
      last_updated_timestamp: 1764145200000
  contains:
    download_uri:
      description: What MLflow's C(get-download-uri) answered for the version.
      returned: when O(download_uri=true)
      type: str
      sample: mlflow-artifacts:/1/models/m-6aac3ccdce6c4b908cbd918c1c46efe0/artifacts
    storage_uri:
      description: The object-store URI of the version's files (O(artifacts_destination) applied).
      returned: when O(download_uri=true)
      type: str
      sample: s3://mlflow-artifacts/mlflow/1/models/m-6aac3ccdce6c4b908cbd918c1c46efe0/artifacts
"""

from ansible_collections.mlops.platform.plugins.module_utils._mlflow_module import MlflowModule
from ansible_collections.mlops.platform.plugins.module_utils._mlflow_registry import model_version_info


def main():
    module = MlflowModule(
        argument_spec=dict(
            name=dict(type="str"),
            version=dict(type="str"),
            alias=dict(type="str"),
            filter=dict(type="str"),
            order_by=dict(type="list", elements="str"),
            max_results=dict(type="int"),
            download_uri=dict(type="bool", default=False),
            artifacts_destination=dict(type="str"),
        ),
        mutually_exclusive=[("version", "alias", "filter"), ("version", "order_by"), ("alias", "order_by")],
        required_by={"version": "name", "alias": "name"},
        required_one_of=[("name", "filter")],
        supports_check_mode=True,
    )
    module.run(model_version_info)


if __name__ == "__main__":
    main()
