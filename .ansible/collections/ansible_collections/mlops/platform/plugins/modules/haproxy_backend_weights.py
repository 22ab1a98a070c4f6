#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: haproxy_backend_weights
short_description: Set the weights of the servers of an HAProxy backend through its runtime API, without a reload
version_added: 0.1.0
description:
  - Declares the weight of some or all servers of one backend of a running HAProxy and makes it so through HAProxy's
    runtime API (its stats socket), with C(set server <backend>/<server> weight <weight>). HAProxy is never reloaded
    or restarted, and the next request is balanced with the new weights.
  - This is how the local target moves the traffic of a canary between the primary and the canary MLServer (the
    C(haproxy-canary.cfg.j2) router of the C(mlops.platform.seldon) role), step by step.
  - Reads the current weights with C(show servers state <backend>) first. Every server named in O(weights) must
    exist in the backend; an unknown backend or server fails before anything is changed.
  - Sets only the weights that differ, raised ones before lowered ones, then reads the weights back and fails if
    HAProxy reports others. Raising first keeps the backend's total weight above 0 on the way (HAProxy would answer
    503), and keeps C(balance roundrobin)'s split exact from the next request - measured on HAProxy 2.6, lowering the
    primary first (100 to 50 while the canary is at 0) could send the next 100 requests in a row to the canary.
  - Servers of the backend that O(weights) does not name keep their weight.
  - Runs on the host of HAProxy (the controller, for the local target).
author:
  - mlops.platform contributors (@mlops-platform)
options:
  socket:
    description:
      - HAProxy's runtime API - the path of its unix stats socket (C(stats socket <path> level admin) in the
        C(global) section), or V(tcp:<host>:<port>) for a stats socket bound to a TCP address, for example
        V(tcp:127.0.0.1:9999). A leading C(~) of a path is expanded.
      - The socket must be at C(level admin); at a lower level HAProxy refuses to change weights.
      - Set it once with C(module_defaults) and the action group C(group/mlops.platform.haproxy).
    type: str
    required: true
  backend:
    description:
      - The backend whose servers are weighted, by name (letters, digits, C(_), C(.), C(:) or C(-)).
    type: str
    required: true
  weights:
    description:
      - The weight of each server, by server name, from V(0) (no new requests) to V(256).
      - HAProxy sends each server the share RV(share) of the requests, its weight divided by the sum of the weights
        (exactly, with C(balance roundrobin)).
      - A string of digits is accepted too (a templated value).
    type: dict
    required: true
  timeout:
    description:
      - Seconds to wait for the connection to the socket and for each answer.
    type: int
    default: 10
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    description: Reads the weights and reports what would change; sets nothing.
  diff_mode:
    support: full
    description: The weights of the backend's servers before and after.
  platform:
    platforms: posix
  action_group:
    description: Use C(group/mlops.platform.haproxy) in C(module_defaults) to set O(socket) and O(timeout).
    support: full
    membership:
      - mlops.platform.haproxy
notes:
  - Weights set through the runtime API live in the running HAProxy only. A restart (not a reload with a server
    state file) starts again from the weights of the configuration file, so the configuration should carry the
    weights a restart must come back with (the primary's).
  - The weights are HAProxy's user weights (C(srv_uweight)); with C(slowstart) the effective weight of a server
    that just came up ramps up to it.
seealso:
  - name: HAProxy runtime API
    description: The commands of the stats socket, C(set server) and C(show servers state) among them.
    link: https://docs.haproxy.org/2.6/management.html#9.3
  - module: mlops.platform.mlserver_model
"""

EXAMPLES = r"""
- name: Send 10 % of the requests to the canary
  mlops.platform.haproxy_backend_weights:
    socket: ~/.local/share/mlops-platform/seldon/canary-router/admin.sock
    backend: inference
    weights:
      primary: 90
      canary: 10
  register: __step

- name: Show the split
  ansible.builtin.debug:
    msg: "primary {{ __step.share.primary }} %, canary {{ __step.share.canary }} %"

- name: Move the canary step by step, the socket set once
  module_defaults:
    group/mlops.platform.haproxy:
      socket: ~/.local/share/mlops-platform/seldon/canary-router/admin.sock
  block:
    - name: Canary step
      mlops.platform.haproxy_backend_weights:
        backend: inference
        weights:
          primary: "{{ 100 - item }}"
          canary: "{{ item }}"
      loop: [10, 50, 100]

- name: Roll back - all requests to the primary
  mlops.platform.haproxy_backend_weights:
    socket: tcp:127.0.0.1:9999
    backend: inference
    weights:
      primary: 100
      canary: 0
"""

RETURN = r"""
backend:
  description: The backend.
  returned: success
  type: str
  sample: inference
weights:
  description:
    - The weight of every server of the backend after the task, as HAProxy reports it (in check mode, what it would
      be), servers that O(weights) does not name included.
  returned: success
  type: dict
  sample: {"primary": 90, "canary": 10}
previous:
  description: The weight of every server of the backend before the task.
  returned: success
  type: dict
  sample: {"primary": 100, "canary": 0}
share:
  description:
    - The percentage of the requests each server gets with RV(weights) - its weight divided by the sum of the
      backend's weights, rounded to 2 decimals; V(0.0) for every server when all weights are 0.
    - It counts weights only. HAProxy gives the share of a server that is down (failed health checks) to the others.
  returned: success
  type: dict
  sample: {"primary": 90.0, "canary": 10.0}
changed_servers:
  description: The servers whose weight was set (in check mode, would be), in the order they were set.
  returned: success
  type: list
  elements: str
  sample: ["canary", "primary"]
diff:
  description: The weights of the backend's servers before and after.
  returned: when diff mode is on
  type: dict
  sample: {"before": {"weights": {"primary": 100, "canary": 0}}, "after": {"weights": {"primary": 90, "canary": 10}}}
"""

from ansible_collections.mlops.platform.plugins.module_utils._api_module import ApiModule
from ansible_collections.mlops.platform.plugins.module_utils._haproxy import (
    HAPROXY_CONNECTION_ARGSPEC,
    backend_weights,
)


def main():
    spec = dict(HAPROXY_CONNECTION_ARGSPEC)
    spec.update(
        backend=dict(type="str", required=True),
        weights=dict(type="dict", required=True),
    )
    module = ApiModule(argument_spec=spec, supports_check_mode=True)
    module.run(backend_weights)


if __name__ == "__main__":
    main()
