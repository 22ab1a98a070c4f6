"""A loopback HTTP proxy for fault and benchmark tests.

It forwards every request to an upstream on 127.0.0.1, counts requests, and can
answer the first ``fail_first`` requests itself with ``fail_status`` (503 by
default) without forwarding them, so the upstream never sees them.
"""

import http.client
import http.server
import threading


class FaultProxy:
    def __init__(self, upstream_port, fail_first=0, fail_status=503, retry_after=None, fail_methods=None):
        self.upstream_port = upstream_port
        self.fail_first = fail_first
        self.fail_methods = fail_methods  # None: any method; else only these methods are failed (and counted)
        self.failed = 0
        self.fail_status = fail_status
        self.retry_after = retry_after
        self.lock = threading.Lock()
        self.requests = []  # (method, path, answered_by) in arrival order
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                with proxy.lock:
                    eligible = proxy.fail_methods is None or self.command in proxy.fail_methods
                    fail = eligible and proxy.failed < proxy.fail_first
                    proxy.failed += 1 if fail else 0
                    proxy.requests.append((self.command, self.path, "proxy" if fail else "upstream"))
                if fail:
                    payload = b'{"error_code": "TEMPORARILY_UNAVAILABLE", "message": "injected by the fault proxy"}'
                    self.send_response(proxy.fail_status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    if proxy.retry_after is not None:
                        self.send_header("Retry-After", str(proxy.retry_after))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=60)
                headers = dict((k, v) for k, v in self.headers.items() if k.lower() not in ("host", "connection"))
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for key, value in resp.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.uri = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def count(self, answered_by=None):
        with self.lock:
            return len([r for r in self.requests if answered_by is None or r[2] == answered_by])

    def reset(self, fail_first=0):
        with self.lock:
            self.requests = []
            self.fail_first = fail_first
            self.failed = 0

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
