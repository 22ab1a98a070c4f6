# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Base of every module that talks to a service: one place where an API error becomes fail_json."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mlops.platform.plugins.module_utils._http_client import ApiError


def env_int(name, default):
    """(value, problem) of an integer environment variable; ``default`` when unset."""
    value = os.environ.get(name)
    if value in (None, ""):
        return default, None
    try:
        return int(value), None
    except ValueError:
        return default, "environment variable %s must be an integer, got %r" % (name, value)


class ApiModule(AnsibleModule):
    """AnsibleModule whose ``run()`` turns the clients' typed errors into ``fail_json``."""

    def run(self, action):
        """Run ``action(module)`` -> result dict; the only place an API error becomes fail_json."""
        try:
            result = action(self)
        except ApiError as exc:
            extra = {}
            if exc.error_code:
                extra["error_code"] = exc.error_code
            if exc.status:
                extra["http_status"] = exc.status
            self.fail_json(msg=str(exc), **extra)
        if result.pop("_failed", False):
            self.fail_json(**result)
        self.exit_json(**result)


def failed_to(what, exc):
    """``exc`` again, its message prefixed with what was being done: 'Failed to <what>: <error>'."""
    return type(exc)("Failed to %s: %s" % (what, exc.message), exc.error_code, exc.status)
