# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which ansible-playbook runs this module, and is a process still the one it was? (Linux /proc.)

Ansible runs each task in a worker process of its own session, so killing
``ansible-playbook`` leaves the worker and the module running until the task
ends. A module that runs a long command (training) watches the chain of its
ancestors and stops the command when one of them is gone; a lock records the
controller process so that a later run on the same host can tell a crashed
holder from a live one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

_CONTROLLERS = ("ansible-playbook", "ansible-runner", "ansible-rulebook", "ansible-navigator")


def _stat(pid):
    """(parent pid, start time in clock ticks) of a process, or None when it does not exist."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            data = handle.read()
    except (IOError, OSError):
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = data[data.rfind(")") + 2:].split()
    try:
        return int(fields[1]), int(fields[19])
    except (IndexError, ValueError):
        return None


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return [part.decode("utf-8", "replace") for part in handle.read().split(b"\0") if part]
    except (IOError, OSError):
        return []


def start_time(pid):
    found = _stat(pid)
    return None if found is None else found[1]


def ancestors(pid=None):
    """[(pid, start time), ...] from the parent of ``pid`` (default: this process) up to, not including, pid 1."""
    chain = []
    current = os.getpid() if pid is None else pid
    seen = set()
    while True:
        found = _stat(current)
        if found is None:
            break
        parent = found[0]
        if parent <= 1 or parent in seen:
            break
        seen.add(parent)
        parent_start = start_time(parent)
        if parent_start is None:
            break
        chain.append((parent, parent_start))
        current = parent
    return chain


def is_controller(pid):
    """True when ``pid`` runs one of Ansible's controller programs."""
    for part in _cmdline(pid)[:3]:
        if os.path.basename(part) in _CONTROLLERS:
            return True
    return False


def controller(chain=None):
    """(pid, start time) of the outermost Ansible controller among the ancestors, or None."""
    found = None
    for pid, started in (ancestors() if chain is None else chain):
        if is_controller(pid):
            found = (pid, started)
    return found


def alive(pid, started):
    """True when process ``pid`` exists and is the same process (same start time) as recorded."""
    if not pid:
        return False
    now = start_time(int(pid))
    return now is not None and (started is None or int(started) == now)


def gone(chain):
    """The first (pid, start) of ``chain`` that no longer runs, or None while all do."""
    for pid, started in chain:
        if not alive(pid, started):
            return pid, started
    return None
