"""Inference traffic for the example model: one-row V2 requests at a steady rate, on loopback.

A canary needs real requests to judge. ``python -m breast_cancer.traffic --url http://127.0.0.1:8090``
sends rows of the Wisconsin data set to ``<url>/v2/models/<model>/infer`` (the router of the local
platform by default) until it is stopped or ``--seconds`` passed, and prints one line per
``--report`` seconds: requests, failures and which model versions answered. ``Traffic`` is the same
generator as a thread, for tests.
"""

import argparse
import collections
import json
import sys
import threading
import time
import urllib.error
import urllib.request

from sklearn.datasets import load_breast_cancer

from breast_cancer import schema

DEFAULT_MODEL = "breast-cancer-classifier"


def requests_from_dataset(limit=64):
    """One-row V2 requests (MLServer decodes them into a DataFrame with the model's columns)."""
    data = load_breast_cancer().data[:limit]
    return [json.dumps({
        "parameters": {"content_type": "pd"},
        "inputs": [{"name": column, "datatype": "FP64", "shape": [1], "data": [float(row[index])]}
                   for index, column in enumerate(schema.FEATURES)],
    }).encode() for row in data]


class Traffic(threading.Thread):
    """Sends requests at ``rate`` per second; ``results`` holds (start, seconds, HTTP status or 0, version)."""

    def __init__(self, url, model=DEFAULT_MODEL, rate=20.0, timeout=10.0):
        super().__init__(daemon=True)
        self.endpoint = "%s/v2/models/%s/infer" % (url.rstrip("/"), model)
        self.rate, self.timeout = float(rate), float(timeout)
        self.bodies = requests_from_dataset()
        self.results = []
        self._halt = threading.Event()
        self._lock = threading.Lock()

    def one(self, body):
        request = urllib.request.Request(self.endpoint, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return answer.status, json.load(answer).get("model_version")
        except urllib.error.HTTPError as err:
            err.close()
            return err.code, None
        except (urllib.error.URLError, OSError, ValueError):
            return 0, None

    def run(self):
        gap, sent = 1.0 / self.rate, 0
        began = time.monotonic()
        while not self._halt.is_set():
            started = time.time()
            clock = time.monotonic()
            status, version = self.one(self.bodies[sent % len(self.bodies)])
            with self._lock:
                self.results.append((started, time.monotonic() - clock, status, version))
            sent += 1
            self._halt.wait(max(0.0, began + sent * gap - time.monotonic()))

    def stop(self):
        self._halt.set()
        self.join(timeout=30)

    def snapshot(self, since=0.0):
        """The results that started at or after ``since`` (Unix seconds)."""
        with self._lock:
            return [r for r in self.results if r[0] >= since]


def describe(results):
    failed = sum(1 for r in results if r[2] != 200)
    versions = collections.Counter(str(r[3]) for r in results if r[2] == 200)
    answered = ", ".join("%s x%d" % item for item in sorted(versions.items()))
    return "%d requests, %d failed; answered by version(s): %s" % (len(results), failed, answered or "none")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8090", help="V2 base URL (default: the local router)")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=0.0, help="stop after this long (0: until killed)")
    parser.add_argument("--report", type=float, default=10.0, help="seconds between report lines")
    args = parser.parse_args(argv)
    if args.rate <= 0:
        parser.error("--rate must be positive")
    traffic = Traffic(args.url, args.model, args.rate)
    traffic.start()
    began = last = time.time()
    try:
        while not args.seconds or time.time() - began < args.seconds:
            time.sleep(min(args.report, max(0.1, began + args.seconds - time.time()) if args.seconds else args.report))
            now = time.time()
            print("traffic: last %.0f s: %s" % (now - last, describe(traffic.snapshot(last))), flush=True)
            last = now
    except KeyboardInterrupt:
        pass
    finally:
        traffic.stop()
    print("traffic: in all: %s" % describe(traffic.snapshot()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
