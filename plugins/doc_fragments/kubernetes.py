# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The Kubernetes connection options of the cluster modules, named and resolved as kubernetes.core's are.
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - The kubeconfig - a path (V(a:b) merges several, as C($KUBECONFIG) does) or its content as a dict.
      - Default - C(K8S_AUTH_KUBECONFIG), then C($KUBECONFIG), then C(~/.kube/config), then the in-cluster service
        account (a pod's token and CA).
    type: raw
  context:
    description:
      - The context of the kubeconfig (default - its C(current-context)).
    type: str
  host:
    description:
      - The API server's URL; with O(api_key) instead of a kubeconfig.
    type: str
  api_key:
    description:
      - A bearer token (for example C(oc whoami -t), from a vault).
    type: str
  username:
    description:
      - Basic auth user (with O(password)).
    type: str
  password:
    description:
      - Basic auth password.
    type: str
  validate_certs:
    description:
      - Verify the API server's certificate (default - yes, unless the kubeconfig's cluster says
        C(insecure-skip-tls-verify)).
    type: bool
    aliases: [verify_ssl]
  ca_cert:
    description:
      - A CA bundle for the API server's certificate (default - the kubeconfig's).
    type: path
    aliases: [ssl_ca_cert]
  client_cert:
    description:
      - A client certificate file (default - the kubeconfig's).
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - The client certificate's key file.
    type: path
    aliases: [key_file]
  request_timeout:
    description:
      - Seconds for each request.
    type: int
    default: 30
"""
