# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Base of every MLflow module: one connection argspec, one client, one place that fails."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.mlops.platform.plugins.module_utils._api_module import (
    ApiModule,
    env_int,
)
from ansible_collections.mlops.platform.plugins.module_utils._mlflow_client import (
    MlflowClient,
    MlflowError,
)

DEFAULT_TIMEOUT = 30
DEFAULT_RETRIES = 0

# Documented once in plugins/doc_fragments/mlflow.py.
MLFLOW_CONNECTION_ARGSPEC = dict(
    tracking_uri=dict(type="str", fallback=(env_fallback, ["MLFLOW_TRACKING_URI"])),
    username=dict(type="str", fallback=(env_fallback, ["MLFLOW_TRACKING_USERNAME"])),
    password=dict(type="str", no_log=True, fallback=(env_fallback, ["MLFLOW_TRACKING_PASSWORD"])),
    token=dict(type="str", no_log=True, fallback=(env_fallback, ["MLFLOW_TRACKING_TOKEN"])),
    validate_certs=dict(type="bool"),
    ca_path=dict(type="path", fallback=(env_fallback, ["MLFLOW_TRACKING_SERVER_CERT_PATH"])),
    client_cert=dict(type="path", fallback=(env_fallback, ["MLFLOW_TRACKING_CLIENT_CERT_PATH"])),
    timeout=dict(type="int"),
    retries=dict(type="int"),
)


class MlflowModule(ApiModule):
    """AnsibleModule with the MLflow connection options merged in and a lazily built client."""

    def __init__(self, argument_spec=None, **kwargs):
        spec = dict(MLFLOW_CONNECTION_ARGSPEC)
        spec.update(argument_spec or {})
        super(MlflowModule, self).__init__(argument_spec=spec, **kwargs)
        self._client = None

    @property
    def client(self):
        if self._client is None:
            self._client = self._build_client()
        return self._client

    def _build_client(self):
        p = self.params
        timeout, problem = (p["timeout"], None) if p["timeout"] is not None else env_int(
            "MLFLOW_HTTP_REQUEST_TIMEOUT", DEFAULT_TIMEOUT)
        if problem:
            self.fail_json(msg=problem)
        retries, problem = (p["retries"], None) if p["retries"] is not None else env_int(
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES", DEFAULT_RETRIES)
        if problem:
            self.fail_json(msg=problem)
        validate_certs = p["validate_certs"]
        if validate_certs is None:
            insecure = os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "false")
            try:
                validate_certs = not boolean(insecure, strict=True)
            except TypeError:
                self.fail_json(msg="environment variable MLFLOW_TRACKING_INSECURE_TLS must be true or false, got %r"
                               % insecure)
        try:
            return MlflowClient(
                tracking_uri=p["tracking_uri"],
                username=p["username"],
                password=p["password"],
                token=p["token"],
                validate_certs=validate_certs,
                ca_path=p["ca_path"],
                client_cert=p["client_cert"],
                timeout=timeout,
                retries=retries,
            )
        except MlflowError as exc:
            self.fail_json(msg=str(exc))
