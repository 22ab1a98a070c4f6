# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollout lock: a lease kept in a tag of the registered model, where every controller sees it.

MLflow has no compare-and-set, so the lease is taken the way Fischer's mutual
exclusion works: read; when free (absent, expired, or held by a process of this
host that is gone), write our lease; wait ``settle`` seconds, longer than any
read-then-write takes; read again. Only the last writer finds its own token and
goes on; the others wait. A lease expires ``ttl`` seconds after it was last
renewed, so a crashed holder on another host frees the model after ``ttl``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import socket
import time
import uuid

from ansible_collections.mlops.platform.plugins.module_utils import _process
from ansible_collections.mlops.platform.plugins.module_utils._api_module import failed_to
from ansible_collections.mlops.platform.plugins.module_utils._mlflow_client import (
    MlflowAlreadyExistsError,
    MlflowError,
    MlflowInvalidParameterError,
    MlflowNotFoundError,
    tags_to_dict,
)

LOCK_TAG = "mlops.rollout.lock"


class LockHeldError(MlflowError):
    """Another rollout holds the lock and did not let go within wait_timeout."""


class LockLostError(MlflowError):
    """This rollout's lease expired and another rollout took the lock."""


def parse_lease(value):
    """The lease dict of a tag value, or None when the tag is absent or unreadable."""
    if not value:
        return None
    try:
        lease = json.loads(value)
    except ValueError:
        return None
    if not isinstance(lease, dict) or not lease.get("token"):
        return None
    return lease


def new_lease(owner, ttl, now, token=None, controller=None, host=None):
    lease = {
        "token": token or uuid.uuid4().hex,
        "owner": owner,
        "host": host or socket.gethostname(),
        "acquired": round(now, 3),
        "expires": round(now + ttl, 3),
    }
    if controller:
        lease["pid"], lease["pid_start"] = controller
    return lease


def is_free(lease, now, host=None, alive=_process.alive):
    """(free, why) for a lease read from the registry."""
    if lease is None:
        return True, None
    if float(lease.get("expires", 0)) <= now:
        return True, "the lease of %s expired" % lease.get("owner")
    if lease.get("host") == (host or socket.gethostname()) and lease.get("pid") and not alive(
            lease.get("pid"), lease.get("pid_start")):
        return True, "its holder %s is no longer running on this host" % lease.get("owner")
    return False, None


def describe(lease, now):
    return "%s (since %s, expires in %ds)" % (
        lease.get("owner"), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(lease.get("acquired", 0)))),
        max(0, int(float(lease.get("expires", 0)) - now)))


def default_owner():
    try:
        user = os.environ.get("USER") or os.getlogin()
    except OSError:
        user = "uid%d" % os.getuid()
    return "%s@%s" % (user, socket.gethostname())


class RolloutLock(object):
    """Acquire, renew, check and release the lease on one registered model."""

    def __init__(self, client, name, sleep=time.sleep, clock=time.time):
        self.client = client
        self.name = name
        self.sleep = sleep
        self.clock = clock

    def read(self):
        model = self.client.get_registered_model(self.name)
        return parse_lease(tags_to_dict(model.get("tags")).get(LOCK_TAG))

    def _write(self, lease):
        self.client.set_registered_model_tag(self.name, LOCK_TAG, json.dumps(lease, sort_keys=True))

    def ensure_model(self, create, check_mode):
        """Make sure the registered model exists (the lock lives on it). Returns True when it was created."""
        try:
            self.client.get_registered_model(self.name)
            return False
        except MlflowNotFoundError:
            if not create:
                raise MlflowNotFoundError("Registered model %r does not exist (set create_model=true to create it)"
                                          % self.name, "RESOURCE_DOES_NOT_EXIST", 404)
        if check_mode:
            return True
        try:
            self.client.create_registered_model(self.name)
        except MlflowAlreadyExistsError:
            return False  # another rollout created it at the same moment
        return True

    def acquire(self, owner, ttl, wait_timeout, settle, poll, token=None, controller=None, check_mode=False):
        """Take (or renew, with our ``token``) the lease. Returns (lease, info dict)."""
        if ttl <= settle:
            raise MlflowInvalidParameterError("ttl (%s) must be longer than settle (%s)" % (ttl, settle))
        started = self.clock()
        deadline = started + wait_timeout
        taken_over = None
        waited_for = None
        while True:
            now = self.clock()
            current = self.read()
            if current is not None and token and current.get("token") == token:
                renewed = dict(current, expires=round(now + ttl, 3))
                if not check_mode:
                    self._write(renewed)
                return renewed, {"renewed": True, "waited": round(now - started, 3), "taken_over": None}
            free, why = is_free(current, now)
            if free:
                mine = new_lease(owner, ttl, now, token=token, controller=controller)
                if check_mode:
                    return mine, {"renewed": False, "waited": round(now - started, 3), "taken_over": why}
                self._write(mine)
                self.sleep(settle)
                confirmed = self.read()
                if confirmed is not None and confirmed.get("token") == mine["token"]:
                    return confirmed, {"renewed": False, "waited": round(self.clock() - started, 3),
                                       "taken_over": why or taken_over, "waited_for": waited_for}
                taken_over = None
                current = confirmed
            if current is None:
                continue  # our lease vanished (released by hand?): the model is free, try again
            waited_for = current.get("owner")
            if self.clock() >= deadline:
                holder = describe(current, self.clock())
                raise LockHeldError(
                    "Model %r is locked by another rollout: %s. Waited %ds (wait_timeout); it is released when that "
                    "rollout ends, or when its lease expires." % (self.name, holder, int(self.clock() - started)),
                    "LOCKED")
            self.sleep(min(poll, max(0.0, deadline - self.clock())))

    def check(self, token, ttl=None, check_mode=False):
        """Fail unless ``token`` holds the lease; renew it for ``ttl`` more seconds when given."""
        now = self.clock()
        current = self.read()
        if current is None or current.get("token") != token:
            holder = "nobody holds it now" if current is None else "it is held by %s" % describe(current, now)
            raise LockLostError(
                "This rollout no longer holds the lock on model %r (%s): its lease expired or it was released. "
                "Nothing more was changed; run the rollout again." % (self.name, holder), "LOCK_LOST")
        if ttl and not check_mode:
            self._write(dict(current, expires=round(now + ttl, 3)))
        return current

    def release(self, token, check_mode=False):
        """Drop our lease. Returns (released, holder lease or None)."""
        current = self.read()
        if current is None:
            return False, None
        if current.get("token") != token:
            return False, current
        if not check_mode:
            self.client.delete_registered_model_tag(self.name, LOCK_TAG)
        return True, current


def lock_module(module):
    """The work of mlflow_model_lock."""
    p = module.params
    name = p["name"]
    lock = RolloutLock(module.client, name)
    try:
        if p["state"] == "present":
            created = lock.ensure_model(p["create_model"], module.check_mode)
            if created and module.check_mode:
                return {"changed": True, "acquired": True, "token": p["token"] or "check-mode", "lease": None,
                        "msg": "Would create registered model %r and lock it" % name}
            chain = _process.ancestors()
            lease, info = lock.acquire(p["owner"] or default_owner(), p["ttl"], p["wait_timeout"], p["settle"],
                                       p["poll"], token=p["token"], controller=_process.controller(chain),
                                       check_mode=module.check_mode)
            msg = ("Renewed the lock on model %r until %s" if info["renewed"] else "Locked model %r until %s") % (
                name, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(lease["expires"])))
            # In check mode nothing is written: the token says so, and the rollout modules accept it in check mode.
            token = "check-mode" if module.check_mode and not info["renewed"] else lease["token"]
            result = {"changed": not info["renewed"] or created, "acquired": True, "token": token,
                      "lease": lease, "waited": info["waited"], "msg": ("Check mode: " + msg) if module.check_mode else msg}
            if info.get("taken_over"):
                result["taken_over"] = info["taken_over"]
                module.warn("Took over the rollout lock on model %r: %s" % (name, info["taken_over"]))
            if info.get("waited_for"):
                result["waited_for"] = info["waited_for"]
            return result
        if not p["token"]:
            raise MlflowInvalidParameterError("token is required to release the lock (state=absent)")
        try:
            released, holder = lock.release(p["token"], module.check_mode)
        except MlflowNotFoundError:
            return {"changed": False, "released": False, "msg": "Registered model %r does not exist: no lock" % name}
        if released:
            return {"changed": True, "released": True, "msg": "Released the lock on model %r" % name}
        if holder is None:
            return {"changed": False, "released": False, "msg": "Model %r was not locked" % name}
        module.warn("The rollout lock on model %r is held by %s, not by this token: left as it is"
                    % (name, describe(holder, time.time())))
        return {"changed": False, "released": False, "holder": holder.get("owner"),
                "msg": "The lock on model %r is held by another rollout (%s): left as it is" % (name, holder.get("owner"))}
    except (LockHeldError, LockLostError):
        raise
    except MlflowError as exc:
        raise failed_to("%s the rollout lock of model %r" % ("take" if p["state"] == "present" else "release", name), exc)
