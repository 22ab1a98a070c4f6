"""The canary on the local target, for real: the rollout moves HAProxy's weights between the primary and the canary
MLServer step by step while the example's traffic generator sends requests through HAProxy, and a real Prometheus
(scraping both MLServers every second) judges every step.

Each test rolls out a candidate of the example that differs only in its serving behaviour (params.yaml `serving`:
a tiny delay for a healthy one, every fifth call failing, every call slower), so the offline gate always passes it
and only the serving metrics can tell it apart.
"""

import re
import time
import urllib.error
import urllib.request

import pytest

from breast_cancer.traffic import Traffic, describe
from support.haproxy_process import weights

MODEL = "breast-cancer-classifier"
# Fast analysis for a test: 1 s scrapes, a 10 s window, a round every 5 s, at least 20 canary requests judged (at 25
# requests a second, a 10% step holds its first round and is judged at its second).
CANARY = {
    "model_rollout_strategy": "canary",
    "model_rollout_canary_steps": [10, 25, 50, 100],
    "model_rollout_canary_interval": "10s",
    "model_rollout_canary_analysis_every": 5,
    "model_rollout_canary_step_timeout": 40,
    "model_rollout_canary_min_requests": 20,
    "model_rollout_canary_threshold": 1,
    "model_rollout_canary_checks": [{"name": "error_ratio", "max": 0.05},
                                    {"name": "latency_p95", "max_ratio": 2.0}],
}


def candidate(delay=0.0, error_every=0, **more):
    return dict(CANARY, model_rollout_params={"serving": {"delay_seconds": delay, "error_every": error_every}}, **more)


@pytest.fixture(scope="module")
def champion(platform):
    """The model's first version: no champion to compare with, so it is switched to directly."""
    result = platform.play("rollout.yml", **candidate()).check(0)
    model = platform.model(MODEL)
    first = model.alias("champion")
    assert first is not None
    assert "Canary step" not in "\n".join(result.summary())
    return model


@pytest.fixture
def traffic(platform):
    generator = Traffic(platform.router, MODEL, rate=25)
    generator.start()
    yield generator
    generator.stop()


def router_weights(platform):
    return weights(platform.socket, "inference")


def canary_serves_nothing(platform):
    try:
        urllib.request.urlopen("%s/v2/models/%s/ready" % (platform.canary, MODEL), timeout=5).close()
        return False
    except urllib.error.HTTPError:
        return True


def canary_lines(result):
    return [line for line in result.summary() if line.startswith(("Canary", "    "))]


def settle(traffic, seconds=3.0):
    """Requests answered from now on, after ``seconds`` more of traffic."""
    since = time.time()
    time.sleep(seconds)
    return traffic.snapshot(since)


def test_a_healthy_candidate_is_promoted_with_no_failed_request(platform, champion, traffic):
    before = champion.alias("champion")
    started = time.time()
    result = platform.play("rollout.yml", **candidate(delay=0.0001)).check(0)
    during = traffic.snapshot(started)
    new = champion.alias("champion")
    assert new != before
    assert (champion.state(new), champion.state(before)) == ("PROMOTED", "RETIRED")
    assert champion.alias("previous_champion") == before
    lines = canary_lines(result)
    steps = [line for line in lines if line.startswith("Canary step")]
    assert [re.match(r"Canary step (\d) \((\d+)%\): (\w+)", line).groups() for line in steps] == [
        ("1", "10", "pass"), ("2", "25", "pass"), ("3", "50", "pass")]
    assert "weights primary 90 / canary 10" in steps[0]
    assert "weights primary 50 / canary 50" in steps[2]
    assert lines[-1] == ("Canary promote: weights primary 100 / canary 0 - the primary serves version %s; "
                         "the canary is emptied" % new)
    assert any(line.strip().startswith("error_ratio") and line.endswith(" ok") for line in lines)
    # Real traffic went both ways, and not one request failed, the switch included.
    assert [r for r in during if r[2] != 200] == [], describe(during)
    answered = set(r[3] for r in during)
    assert answered == {"champion", "canary"}, describe(during)
    assert router_weights(platform) == {"primary": 100, "canary": 0}
    assert canary_serves_nothing(platform)
    after = settle(traffic)
    assert after and all(r[2] == 200 and r[3] == "champion" for r in after), describe(after)
    assert champion.served() == new
    tags = champion.tags(new)
    assert tags["mlops.rollout.canary"] == '{"failed_checks":0,"step":3,"steps":3,"weight":50}'
    champion.assert_consistent()


def test_a_candidate_with_20_percent_errors_is_rolled_back_after_the_threshold(platform, champion, traffic):
    before = champion.alias("champion")
    result = platform.play("rollout.yml", **candidate(error_every=5, model_rollout_canary_threshold=2))
    assert result.rc == 2
    bad = str(max(champion.versions()))
    assert (champion.alias("champion"), champion.state(bad)) == (before, "ROLLED_BACK")
    reason = champion.tags(bad)["mlops.rollout.reason"]
    assert reason.startswith("the canary analysis rolled version %s back at step 1 (10%% of the traffic): fail: "
                             "canary error ratio " % bad), reason
    assert reason.endswith("; failed checks 2 of threshold 2: roll back"), reason
    lines = canary_lines(result)
    assert re.match(r"Canary step 1 \(10%\): rolled back after \d+ round\(s\)", lines[0]), lines
    back = float(re.search(r"traffic back on the primary ([0-9.]+) s after the check that decided", lines[0]).group(1))
    # P5: from the check that decided to all traffic on the primary, within one analysis interval.
    assert back < CANARY["model_rollout_canary_analysis_every"], lines[0]
    print("P5 (error ratio): traffic back on the primary %.2f s after the deciding check (interval 5 s)" % back)
    assert router_weights(platform) == {"primary": 100, "canary": 0}
    assert canary_serves_nothing(platform)
    after = settle(traffic)
    assert after and all(r[2] == 200 and r[3] == "champion" for r in after), describe(after)
    assert champion.served() == before
    champion.assert_consistent()


def test_a_3x_slower_candidate_is_rolled_back_on_latency(platform, champion, traffic):
    before = champion.alias("champion")
    result = platform.play("rollout.yml", **candidate(delay=0.15))
    assert result.rc == 2
    slow = str(max(champion.versions()))
    assert (champion.alias("champion"), champion.state(slow)) == (before, "ROLLED_BACK")
    reason = champion.tags(slow)["mlops.rollout.reason"]
    assert "fail: canary p95 latency" in reason, reason
    rows = [line for line in canary_lines(result) if line.strip().startswith("latency_p95")]
    canary_p95, primary_p95 = (float(v) for v in re.search(r"canary (\S+)\s+primary (\S+)", rows[-1]).groups())
    assert canary_p95 >= 3 * primary_p95, rows
    assert "FAILED:" in rows[-1]
    assert router_weights(platform) == {"primary": 100, "canary": 0}
    after = settle(traffic)
    assert after and all(r[2] == 200 and r[3] == "champion" for r in after), describe(after)
    champion.assert_consistent()


def test_too_little_traffic_holds_then_times_out(platform, champion):
    before = champion.alias("champion")
    result = platform.play("rollout.yml", **candidate(delay=0.0002, model_rollout_canary_step_timeout=15))
    assert result.rc == 2
    quiet = str(max(champion.versions()))
    assert (champion.alias("champion"), champion.state(quiet)) == (before, "ROLLED_BACK")
    reason = champion.tags(quiet)["mlops.rollout.reason"]
    assert reason.startswith(
        "the canary analysis rolled version %s back at step 1 (10%% of the traffic): no decision within "
        "model_rollout_canary_step_timeout (15 s), timed out after " % quiet), reason
    assert re.search(r"timed out after [23] round\(s\) in 15 s without a decision \(last: hold: ", reason), reason
    assert "fewer than min_requests 20" in reason, reason
    assert router_weights(platform) == {"primary": 100, "canary": 0}
    champion.assert_consistent()


def test_a_canary_killed_mid_way_resumes_at_its_step(platform, champion, traffic):
    before = champion.alias("champion")
    extra = candidate(delay=0.0003)
    known = max(champion.versions())
    running = platform.start("rollout.yml", **extra)
    deadline = time.time() + 600
    while True:  # until the registry says the canary reached step 2 (its tag is written before the weight moves)
        assert running.proc.poll() is None, running.output()[-4000:]
        assert time.time() < deadline, "the canary did not reach step 2 within 600 s"
        newest = max(champion.versions())
        if newest > known and '"step":2' in champion.tags(newest).get("mlops.rollout.canary", ""):
            break
        time.sleep(0.2)
    running.kill_everything()
    version = str(newest)
    assert champion.state(version) == "ANALYZING"
    assert champion.tags(version)["mlops.rollout.canary"] == '{"failed_checks":0,"step":2,"steps":3,"weight":25}'
    started = time.time()
    result = platform.play("rollout.yml", **extra).check(0)
    lines = canary_lines(result)
    assert lines[0] == ("Canary: Version %s of model '%s' is ANALYZING as a canary at step 2 of 3 (25%% of the "
                        "traffic): the canary resumes" % (version, MODEL)), lines
    steps = [line for line in lines if line.startswith("Canary step")]
    assert [line.split(":")[0] for line in steps] == ["Canary step 2 (25%)", "Canary step 3 (50%)"]
    assert champion.alias("champion") == version
    assert champion.alias("previous_champion") == before
    during = traffic.snapshot(started)
    assert [r for r in during if r[2] != 200] == [], describe(during)
    assert router_weights(platform) == {"primary": 100, "canary": 0}
    champion.assert_consistent()
