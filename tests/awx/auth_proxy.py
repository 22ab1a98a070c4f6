"""A stand-in for the authentication in front of MLflow (MLflow's basic-auth app, an OAuth proxy...): a loopback
reverse proxy that forwards a request to the real MLflow server only when it carries the credentials it was given
(HTTP basic or a bearer token), and answers 401 itself otherwise. The local platform's MLflow has no
authentication; this is what makes the credential an AWX job gets matter. It counts what it let through and what
it refused.

It runs as a process of its own (``AuthProxyProcess``): the test process starts ansible-runner jobs through a pty
fork, and a fork in a multi-threaded process can deadlock. Its counters answer at /__stand-in__/counts and
/__stand-in__/reset, without credentials (the jobs never ask for them)."""

import base64
import http.client
import http.server
import json
import os
import subprocess
import sys
import threading
import urllib.request

HOP_BY_HOP = ("connection", "keep-alive", "transfer-encoding", "content-length", "server", "date", "host")


class AuthProxy:
    def __init__(self, upstream_port, username=None, password=None, token=None):
        self.upstream_port = upstream_port
        accepted = set()
        if username:
            accepted.add("Basic " + base64.b64encode(("%s:%s" % (username, password)).encode()).decode())
        if token:
            accepted.add("Bearer " + token)
        self.accepted = accepted
        self.lock = threading.Lock()
        self.passed = 0
        self.refused = []  # (method, path) of every refused request
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _body(self):
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else None

            def _answer(self, status, headers, data):
                self.send_response(status)
                for key, value in headers:
                    if key.lower() not in HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self):
                body = self._body()
                if self.path in ("/__stand-in__/counts", "/__stand-in__/reset"):
                    if self.path.endswith("reset"):
                        proxy.reset()
                    passed, refused = proxy.counts()
                    payload = json.dumps({"passed": passed, "refused": refused}).encode()
                    self._answer(200, [("Content-Type", "application/json")], payload)
                    return
                if self.headers.get("Authorization") not in proxy.accepted:
                    with proxy.lock:
                        proxy.refused.append((self.command, self.path))
                    payload = json.dumps({"error_code": "UNAUTHENTICATED",
                                          "message": "You are not authenticated (auth stand-in)"}).encode()
                    self._answer(401, [("Content-Type", "application/json"), ("WWW-Authenticate", 'Basic realm="mlflow"')],
                                 payload)
                    return
                with proxy.lock:
                    proxy.passed += 1
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=120)
                try:
                    headers = dict((k, v) for k, v in self.headers.items()
                                   if k.lower() not in ("host", "connection", "authorization"))
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    self._answer(resp.status, resp.getheaders(), resp.read())
                finally:
                    conn.close()

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = do_HEAD = _handle

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.uri = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def counts(self):
        with self.lock:
            return self.passed, list(self.refused)

    def reset(self):
        with self.lock:
            self.passed, self.refused = 0, []

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class AuthProxyProcess:
    """An AuthProxy in a child process; the credentials go to it on stdin, never on its command line."""

    def __init__(self, upstream_port, username=None, password=None, token=None):
        self.args = {"upstream_port": upstream_port, "username": username, "password": password, "token": token}
        self.proc = None
        self.uri = None

    def __enter__(self):
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.proc.stdin.write(json.dumps(self.args) + "\n")
        self.proc.stdin.flush()
        self.uri = self.proc.stdout.readline().strip()
        if not self.uri.startswith("http://127.0.0.1:"):
            raise RuntimeError("the auth stand-in did not start (it said %r)" % self.uri)
        return self

    def _call(self, path, data=None):
        with urllib.request.urlopen(urllib.request.Request(self.uri + path, data=data), timeout=10) as resp:
            return json.load(resp)

    def counts(self):
        found = self._call("/__stand-in__/counts")
        return found["passed"], [tuple(r) for r in found["refused"]]

    def reset(self):
        self._call("/__stand-in__/reset", data=b"")

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def main():
    args = json.loads(sys.stdin.readline())
    proxy = AuthProxy(args["upstream_port"], username=args["username"], password=args["password"], token=args["token"])
    print(proxy.uri, flush=True)
    proxy.server.serve_forever()


if __name__ == "__main__":
    main()
