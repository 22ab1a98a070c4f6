"""The rollout transition table: every transition from every state, and a crash between any two writes."""

import copy

import pytest

from ansible_collections.mlops.platform.plugins.module_utils import _rollout as r

STATES = [None] + list(r.STATES)
PASSED = {"passed": True,
          "msg": "Gate passed for version 5 of model 'm': 1 metric(s) ok; compared with alias champion (version 4)",
          "results": [{"metric": "auc", "candidate": 0.9, "baseline": 0.8, "verdict": "pass"}]}
FAILED = {"passed": False, "msg": "Gate rejected version 5 of model 'm': auc 0.7 is below the minimum 0.8; "
                                  "compared with alias champion (version 4)", "results": []}


def snapshot(candidate_state=None, champion=True, candidate_tags=None):
    """Model 'm': version 3 RETIRED (previous champion), 4 PROMOTED champion, 5 the candidate (challenger)."""
    versions = {"3": {r.TAG_STATE: r.RETIRED, r.TAG_PREVIOUS: r.NONE}}
    aliases = {"challenger": "5"}
    if champion:
        versions["4"] = {r.TAG_STATE: r.PROMOTED, r.TAG_PREVIOUS: "3"}
        aliases.update(champion="4", previous_champion="3")
    tags = dict(candidate_tags or {})
    if candidate_state is not None:
        tags[r.TAG_STATE] = candidate_state
    versions["5"] = tags
    return r.Snapshot("m", aliases, versions)


def plan(transition, snap, version="5", **kw):
    if transition == "validate" and "verdict" not in kw:
        kw["verdict"] = PASSED
    if transition == "analyze" and "canary" not in kw:
        kw["canary"] = {"step": 1, "steps": 4, "weight": 10, "failed_checks": 0}
    if transition in ("abort", "reject") and "reason" not in kw:
        kw["reason"] = "the smoke test got 3 of 8 rows right"
    return r.plan(transition, snap, version, **kw)


def run(transition, snap, version="5", **kw):
    p = plan(transition, snap, version, **kw)
    for write in p.writes:
        snap.apply(write)
    return p


# What each transition does from each state of the candidate (version 5, not the champion; champion 4).
ACTS, NOOP, ILLEGAL = "acts", "no-op", "illegal"
TABLE = {
    "register": {None: ACTS, r.REGISTERED: NOOP, r.VALIDATED: NOOP, r.REJECTED: NOOP, r.DEPLOYING: NOOP,
                 r.ANALYZING: NOOP,
                 r.PROMOTED: NOOP, r.RETIRED: NOOP, r.ROLLED_BACK: NOOP},
    "validate": {None: ILLEGAL, r.REGISTERED: ACTS, r.VALIDATED: ACTS, r.REJECTED: NOOP, r.DEPLOYING: NOOP,
                 r.ANALYZING: NOOP,
                 r.PROMOTED: NOOP, r.RETIRED: NOOP, r.ROLLED_BACK: NOOP},
    "reject": {None: ILLEGAL, r.REGISTERED: ACTS, r.VALIDATED: ACTS, r.REJECTED: NOOP, r.DEPLOYING: ILLEGAL,
               r.ANALYZING: ILLEGAL,
               r.PROMOTED: ILLEGAL, r.RETIRED: ILLEGAL, r.ROLLED_BACK: ILLEGAL},
    "deploy": {None: ILLEGAL, r.REGISTERED: ILLEGAL, r.VALIDATED: ACTS, r.REJECTED: ILLEGAL, r.DEPLOYING: ACTS,
               r.ANALYZING: NOOP,
               r.PROMOTED: ILLEGAL, r.RETIRED: ACTS, r.ROLLED_BACK: ILLEGAL},
    "analyze": {None: ILLEGAL, r.REGISTERED: ILLEGAL, r.VALIDATED: ILLEGAL, r.REJECTED: ILLEGAL, r.DEPLOYING: ACTS,
                r.ANALYZING: ACTS, r.PROMOTED: ILLEGAL, r.RETIRED: ILLEGAL, r.ROLLED_BACK: ILLEGAL},
    "promote": {None: ILLEGAL, r.REGISTERED: ILLEGAL, r.VALIDATED: ILLEGAL, r.REJECTED: ILLEGAL, r.DEPLOYING: ACTS,
                r.ANALYZING: ACTS,
                r.PROMOTED: ILLEGAL, r.RETIRED: ILLEGAL, r.ROLLED_BACK: ILLEGAL},
    "abort": {None: ILLEGAL, r.REGISTERED: ILLEGAL, r.VALIDATED: ILLEGAL, r.REJECTED: ILLEGAL, r.DEPLOYING: ACTS,
              r.ANALYZING: ACTS,
              r.PROMOTED: ILLEGAL, r.RETIRED: ILLEGAL, r.ROLLED_BACK: NOOP},
    # rollback of version 5, which is not the champion: refused from every state
    "rollback": dict((s, ILLEGAL) for s in STATES),
}


@pytest.mark.parametrize("transition", sorted(TABLE))
@pytest.mark.parametrize("state", STATES, ids=[str(s) for s in STATES])
def test_every_transition_from_every_state(transition, state):
    snap = snapshot(state)
    expected = TABLE[transition][state]
    if expected == ILLEGAL:
        with pytest.raises(r.IllegalTransition) as err:
            plan(transition, snap)
        message = str(err.value)
        assert message.startswith("Cannot %s" % ("roll back version 5" if transition == "rollback" else transition))
        if transition != "rollback":
            assert "version 5 of model 'm' is %s" % (state or "not tracked by a rollout") in message
            assert "; " in message  # the way out follows the state
        return
    p = plan(transition, snap)
    if expected == NOOP:
        assert p.writes == [], p.writes
    else:
        assert p.writes, "expected writes"
        tag_writes = [w for w in p.writes if w[0] == "tag"]
        alias_writes = [w for w in p.writes if w[0] != "tag"]
        assert p.writes == tag_writes + alias_writes, "aliases must come last"
        own = [w for w in tag_writes if w[1] == "5"]
        if any(w[2] == r.TAG_STATE for w in own):
            assert own[-1][2] == r.TAG_STATE, "the state tag is the last tag of its version"


@pytest.mark.parametrize("state,way_out", [
    (r.REGISTERED, "run the transition validate first (playbooks/test.yml)"),
    (r.REJECTED, "it is not deployed again: change the code, data or parameters to train a new candidate, "
                 "or register another version"),
    (r.ROLLED_BACK, "it is not deployed again: change the code, data or parameters to train a new candidate, "
                    "or register another version"),
])
def test_illegal_deploy_names_state_and_way_out(state, way_out):
    snap = snapshot(state, candidate_tags={r.TAG_REASON: "auc 0.7 is below the minimum 0.8"})
    with pytest.raises(r.IllegalTransition) as err:
        plan("deploy", snap)
    reason = " (auc 0.7 is below the minimum 0.8)" if state in (r.REJECTED, r.ROLLED_BACK) else ""
    assert str(err.value) == "Cannot deploy: version 5 of model 'm' is %s%s; %s." % (state, reason, way_out)


def test_promote_without_deploy_says_run_deploy():
    with pytest.raises(r.IllegalTransition) as err:
        plan("promote", snapshot(r.VALIDATED))
    assert str(err.value) == ("Cannot promote: version 5 of model 'm' is VALIDATED; run the transition deploy first "
                              "(playbooks/deploy.yml).")


def test_validate_records_verdict_and_state_last():
    p = plan("validate", snapshot(r.REGISTERED), verdict=FAILED)
    assert p.state == r.REJECTED
    assert [w[2] for w in p.writes] == [r.TAG_GATE, r.TAG_VERDICT, r.TAG_REASON, r.TAG_STATE]
    assert p.writes[-1] == ("tag", "5", r.TAG_STATE, r.REJECTED)
    assert p.writes[2][3] == FAILED["msg"]


def test_deploy_records_outgoing_champion_and_serves_beside_it():
    p = plan("deploy", snapshot(r.VALIDATED))
    assert p.writes[0] == ("tag", "5", r.TAG_PREVIOUS, "4")
    assert p.writes[-1] == ("tag", "5", r.TAG_STATE, r.DEPLOYING)
    assert (p.serve_default, p.serve_versions, p.fallback) == ("4", ["5"], "4")


def test_deploy_without_champion_records_none():
    p = plan("deploy", snapshot(r.VALIDATED, champion=False))
    assert p.writes[0] == ("tag", "5", r.TAG_PREVIOUS, r.NONE)
    assert (p.serve_default, p.serve_versions, p.fallback) == (None, ["5"], None)


def test_promote_retires_old_champion_then_moves_aliases():
    snap = snapshot(r.DEPLOYING, candidate_tags={r.TAG_PREVIOUS: "4"})
    p = plan("promote", snap)
    assert p.writes == [
        ("tag", "5", r.TAG_REASON, "promoted to champion, replacing version 4"),
        ("tag", "5", r.TAG_STATE, r.PROMOTED),
        ("tag", "4", r.TAG_REASON, "retired: version 5 replaced it as champion"),
        ("tag", "4", r.TAG_STATE, r.RETIRED),
        ("alias", "previous_champion", "4"),
        ("alias", "champion", "5"),
        ("unalias", "challenger"),
    ]
    assert (p.serve_default, p.serve_versions, p.champion, p.previous_champion) == ("5", ["4"], "5", "4")


def test_promote_refuses_when_champion_changed_since_deploy():
    snap = snapshot(r.DEPLOYING, candidate_tags={r.TAG_PREVIOUS: "2"})
    with pytest.raises(r.IllegalTransition) as err:
        plan("promote", snap)
    assert str(err.value) == (
        "Cannot promote version 5 of model 'm': it was deployed beside version 2, but the champion is now 4; "
        "deploy it again (abort, then a new rollout) so that it is judged against the current champion")


def promoted_snapshot():
    """Version 5 promoted over 4 (4 retired, previous_champion = 4)."""
    snap = snapshot(r.DEPLOYING, candidate_tags={r.TAG_PREVIOUS: "4"})
    run("promote", snap)
    return snap


def test_rollback_restores_previous_champion_and_second_rollback_is_a_noop():
    snap = promoted_snapshot()
    p = run("rollback", snap, None)
    assert p.version == "5"
    assert (snap.champion, snap.previous, snap.state("5"), snap.state("4")) == ("4", None, r.ROLLED_BACK, r.PROMOTED)
    assert snap.tag("5", r.TAG_REASON) == "rolled back to version 4"
    assert (p.serve_default, p.serve_versions) == ("4", [])
    again = plan("rollback", snap, None)
    assert again.writes == []
    assert again.msg == "Version 5 of model 'm' was rolled back already: version 4 is the champion again"


def test_rollback_without_previous_champion_is_refused():
    snap = snapshot(r.VALIDATED, champion=False)
    run("deploy", snap)
    run("promote", snap)
    with pytest.raises(r.IllegalTransition) as err:
        plan("rollback", snap, None)
    assert str(err.value) == (
        "Cannot roll back version 5 of model 'm': it is the champion, but no previous champion was recorded "
        "(no previous_champion alias): there is nothing to roll back to. Nothing was changed")


def test_rollback_of_a_model_without_champion():
    snap = r.Snapshot("m", {}, {})
    with pytest.raises(r.IllegalTransition) as err:
        plan("rollback", snap, None)
    assert str(err.value) == "Cannot roll back model 'm': it has no champion alias, so there is nothing to roll back"


def test_abort_keeps_champion_and_records_reason():
    snap = snapshot(r.DEPLOYING, candidate_tags={r.TAG_PREVIOUS: "4"})
    p = run("abort", snap, reason="MLServer could not load version 5: MLmodel not found")
    assert (snap.state("5"), snap.tag("5", r.TAG_REASON), snap.champion) == (
        r.ROLLED_BACK, "MLServer could not load version 5: MLmodel not found", "4")
    assert (p.serve_default, p.serve_versions) == ("4", [])


def test_abort_of_an_interrupted_promotion_gives_the_champion_back_its_state():
    snap = snapshot(r.DEPLOYING, candidate_tags={r.TAG_PREVIOUS: "4"})
    p = plan("promote", snap)
    for write in p.writes[:5]:  # tags written and previous_champion moved; the champion alias not yet
        snap.apply(write)
    run("abort", snap, reason="MLflow failed while promoting")
    assert (snap.state("5"), snap.state("4"), snap.champion, snap.previous) == (r.ROLLED_BACK, r.PROMOTED, "4", "3")


def test_register_sets_lineage_tags_then_state_then_challenger():
    snap = snapshot(None)
    snap.aliases.pop("challenger")
    p = plan("register", snap, extra_tags={"git_commit": "abc", "mlops.lineage": "f00"})
    assert p.writes == [("tag", "5", "git_commit", "abc"), ("tag", "5", "mlops.lineage", "f00"),
                        ("tag", "5", r.TAG_REASON, "registered by the rollout"),
                        ("tag", "5", r.TAG_STATE, r.REGISTERED), ("alias", "challenger", "5")]


def test_unknown_transition():
    with pytest.raises(r.IllegalTransition) as err:
        r.plan("launch", snapshot(), "5")
    assert str(err.value) == ("Unknown transition 'launch': use one of abort, analyze, deploy, promote, register, reject, "
                              "rollback, validate")


def test_tag_text_is_one_line_and_bounded():
    assert r.tag_text("a\n  b\tc") == "a b c"
    assert len(r.tag_text("x" * 6000)) == 5000


# ------------------------------------------------------------------------------------- crashes

def final_view(snap):
    return (dict(snap.aliases), dict((v, t.get(r.TAG_STATE)) for v, t in snap.versions.items()))


CRASH_CASES = {
    "register": (lambda: snapshot(None), "5", {"extra_tags": {"git_commit": "abc"}}),
    "validate": (lambda: snapshot(r.REGISTERED), "5", {}),
    "deploy": (lambda: snapshot(r.VALIDATED), "5", {}),
    "promote": (lambda: snapshot(r.DEPLOYING, candidate_tags={r.TAG_PREVIOUS: "4"}), "5", {}),
    "abort": (lambda: snapshot(r.DEPLOYING, candidate_tags={r.TAG_PREVIOUS: "4"}), "5", {}),
    "reject": (lambda: snapshot(r.VALIDATED), "5", {}),
    "rollback": (promoted_snapshot, None, {}),
}


@pytest.mark.parametrize("transition", sorted(CRASH_CASES))
def test_a_crash_between_any_two_writes_converges_on_rerun(transition):
    make, version, kw = CRASH_CASES[transition]
    reference = make()
    full = run(transition, reference, version, **kw)
    assert full.writes, "the case must write something"
    for crash_after in range(len(full.writes)):
        snap = make()
        for write in plan(transition, snap, version, **kw).writes[:crash_after]:
            snap.apply(write)
        rerun = run(transition, snap, version, **kw)
        assert final_view(snap) == final_view(reference), "crash after write %d" % crash_after
        assert len(rerun.writes) == len(full.writes) - crash_after or transition == "rollback", rerun.writes
        assert plan(transition, snap, version, **kw).writes == [], "idempotent after the rerun"


ROLLOUT = ["register", "validate", "deploy", "promote"]


def rollout_writes(snap):
    """The writes of a whole rollout from ``snap``, transition by transition, as the role makes them."""
    out = []
    for transition in ROLLOUT:
        p = plan(transition, snap)
        out.append(p.writes)
        for write in p.writes:
            snap.apply(write)
    return out


def test_a_crash_anywhere_in_a_whole_rollout_converges_and_never_leaves_two_champions():
    reference = snapshot(None)
    total = sum(len(w) for w in rollout_writes(reference))
    assert final_view(reference) == ({"champion": "5", "previous_champion": "4"},
                                     {"3": r.RETIRED, "4": r.RETIRED, "5": r.PROMOTED})
    for crash_after in range(total):
        snap = snapshot(None)
        done = 0
        for transition in ROLLOUT:
            p = plan(transition, snap)
            for write in p.writes:
                if done == crash_after:
                    break
                snap.apply(write)
                done += 1
            if done == crash_after:
                break
        rollout_writes(snap)  # the rerun: the same rollout from the top
        assert final_view(snap) == final_view(reference), "crash after write %d" % crash_after
        promoted = [v for v, t in snap.versions.items() if t.get(r.TAG_STATE) == r.PROMOTED]
        assert promoted == [snap.champion], "exactly one version is PROMOTED, and it is the champion"


def test_rerun_of_a_finished_rollout_writes_nothing():
    snap = snapshot(None)
    rollout_writes(snap)
    before = copy.deepcopy(final_view(snap))
    assert rollout_writes(snap) == [[], [], [], []]
    assert final_view(snap) == before


def canary_snapshot(step=2, failed=0):
    """Version 5 deployed beside champion 4 and ANALYZING as a canary at ``step`` of 4."""
    snap = snapshot(r.DEPLOYING, candidate_tags={r.TAG_PREVIOUS: "4"})
    run("analyze", snap, canary={"step": step, "steps": 4, "weight": [10, 25, 50, 100][step - 1],
                                 "failed_checks": failed})
    return snap


def test_analyze_records_progress_before_the_state():
    snap = snapshot(r.DEPLOYING, candidate_tags={r.TAG_PREVIOUS: "4"})
    p = run("analyze", snap, canary={"step": 2, "steps": 4, "weight": 25, "failed_checks": 1})
    assert p.writes == [
        ("tag", "5", r.TAG_CANARY, '{"failed_checks":1,"step":2,"steps":4,"weight":25}'),
        ("tag", "5", r.TAG_REASON, "canary step 2 of 4: 25% of the traffic"),
        ("tag", "5", r.TAG_STATE, r.ANALYZING),
    ]
    assert p.msg == ("Version 5 of model 'm' is ANALYZING as a canary: step 2 of 4, 25% of the traffic, "
                     "1 failed check(s)")
    assert (p.serve_default, p.serve_versions, p.fallback) == ("4", ["5"], "4")
    assert p.result()["canary"] == {"step": 2, "steps": 4, "weight": 25, "failed_checks": 1}
    assert plan("analyze", snap, canary={"step": 2, "steps": 4, "weight": 25, "failed_checks": 1}).writes == []


def test_deploy_of_an_analyzing_version_resumes_the_canary():
    snap = canary_snapshot(step=3, failed=1)
    p = plan("deploy", snap)
    assert p.writes == []
    assert p.state == r.ANALYZING
    assert p.msg == ("Version 5 of model 'm' is ANALYZING as a canary at step 3 of 4 (50% of the traffic): "
                     "the canary resumes")
    assert p.result()["canary"] == {"step": 3, "steps": 4, "weight": 50, "failed_checks": 1}
    assert (p.serve_default, p.serve_versions, p.fallback) == ("4", ["5"], "4")


def test_promote_and_abort_end_a_canary():
    snap = canary_snapshot()
    p = run("promote", snap)
    assert (snap.state("5"), snap.state("4"), snap.champion, snap.previous) == (r.PROMOTED, r.RETIRED, "5", "4")
    assert p.result()["canary"]["step"] == 2
    snap = canary_snapshot()
    run("abort", snap, reason="canary error ratio 0.2 > max 0.05")
    assert (snap.state("5"), snap.tag("5", r.TAG_REASON), snap.champion) == (
        r.ROLLED_BACK, "canary error ratio 0.2 > max 0.05", "4")


@pytest.mark.parametrize("canary,problem", [
    ({"step": 0, "steps": 4, "weight": 10, "failed_checks": 0}, "canary.step (0 of 4)"),
    ({"step": 5, "steps": 4, "weight": 10, "failed_checks": 0}, "canary.step (5 of 4)"),
    ({"step": 1, "steps": 4, "weight": 101, "failed_checks": 0}, "canary.weight (101)"),
    ({"step": 1, "steps": 4, "weight": 10, "failed_checks": -1}, "canary.failed_checks (-1)"),
    ({"step": "1", "steps": 4, "weight": 10, "failed_checks": 0}, "canary.step"),
])
def test_analyze_refuses_bad_progress(canary, problem):
    snap = snapshot(r.DEPLOYING, candidate_tags={r.TAG_PREVIOUS: "4"})
    with pytest.raises(r.IllegalTransition) as err:
        plan("analyze", snap, canary=canary)
    assert str(err.value) == ("Cannot analyze version 5 of model 'm': %s must be an integer in range "
                              "(step 1..steps, weight 0..100, failed_checks >= 0)" % problem)


def test_analyze_refuses_when_the_champion_changed():
    snap = snapshot(r.DEPLOYING, candidate_tags={r.TAG_PREVIOUS: "3"})
    with pytest.raises(r.IllegalTransition) as err:
        plan("analyze", snap)
    assert str(err.value) == (
        "Cannot analyze version 5 of model 'm' as a canary: it was deployed beside version 3, but the champion is "
        "now 4; abort it and roll out again so that it is judged against the current champion")


def test_read_canary_ignores_unreadable_tags():
    assert r.read_canary(None) is None
    assert r.read_canary("not json") is None
    assert r.read_canary('{"step": 1}') is None
    assert r.read_canary('{"step":1,"steps":4,"weight":10,"failed_checks":0}') == {
        "step": 1, "steps": 4, "weight": 10, "failed_checks": 0}
