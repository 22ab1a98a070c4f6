"""A real Prometheus on a free loopback port whose TSDB is made by backfilling OpenMetrics text
(``promtool tsdb create-blocks-from openmetrics``), with no scrape configs: the series a test wrote, and nothing else.

Used by the monitoring tier (alert rules, dashboards, the canary analysis) and by the cluster tier's cluster_serving
scenario (its scripted canaries). Debian's ``prometheus`` package (2.42) by default; ``MLOPS_PROMETHEUS`` and
``MLOPS_PROMTOOL`` point elsewhere.
"""

import json
import os
import subprocess
import urllib.error
import urllib.parse
import urllib.request

from support.server_process import ServerProcess, free_port

PROMETHEUS = os.environ.get("MLOPS_PROMETHEUS", "/usr/bin/prometheus")
PROMTOOL = os.environ.get("MLOPS_PROMTOOL", "/usr/bin/promtool")


class BackfilledPrometheus(ServerProcess):
    """Prometheus serving the blocks backfilled from ``openmetrics`` (text) under ``root``."""

    name = "prometheus"

    def __init__(self, root, openmetrics):
        super().__init__(os.path.join(root, "prometheus.log"))
        self.root = root
        self.openmetrics = openmetrics
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.blocks_output = ""

    def start(self, timeout=60):
        os.makedirs(self.root, exist_ok=True)
        tsdb = os.path.join(self.root, "tsdb")
        om_path = os.path.join(self.root, "series.om")
        with open(om_path, "w") as handle:
            handle.write(self.openmetrics)
        proc = subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", om_path, tsdb],
                              capture_output=True, text=True, timeout=300, check=False)
        if proc.returncode != 0:
            raise RuntimeError("backfill failed: %s %s" % (proc.stdout, proc.stderr))
        self.blocks_output = proc.stdout
        config = os.path.join(self.root, "prometheus.yml")
        with open(config, "w") as handle:
            handle.write("global:\n  evaluation_interval: 1m\n")
        # Retention counts from the newest block, but keep the backfilled past whatever the clock says.
        self.spawn([PROMETHEUS, "--config.file=" + config, "--storage.tsdb.path=" + tsdb,
                    "--storage.tsdb.retention.time=100y", "--web.listen-address=127.0.0.1:%d" % self.port], truncate=True)
        return self.wait_http(self.url + "/-/ready", timeout, interval=0.2)

    def api(self, path, params):
        """GET /api/v1/<path>; returns (HTTP status, decoded body)."""
        url = "%s/api/v1/%s?%s" % (self.url, path, urllib.parse.urlencode(params, doseq=True))
        try:
            with urllib.request.urlopen(url, timeout=30) as resp:
                return resp.status, json.load(resp)
        except urllib.error.HTTPError as exc:
            return exc.code, json.load(exc)

    def query(self, expr, at):
        status, body = self.api("query", {"query": expr, "time": at})
        assert status == 200 and body["status"] == "success", "query %r: HTTP %s %s" % (expr, status, body)
        return body["data"]["result"]
