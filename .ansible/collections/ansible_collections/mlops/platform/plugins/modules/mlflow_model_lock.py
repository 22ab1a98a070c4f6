#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mlflow_model_lock
short_description: Take or release the rollout lock of a registered model (a lease every controller sees)
version_added: 0.2.0
description:
  - Two rollouts of one model must never run at once (two AWX jobs, a scheduled retrain and an alert, two people).
    This module keeps a lease in the tag C(mlops.rollout.lock) of the registered model, so every controller that
    talks to the same MLflow server sees it, whichever host it runs on.
  - O(state=present) takes the lease, waiting up to O(wait_timeout) seconds while another rollout holds it, and
    fails naming the holder when it is still held. With the O(token) of a lease this rollout holds, it renews it.
  - A lease ends when its holder releases it (O(state=absent)), when it was not renewed for O(ttl) seconds, or at
    once when its holder ran on this same host and that process is gone (a killed C(ansible-playbook)).
  - MLflow has no compare-and-set, so the lease is taken like Fischer's mutual exclusion - write, wait O(settle)
    seconds, read back - which is safe as long as a read followed by a write takes less than O(settle) seconds.
  - The registered model is created when it does not exist yet (O(create_model)), since the lock lives on it.
author:
  - mlops.platform contributors (@mlops-platform)
options:
  name:
    description: Name of the registered model.
    type: str
    required: true
  state:
    description: V(present) takes (or renews) the lease; V(absent) releases it.
    type: str
    choices: [present, absent]
    default: present
  token:
    description:
      - The token of a lease this rollout holds (RV(token) of the call that took it).
      - Required with O(state=absent). With O(state=present) it renews that lease when it still holds it.
    type: str
  owner:
    description: Who holds the lease, as shown to a rollout that has to wait. Defaults to C(<user>@<host>).
    type: str
  ttl:
    description: Seconds the lease lasts without a renewal. Every rollout step renews it.
    type: int
    default: 900
  wait_timeout:
    description: Seconds to wait for a lease held by another rollout before failing. V(0) fails at once.
    type: int
    default: 600
  poll:
    description: Seconds between two looks at a lease held by another rollout.
    type: float
    default: 2.0
  settle:
    description:
      - Seconds between writing the lease and reading it back (see the description). A read followed by a write
        takes some milliseconds; the default leaves a margin of more than ten times that.
    type: float
    default: 0.5
  create_model:
    description: Create the registered model when it does not exist.
    type: bool
    default: true
extends_documentation_fragment:
  - mlops.platform.mlflow
  - mlops.platform.mlflow.action_group
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads the lease and reports what would happen; writes nothing.
  diff_mode:
    support: none
  platform:
    platforms: all
seealso:
  - module: mlops.platform.mlflow_model_rollout
"""

EXAMPLES = r"""
- name: Take the rollout lock of the model (wait up to 10 minutes for another rollout)
  mlops.platform.mlflow_model_lock:
    name: fraud-classifier
    owner: "awx job {{ tower_job_id | default('manual') }}"
    ttl: 900
    wait_timeout: 600
  register: __lock

- name: Release it at the end, whatever happened
  mlops.platform.mlflow_model_lock:
    name: fraud-classifier
    token: "{{ __lock.token }}"
    state: absent
"""

RETURN = r"""
token:
  description: The token of the lease this rollout holds; pass it to the rollout modules and to the release.
  returned: when O(state=present)
  type: str
  sample: 3f1c9a0d6e6b4d6c9d8f1b2a7c5e4d3b
lease:
  description: The lease as stored (owner, host, acquired and expires as Unix times, the controller's pid).
  returned: when O(state=present)
  type: dict
  sample: {"owner": "awx@controller-1", "host": "controller-1", "acquired": 1796116080.5, "expires": 1796116980.5}
waited:
  description: Seconds this call waited for the lease.
  returned: when O(state=present)
  type: float
  sample: 12.5
waited_for:
  description: The owner of the lease this call had to wait for.
  returned: when it waited
  type: str
  sample: awx@controller-2
taken_over:
  description: Why a lease that was still stored could be taken (expired, or its holder on this host is gone).
  returned: when a stale lease was replaced
  type: str
  sample: the lease of alice@laptop expired
released:
  description: Whether this call released the lease.
  returned: when O(state=absent)
  type: bool
  sample: true
msg:
  description: What happened.
  returned: always
  type: str
  sample: Locked model 'fraud-classifier' until 2026-12-01T10:15:00Z
"""

from ansible_collections.mlops.platform.plugins.module_utils._mlflow_module import MlflowModule
from ansible_collections.mlops.platform.plugins.module_utils._mlflow_lock import lock_module


def main():
    module = MlflowModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            token=dict(type="str", no_log=False),
            owner=dict(type="str"),
            ttl=dict(type="int", default=900),
            wait_timeout=dict(type="int", default=600),
            poll=dict(type="float", default=2.0),
            settle=dict(type="float", default=0.5),
            create_model=dict(type="bool", default=True),
        ),
        required_if=[("state", "absent", ["token"])],
        supports_check_mode=True,
    )
    for option in ("ttl", "wait_timeout", "poll", "settle"):
        if module.params[option] < 0:
            module.fail_json(msg="%s must be 0 or more, got %s" % (option, module.params[option]))
    module.run(lock_module)


if __name__ == "__main__":
    main()
