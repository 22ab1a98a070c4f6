#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mlserver_model
short_description: Serve versions of a registered MLflow model on a local MLServer, without restarts
version_added: 0.1.0
description:
  - Declares which registry versions of one model a running MLServer serves, and makes it so through MLServer's
    model repository API (C(POST /v2/repository/models/<name>/load)). MLServer is never restarted.
  - O(default_version) is served at the default endpoint C(/v2/models/<name>/infer), under the fixed MLServer
    version O(default_label). Moving it to another registry version reloads that one key in place (MLServer loads
    the new instance before it drops the old one), so the default endpoint never stops answering.
  - Every version in O(versions) is served under its own number at C(/v2/models/<name>/versions/<version>/infer),
    for example a candidate for its smoke test or the previous champion kept loaded for a rollback.
  - Declarative. Entries of the model that are neither the default nor in O(versions) are removed and unloaded;
    leave out both to stop serving the model.
  - Each entry records its registry version in the model-settings field C(versions) as V(models:/<name>/<version>),
    which MLServer returns in the version's metadata (C(GET /v2/models/<name>/versions/<key>)). The task checks it
    after loading, so RV(loaded) is what the running server says, not what the files say.
  - MLServer never needs MLflow to start or reload. The files of each version are copied once from MLflow into
    O(artifacts_dir) (a version's files never change) and the entries point at that copy. A task whose entries are
    already in place asks MLflow nothing.
  - If MLServer cannot load an entry, the task puts the previous entries back on disk, loads them again and fails
    with MLServer's own reason (RV(reason)) and the version that failed (RV(failed_version)). An entry that failed
    never stays on disk, where it would stop MLServer at its next start.
  - Runs on the host of MLServer (the controller, for the local target). MLServer's own settings and process are the
    job of the C(mlops.platform.seldon) role.
author:
  - mlops.platform contributors (@mlops-platform)
options:
  name:
    description:
      - The registered model in MLflow, which is also the model's name in MLServer.
      - 1-200 letters, digits, C(_), C(.) or C(-), starting with a letter or a digit.
    type: str
    required: true
  default_version:
    description:
      - Registry version served at the default endpoint C(/v2/models/<name>/infer), under O(default_label).
      - Leave it out (or V(null)) for no default version, for example on a first deploy before any champion exists.
        With O(versions), the default endpoint then answers HTTP 503 (see O(reserve_default)); without, the model
        is not served at all.
    type: str
  versions:
    description:
      - Registry versions served under their own number at C(/v2/models/<name>/versions/<version>/...).
      - O(default_version) may be listed too; it is then loaded twice (under the label and under its number).
    type: list
    elements: str
    default: []
  default_label:
    description:
      - MLServer version key of the default entry.
      - MLServer's default endpoint serves the loaded version that sorts highest, comparing a label with version
        numbers as text, so the label must start with a letter or C(_) (then letters, digits, C(_), C(.) or C(-)).
    type: str
    default: champion
  reserve_default:
    description:
      - What the default endpoint answers while there is no O(default_version) but there are O(versions).
      - V(true) keeps it for the champion. The label holds a placeholder entry (a ten-line MLServer runtime the task
        writes beside it, C(mlops_no_default.py)) that answers every request with HTTP 503 and
        C(Model <name> has no default version yet). A candidate is then reached only at its own endpoint, and the
        first promotion is a hot reload of the label, without a failed request.
      - V(false) leaves no entry under the label, and MLServer answers the default endpoint with the highest numbered
        version loaded. Its first promotion adds the label, and requests to the default endpoint fail while that
        loads.
    type: bool
    default: true
  repository:
    description:
      - MLServer's model repository on this host; it must exist. That is the folder MLServer was started with,
        C(mlserver start <folder>), which MLServer 1.7 uses as the repository whatever C(model_repository_root) says
        in its C(settings.json). A subdirectory of it works too (MLServer reads the whole tree).
      - The task owns C(<repository>/<name>/), with one C(<key>/model-settings.json) per entry; it refuses to run
        while entries of the model exist elsewhere in the repository.
    type: path
    required: true
  artifacts_dir:
    description:
      - Directory on this host for the local copies of the versions' files (C(<artifacts_dir>/<name>/<version>/)),
        created if missing. Keep it outside O(repository).
      - Copies that no entry uses any more are removed after each change.
    type: path
    required: true
  wait_timeout:
    description:
      - Seconds to wait for the load (or unload) call and for every entry to be ready, and for another task
        serving the same model on this host to finish.
    type: int
    default: 120
extends_documentation_fragment:
  - mlops.platform.mlserver
  - mlops.platform.mlflow
  - ansible.builtin.action_common_attributes
  - mlops.platform.mlflow.changes_state
attributes:
  action_group:
    description:
      - Use C(group/mlops.platform.mlflow) in C(module_defaults) to set the MLflow connection options, and
        C(group/mlops.platform.mlserver) to set the MLServer ones.
    support: full
    membership:
      - mlops.platform.mlflow
      - mlops.platform.mlserver
notes:
  - MLflow is asked only for versions that have no complete local copy yet, C(GET model-versions/get-download-uri)
    then the files. C(mlflow-artifacts:/) locations are fetched through the MLflow server's artifact proxy
    (C(mlflow server --serve-artifacts)); C(file:) and absolute paths are copied. Other stores (C(s3://) ...) are
    refused with a message.
  - MLServer explains a failed load in its answer only when it runs with C(parallel_workers) of 1 or more; with
    V(0) the task can only say that MLServer gave no reason and that its log holds the traceback.
  - One task at a time per model on a host (a lock in O(artifacts_dir)). If a run is killed during a change, the
    next run puts the previous entries back before it plans.
seealso:
  - module: mlops.platform.mlflow_model_version_info
  - name: MLServer model repository API
    description: Load, unload and list models of a running MLServer.
    link: https://mlserver.readthedocs.io/en/latest/reference/api/model-repository.html
"""

EXAMPLES = r"""
- name: Serve version 3 at the default endpoint
  mlops.platform.mlserver_model:
    tracking_uri: http://127.0.0.1:5000
    name: fraud-classifier
    default_version: "3"
    repository: ~/.local/share/mlops-platform/seldon/models
    artifacts_dir: ~/.local/share/mlops-platform/seldon/artifacts

- name: Stage candidate 4 on its own endpoint; the default endpoint keeps serving 3
  mlops.platform.mlserver_model:
    tracking_uri: http://127.0.0.1:5000
    name: fraud-classifier
    default_version: "3"
    versions: ["4"]
    repository: ~/.local/share/mlops-platform/seldon/models
    artifacts_dir: ~/.local/share/mlops-platform/seldon/artifacts
  register: __staged

- name: Smoke-test the candidate on its own endpoint
  ansible.builtin.uri:
    url: "{{ __staged.version_urls['4'] }}"
    method: POST
    body_format: json
    body:
      inputs: [{name: input-0, shape: [1, 2], datatype: FP64, data: [0.1, 0.9]}]

- name: Promote 4, keep 3 loaded so that a rollback only switches back
  mlops.platform.mlserver_model:
    tracking_uri: http://127.0.0.1:5000
    name: fraud-classifier
    default_version: "4"
    versions: ["3"]
    repository: ~/.local/share/mlops-platform/seldon/models
    artifacts_dir: ~/.local/share/mlops-platform/seldon/artifacts

- name: Stop serving the model
  mlops.platform.mlserver_model:
    name: fraud-classifier
    repository: ~/.local/share/mlops-platform/seldon/models
    artifacts_dir: ~/.local/share/mlops-platform/seldon/artifacts
"""

RETURN = r"""
name:
  description: The model.
  returned: always
  type: str
  sample: fraud-classifier
default_label:
  description: MLServer version key of the default entry.
  returned: always
  type: str
  sample: champion
default_version:
  description:
    - Registry version served at the default endpoint (null when none; see O(reserve_default)).
    - When the load failed, the one served as before.
  returned: always
  type: str
  sample: "4"
versions:
  description:
    - Registry versions served under their own number, in numeric order.
    - When the load failed, the ones served as before.
  returned: always
  type: list
  elements: str
  sample: ["3"]
inference_url:
  description: The default endpoint, C(<mlserver_url>/v2/models/<name>/infer); null without a default version.
  returned: always
  type: str
  sample: http://127.0.0.1:8080/v2/models/fraud-classifier/infer
version_urls:
  description: The inference endpoint of each version in RV(versions).
  returned: always
  type: dict
  sample: {"3": "http://127.0.0.1:8080/v2/models/fraud-classifier/versions/3/infer"}
artifacts:
  description:
    - The local copy of the files of each served version (RV(default_version) and RV(versions)), for example for a
      smoke test that reads the model's logged input example.
  returned: always
  type: dict
  sample: {"3": "/home/mlops/.local/share/mlops-platform/seldon/artifacts/fraud-classifier/3",
           "4": "/home/mlops/.local/share/mlops-platform/seldon/artifacts/fraud-classifier/4"}
loaded:
  description:
    - What MLServer reports for each entry of the model, read from its metadata and readiness endpoints
      (in check mode, what it serves now).
  returned: always
  type: list
  elements: dict
  contains:
    mlserver_version:
      description: MLServer's version key (O(default_label) or a version number).
      type: str
      sample: champion
    registry_version:
      description:
        - The registry version MLServer says it serves under that key (null when it does not serve it, and for the
          placeholder of O(reserve_default)).
      type: str
      sample: "4"
    ready:
      description: Whether MLServer reports the version ready.
      type: bool
      sample: true
  sample: [{"mlserver_version": "champion", "registry_version": "4", "ready": true},
           {"mlserver_version": "3", "registry_version": "3", "ready": true}]
fetched_versions:
  description: Versions whose files were copied from MLflow by this task (in check mode, would be).
  returned: always
  type: list
  elements: str
  sample: ["4"]
failed_version:
  description: The registry version MLServer could not load (null when MLServer's answer does not tell).
  returned: when the load failed
  type: str
  sample: "5"
reason:
  description: MLServer's own reason for the failed load (or what else went wrong), fit for a rollout's reason tag.
  returned: when the load failed
  type: str
  sample: "zipfile.BadZipFile: File is not a zip file"
diff:
  description: The default version and versions before and after (and stray entries removed).
  returned: when diff mode is on
  type: dict
  sample: {"before": {"default_version": "3", "versions": []}, "after": {"default_version": "3", "versions": ["4"]}}
"""

from ansible_collections.mlops.platform.plugins.module_utils._mlflow_module import MlflowModule
from ansible_collections.mlops.platform.plugins.module_utils._mlserver import (
    MLSERVER_CONNECTION_ARGSPEC,
    serve_model,
)


def main():
    spec = dict(MLSERVER_CONNECTION_ARGSPEC)
    spec.update(
        name=dict(type="str", required=True),
        default_version=dict(type="str"),
        versions=dict(type="list", elements="str", default=[]),
        default_label=dict(type="str", default="champion"),
        reserve_default=dict(type="bool", default=True),
        repository=dict(type="path", required=True),
        artifacts_dir=dict(type="path", required=True),
        wait_timeout=dict(type="int", default=120),
    )
    module = MlflowModule(argument_spec=spec, supports_check_mode=True)
    module.run(serve_model)


if __name__ == "__main__":
    main()
