"""The grafana role's dashboards as data: the GrafanaDashboard objects the role renders hold valid JSON in the shape
Grafana loads, and every panel's PromQL - with the dashboard's variables substituted the way Grafana does - returns
series from a real Prometheus holding backfilled MLServer and model-quality series; some values are checked exactly
against what the backfilled rates imply."""

import json
import re

import pytest

import backfill
from backfill import CANARY, MODEL, PRIMARY, QUERY_TIME
from conftest import NON_DEFAULT

UIDS = {"mlops-serving": "mlops-serving", "mlops-model-quality": "mlops-model-quality"}
DATASOURCE = {"type": "prometheus", "uid": "mlops-prometheus"}


def dashboards(rendered):
    return dict((name, json.loads(text)) for name, text in rendered.dashboards().items())


def rate_interval(rendered):
    """Grafana's $__rate_interval at the dashboards' resolution: 4 x the datasource's scrape interval (timeInterval)."""
    ds = [o for o in rendered.grafana_objects if o["kind"] == "GrafanaDatasource"][0]
    seconds = int(re.fullmatch(r"(\d+)s", ds["spec"]["datasource"]["jsonData"]["timeInterval"]).group(1))
    return "%ds" % (4 * seconds)


def substitute(expr, rendered):
    """The query Grafana sends: All for $model (its allValue .+), the backfill's versions for $primary/$canary."""
    values = {"$__rate_interval": rate_interval(rendered), "$model": ".+", "$metric": ".+",
              "$primary": PRIMARY, "$canary": CANARY}
    for name in sorted(values, key=len, reverse=True):
        expr = expr.replace(name, values[name])
    assert "$" not in expr, "unknown dashboard variable left in %r" % expr
    return expr


def panel_results(prometheus, rendered, board):
    """{panel title: [result of each target]}; a target that returns no series fails, naming the panel and query."""
    out = {}
    for panel in board["panels"]:
        results = []
        for target in panel["targets"]:
            query = substitute(target["expr"], rendered)
            result = prometheus.query(query, QUERY_TIME)
            assert result, "panel %r (dashboard %s): the query returned no series: %s" % (panel["title"], board["uid"], query)
            results.append(result)
        out[panel["title"]] = results
    return out


def by(result, label):
    return dict((series["metric"].get(label), float(series["value"][1])) for series in result)


@pytest.mark.parametrize("overrides", [{}, NON_DEFAULT], ids=["defaults", "non-default"])
def test_dashboards_are_grafana_dashboards(render, overrides):
    rendered = render(overrides)
    objects = [o for o in rendered.grafana_objects if o["kind"] == "GrafanaDashboard"]
    assert sorted(o["metadata"]["name"] for o in objects) == sorted(UIDS)
    for obj in objects:
        assert isinstance(obj["spec"]["json"], str)
        board = json.loads(obj["spec"]["json"])
        assert board["uid"] == obj["spec"]["uid"] == UIDS[obj["metadata"]["name"]]
        assert board["title"].startswith("MLOps: ")
        assert isinstance(board["schemaVersion"], int)
        assert board["panels"], board["uid"]
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids))
        for panel in board["panels"]:
            assert panel["title"] and panel["type"] in ("timeseries", "stat"), panel
            assert panel["datasource"] == DATASOURCE
            assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
            assert panel["targets"], panel["title"]
            refs = [t["refId"] for t in panel["targets"]]
            assert len(refs) == len(set(refs)), panel["title"]
            for target in panel["targets"]:
                assert target["datasource"] == DATASOURCE and target["expr"].strip(), (panel["title"], target)
        for variable in board["templating"]["list"]:
            assert variable["type"] == "query" and variable["datasource"] == DATASOURCE
            assert variable["query"]["query"] == variable["definition"]


def test_every_panel_returns_data_serving(render, prometheus):
    rendered = render()
    results = panel_results(prometheus, rendered, dashboards(rendered)["mlops-serving"])
    rps = by(results["Requests per second by version"][0], "version")
    assert rps == pytest.approx(dict((v, s["rps"]) for v, s in backfill.SERVING.items()), rel=1e-9)
    errors = by(results["Error ratio by version"][0], "version")
    assert errors == pytest.approx({PRIMARY: backfill.error_ratio(PRIMARY), CANARY: backfill.error_ratio(CANARY)}, rel=1e-9)
    latency = by(results["Mean inference latency by version"][0], "version")
    assert latency == pytest.approx({PRIMARY: backfill.mean_latency(PRIMARY), CANARY: backfill.mean_latency(CANARY)}, rel=1e-9)
    total = sum(s["rps"] for s in backfill.SERVING.values())
    share = by(results["Traffic share by version"][0], "version")
    assert share == pytest.approx(dict((v, s["rps"] / total) for v, s in backfill.SERVING.items()), rel=1e-9)
    (diff,) = results["Canary minus primary: error ratio"][0]
    assert float(diff["value"][1]) == pytest.approx(backfill.error_ratio(CANARY) - backfill.error_ratio(PRIMARY), rel=1e-9)
    (diff,) = results["Canary minus primary: mean latency"][0]
    assert float(diff["value"][1]) == pytest.approx(backfill.mean_latency(CANARY) - backfill.mean_latency(PRIMARY), rel=1e-9)
    # Quantiles per serving pod (the REST histogram has no model label), as Prometheus interpolates within a bucket.
    quantiles = results["Latency quantiles by serving pod"]
    for q, result in zip((0.5, 0.95, 0.99), quantiles):
        got = dict(((s["metric"]["namespace"], s["metric"]["pod"]), float(s["value"][1])) for s in result)
        want = dict(((backfill.NAMESPACE, s["pod"]), quantile(q, backfill.SHARES[v])) for v, s in backfill.SERVING.items())
        assert got == pytest.approx(want, rel=1e-9), q


def test_every_panel_returns_data_model_quality(render, prometheus):
    rendered = render()
    results = panel_results(prometheus, rendered, dashboards(rendered)["mlops-model-quality"])
    quality = dict(((s["metric"]["version"], s["metric"]["metric"]), float(s["value"][1]))
                   for s in results["Quality metrics by version"][0])
    assert quality == dict(((v, m), value) for v, metrics in backfill.QUALITY.items() for m, value in metrics.items())
    assert by(results["Champion now"][0], "model") == {MODEL: float(CANARY)}
    assert by(results["Champion quality"][0], "metric") == backfill.QUALITY[CANARY]


def test_champion_over_time_follows_the_switch(render, prometheus):
    board = dashboards(render())["mlops-model-quality"]
    (panel,) = [p for p in board["panels"] if p["title"] == "Champion version over time"]
    status, body = prometheus.api("query_range", {
        "query": substitute(panel["targets"][0]["expr"], render()), "start": backfill.T0 + 300,
        "end": backfill.T0 + 3300, "step": 600})
    assert status == 200, body
    (series,) = body["data"]["result"]
    values = [(int(at) - backfill.T0, float(v)) for at, v in series["values"]]
    # The switch is at 30 min: version 1 before it, version 2 after (5 min lookback: the old series is gone by 35).
    assert values == [(300, 1.0), (900, 1.0), (1500, 1.0), (2100, 2.0), (2700, 2.0), (3300, 2.0)]


def test_dashboard_variables_list_the_backfilled_values(render, prometheus):
    for name, board in dashboards(render()).items():
        for variable in board["templating"]["list"]:
            match = re.fullmatch(r"label_values\((.+), (\w+)\)", variable["query"]["query"])
            assert match, variable
            selector, label = substitute(match.group(1), render()), match.group(2)
            status, body = prometheus.api("label/%s/values" % label, {
                "match[]": selector, "start": backfill.T0, "end": backfill.T0 + 3600})
            assert status == 200 and body["data"], "%s: variable %s (%s) lists nothing" % (name, variable["name"], selector)
            expected = {"model": [MODEL], "version": [PRIMARY, CANARY], "metric": ["accuracy", "f1"]}[label]
            assert body["data"] == expected, (name, variable["name"])


def test_non_default_variables_reach_the_queries(render, prometheus):
    rendered = render(NON_DEFAULT)
    board = dashboards(rendered)["mlops-serving"]
    (panel,) = [p for p in board["panels"] if p["title"] == "Latency quantiles by serving pod"]
    assert [t["expr"] for t in panel["targets"]][1] == (
        "histogram_quantile(0.95, sum by (pod, le) (rate(rest_server_request_duration_seconds_bucket[$__rate_interval])))")
    assert [t["legendFormat"] for t in panel["targets"]] == ["p50 {{pod}}", "p95 {{pod}}", "p99 {{pod}}"]
    results = panel_results(prometheus, rendered, board)
    got = dict((s["metric"]["pod"], float(s["value"][1])) for s in results[panel["title"]][1])
    assert got == pytest.approx(dict((s["pod"], quantile(0.95, backfill.SHARES[v])) for v, s in backfill.SERVING.items()), rel=1e-9)


def test_a_panel_without_data_fails_naming_it(render, prometheus):
    """The check above can fail: a panel whose query matches no series stops the test with its title and query."""
    rendered = render()
    board = {"uid": "probe", "panels": [{"title": "Nothing here", "targets": [
        {"expr": "sum(rate(model_infer_request_duration_count{model=\"no-such-model\"}[$__rate_interval]))"}]}]}
    with pytest.raises(AssertionError) as failure:
        panel_results(prometheus, rendered, board)
    assert str(failure.value).startswith(
        "panel 'Nothing here' (dashboard probe): the query returned no series: "
        "sum(rate(model_infer_request_duration_count{model=\"no-such-model\"}[120s]))")


def test_a_broken_panel_query_is_rejected(prometheus):
    status, body = prometheus.api("query", {"query": "sum(rate(model_infer_request_duration_count[5m])", "time": QUERY_TIME})
    assert status == 400 and body["errorType"] == "bad_data"
    assert "parse error" in body["error"]


def quantile(q, shares):
    """histogram_quantile over cumulative bucket shares (BUCKETS): linear interpolation inside the bucket that holds
    the rank, the lowest bucket starting at 0 (Prometheus' rule); rate scales every bucket alike, so shares do."""
    bounds = [float(b) for b in backfill.BUCKETS[:-1]]
    rank = q * shares[-1]
    previous_bound, previous_share = 0.0, 0.0
    for bound, share in zip(bounds, shares):
        if share >= rank:
            return previous_bound + (bound - previous_bound) * (rank - previous_share) / (share - previous_share)
        previous_bound, previous_share = bound, share
    return bounds[-1]
