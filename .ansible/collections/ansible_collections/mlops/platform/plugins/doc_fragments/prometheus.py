# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The Prometheus connection options, shared by every module that queries Prometheus.
    DOCUMENTATION = r"""
options:
  url:
    description:
      - URL of the Prometheus server's HTTP API root, without C(/api/v1), for example V(http://127.0.0.1:9090) or
        V(https://thanos-querier.openshift-monitoring.svc:9091). The platform offers it as C(mlops_prometheus_url).
      - Only C(http) and C(https) are supported. Do not put credentials in the URL; use O(username)/O(password) or
        O(token).
      - Set it once for every Prometheus module with C(module_defaults) and the action group
        C(group/mlops.platform.prometheus).
    type: str
    required: true
  token:
    description:
      - Bearer token sent in the C(Authorization) header, for example a ServiceAccount token for OpenShift's
        Thanos querier. Never logged.
      - Mutually exclusive with O(username)/O(password).
    type: str
  username:
    description:
      - User name for HTTP basic authentication (Prometheus's C(web.config.file) C(basic_auth_users), or a proxy in
        front of it). Requires O(password).
    type: str
  password:
    description: Password for HTTP basic authentication. Never logged.
    type: str
  validate_certs:
    description: Verify the server's TLS certificate.
    type: bool
    default: true
  ca_path:
    description: PEM file of the CA certificates used to verify the server.
    type: path
  timeout:
    description:
      - Seconds to wait for each HTTP request. Prometheus is asked to give up evaluating a query after as long
        (its C(timeout) parameter).
    type: int
    default: 30
  retries:
    description:
      - How many times to retry a request that failed with a connection error, HTTP 429 or a 5xx status. Other
        errors (a query Prometheus rejects, 401, 403 ...) are never retried.
      - Retries wait with jittered exponential backoff (0.5 s, 1 s, 2 s ... capped at 10 s), or as long as a numeric
        C(Retry-After) header asks, up to 10 s.
    type: int
    default: 0
notes:
  - The modules talk to Prometheus's HTTP API (C(/api/v1)) with ansible-core's own HTTP code; no Python package
    is needed on the managed node. Any server with that API answers too (Thanos, Cortex, Mimir, VictoriaMetrics).
"""

    # The action group of the Prometheus modules.
    ACTION_GROUP = r"""
attributes:
  action_group:
    description: Use C(group/mlops.platform.prometheus) in C(module_defaults) to set the connection options for every
      Prometheus module.
    support: full
    membership:
      - mlops.platform.prometheus
"""
