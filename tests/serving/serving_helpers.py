"""What the serving tests share: the models' names, the probe, inference pollers, measurements."""

import json
import threading
import time
import urllib.error
import urllib.request

MODEL = "serving-iris"
OTHER = "serving-other"
# The probe row: version 1 (and 3) predict 0 for it, version 2 predicts 1.
PROBE = [[0.1, 0.9]]
PREDICTION = {"1": 0, "2": 1}
#: Lines printed at the end of the session (conftest.pytest_terminal_summary).
MEASUREMENTS = []


# ---------------------------------------------------------------- inference pollers

def infer(url, timeout=10):
    """(model_version, prediction) of one inference request with the probe row."""
    body = json.dumps({"inputs": [{"name": "input-0", "shape": [1, 2], "datatype": "FP64",
                                   "data": PROBE[0]}]}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        answer = json.load(resp)
    return answer.get("model_version"), answer["outputs"][0]["data"][0]


def predict(url, timeout=10):
    return infer(url, timeout)[1]


class Poller(threading.Thread):
    """Sends inference requests to one endpoint back to back and records each (time, ok, what ``request`` answered
    or the error). ``pause``: the wait between requests (leave the two shared cores some room)."""

    pause = 0.01  # ~50-100 requests a second

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url = url
        self.results = []
        self._halt = threading.Event()
        self._lock = threading.Lock()

    def request(self):
        """One request: (ok, value). The prediction by default."""
        return True, predict(self.url)

    def run(self):
        while not self._halt.is_set():
            started = time.monotonic()
            try:
                outcome = (started,) + tuple(self.request())
            except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
                outcome = (started, False, "%s: %s" % (type(exc).__name__, exc))
            with self._lock:
                self.results.append(outcome)
            self._halt.wait(self.pause)

    def stop(self):
        self._halt.set()
        self.join(timeout=30)

    def mark(self):
        with self._lock:
            return len(self.results)

    def since(self, mark):
        with self._lock:
            return self.results[mark:]

    def wait_for(self, count, timeout=60):
        """Wait (bounded) until ``count`` more requests have been answered."""
        mark = self.mark()
        deadline = time.monotonic() + timeout
        while self.mark() - mark < count:
            assert time.monotonic() < deadline, "the poller made %d requests in %ss" % (self.mark() - mark, timeout)
            time.sleep(0.01)


class Phase:
    """What one poller saw between two marks: requests, failures, the predictions returned."""

    def __init__(self, name, results):
        self.name = name
        self.requests = len(results)
        self.failures = [r for r in results if not r[1]]
        self.predictions = [r[2] for r in results if r[1]]

    def line(self):
        return "%-34s requests=%d failed=%d" % (self.name, self.requests, len(self.failures))
