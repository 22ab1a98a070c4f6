# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollout state machine: one transition table, pure planning, no I/O.

A model version's rollout state lives in its tags (``mlops.rollout.state`` and
friends); the champion, the previous champion and the challenger are registry
aliases. A transition is planned from one snapshot of that state into an
ordered list of writes:

* informative tags first, the state tag last among a version's tags, so a
  crash between writes leaves the previous state in charge and a rerun of the
  same transition finishes the job;
* aliases last, so the registry's champion changes only once every tag says so;
* writes the snapshot already satisfies are dropped, so every transition is
  idempotent and resumes where a crash stopped it.

Each plan also says what serving must look like afterwards (``serve``): the
version the default endpoint answers with and the versions kept loaded beside it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

TAG_STATE = "mlops.rollout.state"
TAG_REASON = "mlops.rollout.reason"
TAG_PREVIOUS = "mlops.rollout.previous_champion"
TAG_GATE = "mlops.rollout.gate"
TAG_VERDICT = "mlops.rollout.verdict"
TAG_RESTORED = "mlops.rollout.restored_after"
TAG_CANARY = "mlops.rollout.canary"

REGISTERED = "REGISTERED"
VALIDATED = "VALIDATED"
REJECTED = "REJECTED"
DEPLOYING = "DEPLOYING"
ANALYZING = "ANALYZING"
PROMOTED = "PROMOTED"
RETIRED = "RETIRED"
ROLLED_BACK = "ROLLED_BACK"

STATES = (REGISTERED, VALIDATED, REJECTED, DEPLOYING, ANALYZING, PROMOTED, RETIRED, ROLLED_BACK)
NONE = "none"  # the previous-champion tag of a version that had no champion before it

# transition: (states it acts on, states in which it is already done (a no-op), description)
TRANSITIONS = {
    "register": ((None,), STATES, "record a new version as REGISTERED and point the challenger alias at it"),
    "validate": ((REGISTERED, VALIDATED), (REJECTED, DEPLOYING, ANALYZING, PROMOTED, RETIRED, ROLLED_BACK),
                 "record the gate's verdict: VALIDATED or REJECTED"),
    "reject": ((REGISTERED, VALIDATED), (REJECTED,), "record a verdict of REJECTED with a reason"),
    "deploy": ((VALIDATED, RETIRED), (DEPLOYING, ANALYZING), "record DEPLOYING and the outgoing champion"),
    "analyze": ((DEPLOYING, ANALYZING), (), "record ANALYZING and the canary's current step, weight and failed checks"),
    "promote": ((DEPLOYING, ANALYZING), (), "make the candidate the champion: PROMOTED, the old champion RETIRED"),
    "rollback": ((PROMOTED,), (), "give the champion's place back to the previous champion"),
    "abort": ((DEPLOYING, ANALYZING), (ROLLED_BACK,), "end a deployment that failed before promotion: ROLLED_BACK"),
}

MAX_TAG_VALUE = 5000


class IllegalTransition(Exception):
    """The transition cannot run from the version's current state. ``str()`` says why and what to do."""


def tag_text(value, limit=MAX_TAG_VALUE):
    """A tag value: one line of text, at most ``limit`` characters."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


CANARY_KEYS = ("step", "steps", "weight", "failed_checks")


def canary_tag(canary):
    """The canary's progress as a compact JSON tag value: step (1-based), steps, weight (percent), failed_checks."""
    return json.dumps(dict((k, int(canary[k])) for k in CANARY_KEYS), separators=(",", ":"), sort_keys=True)


def read_canary(value):
    """The canary progress a tag holds, or None when the tag is missing or unreadable (an older or edited tag)."""
    try:
        data = json.loads(value) if value else None
        return dict((k, int(data[k])) for k in CANARY_KEYS) if isinstance(data, dict) else None
    except (TypeError, ValueError, KeyError):
        return None


def verdict_tag(results):
    """The gate's per-metric verdict table as a compact JSON tag value."""
    rows = [[r.get("metric"), r.get("candidate"), r.get("baseline"), r.get("verdict")] for r in results or []]
    text = json.dumps({"columns": ["metric", "candidate", "baseline", "verdict"], "rows": rows},
                      separators=(",", ":"), sort_keys=True)
    return text if len(text) <= MAX_TAG_VALUE else json.dumps({"truncated": True, "rows": rows[:20]})[:MAX_TAG_VALUE]


class Snapshot(object):
    """What one read of the registry returned: aliases, and the tags of the versions that matter.

    ``versions`` maps a version number (str) to its tags (dict); a version not in
    it was not read (or does not exist).
    """

    def __init__(self, name, aliases, versions, champion_alias="champion", challenger_alias="challenger",
                 previous_alias="previous_champion"):
        self.name = name
        self.aliases = dict((a, str(v)) for a, v in (aliases or {}).items())
        self.versions = dict((str(k), dict(v or {})) for k, v in (versions or {}).items())
        self.champion_alias = champion_alias
        self.challenger_alias = challenger_alias
        self.previous_alias = previous_alias

    def state(self, version):
        return self.versions.get(str(version), {}).get(TAG_STATE)

    def tag(self, version, key):
        return self.versions.get(str(version), {}).get(key)

    @property
    def champion(self):
        return self.aliases.get(self.champion_alias)

    @property
    def challenger(self):
        return self.aliases.get(self.challenger_alias)

    @property
    def previous(self):
        return self.aliases.get(self.previous_alias)

    def satisfied(self, write):
        kind = write[0]
        if kind == "tag":
            return self.tag(write[1], write[2]) == write[3]
        if kind == "alias":
            return self.aliases.get(write[1]) == str(write[2])
        if kind == "unalias":
            return write[1] not in self.aliases
        raise ValueError("unknown write %r" % (write,))

    def apply(self, write):
        """The snapshot after ``write`` (used by tests and by check mode's "after")."""
        kind = write[0]
        if kind == "tag":
            self.versions.setdefault(str(write[1]), {})[write[2]] = write[3]
        elif kind == "alias":
            self.aliases[write[1]] = str(write[2])
        elif kind == "unalias":
            self.aliases.pop(write[1], None)

    def view(self, version):
        """The part of the snapshot a diff shows."""
        version = None if version is None else str(version)
        return {
            "version": version,
            "state": self.state(version) if version else None,
            "reason": self.tag(version, TAG_REASON) if version else None,
            "champion": self.champion,
            "previous_champion": self.previous,
            "challenger": self.challenger,
        }


class Plan(object):
    """The writes of one transition and what the rollout looks like afterwards."""

    def __init__(self, transition, version, writes, state, msg, serve_default, serve_versions, fallback,
                 champion_after, previous_after, canary=None):
        self.transition = transition
        self.version = None if version is None else str(version)
        self.writes = writes
        self.state = state
        self.msg = msg
        self.serve_default = serve_default
        self.serve_versions = serve_versions
        self.fallback = fallback
        self.champion = champion_after
        self.previous_champion = previous_after
        self.canary = canary

    @property
    def changed(self):
        return bool(self.writes)

    def result(self):
        return {
            "transition": self.transition,
            "version": self.version,
            "state": self.state,
            "msg": self.msg,
            "champion": self.champion,
            "previous_champion": self.previous_champion,
            "serve": {"default_version": self.serve_default, "versions": list(self.serve_versions)},
            "fallback_version": self.fallback,
            "canary": self.canary,
        }


def _describe(snap, version):
    state = snap.state(version)
    reason = snap.tag(version, TAG_REASON)
    text = "version %s of model %r is %s" % (version, snap.name, state or "not tracked by a rollout")
    if reason and state in (REJECTED, ROLLED_BACK):
        text += " (%s)" % reason
    return text


def _way_out(transition, snap, version):
    """What to do instead, for an illegal transition."""
    state = snap.state(version)
    if state in (REJECTED, ROLLED_BACK):
        return ("it is not deployed again: change the code, data or parameters to train a new candidate, "
                "or register another version")
    if state == REGISTERED:
        return "run the transition validate first (playbooks/test.yml)"
    if state == VALIDATED:
        return "run the transition deploy first (playbooks/deploy.yml)" if transition == "promote" else \
            "nothing was deployed: use the transition reject to withdraw it"
    if state in (DEPLOYING, ANALYZING):
        return "finish it with promote, or end it with abort"
    if state == PROMOTED:
        return "it is the champion: use the transition rollback to replace it" if snap.champion == version else \
            "it was promoted, but the champion is version %s" % snap.champion
    if state == RETIRED:
        return "it was superseded as champion: deploy it again to bring it back"
    if state is None:
        return "register it first (transition register)"
    return "see the rollout state machine in the model_rollout README"


def _illegal(transition, snap, version):
    raise IllegalTransition("Cannot %s: %s; %s." % (transition, _describe(snap, version), _way_out(transition, snap, version)))


def _interrupted_promote(snap, version):
    """True when ``version`` was marked PROMOTED but the champion alias never reached it."""
    if snap.state(version) != PROMOTED or snap.champion == str(version):
        return False
    previous = snap.tag(version, TAG_PREVIOUS)
    return (previous == NONE and snap.champion is None) or (previous is not None and previous == snap.champion)


def _outgoing(snap, version):
    """The champion ``version`` was deployed beside: the recorded one, or the champion now when none was recorded."""
    recorded = snap.tag(version, TAG_PREVIOUS)
    return snap.champion if recorded is None else (None if recorded == NONE else recorded)


def _pending(snap, writes):
    return [w for w in writes if not snap.satisfied(w)]


def plan(transition, snap, version, reason=None, verdict=None, extra_tags=None, canary=None):
    """Plan ``transition`` for ``version`` of ``snap``'s model. Raises IllegalTransition.

    ``verdict`` (validate): dict with ``passed``, ``msg`` and ``results`` from the gate.
    ``reason`` (reject, abort, rollback): why, in words a person can act on.
    ``extra_tags`` (register): tags recorded with the new version (lineage, the alert that caused it ...).
    ``canary`` (analyze): dict with ``step`` (1-based), ``steps``, ``weight`` (percent) and ``failed_checks``.
    """
    if transition not in TRANSITIONS:
        raise IllegalTransition("Unknown transition %r: use one of %s" % (transition, ", ".join(sorted(TRANSITIONS))))
    version = None if version is None else str(version)
    if transition == "analyze":
        return _plan_analyze(snap, version, reason, canary)
    result = globals()["_plan_" + transition](snap, version, reason, verdict, extra_tags or {})
    result.canary = read_canary(snap.tag(version, TAG_CANARY)) if version else None
    return result


def _plan_register(snap, version, reason, verdict, extra_tags):
    state = snap.state(version)
    champion = snap.champion
    writes = []
    if state is None:
        for key in sorted(extra_tags):
            writes.append(("tag", version, key, tag_text(extra_tags[key])))
        writes.append(("tag", version, TAG_REASON, tag_text(reason or "registered by the rollout")))
        writes.append(("tag", version, TAG_STATE, REGISTERED))
        msg = "Version %s of model %r is REGISTERED" % (version, snap.name)
    else:
        msg = "Version %s of model %r is already %s" % (version, snap.name, state)
    if (state in (None, REGISTERED, VALIDATED, DEPLOYING, ANALYZING)) and champion != version:
        writes.append(("alias", snap.challenger_alias, version))
    return Plan("register", version, _pending(snap, writes), state or REGISTERED, msg, champion,
                [], champion, champion, snap.previous)


def _plan_validate(snap, version, reason, verdict, extra_tags):
    state = snap.state(version)
    if state in TRANSITIONS["validate"][1]:
        msg = ("Version %s of model %r was REJECTED by the gate before: %s" % (
            version, snap.name, snap.tag(version, TAG_REASON) or "no reason recorded") if state == REJECTED else
            "Version %s of model %r is already %s: past the gate" % (version, snap.name, state))
        return Plan("validate", version, [], state, msg, snap.champion, [], snap.champion, snap.champion, snap.previous)
    if state not in TRANSITIONS["validate"][0]:
        _illegal("validate", snap, version)
    passed = bool(verdict["passed"])
    new_state = VALIDATED if passed else REJECTED
    writes = [
        ("tag", version, TAG_GATE, "passed" if passed else "rejected"),
        ("tag", version, TAG_VERDICT, verdict_tag(verdict.get("results"))),
        ("tag", version, TAG_REASON, tag_text(verdict["msg"])),
        ("tag", version, TAG_STATE, new_state),
    ]
    return Plan("validate", version, _pending(snap, writes), new_state, verdict["msg"], snap.champion, [],
                snap.champion, snap.champion, snap.previous)


def _plan_reject(snap, version, reason, verdict, extra_tags):
    state = snap.state(version)
    if state not in TRANSITIONS["reject"][0] + TRANSITIONS["reject"][1]:
        _illegal("reject", snap, version)
    if not reason and state != REJECTED:
        raise IllegalTransition("Cannot reject version %s of model %r without a reason: set reason" % (version, snap.name))
    writes = [] if state == REJECTED else [
        ("tag", version, TAG_GATE, "rejected"),
        ("tag", version, TAG_REASON, tag_text(reason)),
        ("tag", version, TAG_STATE, REJECTED),
    ]
    return Plan("reject", version, _pending(snap, writes), REJECTED,
                "Version %s of model %r is REJECTED: %s" % (version, snap.name, snap.tag(version, TAG_REASON) if state == REJECTED else reason),
                snap.champion, [], snap.champion, snap.champion, snap.previous)


def _plan_deploy(snap, version, reason, verdict, extra_tags):
    state = snap.state(version)
    champion = snap.champion
    if state == PROMOTED and (champion == version or _interrupted_promote(snap, version)):
        outgoing = None if champion == version else champion
        msg = ("Version %s of model %r is already the champion" % (version, snap.name) if champion == version else
               "Version %s of model %r was being promoted: the promotion resumes" % (version, snap.name))
        return Plan("deploy", version, [], PROMOTED, msg, champion, [version] if champion != version else [],
                    outgoing, champion, snap.previous)
    if state not in TRANSITIONS["deploy"][0] + TRANSITIONS["deploy"][1]:
        _illegal("deploy", snap, version)
    if champion == version:
        raise IllegalTransition("Cannot deploy: version %s of model %r is %s and already the champion"
                                % (version, snap.name, state))
    recorded = snap.tag(version, TAG_PREVIOUS)
    if state == ANALYZING:
        # A canary was under way: it resumes at its recorded step, against the champion it was deployed beside.
        outgoing = _outgoing(snap, version)
        canary = read_canary(snap.tag(version, TAG_CANARY))
        at = ("step %d of %d (%d%% of the traffic)" % (canary["step"], canary["steps"], canary["weight"])
              if canary else "an unrecorded step")
        return Plan("deploy", version, [], ANALYZING,
                    "Version %s of model %r is ANALYZING as a canary at %s: the canary resumes" % (
                        version, snap.name, at),
                    champion, [version], outgoing, champion, snap.previous)
    if state == DEPLOYING and recorded is not None:
        outgoing = None if recorded == NONE else recorded
        writes = []
    else:
        outgoing = champion
        writes = [("tag", version, TAG_PREVIOUS, champion or NONE),
                  ("tag", version, TAG_REASON, tag_text("deploying; the champion was %s" % (
                      "version " + champion if champion else "not set"))),
                  ("tag", version, TAG_STATE, DEPLOYING)]
    return Plan("deploy", version, _pending(snap, writes), DEPLOYING,
                "Version %s of model %r is DEPLOYING beside the champion (%s)" % (
                    version, snap.name, "version " + champion if champion else "none yet"),
                champion, [version], outgoing, champion, snap.previous)


def _plan_analyze(snap, version, reason, canary):
    state = snap.state(version)
    if state not in TRANSITIONS["analyze"][0]:
        _illegal("analyze", snap, version)
    if not canary:
        raise IllegalTransition("Cannot analyze version %s of model %r without the canary's progress: set canary"
                                % (version, snap.name))
    progress = dict((k, canary.get(k)) for k in CANARY_KEYS)
    problems = [k for k in CANARY_KEYS if not isinstance(progress[k], int) or isinstance(progress[k], bool)]
    if not problems:
        if progress["steps"] < 1 or not 1 <= progress["step"] <= progress["steps"]:
            problems.append("step (%d of %d)" % (progress["step"], progress["steps"]))
        if not 0 <= progress["weight"] <= 100:
            problems.append("weight (%d)" % progress["weight"])
        if progress["failed_checks"] < 0:
            problems.append("failed_checks (%d)" % progress["failed_checks"])
    if problems:
        raise IllegalTransition("Cannot analyze version %s of model %r: canary.%s must be an integer in range "
                                "(step 1..steps, weight 0..100, failed_checks >= 0)"
                                % (version, snap.name, ", canary.".join(problems)))
    champion = snap.champion
    outgoing = _outgoing(snap, version)
    if outgoing != champion:
        raise IllegalTransition(
            "Cannot analyze version %s of model %r as a canary: it was deployed beside version %s, but the champion "
            "is now %s; abort it and roll out again so that it is judged against the current champion"
            % (version, snap.name, outgoing or "none", champion or "not set"))
    text = reason or "canary step %d of %d: %d%% of the traffic" % (
        progress["step"], progress["steps"], progress["weight"])
    writes = [("tag", version, TAG_CANARY, canary_tag(progress)),
              ("tag", version, TAG_REASON, tag_text(text)),
              ("tag", version, TAG_STATE, ANALYZING)]
    return Plan("analyze", version, _pending(snap, writes), ANALYZING,
                "Version %s of model %r is ANALYZING as a canary: step %d of %d, %d%% of the traffic, %d failed "
                "check(s)" % (version, snap.name, progress["step"], progress["steps"], progress["weight"],
                              progress["failed_checks"]),
                champion, [version], outgoing, champion, snap.previous, canary=progress)


def _plan_promote(snap, version, reason, verdict, extra_tags):
    state = snap.state(version)
    champion = snap.champion
    if state == PROMOTED and champion == version:
        # Done, or interrupted after the champion alias moved: only the challenger alias may be left.
        cleanup = [("unalias", snap.challenger_alias)] if snap.challenger == version else []
        return Plan("promote", version, cleanup, PROMOTED, "Version %s of model %r is already the champion"
                    % (version, snap.name), version, _kept(snap, version), snap.tag(version, TAG_PREVIOUS),
                    version, snap.previous)
    if not (state in (DEPLOYING, ANALYZING) or _interrupted_promote(snap, version)):
        _illegal("promote", snap, version)
    outgoing = _outgoing(snap, version)
    if outgoing != champion:
        raise IllegalTransition(
            "Cannot promote version %s of model %r: it was deployed beside version %s, but the champion is now %s; "
            "deploy it again (abort, then a new rollout) so that it is judged against the current champion"
            % (version, snap.name, outgoing or "none", champion or "not set"))
    writes = [("tag", version, TAG_REASON, tag_text(
        "promoted to champion" + (", replacing version %s" % champion if champion else ""))),
        ("tag", version, TAG_STATE, PROMOTED)]
    if champion:
        writes += [("tag", champion, TAG_REASON, tag_text("retired: version %s replaced it as champion" % version)),
                   ("tag", champion, TAG_STATE, RETIRED),
                   ("alias", snap.previous_alias, champion)]
    writes.append(("alias", snap.champion_alias, version))
    if snap.challenger == version:
        writes.append(("unalias", snap.challenger_alias))
    return Plan("promote", version, _pending(snap, writes), PROMOTED,
                "Version %s of model %r is PROMOTED to %s%s" % (
                    version, snap.name, snap.champion_alias, " (version %s retired)" % champion if champion else ""),
                version, [champion] if champion else [], champion, version, champion or snap.previous)


def _kept(snap, version):
    previous = snap.previous
    return [previous] if previous and previous != version else []


def _plan_rollback(snap, version, reason, verdict, extra_tags):
    champion = snap.champion
    target = None
    if version is None:
        restored_after = snap.tag(champion, TAG_RESTORED) if champion else None
        if restored_after and snap.previous in (None, champion):
            # The champion came back through a rollback (maybe one interrupted before its last write).
            version, target = restored_after, champion
        else:
            version = champion
    if version is None:
        raise IllegalTransition("Cannot roll back model %r: it has no %s alias, so there is nothing to roll back"
                                % (snap.name, snap.champion_alias))
    state = snap.state(version)
    if target is None:
        if snap.previous and snap.previous != version:
            target = snap.previous
        elif state == ROLLED_BACK and snap.tag(version, TAG_PREVIOUS) not in (None, NONE):
            target = snap.tag(version, TAG_PREVIOUS)
    if version != champion and not (state == ROLLED_BACK and target is not None and champion == target):
        raise IllegalTransition("Cannot roll back version %s of model %r: it is not the champion (%s)"
                                % (version, snap.name, "version " + champion if champion else "none is set"))
    if target is None:
        raise IllegalTransition(
            "Cannot roll back version %s of model %r: it is the champion, but no previous champion was recorded "
            "(no %s alias): there is nothing to roll back to. Nothing was changed"
            % (version, snap.name, snap.previous_alias))
    if state not in (PROMOTED, ROLLED_BACK):
        _illegal("rollback", snap, version)
    writes = [("tag", version, TAG_REASON, tag_text(reason or "rolled back to version %s" % target)),
              ("tag", version, TAG_STATE, ROLLED_BACK),
              ("tag", target, TAG_RESTORED, version),
              ("tag", target, TAG_REASON, tag_text("champion again: version %s was rolled back" % version)),
              ("tag", target, TAG_STATE, PROMOTED),
              ("alias", snap.champion_alias, target)]
    if snap.previous is not None:
        writes.append(("unalias", snap.previous_alias))
    if state == ROLLED_BACK:
        # Done before, or interrupted after the version's own tags: never write its reason again.
        writes = [w for w in writes if not (w[0] == "tag" and w[1] == version)]
    pending = _pending(snap, writes)
    msg = ("Version %s of model %r is ROLLED_BACK: version %s is the champion again" % (version, snap.name, target)
           if pending or state != ROLLED_BACK else
           "Version %s of model %r was rolled back already: version %s is the champion again"
           % (version, snap.name, target))
    return Plan("rollback", version, pending, ROLLED_BACK, msg, target, [], None, target, None)


def _plan_abort(snap, version, reason, verdict, extra_tags):
    state = snap.state(version)
    champion = snap.champion
    interrupted = _interrupted_promote(snap, version)
    if state == ROLLED_BACK:
        return Plan("abort", version, [], ROLLED_BACK, "Version %s of model %r is already ROLLED_BACK (%s)"
                    % (version, snap.name, snap.tag(version, TAG_REASON)), champion, [], champion, champion,
                    snap.previous)
    if not (state in (DEPLOYING, ANALYZING) or interrupted):
        _illegal("abort", snap, version)
    why = tag_text(reason or "the deployment was aborted")
    writes = [("tag", version, TAG_REASON, why), ("tag", version, TAG_STATE, ROLLED_BACK)]
    if interrupted and champion and snap.state(champion) == RETIRED:
        writes += [("tag", champion, TAG_REASON, tag_text("champion: the promotion of version %s was aborted" % version)),
                   ("tag", champion, TAG_STATE, PROMOTED)]
    if interrupted and champion and snap.previous == champion:
        # The promotion had moved the previous-champion alias onto the champion: point it back.
        earlier = snap.tag(champion, TAG_PREVIOUS)
        writes.append(("alias", snap.previous_alias, earlier) if earlier not in (None, NONE)
                      else ("unalias", snap.previous_alias))
    return Plan("abort", version, _pending(snap, writes), ROLLED_BACK,
                "Version %s of model %r is ROLLED_BACK: %s" % (version, snap.name, why),
                champion, [], champion, champion, snap.previous)
