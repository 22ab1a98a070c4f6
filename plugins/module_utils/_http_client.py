# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one HTTP layer of mlops.platform.

Private to the collection. Every client of a service the collection talks to
(MLflow, MLServer, Prometheus) is a subclass of ``ApiClient``; none opens a
connection of its own. The base owns:

* the connection: base URL, basic or bearer auth, TLS options, timeout;
* retries: equal-jitter exponential backoff on connection errors, HTTP 429 and
  5xx only, honouring a numeric ``Retry-After``; opt-in (``retries=0`` by default);
* error mapping: HTTP statuses (and a service's own error codes, through
  ``classify``) become typed exceptions whose messages never contain credentials.

A subclass says what the service is called in messages (``service``), which
option holds its URL (``url_option``), how its error bodies read
(``parse_error_body``) and how its codes map to the exceptions (``classify``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import io
import json
import random
import re
import socket
import ssl
import threading
import time

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import urlencode, urlsplit, urlunsplit
from ansible.module_utils.six.moves import http_client
from ansible.module_utils.six.moves.http_client import HTTPException
from ansible.module_utils.urls import Request, make_context

RETRYABLE_STATUS = frozenset([429, 500, 502, 503, 504])


def _open_takes_context():
    """Whether ``Request.open`` accepts an SSL ``context`` (ansible-core 2.17+; 2.16 builds one per request)."""
    try:
        from inspect import signature
        return "context" in signature(Request.open).parameters
    except (ImportError, TypeError, ValueError):
        return False


OPEN_TAKES_CONTEXT = _open_takes_context()


class ApiError(Exception):
    """Base of every error a client raises. ``str()`` is safe to show a user."""

    def __init__(self, message, error_code=None, status=None):
        super(ApiError, self).__init__(message)
        self.message = message
        self.error_code = error_code
        self.status = status

    def __str__(self):
        return self.message


class ApiConnectionError(ApiError):
    """The server could not be reached (refused, timed out, TLS failure)."""


class ApiAuthError(ApiError):
    """HTTP 401 or 403: missing, wrong or insufficient credentials."""


class ApiNotFoundError(ApiError):
    """The thing asked for does not exist."""


class ApiAlreadyExistsError(ApiError):
    """A create call found the resource already there."""


class ApiInvalidParameterError(ApiError):
    """The server (or the client, before sending) rejected a parameter."""


class ApiServerError(ApiError):
    """HTTP 429 or 5xx that outlived the retries, or an unreadable response."""


def redact_url(url):
    """Drop any user:password@ part and the query of a URL before it goes into a message."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def backoff_delay(attempt, base, cap, rand=random.random):
    """Delay before retry number ``attempt`` (0-based): equal jitter on base * 2**attempt.

    The delay lies in [d/2, d] where d = min(cap, base * 2**attempt), so it grows
    with every attempt yet two clients never retry in lock-step.
    """
    ceiling = min(float(cap), float(base) * (2 ** attempt))
    return ceiling / 2.0 + rand() * ceiling / 2.0


def retry_after(headers, cap):
    """Seconds from a numeric Retry-After header, capped; None when absent or a date."""
    if headers is None:
        return None
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return min(float(cap), max(0.0, float(value)))
    except ValueError:
        return None


def classify_status(status):
    """The exception class for an HTTP status alone."""
    if status in (401, 403):
        return ApiAuthError
    if status == 404:
        return ApiNotFoundError
    if status == 409:
        return ApiAlreadyExistsError
    if status is not None and (status == 429 or status >= 500):
        return ApiServerError
    if status is not None and 400 <= status < 500:
        return ApiInvalidParameterError
    return ApiError


class Retryable(Exception):
    """Internal carrier: an error that may succeed on another attempt."""

    def __init__(self, error, delay=None):
        super(Retryable, self).__init__(str(error))
        self.error = error
        self.retry_after = delay


def query_items(params):
    """A params dict as (key, value) pairs for a query string; lists repeat the key, None drops it."""
    items = []
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            items.extend((key, v) for v in value)
        else:
            items.append((key, value))
    return items


class ApiClient(object):
    """A small JSON-over-HTTP client. One instance per module run."""

    #: What the service is called in messages ("Cannot reach the <service> at ...").
    service = "server"
    #: The service with its article: "is <url> a server?" when an answer is not JSON.
    service_a = "a server"
    #: What the URL option must point at: "url must be an http:// or https:// URL of <url_of>".
    url_of = "a server"
    #: The module option that holds the base URL, named in messages about it.
    url_option = "url"

    def __init__(self, base_url, username=None, password=None, token=None,
                 validate_certs=True, ca_path=None, client_cert=None, timeout=30, client_key=None,
                 retries=0, backoff_base=0.5, backoff_max=10.0, sleep=time.sleep, keep_alive=False):
        if not base_url:
            raise ApiInvalidParameterError("%s is required" % self.url_option)
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ApiInvalidParameterError(
                "%s must be an http:// or https:// URL of %s, got %r"
                % (self.url_option, self.url_of, redact_url(base_url)))
        if parts.username is not None or parts.password is not None:
            raise ApiInvalidParameterError(
                "%s must not carry credentials; use username/password or token instead" % self.url_option)
        if token and (username or password):
            raise ApiInvalidParameterError(
                "token and username/password are mutually exclusive: choose bearer or basic auth")
        if bool(username) != bool(password):
            raise ApiInvalidParameterError("username and password must be given together")
        if retries < 0:
            raise ApiInvalidParameterError("retries must be 0 or more, got %d" % retries)
        if timeout <= 0:
            raise ApiInvalidParameterError("timeout must be a positive number of seconds, got %s" % timeout)
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.timeout = timeout
        self.request_count = 0
        self.has_credentials = bool(token or username)
        self._sleep = sleep
        self._tls = dict(cafile=ca_path, validate_certs=validate_certs, client_cert=client_cert, client_key=client_key)
        self._ssl_context = None
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            headers["Authorization"] = "Bearer %s" % token
        # keep_alive: one persistent connection per thread (http.client) instead of one connection per request -
        # for a client that sends hundreds of small requests (the Kubernetes client applies object by object).
        self.keep_alive = keep_alive
        self._local = threading.local()
        self._headers = dict(headers)
        if username:
            pair = ("%s:%s" % (username, password)).encode("utf-8")
            self._headers["Authorization"] = "Basic %s" % base64.b64encode(pair).decode("ascii")
        self._request = Request(
            headers=headers,
            validate_certs=validate_certs,
            ca_path=ca_path,
            client_cert=client_cert,
            client_key=client_key,
            url_username=username or None,
            url_password=password or None,
            force_basic_auth=bool(username),
            timeout=timeout,
            follow_redirects="safe",
            use_netrc=False,
        )

    # -- transport ---------------------------------------------------------

    def ssl_context(self):
        """One TLS context for every request of this client.

        ``Request.open`` would build a new one per request - loading the CA store each time, about 20 ms. A plain
        http:// server gets a context that is never used (and, holding no CA, refuses any https:// redirect).
        """
        if self._ssl_context is None:
            if urlsplit(self.base_url).scheme == "https":
                self._ssl_context = make_context(**self._tls)
            else:
                self._ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        return self._ssl_context

    def url(self, path, params=None):
        url = "%s/%s" % (self.base_url, path.lstrip("/"))
        if params:
            url = "%s?%s" % (url, urlencode(query_items(params)))
        return url

    def request(self, method, path, params=None, body=None, raw=False, timeout=None, form=None, text=None,
                text_type="text/plain"):
        """Call ``<base_url>/<path>``; return the decoded JSON object (``raw=True``: the bytes).

        ``params`` go into the query string, ``body`` is sent as JSON, ``form`` as
        application/x-www-form-urlencoded, ``text`` as it is with the content type ``text_type``.
        Retries apply to connection errors, 429 and 5xx only; everything else raises at once.
        """
        url = self.url(path, params)
        headers = None
        if text is not None:
            data = text
            headers = {"Content-Type": text_type}
        elif form is not None:
            data = urlencode(query_items(form))
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
        else:
            data = json.dumps(body) if body is not None else None
        attempt = 0
        while True:
            try:
                return self._once(method, url, data, raw, timeout, headers)
            except Retryable as exc:
                if attempt >= self.retries:
                    raise exc.error
                delay = exc.retry_after
                if delay is None:
                    delay = backoff_delay(attempt, self.backoff_base, self.backoff_max)
                self._sleep(delay)
                attempt += 1

    def _once(self, method, url, data, raw, timeout, headers):
        self.request_count += 1
        where = "%s %s" % (method, redact_url(url))
        if self.keep_alive:
            return self._decode(self._send_kept(method, url, data, timeout, headers, where), raw, where)
        try:
            # One TLS context for every request where Request.open takes one; on ansible-core 2.16 it builds its own.
            extra = {"context": self.ssl_context()} if OPEN_TAKES_CONTEXT else {}
            response = self._request.open(method, url, data=data, timeout=timeout or self.timeout, headers=headers,
                                          **extra)
            content = response.read()
        except HTTPError as exc:
            raise self._http_error(exc, where)
        except URLError as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, ssl.SSLError):
                raise ApiConnectionError(
                    "TLS error talking to %s: %s. Set ca_path to the server's CA bundle, "
                    "or validate_certs=false to skip verification" % (redact_url(self.base_url), reason))
            raise Retryable(ApiConnectionError(self.unreachable_message(reason)))
        except ssl.SSLError as exc:
            raise ApiConnectionError("TLS error talking to %s: %s" % (redact_url(self.base_url), exc))
        except (socket.timeout, ConnectionError, HTTPException, OSError) as exc:
            raise Retryable(ApiConnectionError(self.unreachable_message(exc or type(exc).__name__)))
        return self._decode(content, raw, where)

    def _kept_connection(self, timeout):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            parts = urlsplit(self.base_url)
            if parts.scheme == "https":
                conn = http_client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=timeout,
                                                   context=self.ssl_context())
            else:
                conn = http_client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
            self._local.conn = conn
            self._local.used = False
        return conn

    def _drop_connection(self):
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
        self._local.conn = None

    def _send_kept(self, method, url, data, timeout, headers, where):
        """One request on this thread's persistent connection; the body of a 2xx answer."""
        parts = urlsplit(url)
        target = parts.path + ("?" + parts.query if parts.query else "")
        sent = dict(self._headers)
        sent.update(headers or {})
        body = data.encode("utf-8") if isinstance(data, str) else data
        for attempt in (0, 1):
            conn = self._kept_connection(timeout or self.timeout)
            reused = self._local.used
            try:
                conn.request(method, target, body=body, headers=sent)
                response = conn.getresponse()
                content = response.read()
                self._local.used = True
            except ssl.SSLError as exc:
                self._drop_connection()
                raise ApiConnectionError(
                    "TLS error talking to %s: %s. Set ca_path to the server's CA bundle, "
                    "or validate_certs=false to skip verification" % (redact_url(self.base_url), exc))
            except (socket.timeout, ConnectionError, HTTPException, OSError) as exc:
                self._drop_connection()
                if reused and attempt == 0 and not isinstance(exc, socket.timeout):
                    continue  # the server closed an idle kept connection: once more on a new one
                raise Retryable(ApiConnectionError(self.unreachable_message(exc or type(exc).__name__)))
            if response.getheader("Connection", "").lower() == "close":
                self._drop_connection()
            if response.status >= 400:
                raise self._http_error(HTTPError(url, response.status, response.reason, response.msg,
                                                 io.BytesIO(content)), where)
            return content

    def _decode(self, content, raw, where):
        if raw:
            return content
        if not content:
            return {}
        try:
            decoded = json.loads(content)
        except ValueError:
            raise ApiServerError("%s returned a response that is not JSON (is %s %s?)"
                                 % (where, redact_url(self.base_url), self.service_a))
        if not isinstance(decoded, dict):
            raise ApiServerError("%s returned JSON that is not an object" % where)
        return decoded

    def unreachable_message(self, reason):
        return "Cannot reach the %s at %s: %s" % (self.service, redact_url(self.base_url), reason)

    # -- errors ------------------------------------------------------------

    def parse_error_body(self, payload):
        """(error_code, message) from a decoded JSON error body; override per service."""
        return payload.get("error_code"), payload.get("message") or payload.get("error")

    def classify(self, status, error_code, detail):
        """The exception class for a failed call; override to map a service's own codes."""
        return classify_status(status)

    def auth_hint(self, status):
        if status == 403:
            return "the credentials lack permission for this call"
        if self.has_credentials:
            return "the server rejected the credentials"
        return "the server requires authentication: set username/password or token"

    def describe_error(self, status, error_code, detail, where):
        """The message of a failed call (not 401/403); override to add service hints."""
        return "%s: %s%s" % (where, "%s: " % error_code if error_code else "HTTP %d: " % status, detail)

    def _http_error(self, exc, where):
        status = exc.code
        try:
            content = exc.read()
        except (OSError, HTTPException, ValueError):  # a broken error body must not hide the status
            content = b""
        error_code = None
        detail = None
        try:
            payload = json.loads(content) if content else {}
            if isinstance(payload, dict):
                error_code, detail = self.parse_error_body(payload)
        except ValueError:
            payload = None
        if detail is None:
            text = content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content)
            text = re.sub(r"<[^>]+>", " ", text)
            detail = " ".join(text.split())[:300] or (exc.reason if hasattr(exc, "reason") else "")
        if status in (401, 403):
            return ApiAuthError("%s: HTTP %d, %s (%s)" % (where, status, detail, self.auth_hint(status)),
                                error_code or ("UNAUTHENTICATED" if status == 401 else "PERMISSION_DENIED"),
                                status)
        cls = self.classify(status, error_code, detail)
        error = cls(self.describe_error(status, error_code, detail, where), error_code, status)
        if status in RETRYABLE_STATUS:
            return Retryable(error, retry_after(exc.headers, self.backoff_max))
        return error
