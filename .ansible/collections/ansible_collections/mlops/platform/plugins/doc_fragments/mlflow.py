# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The MLflow connection options, shared by every MLflow module.
    DOCUMENTATION = r"""
options:
  tracking_uri:
    description:
      - URL of the MLflow tracking server, for example V(http://127.0.0.1:5000) or V(https://mlflow.apps.example.com).
      - Only C(http) and C(https) servers are supported. Do not put credentials in the URL; use O(username)/O(password) or O(token).
      - If not set, the environment variable E(MLFLOW_TRACKING_URI) is used, as MLflow's own client does.
      - Set it once for every MLflow module with C(module_defaults) and the action group C(group/mlops.platform.mlflow).
    type: str
  username:
    description:
      - User name for HTTP basic authentication (MLflow's C(basic-auth) app).
      - If not set, the environment variable E(MLFLOW_TRACKING_USERNAME) is used.
      - Requires O(password). Mutually exclusive with O(token).
    type: str
  password:
    description:
      - Password for HTTP basic authentication.
      - If not set, the environment variable E(MLFLOW_TRACKING_PASSWORD) is used. Never logged.
    type: str
  token:
    description:
      - Bearer token, sent in the C(Authorization) header.
      - If not set, the environment variable E(MLFLOW_TRACKING_TOKEN) is used. Never logged.
    type: str
  validate_certs:
    description:
      - Verify the server's TLS certificate.
      - If not set, it is V(true) unless the environment variable E(MLFLOW_TRACKING_INSECURE_TLS) is V(true).
    type: bool
  ca_path:
    description:
      - PEM file of the CA certificates used to verify the server.
      - If not set, the environment variable E(MLFLOW_TRACKING_SERVER_CERT_PATH) is used.
    type: path
  client_cert:
    description:
      - PEM file holding a client certificate (and its key) for mutual TLS.
      - If not set, the environment variable E(MLFLOW_TRACKING_CLIENT_CERT_PATH) is used.
    type: path
  timeout:
    description:
      - Seconds to wait for each HTTP request.
      - If not set, the environment variable E(MLFLOW_HTTP_REQUEST_TIMEOUT) is used, else V(30).
    type: int
  retries:
    description:
      - How many times to retry a request that failed with a connection error, HTTP 429 or a 5xx status.
        Other errors (400, 401, 403, 404 ...) are never retried.
      - Retries wait with jittered exponential backoff (0.5 s, 1 s, 2 s ... capped at 10 s, each between half and
        all of that), or as long as a numeric C(Retry-After) header asks, up to 10 s.
      - If not set, the environment variable E(MLFLOW_HTTP_REQUEST_MAX_RETRIES) is used, else V(0) (retries are opt-in).
      - A retried create call can in rare cases reach the server twice; the modules look the object up first and never
        create a second copy of something that already exists.
    type: int
notes:
  - The modules talk to MLflow's REST API (C(/api/2.0/mlflow)) with ansible-core's own HTTP code; the C(mlflow)
    Python package is not needed on the managed node.
"""

    # Attributes shared by the modules that change MLflow state.
    ACTION_GROUP = r"""
attributes:
  action_group:
    description: Use C(group/mlops.platform.mlflow) in C(module_defaults) to set the connection options for every MLflow module.
    support: full
    membership:
      - mlops.platform.mlflow
"""

    # Support of the standard attributes (ansible.builtin.action_common_attributes) by a module that changes state.
    CHANGES_STATE = r"""
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: all
"""

    # ... and by a read-only module.
    READ_ONLY = r"""
attributes:
  check_mode:
    support: full
    details: Read-only; runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: all
"""

    # The gate's metric rules (mlflow_model_gate, mlflow_model_rollout).
    GATE_METRICS = r"""
options:
  metrics:
    description:
      - The metrics to judge and their rules; at least one.
    type: list
    elements: dict
    suboptions:
      name:
        description: Metric key as logged in MLflow, for example V(roc_auc).
        type: str
        required: true
      greater_is_better:
        description: Whether a higher value is better. Set V(false) for losses and error rates.
        type: bool
        default: true
      min:
        description: The candidate's value must be at least this.
        type: float
      max:
        description: The candidate's value must be at most this.
        type: float
      min_absolute_change:
        description:
          - The candidate must beat the baseline by at least this much, in the direction of O(metrics[].greater_is_better).
            A negative value tolerates a regression of at most that size.
          - When neither this nor O(metrics[].min_relative_change) is set, the candidate must not be worse than the
            baseline (as if this were V(0)).
        type: float
      min_relative_change:
        description:
          - The candidate must beat the baseline by at least this fraction of the baseline value (V(0.01) is 1%).
        type: float
      compare_to_baseline:
        description: Set V(false) to judge this metric on its thresholds only, even when there is a baseline.
        type: bool
        default: true
"""

    # The aliases the rollout moves (mlflow_model_rollout, mlflow_model_rollout_info).
    ROLLOUT_ALIASES = r"""
options:
  champion_alias:
    description: The alias of the serving champion.
    type: str
    default: champion
  challenger_alias:
    description: The alias of the candidate.
    type: str
    default: challenger
  previous_alias:
    description: The alias of the champion before the current one (what a rollback restores).
    type: str
    default: previous_champion
"""
