#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mlflow_model_train
short_description: Get the MLflow run a rollout registers - train a model project, or reuse or adopt a run
version_added: 0.2.0
description:
  - Returns the run whose model a rollout registers, training only when no finished run has the same lineage.
  - "Training kinds (O(kind)): V(dvc) runs the project's DVC pipeline (C(dvc repro)); V(command) runs any command
    that logs an MLflow run; V(mlflow_project) runs an MLflow Project (C(mlflow run) with C(--run-id)); V(existing_run)
    adopts a run that already exists - by O(run_id), or the best finished run of O(experiment) by O(run_order_by)
    (a data scientist's notebook run). V(auto) picks V(dvc) for a C(dvc.yaml), V(mlflow_project) for an C(MLproject),
    else V(command)."
  - For the first three the module copies the project into O(work_dir) (without O(exclude)), merges O(params) into
    O(params_file) when the project has one, creates the MLflow run itself and runs the command with
    E(MLFLOW_RUN_ID) set to it - MLflow's own client resumes that run on C(mlflow.start_run()) - so the project does
    not have to write down which run it logged. A command that creates a run of its own instead is found by a search
    (the newest finished run of the experiment started after the command).
  - The command's environment - E(MLFLOW_TRACKING_URI) and the credentials of this module's connection,
    E(MLFLOW_EXPERIMENT_NAME), E(MLFLOW_EXPERIMENT_ID), E(MLFLOW_RUN_ID), E(MLOPS_PARAMS) (the overrides as JSON),
    E(MLOPS_PARAMS_FILE), E(MLOPS_ROLLOUT_ID), E(GIT_COMMIT), plus O(environment).
  - The lineage - what makes a rerun reuse a run - is the output of O(lineage_command) when set, else the project's
    git commit, the contents of its files, the effective parameters and the contents of O(data_paths). It is stored
    in the run tag C(mlops.lineage).
  - The command runs in its own process group. It is stopped (SIGTERM, then SIGKILL) when C(ansible-playbook) goes
    away, after O(train_timeout), or when the rollout lock is lost; the run is then marked C(KILLED).
author:
  - mlops.platform contributors (@mlops-platform)
options:
  name:
    description: The registered model the run is for (recorded on the run; names the lock with O(lock_token)).
    type: str
    required: true
  kind:
    description: How to get the run (see the description).
    type: str
    choices: [auto, dvc, command, mlflow_project, existing_run]
    default: auto
  project_dir:
    description: The model project (not needed with O(kind=existing_run)).
    type: path
  work_dir:
    description:
      - Where the project is copied and trained; replaced by a fresh copy on every training. Default - O(project_dir)
        itself (nothing is copied).
    type: path
  keep_work_dirs:
    description:
      - How many earlier work directories beside O(work_dir) (those holding a C(.mlops-train.log)) are kept when it
        trains; older ones are removed. V(0) keeps all.
    type: int
    default: 3
  command:
    description:
      - O(kind=command) - the training command, a list of arguments or a shell string. It runs in O(work_dir).
    type: raw
  entry_point:
    description: O(kind=mlflow_project) - the entry point (default - the project's C(main)).
    type: str
  env_manager:
    description: O(kind=mlflow_project) - C(mlflow run --env-manager).
    type: str
    default: local
  params:
    description:
      - Parameter overrides. Merged (recursively) into O(params_file) when the project has it; always passed as
        E(MLOPS_PARAMS) (JSON) and, for an MLflow Project, as C(-P key=value) (nested keys joined with dots).
    type: dict
    default: {}
  params_file:
    description: The project's parameter file (YAML), relative to O(project_dir). Optional; V('') for none.
    type: str
    default: params.yaml
  lineage_command:
    description:
      - A command (list or shell string) run in O(project_dir) that prints the project's lineage as a JSON object
        without training. Default - the lineage is computed (see the description).
    type: raw
  data_paths:
    description: Files or directories outside the project whose contents are part of the lineage.
    type: list
    elements: path
    default: []
  exclude:
    description:
      - Patterns of paths (relative to the project, shell-style) that are neither copied nor hashed. A pattern without
        C(/) also matches a file or directory name at any depth.
    type: list
    elements: str
    default: [.git, .venv, __pycache__, .pytest_cache, mlruns, mlflow.db, .dvc/cache, .dvc/tmp, .dvc/config.local,
              .mlops-train.log]
  experiment:
    description: The MLflow experiment of the run (created when missing). Default - O(name).
    type: str
  python_bin_dir:
    description: A directory put first on E(PATH) for the command (the project's virtual environment's C(bin)).
    type: path
  environment:
    description: More environment variables for the command.
    type: dict
    default: {}
  reuse:
    description: Reuse a finished run of the same lineage instead of training.
    type: bool
    default: true
  run_id:
    description: O(kind=existing_run) - the run to adopt.
    type: str
  run_filter:
    description: O(kind=existing_run) - an MLflow search filter the adopted run must match (besides being FINISHED).
    type: str
  run_order_by:
    description: O(kind=existing_run) - how to rank matching runs, for example V(metrics.accuracy DESC).
    type: list
    elements: str
  dvc_command:
    description: O(kind=dvc) - the command that runs the pipeline.
    type: list
    elements: str
    default: [dvc, repro]
  dvc_remote:
    description: O(kind=dvc) - a DVC remote (a directory or URL) written to C(.dvc/config.local) of the copy.
    type: str
  dvc_cache_dir:
    description: O(kind=dvc) - a DVC cache shared by the copies (stages whose inputs did not change are restored).
    type: path
  dvc_push:
    description: O(kind=dvc) - push to O(dvc_remote) after a successful pipeline.
    type: bool
    default: true
  train_timeout:
    description: Seconds the training may take; V(0) for no limit.
    type: int
    default: 0
  tags:
    description: More tags of the training run.
    type: dict
    default: {}
  rollout_id:
    description: An id of the rollout, passed as E(MLOPS_ROLLOUT_ID) and tagged C(mlops.rollout.id).
    type: str
  lock_token:
    description: The rollout lock's token; the lease is renewed while the command runs, and losing it stops it.
    type: str
  lock_ttl:
    description: Seconds each renewal of the lease lasts.
    type: int
    default: 900
extends_documentation_fragment:
  - mlops.platform.mlflow
  - mlops.platform.mlflow.action_group
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Finds a reusable run; when there is none, reports that a real run would train, and trains nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: mlops.platform.mlflow_model_rollout
"""

EXAMPLES = r"""
- name: Train a plain-command project (or reuse the run of the same code, data and parameters)
  mlops.platform.mlflow_model_train:
    name: wine-classifier
    kind: command
    project_dir: /srv/projects/wine_classifier
    work_dir: /var/lib/mlops/rollout/wine-classifier/{{ rollout_id }}
    command: [python, -m, wine_classifier.train]
    params: {C: 0.5}
    python_bin_dir: /srv/venvs/wine/bin
  register: __train

- name: Roll out the best run a data scientist logged from a notebook
  mlops.platform.mlflow_model_train:
    name: churn-model
    kind: existing_run
    experiment: churn-notebooks
    run_order_by: ["metrics.roc_auc DESC"]
  register: __train
"""

RETURN = r"""
run_id:
  description: The run to register (null in check mode when it would train).
  returned: always
  type: str
  sample: 7cb217e1eb8a4be8aadbe308383badc7
experiment_id:
  description: Its experiment.
  returned: always
  type: str
  sample: "1"
kind:
  description: The training kind used.
  returned: always
  type: str
  sample: dvc
reused:
  description: Whether a run of the same lineage (or an existing run) was used instead of training.
  returned: always
  type: bool
  sample: false
trained:
  description: Whether this call trained.
  returned: always
  type: bool
  sample: true
would_train:
  description: Check mode - a real run would train.
  returned: in check mode when no run can be reused
  type: bool
  sample: true
lineage:
  description: The lineage (C(lineage), C(params_hash), C(data_hash), C(git_commit)); null for an adopted run.
  returned: always
  type: dict
  sample: {"lineage": "4f2a...", "params_hash": "9c1e...", "data_hash": "", "git_commit": "unknown"}
work_dir:
  description: Where the project was trained (for a reused run - where that run was trained, when it still exists).
  returned: unless O(kind=existing_run)
  type: str
  sample: /var/lib/mlops/rollout/wine-classifier/3f1c9a0d
seconds:
  description: How long the training command ran.
  returned: when it trained
  type: float
  sample: 14.2
log:
  description: The file holding the command's output.
  returned: when it trained
  type: str
  sample: /var/lib/mlops/rollout/wine-classifier/3f1c9a0d/.mlops-train.log
msg:
  description: What happened.
  returned: always
  type: str
  sample: Trained run 7cb217e1eb8a4be8aadbe308383badc7 with command in 4.1s
"""

from ansible_collections.mlops.platform.plugins.module_utils._mlflow_module import MlflowModule
from ansible_collections.mlops.platform.plugins.module_utils._rollout_train import train

DEFAULT_EXCLUDE = [".git", ".venv", "__pycache__", ".pytest_cache", "mlruns", "mlflow.db", ".dvc/cache", ".dvc/tmp",
                   ".dvc/config.local", ".mlops-train.log"]


def main():
    module = MlflowModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            kind=dict(type="str", default="auto", choices=["auto", "dvc", "command", "mlflow_project", "existing_run"]),
            project_dir=dict(type="path"),
            work_dir=dict(type="path"),
            keep_work_dirs=dict(type="int", default=3),
            command=dict(type="raw"),
            entry_point=dict(type="str"),
            env_manager=dict(type="str", default="local"),
            params=dict(type="dict", default={}),
            params_file=dict(type="str", default="params.yaml"),
            lineage_command=dict(type="raw"),
            data_paths=dict(type="list", elements="path", default=[]),
            exclude=dict(type="list", elements="str", default=DEFAULT_EXCLUDE),
            experiment=dict(type="str"),
            python_bin_dir=dict(type="path"),
            environment=dict(type="dict", default={}),
            reuse=dict(type="bool", default=True),
            run_id=dict(type="str"),
            run_filter=dict(type="str"),
            run_order_by=dict(type="list", elements="str"),
            dvc_command=dict(type="list", elements="str", default=["dvc", "repro"]),
            dvc_remote=dict(type="str"),
            dvc_cache_dir=dict(type="path"),
            dvc_push=dict(type="bool", default=True),
            train_timeout=dict(type="int", default=0),
            tags=dict(type="dict", default={}),
            rollout_id=dict(type="str"),
            lock_token=dict(type="str", no_log=False),
            lock_ttl=dict(type="int", default=900),
        ),
        required_if=[("kind", "dvc", ["project_dir"]), ("kind", "command", ["project_dir", "command"]),
                     ("kind", "mlflow_project", ["project_dir"]), ("kind", "auto", ["project_dir"])],
        supports_check_mode=True,
    )
    p = module.params
    p["experiment"] = p["experiment"] or p["name"]
    for option in ("command", "lineage_command"):
        value = p[option]
        if value is not None and not (isinstance(value, str) or (isinstance(value, list) and value)):
            module.fail_json(msg="%s must be a list of arguments or a shell string" % option)
        if isinstance(value, list):
            p[option] = [str(part) for part in value]
    if p["train_timeout"] < 0:
        module.fail_json(msg="train_timeout must be 0 (no limit) or a number of seconds, got %d" % p["train_timeout"])
    module.run(train)


if __name__ == "__main__":
    main()
