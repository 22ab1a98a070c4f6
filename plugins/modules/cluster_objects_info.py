#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cluster_objects_info
short_description: Read Kubernetes objects of one kind - by name, or listed by namespace and selectors
version_added: 0.1.0
description:
  - Reads objects the way C(kubernetes.core.k8s_info) does, with its option names and its return values
    (RV(resources), RV(api_found)), on the collection's own thin client - about 0.4 s a task here instead of about
    1.1 s (no C(kubernetes) package to import, no dynamic client to build).
  - With O(name) and O(label_selectors) both set, the objects of that name are listed and filtered by the selectors
    - so a C(PackageManifest) is the one of the catalog the selector names, even when several catalogs offer a
    package of that name (a read by name alone returns any one of them).
  - A kind the API server does not serve is not an error - RV(api_found) is V(false) and RV(resources) empty.
  - The connection options are those of C(kubernetes.core); set them with C(module_defaults) for
    C(group/mlops.platform.kubernetes).
author:
  - mlops.platform contributors (@mlops-platform)
options:
  api_version:
    description: The group/version of the kind, for example V(apps/v1).
    type: str
    default: v1
  kind:
    description: The kind, for example V(Deployment).
    type: str
    required: true
  name:
    description: One object by name.
    type: str
  namespace:
    description: The namespace (all namespaces when left out for a namespaced kind).
    type: str
  label_selectors:
    description: Label selectors, for example V(app=mlflow) or V(catalog=redhat-operators); all must match.
    type: list
    elements: str
    default: []
  field_selectors:
    description: Field selectors, for example V(status.phase=Running).
    type: list
    elements: str
    default: []
notes:
  - A Secret is returned with its data, as C(kubernetes.core.k8s_info) returns it - set C(no_log) on the task.
extends_documentation_fragment:
  - mlops.platform.kubernetes
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: mlops.platform.cluster_objects
  - module: kubernetes.core.k8s_info
"""

EXAMPLES = r"""
- name: Read the package of a catalog
  mlops.platform.cluster_objects_info:
    api_version: packages.operators.coreos.com/v1
    kind: PackageManifest
    name: grafana-operator
    namespace: openshift-marketplace
    label_selectors: [catalog=community-operators]
  register: package
"""

RETURN = r"""
resources:
  description: The objects found (empty when none).
  returned: always
  type: list
  elements: dict
api_found:
  description: Whether the API server serves the kind.
  returned: always
  type: bool
"""

from ansible_collections.mlops.platform.plugins.module_utils._api_module import ApiModule
from ansible_collections.mlops.platform.plugins.module_utils._kube_client import (
    KUBE_CONNECTION_ARGSPEC,
    KubeClient,
    connection_settings,
    selector_matches,
)


def objects_info(module):
    params = module.params
    client = KubeClient(connection_settings(params, run_command=module.run_command), timeout=params["request_timeout"])
    api_version, kind = params["api_version"], params["kind"]
    if not client.serves(api_version, kind):
        return dict(changed=False, resources=[], api_found=False)
    labels = ",".join(params["label_selectors"]) or None
    fields = ",".join(params["field_selectors"]) or None
    if params["name"] and not labels and not fields:
        found = client.get(api_version, kind, params["name"], params["namespace"])
        resources = [found] if found else []
    else:
        resources = client.list(api_version, kind, params["namespace"], label_selector=labels, field_selector=fields)
        if params["name"]:
            resources = [r for r in resources if (r.get("metadata") or {}).get("name") == params["name"]]
        # a server that ignores a label selector (an aggregated API of its own) is held to it here
        resources = [r for r in resources if selector_matches(params["label_selectors"], r)]
    return dict(changed=False, resources=resources, api_found=True)


def main():
    spec = dict(KUBE_CONNECTION_ARGSPEC)
    spec.update(
        api_version=dict(type="str", default="v1"),
        kind=dict(type="str", required=True),
        name=dict(type="str"),
        namespace=dict(type="str"),
        label_selectors=dict(type="list", elements="str", default=[]),
        field_selectors=dict(type="list", elements="str", default=[]),
    )
    module = ApiModule(argument_spec=spec, supports_check_mode=True)
    module.run(objects_info)


if __name__ == "__main__":
    main()
