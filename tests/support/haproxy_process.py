"""Start and stop a real HAProxy (Debian's 2.6: /usr/sbin/haproxy, or MLOPS_HAPROXY) for tests; its runtime API.

HAProxy runs in the foreground (``-db``: no daemon, no master process), so the process the test started is
the one that serves: a reload would need a new process, and ``show info``'s ``Pid`` tells which one answers.
``runtime()`` is the test's own client of the runtime API (one command per connection on the unix stats
socket), independent of the collection's ``_haproxy.py`` that the tests check.
"""

import csv
import os
import socket

from support.server_process import ServerProcess

HAPROXY = os.environ.get("MLOPS_HAPROXY", "/usr/sbin/haproxy")


def runtime(sock_path, command, timeout=5):
    """HAProxy's answer to one runtime API command."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(sock_path)
        sock.sendall((command + "\n").encode())
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks).decode()
            chunks.append(chunk)


def servers_state(sock_path, backend):
    """{server: row dict} of ``show servers state <backend>`` (fields named by the header line)."""
    lines = [line for line in runtime(sock_path, "show servers state %s" % backend).splitlines() if line.strip()]
    assert lines[0] == "1" and lines[1].startswith("# "), lines[:2]
    fields = lines[1][2:].split()
    rows = [dict(zip(fields, line.split())) for line in lines[2:]]
    return dict((row["srv_name"], row) for row in rows)


def weights(sock_path, backend):
    return dict((name, int(row["srv_uweight"])) for name, row in servers_state(sock_path, backend).items())


def stat(sock_path, backend):
    """{server: row dict} of the servers of ``backend`` in ``show stat`` (stot, hrsp_2xx, status ...)."""
    lines = [line for line in runtime(sock_path, "show stat").splitlines() if line.strip()]
    assert lines[0].startswith("# pxname,svname,"), lines[0]
    rows = list(csv.DictReader([lines[0][2:]] + lines[1:]))
    return dict((row["svname"], row) for row in rows
                if row["pxname"] == backend and row["svname"] not in ("FRONTEND", "BACKEND"))


def info(sock_path):
    """``show info`` as a dict (Pid, Uptime_sec ...)."""
    pairs = [line.split(":", 1) for line in runtime(sock_path, "show info").splitlines() if ":" in line]
    return dict((key.strip(), value.strip()) for key, value in pairs)


class HaproxyProcess(ServerProcess):
    """``haproxy -db -f <config>``; ready when the runtime API answers and every server of ``backend`` is UP."""

    name = "HAProxy"
    stop_timeout = 10

    def __init__(self, config, sock_path, backend, log_path):
        super().__init__(log_path)
        self.config = config
        self.sock_path = sock_path
        self.backend = backend

    def servers_up(self):
        if not os.path.exists(self.sock_path):
            return False
        try:
            state = servers_state(self.sock_path, self.backend)
        except (OSError, AssertionError, IndexError):
            return False
        return bool(state) and all(row["srv_op_state"] == "2" for row in state.values())  # 2: SRV_ST_RUNNING

    def start(self, timeout=30):
        self.spawn([HAPROXY, "-db", "-f", self.config], truncate=True)
        return self.wait_ready(self.servers_up, timeout, "report every server of %s up" % self.backend,
                               interval=0.1)
