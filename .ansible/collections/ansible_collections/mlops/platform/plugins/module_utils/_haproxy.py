# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HAProxy's runtime API (the "stats socket" CLI), and the work behind ``mlops.platform.haproxy_backend_weights``.

Private to the collection. The runtime API is a line protocol on a unix socket (or a TCP port), not HTTP,
so this client is not an ``ApiClient`` of ``_http_client``: it has no URL, auth, TLS or retries. It reuses
only that module's typed errors, so ``ApiModule.run`` turns them into ``fail_json`` the same way as for the
HTTP services.

One command per connection: the client connects, sends the command and a newline, and reads until HAProxy
closes the connection (the non-interactive mode of the CLI). A command that succeeds without output answers
an empty line; anything else is HAProxy's reason, for example ``No such server.``.

``show servers state <backend>`` answers a format version line (``1``), a header line that starts with
``#`` and names the fields, then one line of space-separated values per server. The fields are read by
their names from the header, never by position. ``show stat`` answers CSV whose first line is the header
(``# pxname,svname,...``).

Weights are HAProxy's user weights (``srv_uweight``, what ``set server <backend>/<server> weight <w>``
changes), 0 to 256. A weight change takes effect at once for the next request, without a reload.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import os
import re
import socket
import time
from collections import OrderedDict

from ansible_collections.mlops.platform.plugins.module_utils._http_client import (
    ApiConnectionError,
    ApiError,
    ApiInvalidParameterError,
    ApiNotFoundError,
)

DEFAULT_TIMEOUT = 10
MAX_WEIGHT = 256
#: The only ``show servers state`` format HAProxy has had (1.6 to 3.x).
STATE_FORMAT = "1"
#: Backend and server names HAProxy accepts (and nothing that could end a CLI command: no space, ';' or '/').
_NAME_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
_RECV = 65536

# Documented in plugins/modules/haproxy_backend_weights.py; set once with group/mlops.platform.haproxy.
HAPROXY_CONNECTION_ARGSPEC = dict(
    socket=dict(type="str", required=True),
    timeout=dict(type="int", default=DEFAULT_TIMEOUT),
)


class HaproxyCommandError(ApiError):
    """HAProxy answered a command with an error or with output this client cannot read."""


# ---------------------------------------------------------------- parsing (pure)

def parse_address(address):
    """('unix', path) or ('tcp', (host, port)) of a socket option: a path, or ``tcp:<host>:<port>``."""
    if not isinstance(address, str) or not address.strip():
        raise ApiInvalidParameterError("socket must be the path of HAProxy's stats socket or tcp:<host>:<port>")
    if address.startswith("tcp:"):
        host, sep, port = address[4:].rpartition(":")
        host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ApiInvalidParameterError(
                "socket %r is not tcp:<host>:<port> (for example tcp:127.0.0.1:9999)" % (address,))
        return "tcp", (host, int(port))
    return "unix", os.path.expanduser(address)


def parse_servers_state(text):
    """The servers of ``show servers state`` as a list of dicts keyed by the header's field names.

    Raises HaproxyCommandError when the text is not that format (HAProxy's error message, say).
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if lines and lines[0].strip().isdigit() and lines[0].strip() != STATE_FORMAT:
        raise HaproxyCommandError("format version %s is not supported (only %s)" % (lines[0].strip(), STATE_FORMAT))
    if not lines or lines[0].strip() != STATE_FORMAT:
        raise HaproxyCommandError("unexpected answer %r" % _first_line(text))
    if len(lines) < 2 or not lines[1].startswith("#"):
        raise HaproxyCommandError("the answer has no header line after the format version")
    fields = lines[1][1:].split()
    servers = []
    for number, line in enumerate(lines[2:], start=3):
        values = line.split()
        if len(values) != len(fields):
            raise HaproxyCommandError("line %d has %d values for the %d fields of the header: %r"
                                      % (number, len(values), len(fields), line))
        servers.append(OrderedDict(zip(fields, values)))
    return servers


def parse_stat(text):
    """The rows of ``show stat`` (CSV) as a list of dicts keyed by the header's field names."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("# "):
        raise HaproxyCommandError("unexpected answer %r" % _first_line(text))
    rows = list(csv.reader([lines[0][2:]] + lines[1:]))
    fields = rows[0]
    return [OrderedDict(zip(fields, row)) for row in rows[1:]]


def _first_line(text):
    stripped = text.strip()
    return stripped.splitlines()[0] if stripped else ""


def weights_of(servers, backend):
    """{server name: user weight} of the ``servers`` rows that belong to ``backend``, in HAProxy's order."""
    weights = OrderedDict()
    for row in servers:
        if row.get("be_name") != backend:
            continue
        try:
            weights[row["srv_name"]] = int(row["srv_uweight"])
        except (KeyError, ValueError):
            raise HaproxyCommandError("the answer has no srv_name or no numeric srv_uweight: %r" % dict(row))
    return weights


def shares(weights):
    """{server: percent of the requests its weight gives it} (0.0 for every server when all weights are 0)."""
    total = sum(weights.values())
    return OrderedDict((name, round(100.0 * weight / total, 2) if total else 0.0) for name, weight in weights.items())


def check_name(what, name):
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ApiInvalidParameterError(
            "%s %r is not a name HAProxy accepts: use 1-100 letters, digits, '_', '.', ':' or '-'" % (what, name))


def check_weight(server, weight):
    """The integer weight of ``server`` (an int, or a string of digits from a template), or a clear error."""
    if isinstance(weight, bool):
        value = None
    elif isinstance(weight, int):
        value = weight
    elif isinstance(weight, float) and weight.is_integer():
        value = int(weight)
    elif isinstance(weight, str) and weight.strip().isdigit():
        value = int(weight.strip())
    else:
        value = None
    if value is None or not 0 <= value <= MAX_WEIGHT:
        raise ApiInvalidParameterError(
            "weights: the weight of server %r must be an integer from 0 to %d, got %r" % (server, MAX_WEIGHT, weight))
    return value


# ---------------------------------------------------------------- the client

class HaproxyRuntime(object):
    """One command per connection to HAProxy's runtime API; errors are ApiError subclasses with clear messages."""

    def __init__(self, address, timeout=DEFAULT_TIMEOUT, clock=time.monotonic):
        self.kind, self.target = parse_address(address)
        self.address = self.target if self.kind == "unix" else address
        if timeout is None or timeout <= 0:
            raise ApiInvalidParameterError("timeout must be a positive number of seconds, got %r" % (timeout,))
        self.timeout = timeout
        self.clock = clock

    def unreachable(self, reason):
        return ApiConnectionError("Cannot reach the HAProxy runtime API at %s: %s" % (self.address, reason))

    def _connect(self):
        try:
            if self.kind == "tcp":
                return socket.create_connection(self.target, timeout=self.timeout)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            try:
                sock.connect(self.target)
            except (socket.error, OSError):
                sock.close()
                raise
            return sock
        except socket.timeout:
            raise self.unreachable("no connection within %s s" % self.timeout)
        except (socket.error, OSError) as exc:
            raise self.unreachable(exc)

    def command(self, line):
        """HAProxy's whole answer to one command (text, trailing blank lines included)."""
        if "\n" in line or "\r" in line:
            raise ApiInvalidParameterError("a runtime API command is one line, got %r" % (line,))
        deadline = self.clock() + self.timeout
        sock = self._connect()
        try:
            try:
                sock.sendall((line + "\n").encode("utf-8"))
                chunks = []
                while True:
                    left = deadline - self.clock()
                    if left <= 0:
                        raise socket.timeout()
                    sock.settimeout(left)
                    chunk = sock.recv(_RECV)
                    if not chunk:
                        break
                    chunks.append(chunk)
            except socket.timeout:
                raise self.unreachable("no complete answer to %r within %s s" % (line, self.timeout))
            except (socket.error, OSError) as exc:
                raise self.unreachable("%s (during %r)" % (exc, line))
        finally:
            sock.close()
        return b"".join(chunks).decode("utf-8", "replace")

    def servers_state(self, backend):
        """The rows of ``show servers state <backend>``; ApiNotFoundError when HAProxy has no such backend."""
        check_name("backend", backend)
        answer = self.command("show servers state %s" % backend)
        if answer.strip() in ("Can't find backend.", "No such backend."):
            raise ApiNotFoundError("HAProxy at %s has no backend %r" % (self.address, backend))
        try:
            return parse_servers_state(answer)
        except HaproxyCommandError as exc:
            raise HaproxyCommandError("HAProxy at %s: cannot read its answer to 'show servers state %s': %s"
                                      % (self.address, backend, exc.message))

    def backends(self):
        """The names of HAProxy's backends (``show backend``), in its order."""
        lines = [line.strip() for line in self.command("show backend").splitlines() if line.strip()]
        if not lines or lines[0] != "# name":
            raise HaproxyCommandError("HAProxy at %s: cannot read its answer to 'show backend': unexpected answer %r"
                                      % (self.address, lines[0] if lines else ""))
        return lines[1:]

    def weights(self, backend):
        """{server: user weight} of ``backend``, in HAProxy's order."""
        return weights_of(self.servers_state(backend), backend)

    def set_weight(self, backend, server, weight):
        """``set server <backend>/<server> weight <weight>``; HAProxy's refusal becomes a typed error."""
        check_name("backend", backend)
        check_name("server", server)
        weight = check_weight(server, weight)
        command = "set server %s/%s weight %d" % (backend, server, weight)
        answer = self.command(command).strip()
        if not answer:
            return
        if answer == "No such server.":
            raise ApiNotFoundError("HAProxy at %s has no server %r in backend %r" % (self.address, server, backend))
        if answer == "No such backend.":
            raise ApiNotFoundError("HAProxy at %s has no backend %r" % (self.address, backend))
        hint = ""
        if answer == "Permission denied":
            hint = " (the stats socket must be declared with 'level admin')"
        raise HaproxyCommandError("HAProxy at %s refused %r: %s%s" % (self.address, command, answer, hint))

    def stat(self):
        """The rows of ``show stat``: one per frontend, backend and server (pxname, svname, stot, hrsp_2xx ...)."""
        answer = self.command("show stat")
        try:
            return parse_stat(answer)
        except HaproxyCommandError as exc:
            raise HaproxyCommandError("HAProxy at %s: cannot read its answer to 'show stat': %s"
                                      % (self.address, exc.message))


def haproxy_runtime(params):
    return HaproxyRuntime(params["socket"], timeout=params["timeout"])


# ---------------------------------------------------------------- the task

def plan_weights(current, wanted):
    """{server: new weight} of the servers in ``wanted`` whose weight differs from ``current``, in the order to set.

    Raised weights come first, lowered ones last (each group by name), so that the backend's total weight never
    drops to 0 on the way (100/0 to 0/100 passes through 100/100, not 0/0, which HAProxy answers with 503). It also
    keeps roundrobin's split exact from the next request: on HAProxy 2.6, 100/0 to 50/50 with the primary lowered
    first sent the next 100 requests in a row to the canary in 2 trials of 6; raised first, 35 random transitions
    were all within half a request of the exact split over the next 50.
    """
    changes = [(name, weight) for name, weight in sorted(wanted.items()) if current[name] != weight]
    return OrderedDict([c for c in changes if c[1] > current[c[0]]] + [c for c in changes if c[1] < current[c[0]]])


def set_backend_weights(runtime, backend, weights, check_mode=False, want_diff=False):
    """Bring the user weights of ``backend``'s servers in ``weights`` to their values; the result dict.

    Every name is checked against what HAProxy reports before the first ``set``: an unknown backend or
    server fails with nothing changed. After the sets the weights are read back and compared.
    """
    check_name("backend", backend)
    if not isinstance(weights, dict) or not weights:
        raise ApiInvalidParameterError("weights must name at least one server of backend %r with its weight"
                                       % (backend,))
    wanted = OrderedDict()
    for server in sorted(weights):
        check_name("server", server)
        wanted[server] = check_weight(server, weights[server])

    try:
        previous = runtime.weights(backend)
    except ApiNotFoundError as exc:
        raise ApiNotFoundError("%s (its backends: %s); no weight was changed"
                               % (exc.message, ", ".join(runtime.backends()) or "none"))
    unknown = [server for server in wanted if server not in previous]
    if unknown:
        raise ApiNotFoundError(
            "HAProxy backend %r has no server %s (its servers: %s); no weight was changed"
            % (backend, ", ".join(repr(s) for s in unknown), ", ".join(previous) or "none"))
    plan = plan_weights(previous, wanted)
    after = OrderedDict(previous)
    after.update(plan)

    if plan and not check_mode:
        done = []
        for server, weight in plan.items():
            try:
                runtime.set_weight(backend, server, weight)
            except ApiError as exc:
                raise type(exc)("%s%s" % (exc.message, _already(done, previous)), exc.error_code, exc.status)
            done.append((server, weight))
        read_back = runtime.weights(backend)
        wrong = ["%s is %s, not %d" % (s, read_back.get(s), w) for s, w in after.items() if read_back.get(s) != w]
        if wrong:
            raise HaproxyCommandError("After setting the weights of backend %r, HAProxy at %s reports: %s"
                                      % (backend, runtime.address, "; ".join(wrong)))
        after = read_back

    result = {
        "changed": bool(plan),
        "backend": backend,
        "weights": dict(after),
        "previous": dict(previous),
        "share": dict(shares(after)),
        "changed_servers": list(plan),
    }
    if want_diff:
        result["diff"] = {"before": {"weights": dict(previous)}, "after": {"weights": dict(after)}}
    return result


def _already(done, previous):
    """What a failed set leaves behind, for its message."""
    if not done:
        return "; no weight was changed"
    return "; weights set before the error: %s" % ", ".join(
        "%s=%d (was %d)" % (server, weight, previous[server]) for server, weight in done)


def backend_weights(module):
    """The action of mlops.platform.haproxy_backend_weights (run through ApiModule.run)."""
    return set_backend_weights(haproxy_runtime(module.params), module.params["backend"], module.params["weights"],
                               check_mode=module.check_mode, want_diff=module._diff)
