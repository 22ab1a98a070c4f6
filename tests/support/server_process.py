"""One way to run a real server as a child process in a test: free loopback ports, start, wait until ready, stop.

``ServerProcess`` is the base of every server wrapper of the test tiers (mlflow, MLServer, Prometheus,
SeaweedFS, the platform tier's mlflow pod): the process runs in a session of its own with its output in a log
file; ``wait_ready`` polls a probe until a deadline and fails as soon as the process has exited, naming it and
quoting the end of its log; ``stop`` sends SIGTERM to the whole process group (gunicorn and MLServer workers
included), then SIGKILL when it does not end in time.
"""

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_ports(count):
    """count distinct free ports: every socket stays bound until all are drawn (free_port() called in a row may
    hand out the same port twice, once the first socket is closed)."""
    socks = []
    try:
        while len(socks) < count:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(sock)
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def http_status(url, timeout=2):
    """The HTTP status of GET url (an error status included), or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return None


class ServerProcess:
    """A server process with its output in ``log_path``. Subclasses set ``name`` and call spawn() and wait_ready()."""

    name = "server"
    stop_timeout = 20

    def __init__(self, log_path):
        self.log_path = log_path
        self.proc = None
        self._log = None

    def spawn(self, argv, env=None, cwd=None, truncate=False):
        """Start argv in a new session, stdout and stderr appended to the log (or the log truncated first)."""
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        self._log = open(self.log_path, "wb" if truncate else "ab")
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                     start_new_session=True)
        return self

    def wait_ready(self, ready, timeout, what, interval=0.5):
        """Poll ready() until it is true; fail when the process exits or ``timeout`` seconds pass (then stop it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s; log:\n%s" % (self.name, self.proc.returncode, self.log_tail()))
            if ready():
                return self
            time.sleep(interval)
        self.stop()
        raise RuntimeError("%s did not %s within %ss; log:\n%s" % (self.name, what, timeout, self.log_tail()))

    def wait_http(self, url, timeout, interval=0.5):
        """wait_ready for GET url to answer 200."""
        return self.wait_ready(lambda: http_status(url) == 200, timeout, "answer %s" % url, interval)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_exit(self, timeout):
        """The exit code once the process ended by itself, or None if it still runs after ``timeout``."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def log_text(self):
        try:
            with open(self.log_path, "rb") as handle:
                return handle.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, lines=60):
        return "\n".join(self.log_text().splitlines()[-lines:])

    def stop(self):
        if self.running():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if self._log:
            self._log.close()
            self._log = None

    def start(self, timeout=120):
        raise NotImplementedError

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
