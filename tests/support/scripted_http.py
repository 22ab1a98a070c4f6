"""A scripted HTTP server on 127.0.0.1 for the clients' unit tests: it answers from a list and records requests."""

import http.server
import json
import threading
from urllib.parse import parse_qs, urlsplit


class Scripted:
    """Answers each request with the next of ``responses`` - (status, body) or (status, body, headers); a body that is
    not bytes is sent as JSON; when they run out, 200 {}. ``requests`` holds a dict per request."""

    def __init__(self, responses):
        self.responses = list(responses)
        self.requests = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                owner.requests.append({
                    "method": self.command,
                    "path": urlsplit(self.path).path,
                    "query": parse_qs(urlsplit(self.path).query),
                    "body": json.loads(body) if body else None,
                    "headers": dict(self.headers),
                })
                answer = owner.responses.pop(0) if owner.responses else (200, {}, {})
                status, payload, headers = (tuple(answer) + ({},))[:3]
                raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_PATCH = do_DELETE = _answer

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.uri = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def scripted_servers():
    """For a fixture: (make(*responses) -> Scripted, close_all())."""
    servers = []

    def make(*responses):
        servers.append(Scripted(responses))
        return servers[-1]

    def close_all():
        for server in servers:
            server.close()

    return make, close_all
