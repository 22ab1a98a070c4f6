# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The MLServer connection options. They carry an mlserver_ prefix because a module that talks to
    # MLServer also takes the MLflow connection options (timeout, retries, token ...) of the mlflow fragment.
    DOCUMENTATION = r"""
options:
  mlserver_url:
    description:
      - URL of MLServer's HTTP (REST) port, for example V(http://127.0.0.1:8080).
      - Only C(http) and C(https) are supported. Do not put credentials in the URL; use O(mlserver_token).
      - Set it once with C(module_defaults) and the action group C(group/mlops.platform.mlserver).
    type: str
    default: http://127.0.0.1:8080
    aliases: [url]
  mlserver_token:
    description:
      - Bearer token sent to MLServer in the C(Authorization) header, for an MLServer behind an authenticating
        proxy (MLServer itself has no authentication). Never logged.
    type: str
  mlserver_validate_certs:
    description: Verify MLServer's TLS certificate.
    type: bool
    default: true
  mlserver_ca_path:
    description: PEM file of the CA certificates used to verify MLServer.
    type: path
  mlserver_timeout:
    description:
      - Seconds to wait for each request to MLServer, except the load and unload calls, which O(wait_timeout) bounds.
    type: int
    default: 30
  mlserver_retries:
    description:
      - How many times to retry a request to MLServer that failed with a connection error, HTTP 429 or a 5xx status,
        with jittered exponential backoff. A load or unload call is never retried.
    type: int
    default: 0
"""
