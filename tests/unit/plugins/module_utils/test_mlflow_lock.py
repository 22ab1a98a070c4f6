"""The rollout lock: Fischer-style lease on a registered-model tag, expiry, dead holders, renewal, release."""

import json

import pytest

from ansible_collections.mlops.platform.plugins.module_utils import _mlflow_lock as lk


class FakeRegistry:
    """Registered-model tags of one model; every call advances a shared clock a little (a real round trip)."""

    def __init__(self, clock, tags=None):
        self.clock = clock
        self.tags = dict(tags or {})
        self.writes = []

    def get_registered_model(self, name):
        self.clock.tick(0.01)
        return {"name": name, "tags": [{"key": k, "value": v} for k, v in self.tags.items()]}

    def set_registered_model_tag(self, name, key, value):
        self.clock.tick(0.01)
        self.tags[key] = value
        self.writes.append(json.loads(value)["token"])

    def delete_registered_model_tag(self, name, key):
        self.tags.pop(key, None)


class Clock:
    def __init__(self):
        self.now = 1000.0
        self.hooks = []

    def tick(self, seconds):
        self.now += seconds

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
        for hook in list(self.hooks):
            hook()


def lease(owner, expires, token="t-other", host="elsewhere", pid=None):
    data = {"owner": owner, "token": token, "host": host, "acquired": 900.0, "expires": expires}
    if pid:
        data["pid"], data["pid_start"] = pid, 1
    return json.dumps(data)


def make(tags=None):
    clock = Clock()
    registry = FakeRegistry(clock, tags)
    return clock, registry, lk.RolloutLock(registry, "m", sleep=clock.sleep, clock=clock)


def test_free_model_is_locked_after_the_settle_read():
    clock, registry, lock = make()
    got, info = lock.acquire("alice@host", ttl=60, wait_timeout=0, settle=1.5, poll=1)
    assert got["owner"] == "alice@host"
    assert json.loads(registry.tags[lk.LOCK_TAG])["token"] == got["token"]
    assert info["renewed"] is False and info["taken_over"] is None
    assert got["expires"] == pytest.approx(got["acquired"] + 60)


def test_held_lock_fails_after_wait_timeout_naming_the_holder():
    clock, registry, lock = make({lk.LOCK_TAG: lease("bob@ci", expires=5000.0)})
    with pytest.raises(lk.LockHeldError) as err:
        lock.acquire("alice@host", ttl=60, wait_timeout=10, settle=1, poll=2)
    message = str(err.value)
    assert message.startswith("Model 'm' is locked by another rollout: bob@ci (since 1970-01-01T00:15:00Z, "
                              "expires in ")
    assert message.endswith("Waited 10s (wait_timeout); it is released when that rollout ends, or when its lease "
                            "expires.")
    assert registry.writes == []


def test_waits_until_the_holder_releases():
    clock, registry, lock = make({lk.LOCK_TAG: lease("bob@ci", expires=5000.0)})
    released = []

    def holder_releases_once():
        if clock.now > 1020 and not released:
            released.append(registry.tags.pop(lk.LOCK_TAG))

    clock.hooks.append(holder_releases_once)
    got, info = lock.acquire("alice@host", ttl=60, wait_timeout=60, settle=1, poll=5)
    assert got["owner"] == "alice@host"
    assert info["waited"] >= 20
    assert info["waited_for"] == "bob@ci"


def test_expired_lease_is_taken_over():
    clock, registry, lock = make({lk.LOCK_TAG: lease("bob@ci", expires=999.0)})
    got, info = lock.acquire("alice@host", ttl=60, wait_timeout=0, settle=1, poll=1)
    assert got["owner"] == "alice@host"
    assert info["taken_over"] == "the lease of bob@ci expired"


def test_dead_holder_on_this_host_is_taken_over(monkeypatch):
    import socket
    clock, registry, lock = make({lk.LOCK_TAG: lease("bob@here", expires=5000.0, host=socket.gethostname(),
                                                     pid=999999999)})
    got, info = lock.acquire("alice@host", ttl=60, wait_timeout=0, settle=1, poll=1)
    assert info["taken_over"] == "its holder bob@here is no longer running on this host"


def test_live_holder_on_this_host_is_not_taken_over():
    import os
    import socket
    from ansible_collections.mlops.platform.plugins.module_utils import _process
    me = lease("bob@here", expires=5000.0, host=socket.gethostname(), pid=os.getpid())
    data = json.loads(me)
    data["pid_start"] = _process.start_time(os.getpid())
    clock, registry, lock = make({lk.LOCK_TAG: json.dumps(data)})
    with pytest.raises(lk.LockHeldError):
        lock.acquire("alice@host", ttl=60, wait_timeout=0, settle=1, poll=1)


def test_two_writers_in_the_same_window_only_the_last_one_goes_on():
    """Fischer's algorithm: both saw the lock free and wrote; after settle only the last writer reads its token."""
    clock, registry, lock = make()
    other = lk.RolloutLock(registry, "m", sleep=clock.sleep, clock=clock)
    state = {}

    def rival_writes_during_our_settle():
        if "done" not in state:
            state["done"] = True
            rival = lk.new_lease("bob@ci", 60, clock.now, token="t-bob")
            registry.set_registered_model_tag("m", lk.LOCK_TAG, json.dumps(rival))

    clock.hooks.append(rival_writes_during_our_settle)
    with pytest.raises(lk.LockHeldError) as err:
        lock.acquire("alice@host", ttl=60, wait_timeout=3, settle=1.5, poll=1)
    assert "bob@ci" in str(err.value)
    assert json.loads(registry.tags[lk.LOCK_TAG])["token"] == "t-bob"
    assert other.read()["owner"] == "bob@ci"


def test_renewal_with_our_token_extends_and_writes_once():
    clock, registry, lock = make()
    got, _info = lock.acquire("alice@host", ttl=60, wait_timeout=0, settle=1, poll=1)
    clock.tick(30)
    renewed, info = lock.acquire("alice@host", ttl=60, wait_timeout=0, settle=1, poll=1, token=got["token"])
    assert info["renewed"] is True
    assert renewed["expires"] == pytest.approx(clock.now + 60, abs=0.1)
    assert renewed["token"] == got["token"]


def test_check_with_lost_lease_fails_and_writes_nothing():
    clock, registry, lock = make({lk.LOCK_TAG: lease("bob@ci", expires=5000.0)})
    with pytest.raises(lk.LockLostError) as err:
        lock.check("t-mine", ttl=60)
    assert str(err.value).startswith("This rollout no longer holds the lock on model 'm' (it is held by bob@ci")
    assert registry.writes == []


def test_release_only_our_own_lease():
    clock, registry, lock = make({lk.LOCK_TAG: lease("bob@ci", expires=5000.0)})
    assert lock.release("t-mine") == (False, json.loads(registry.tags[lk.LOCK_TAG]))
    assert lk.LOCK_TAG in registry.tags
    assert lock.release("t-other")[0] is True
    assert lk.LOCK_TAG not in registry.tags


def test_ttl_must_outlast_settle():
    clock, registry, lock = make()
    with pytest.raises(lk.MlflowInvalidParameterError) as err:
        lock.acquire("a", ttl=1, wait_timeout=0, settle=2, poll=1)
    assert str(err.value) == "ttl (1) must be longer than settle (2)"


def test_unreadable_tag_counts_as_free():
    assert lk.parse_lease("not json") is None
    assert lk.parse_lease(json.dumps({"owner": "x"})) is None
