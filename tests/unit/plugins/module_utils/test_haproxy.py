"""Unit tests of _haproxy: parsing HAProxy's runtime API answers, the client's errors, and the weights task.

The samples are real answers of Debian's HAProxy 2.6.12, captured from it running the seldon role's
haproxy-canary.cfg.j2 (backend ``inference``, canary weight set to 10, the primary's first health check
failed). The client runs against ``FakeRuntimeApi``, a fake stats socket on a unix socket (or 127.0.0.1)
that answers like HAProxy 2.6 (the same header, the same error strings) and records every command.
"""

from __future__ import absolute_import, division, print_function

import os
import shutil
import socket
import tempfile
import threading
from collections import OrderedDict

import pytest

from ansible_collections.mlops.platform.plugins.module_utils._http_client import (
    ApiConnectionError,
    ApiInvalidParameterError,
    ApiNotFoundError,
)
from ansible_collections.mlops.platform.plugins.module_utils import _haproxy as hx

HEADER = ("# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight "
          "srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state "
          "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port "
          "srv_check_addr srv_agent_addr srv_agent_port")
SERVERS_STATE = (
    "1\n" + HEADER + "\n"
    "3 inference 1 primary 127.0.0.1 0 0 100 100 2 15 3 1 6 0 0 0 - 18081 - 0 0 - - 0\n"
    "3 inference 2 canary 127.0.0.1 2 0 10 0 2 15 3 4 6 0 0 0 - 18083 - 0 0 - - 0\n"
    "\n")
STAT_HEADER = (
    "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,"
    "act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,"
    "check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,"
    "req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,"
    "qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,"
    "check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,"
    "intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,"
    "rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,"
    "agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,"
    "h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,"
    "h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,"
    "h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,"
    "h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,")
STAT = (
    STAT_HEADER + "\n"
    "canary_router,FRONTEND,,,0,1,1024,5,590,985,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,5,0,5,,,,0,5,0,0,0,0,,5,5,5,,,0,0,"
    "0,0,,,,,,,,,,,,,,,,,,,,,http,,5,5,5,0,0,0,0,,,0,0,,,,,,,0,,,,,,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,5,5,670,"
    "1010,0,0,\n"
    "inference,primary,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN 1/2,100,1,0,1,1,2,2,,1,3,1,,0,,2,0,,0,L7OK,200,11,0,0,0,0,0,0,,"
    ",,0,0,0,,,,,-1,,,0,0,0,0,,,,Layer7 check passed,,2,3,1,,,,127.0.0.1:18081,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,"
    "0,1,100,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
    "inference,canary,0,0,0,1,,5,590,985,,0,,0,0,0,0,UP,10,1,0,0,0,2,0,,1,3,2,,5,,2,5,,5,L7OK,200,13,0,5,0,0,0,0,,,,5,"
    "0,0,,,,,0,,,0,0,1,2,,,,Layer7 check passed,,2,3,4,,,,127.0.0.1:18083,,http,,,,,,,,0,5,0,,,0,,0,0,3,3,0,0,0,0,1,10"
    ",,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
    "\n")


# ---------------------------------------------------------------- the fake

class FakeRuntimeApi(object):
    """A fake HAProxy 2.6 stats socket: one command per connection, HAProxy's answers and error strings.

    ``backends``: {backend: OrderedDict(server: weight)}. ``answers``: {command: answer} that override the
    emulation. ``ignore_sets``: set commands succeed but change nothing. ``silent``: never answer.
    """

    def __init__(self, backends=None, answers=None, ignore_sets=False, silent=False, tcp=False):
        self.backends = backends if backends is not None else {
            "inference": OrderedDict([("primary", 100), ("canary", 0)])}
        self.answers = dict(answers or {})
        self.ignore_sets = ignore_sets
        self.silent = silent
        self.commands = []
        self._dir = tempfile.mkdtemp(prefix="fake-haproxy-", dir="/tmp")  # short: unix socket paths are limited
        if tcp:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.bind(("127.0.0.1", 0))
            self.address = "tcp:127.0.0.1:%d" % self.sock.getsockname()[1]
        else:
            self.address = os.path.join(self._dir, "admin.sock")
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(self.address)
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._halt.is_set():
            try:
                conn, _addr = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                data = b""
                while not data.endswith(b"\n"):
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                command = data.decode().strip()
                self.commands.append(command)
                if self.silent:
                    self._halt.wait(3)
                    continue
                conn.sendall(self.answer(command).encode())

    def answer(self, command):
        if command in self.answers:
            return self.answers[command]
        words = command.split()
        if words[:3] == ["show", "servers", "state"] and len(words) == 4:
            servers = self.backends.get(words[3])
            if servers is None:
                return "Can't find backend.\n\n"
            rows = ["3 %s %d %s 127.0.0.1 2 0 %d 100 5 15 3 4 6 0 0 0 - %d - 0 0 - - 0"
                    % (words[3], number, name, weight, 18080 + number)
                    for number, (name, weight) in enumerate(servers.items(), start=1)]
            return "1\n%s\n%s\n\n" % (HEADER, "\n".join(rows))
        if command == "show backend":
            return "# name\n%s\n\n" % "\n".join(self.backends)
        if words[:2] == ["set", "server"] and len(words) == 5 and words[3] == "weight":
            backend, _sep, server = words[2].partition("/")
            if backend not in self.backends:
                return "No such backend.\n\n"
            if server not in self.backends[backend]:
                return "No such server.\n\n"
            if not words[4].isdigit() or int(words[4]) > 256:
                return "Absolute weight can only be between 0 and 256 inclusive.\n\n"
            if not self.ignore_sets:
                self.backends[backend][server] = int(words[4])
            return "\n"
        return "Unknown command, but maybe one of the following ones is a better match:\n  help\n\n"

    def sets(self):
        return [c for c in self.commands if c.startswith("set ")]

    def close(self):
        self._halt.set()
        self.sock.close()
        self._thread.join(timeout=10)
        shutil.rmtree(self._dir, ignore_errors=True)


@pytest.fixture
def fake():
    made = []

    def make(**kwargs):
        server = FakeRuntimeApi(**kwargs)
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()


def weights_task(fake_api, weights, backend="inference", **kwargs):
    return hx.set_backend_weights(hx.HaproxyRuntime(fake_api.address, timeout=5), backend, weights, **kwargs)


# ---------------------------------------------------------------- parsing real answers

def test_servers_state_of_a_real_haproxy_is_read_by_field_name():
    rows = hx.parse_servers_state(SERVERS_STATE)
    assert [(r["be_name"], r["srv_name"], r["srv_uweight"], r["srv_iweight"], r["srv_op_state"], r["srv_port"])
            for r in rows] == [("inference", "primary", "100", "100", "0", "18081"),
                               ("inference", "canary", "10", "0", "2", "18083")]
    assert len(rows[0]) == 25
    assert hx.weights_of(rows, "inference") == OrderedDict([("primary", 100), ("canary", 10)])
    assert hx.weights_of(rows, "other") == OrderedDict()


def test_servers_state_fields_are_found_by_the_header_not_by_position():
    lines = SERVERS_STATE.splitlines()
    fields = lines[1][2:].split()
    order = list(reversed(range(len(fields))))
    shuffled = ["1", "# " + " ".join(fields[i] for i in order)]
    shuffled += [" ".join(line.split()[i] for i in order) for line in lines[2:] if line]
    rows = hx.parse_servers_state("\n".join(shuffled) + "\n\n")
    assert hx.weights_of(rows, "inference") == OrderedDict([("primary", 100), ("canary", 10)])
    assert rows[1]["srv_port"] == "18083"


@pytest.mark.parametrize("text, message", [
    ("Can't find backend.\n\n", "unexpected answer \"Can't find backend.\""),
    ("", "unexpected answer ''"),
    ("2\n" + HEADER + "\n", "format version 2 is not supported (only 1)"),
    ("1\n3 inference 1 primary\n", "the answer has no header line after the format version"),
    ("1\n" + HEADER + "\n3 inference 1 primary 127.0.0.1 0 0 100\n",
     "line 3 has 8 values for the 25 fields of the header: '3 inference 1 primary 127.0.0.1 0 0 100'"),
])
def test_answers_that_are_not_servers_state_are_refused(text, message):
    with pytest.raises(hx.HaproxyCommandError) as err:
        hx.parse_servers_state(text)
    assert str(err.value) == message


def test_show_stat_of_a_real_haproxy():
    rows = dict(((r["pxname"], r["svname"]), r) for r in hx.parse_stat(STAT))
    assert sorted(rows) == [("canary_router", "FRONTEND"), ("inference", "canary"), ("inference", "primary")]
    canary, primary = rows[("inference", "canary")], rows[("inference", "primary")]
    assert (canary["stot"], canary["hrsp_2xx"], canary["weight"], canary["status"]) == ("5", "5", "10", "UP")
    assert (primary["stot"], primary["status"], primary["check_desc"]) == ("0", "DOWN 1/2", "Layer7 check passed")
    with pytest.raises(hx.HaproxyCommandError) as err:
        hx.parse_stat("Permission denied\n\n")
    assert str(err.value) == "unexpected answer 'Permission denied'"


def test_shares_are_percent_of_the_total_weight():
    assert hx.shares(OrderedDict([("primary", 90), ("canary", 10)])) == {"primary": 90.0, "canary": 10.0}
    assert hx.shares(OrderedDict([("a", 1), ("b", 2)])) == {"a": 33.33, "b": 66.67}
    assert hx.shares(OrderedDict([("primary", 0), ("canary", 0)])) == {"primary": 0.0, "canary": 0.0}


def test_raised_weights_are_set_before_lowered_ones():
    current = {"primary": 100, "canary": 0, "other": 5}
    assert list(hx.plan_weights(current, {"primary": 0, "canary": 100, "other": 5}).items()) == [
        ("canary", 100), ("primary", 0)]
    assert list(hx.plan_weights(current, {"primary": 100, "canary": 0}).items()) == []


# ---------------------------------------------------------------- input

@pytest.mark.parametrize("address, parsed", [
    ("/run/haproxy/admin.sock", ("unix", "/run/haproxy/admin.sock")),
    ("tcp:127.0.0.1:9999", ("tcp", ("127.0.0.1", 9999))),
    ("tcp:[::1]:9999", ("tcp", ("::1", 9999))),
])
def test_socket_addresses(address, parsed):
    assert hx.parse_address(address) == parsed


def test_a_socket_path_with_a_tilde_is_expanded(monkeypatch):
    monkeypatch.setenv("HOME", "/home/mlops")
    assert hx.parse_address("~/admin.sock") == ("unix", "/home/mlops/admin.sock")


@pytest.mark.parametrize("address", ["tcp:127.0.0.1", "tcp:127.0.0.1:0", "tcp::9999", "tcp:127.0.0.1:http"])
def test_bad_tcp_addresses_are_refused(address):
    with pytest.raises(ApiInvalidParameterError) as err:
        hx.parse_address(address)
    assert str(err.value) == "socket %r is not tcp:<host>:<port> (for example tcp:127.0.0.1:9999)" % address


@pytest.mark.parametrize("weight, value", [(0, 0), (256, 256), ("10", 10), (" 7 ", 7), (50.0, 50)])
def test_weights_accepted(weight, value):
    assert hx.check_weight("canary", weight) == value


@pytest.mark.parametrize("weight", [257, -1, "abc", "", True, 10.5, None, [10]])
def test_bad_weights_are_refused_with_the_server_named(fake, weight):
    api = fake()
    with pytest.raises(ApiInvalidParameterError) as err:
        weights_task(api, {"primary": 90, "canary": weight})
    assert str(err.value) == "weights: the weight of server 'canary' must be an integer from 0 to 256, got %r" % (
        weight,)
    assert api.commands == []


@pytest.mark.parametrize("backend, weights, message", [
    ("in ference", {"primary": 1}, "backend 'in ference' is not a name HAProxy accepts"),
    ("inference", {"a/b": 1}, "server 'a/b' is not a name HAProxy accepts"),
    ("inference", {"primary;shutdown sessions": 1}, "server 'primary;shutdown sessions' is not a name HAProxy accepts"),
    ("", {"primary": 1}, "backend '' is not a name HAProxy accepts"),
])
def test_bad_names_are_refused_before_any_command(fake, backend, weights, message):
    api = fake()
    with pytest.raises(ApiInvalidParameterError) as err:
        weights_task(api, weights, backend=backend)
    assert str(err.value) == message + ": use 1-100 letters, digits, '_', '.', ':' or '-'"
    assert api.commands == []


def test_empty_weights_are_refused(fake):
    api = fake()
    with pytest.raises(ApiInvalidParameterError) as err:
        weights_task(api, {})
    assert str(err.value) == "weights must name at least one server of backend 'inference' with its weight"
    assert api.commands == []


def test_a_timeout_must_be_positive():
    with pytest.raises(ApiInvalidParameterError) as err:
        hx.HaproxyRuntime("/run/haproxy/admin.sock", timeout=0)
    assert str(err.value) == "timeout must be a positive number of seconds, got 0"


# ---------------------------------------------------------------- the client against the fake

def test_the_client_reads_weights_and_sets_one(fake):
    api = fake()
    client = hx.HaproxyRuntime(api.address, timeout=5)
    assert client.weights("inference") == OrderedDict([("primary", 100), ("canary", 0)])
    client.set_weight("inference", "canary", 10)
    assert client.weights("inference") == OrderedDict([("primary", 100), ("canary", 10)])
    assert api.commands == ["show servers state inference", "set server inference/canary weight 10",
                            "show servers state inference"]


def test_the_client_over_tcp(fake):
    api = fake(tcp=True)
    assert hx.HaproxyRuntime(api.address, timeout=5).weights("inference") == {"primary": 100, "canary": 0}


def test_show_stat_through_the_client(fake):
    api = fake(answers={"show stat": STAT})
    rows = hx.HaproxyRuntime(api.address, timeout=5).stat()
    assert [(r["pxname"], r["svname"], r["stot"]) for r in rows] == [
        ("canary_router", "FRONTEND", "5"), ("inference", "primary", "0"), ("inference", "canary", "5")]


@pytest.mark.parametrize("answer, error, message", [
    ("No such server.\n\n", ApiNotFoundError, "HAProxy at {sock} has no server 'canary' in backend 'inference'"),
    ("No such backend.\n\n", ApiNotFoundError, "HAProxy at {sock} has no backend 'inference'"),
    ("Permission denied\n\n", hx.HaproxyCommandError,
     "HAProxy at {sock} refused 'set server inference/canary weight 10': Permission denied (the stats socket must "
     "be declared with 'level admin')"),
    ("Absolute weight can only be between 0 and 256 inclusive.\n\n", hx.HaproxyCommandError,
     "HAProxy at {sock} refused 'set server inference/canary weight 10': Absolute weight can only be between 0 and "
     "256 inclusive."),
])
def test_command_errors_become_typed_errors(fake, answer, error, message):
    api = fake(answers={"set server inference/canary weight 10": answer})
    with pytest.raises(error) as err:
        hx.HaproxyRuntime(api.address, timeout=5).set_weight("inference", "canary", 10)
    assert str(err.value) == message.format(sock=api.address)


def test_an_unknown_backend_is_named_with_the_backends_there_are(fake):
    api = fake(backends={"inference": OrderedDict([("primary", 100)]), "shadow": OrderedDict([("canary", 0)])})
    with pytest.raises(ApiNotFoundError) as err:
        weights_task(api, {"primary": 1}, backend="nope")
    assert str(err.value) == ("HAProxy at %s has no backend 'nope' (its backends: inference, shadow); no weight was "
                              "changed" % api.address)
    assert api.commands == ["show servers state nope", "show backend"]


def test_the_client_reads_the_names_of_the_backends(fake):
    api = fake(answers={"show backend": "# name\ninference\n\n"})
    assert hx.HaproxyRuntime(api.address, timeout=5).backends() == ["inference"]  # HAProxy 2.6's real answer
    api.answers["show backend"] = "Unknown command\n\n"
    with pytest.raises(hx.HaproxyCommandError) as err:
        hx.HaproxyRuntime(api.address, timeout=5).backends()
    assert str(err.value) == ("HAProxy at %s: cannot read its answer to 'show backend': unexpected answer "
                              "'Unknown command'" % api.address)


def test_an_answer_that_is_not_servers_state_is_named(fake):
    api = fake(answers={"show servers state inference": "Permission denied\n\n"})
    with pytest.raises(hx.HaproxyCommandError) as err:
        hx.HaproxyRuntime(api.address, timeout=5).weights("inference")
    assert str(err.value) == ("HAProxy at %s: cannot read its answer to 'show servers state inference': unexpected "
                              "answer 'Permission denied'" % api.address)


def test_a_missing_socket_cannot_be_reached(tmp_path):
    path = str(tmp_path / "missing.sock")
    with pytest.raises(ApiConnectionError) as err:
        hx.HaproxyRuntime(path, timeout=2).weights("inference")
    assert str(err.value) == "Cannot reach the HAProxy runtime API at %s: [Errno 2] No such file or directory" % path


def test_a_closed_tcp_port_cannot_be_reached():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ApiConnectionError) as err:
        hx.HaproxyRuntime("tcp:127.0.0.1:%d" % port, timeout=2).weights("inference")
    assert str(err.value) == ("Cannot reach the HAProxy runtime API at tcp:127.0.0.1:%d: [Errno 111] Connection "
                              "refused" % port)


def test_a_socket_that_never_answers_times_out(fake):
    api = fake(silent=True)
    with pytest.raises(ApiConnectionError) as err:
        hx.HaproxyRuntime(api.address, timeout=1).weights("inference")
    assert str(err.value) == ("Cannot reach the HAProxy runtime API at %s: no complete answer to "
                              "'show servers state inference' within 1 s" % api.address)


# ---------------------------------------------------------------- the task against the fake

def test_unknown_servers_are_refused_before_any_set(fake):
    api = fake()
    with pytest.raises(ApiNotFoundError) as err:
        weights_task(api, {"primary": 0, "canari": 100, "shadow": 1})
    assert str(err.value) == ("HAProxy backend 'inference' has no server 'canari', 'shadow' (its servers: primary, "
                              "canary); no weight was changed")
    assert api.commands == ["show servers state inference"]
    assert api.backends["inference"] == {"primary": 100, "canary": 0}


def test_only_the_weights_that_differ_are_set_raised_first_then_read_back(fake):
    api = fake(backends={"inference": OrderedDict([("primary", 100), ("canary", 0), ("shadow", 5)])})
    result = weights_task(api, {"primary": 0, "canary": "100", "shadow": 5}, want_diff=True)
    assert api.commands == ["show servers state inference", "set server inference/canary weight 100",
                            "set server inference/primary weight 0", "show servers state inference"]
    assert result == {
        "changed": True,
        "backend": "inference",
        "weights": {"primary": 0, "canary": 100, "shadow": 5},
        "previous": {"primary": 100, "canary": 0, "shadow": 5},
        "share": {"primary": 0.0, "canary": 95.24, "shadow": 4.76},
        "changed_servers": ["canary", "primary"],
        "diff": {"before": {"weights": {"primary": 100, "canary": 0, "shadow": 5}},
                 "after": {"weights": {"primary": 0, "canary": 100, "shadow": 5}}},
    }


def test_servers_left_out_keep_their_weight(fake):
    api = fake()
    result = weights_task(api, {"canary": 25})
    assert result["weights"] == {"primary": 100, "canary": 25} and result["share"] == {"primary": 80.0, "canary": 20.0}
    assert api.sets() == ["set server inference/canary weight 25"]


def test_the_same_weights_again_change_nothing(fake):
    api = fake()
    result = weights_task(api, {"primary": 100, "canary": 0})
    assert (result["changed"], result["changed_servers"], result["weights"], result["previous"]) == (
        False, [], {"primary": 100, "canary": 0}, {"primary": 100, "canary": 0})
    assert api.commands == ["show servers state inference"]


def test_check_mode_reports_the_change_and_sets_nothing(fake):
    api = fake()
    result = weights_task(api, {"primary": 90, "canary": 10}, check_mode=True, want_diff=True)
    assert (result["changed"], result["weights"], result["previous"], result["share"], result["changed_servers"]) == (
        True, {"primary": 90, "canary": 10}, {"primary": 100, "canary": 0}, {"primary": 90.0, "canary": 10.0},
        ["canary", "primary"])
    assert result["diff"]["after"] == {"weights": {"primary": 90, "canary": 10}}
    assert api.commands == ["show servers state inference"]
    assert api.backends["inference"] == {"primary": 100, "canary": 0}


def test_a_weight_haproxy_did_not_take_is_reported(fake):
    api = fake(ignore_sets=True)
    with pytest.raises(hx.HaproxyCommandError) as err:
        weights_task(api, {"primary": 90, "canary": 10})
    assert str(err.value) == ("After setting the weights of backend 'inference', HAProxy at %s reports: primary is "
                              "100, not 90; canary is 0, not 10" % api.address)


def test_a_set_that_fails_half_way_says_what_it_changed(fake):
    api = fake(answers={"set server inference/primary weight 0": "Permission denied\n\n"})
    with pytest.raises(hx.HaproxyCommandError) as err:
        weights_task(api, {"primary": 0, "canary": 100})
    assert str(err.value) == (
        "HAProxy at %s refused 'set server inference/primary weight 0': Permission denied (the stats socket must be "
        "declared with 'level admin'); weights set before the error: canary=100 (was 0)" % api.address)
    assert api.backends["inference"] == {"primary": 100, "canary": 100}


def test_a_first_set_that_fails_says_nothing_changed(fake):
    api = fake(answers={"set server inference/canary weight 10": "Permission denied\n\n"})
    with pytest.raises(hx.HaproxyCommandError) as err:
        weights_task(api, {"primary": 90, "canary": 10})
    assert str(err.value).endswith("(the stats socket must be declared with 'level admin'); no weight was changed")
