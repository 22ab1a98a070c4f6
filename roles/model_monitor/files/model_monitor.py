# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The model monitor's schedule: every ``interval`` seconds, one pass per model (module_utils/_model_monitor.py).

    python3 model_monitor.py CONFIG.json [--once]

CONFIG holds the connection (tracking_uri, inference_url, pushgateway_url, timeout, retries; MLflow credentials come
from MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD in the environment, never from the file), the
interval and the models. Each pass prints one line per model; a failed pass prints why and the next one runs on
schedule. --once runs one pass and exits 1 when a model failed (a Kubernetes CronJob runs it that way).
The collection must be importable: PYTHONPATH holds the directory of ansible_collections/.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys
import time

from ansible_collections.mlops.platform.plugins.module_utils._http_client import ApiError
from ansible_collections.mlops.platform.plugins.module_utils import _model_monitor as monitor


def log(message):
    print("%s model-monitor: %s" % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), message))
    sys.stdout.flush()


def run_command(argv, cwd, timeout=300):
    """(rc, stdout, stderr) of a model's data_command."""
    try:
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return 127, "", "%s could not run: %s" % (argv[0], exc)
    return proc.returncode, proc.stdout, proc.stderr


def one_pass(config, clients):
    failed = 0
    for cfg in config["models"]:
        try:
            result = monitor.monitor_once(cfg, *clients, run_command=run_command)
        except ApiError as exc:
            failed += 1
            log("%s: %s" % (cfg.get("name"), exc))
            continue
        log("%s version %s: %d rows, %s, max drift %.4f" % (
            result["model"], result["version"], result["rows"],
            ", ".join("%s %.4f" % item for item in sorted(result["quality"].items())), result["max_drift"]))
    return failed


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as handle:
        config = json.load(handle)
    settings = dict(config, mlflow_token=os.environ.get("MLFLOW_TRACKING_TOKEN"),
                    mlflow_username=os.environ.get("MLFLOW_TRACKING_USERNAME"),
                    mlflow_password=os.environ.get("MLFLOW_TRACKING_PASSWORD"))
    try:
        for cfg in config["models"]:
            monitor.validate_config(cfg)
        clients = monitor.clients(settings)
    except ApiError as exc:
        log(str(exc))
        return 2
    if "--once" in argv[2:]:
        return 1 if one_pass(config, clients) else 0
    interval = float(config.get("interval", 60))
    while True:
        started = time.time()
        one_pass(config, clients)
        time.sleep(max(0.0, interval - (time.time() - started)))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
