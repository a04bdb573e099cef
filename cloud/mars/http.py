"""A small, careful HTTP client for the NASA feeds (stdlib ``urllib`` only).

Every request has a connect timeout, a per-read timeout and an overall deadline, a maximum
download size, and a User-Agent naming the project. Timeouts, dropped connections and 5xx
answers are retried with exponential backoff; 4xx answers never are, except 429, whose
``Retry-After`` is honoured when it is short (and reported on the error when it is not, so the
cache can back off that long).
"""

from __future__ import annotations

import functools
import http.client
import json
import re
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

from cloud.mars.errors import BadData, UpstreamError

USER_AGENT = "mars-robot/0.1 (Mars weather display backend; PyPortal)"
CHUNK = 64 * 1024
_SECRET_QUERY = re.compile(r"((?:api_key|token|X-Amz-Signature)=)[^&]*", re.IGNORECASE)

#: ``observer(source, elapsed_ms, error)``: called once per :meth:`HttpClient.get`, ``error``
#: is ``None`` on success, else a short code such as ``"timeout"`` or ``"http_503"``.
Observer = Callable[[str, float, "str | None"], None]


@dataclass(frozen=True)
class HttpPolicy:
    """Limits of one client. The defaults suit a Lambda with a 30 s timeout."""

    connect_timeout_s: float = 4.0
    read_timeout_s: float = 10.0
    deadline_s: float = 25.0  # whole request including retries and backoff
    max_bytes: int = 25 * 1024 * 1024  # the REMS feed is several MB; photos are < 2 MB
    retries: int = 2
    backoff_s: float = 0.5
    max_retry_after_s: float = 10.0  # wait at most this long inside one request


@dataclass
class Response:
    status: int
    url: str  # after redirects
    headers: dict[str, str]  # lower-case names
    body: bytes
    elapsed_ms: float = 0.0


class _Retry(UpstreamError):
    """Internal: a retryable failure, possibly with a Retry-After in seconds."""

    def __init__(self, message: str, code: str, status: int | None = None,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message, status=status, retryable=True)
        self.code = code
        self.retry_after_s = retry_after_s


class _Connection(http.client.HTTPConnection):
    """Connects within ``timeout``, then waits at most ``read_timeout`` for each read."""

    def __init__(self, *args: Any, read_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read_timeout = read_timeout

    def connect(self) -> None:
        super().connect()
        self.sock.settimeout(self.read_timeout)


class _TlsConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, read_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read_timeout = read_timeout

    def connect(self) -> None:
        super().connect()
        self.sock.settimeout(self.read_timeout)


class _HttpHandler(urllib.request.HTTPHandler):
    def __init__(self, read_timeout: float) -> None:
        super().__init__()
        self.read_timeout = read_timeout

    def http_open(self, req):  # noqa: ANN001 - urllib's signature
        return self.do_open(functools.partial(_Connection, read_timeout=self.read_timeout), req)


class _HttpsHandler(urllib.request.HTTPSHandler):
    def __init__(self, read_timeout: float) -> None:
        super().__init__()
        self.read_timeout = read_timeout

    def https_open(self, req):  # noqa: ANN001 - urllib's signature
        return self.do_open(functools.partial(_TlsConnection, read_timeout=self.read_timeout),
                            req, context=self._context)


def redact(url: str) -> str:
    """``url`` with keys and signatures masked, safe for logs and error messages."""
    return _SECRET_QUERY.sub(r"\1***", url)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


@dataclass
class HttpClient:
    """GET with timeouts, size limit, retries and backoff.

    :param policy: the limits.
    :param sleep: how to wait between attempts (tests pass a fake).
    :param observer: told the latency and outcome of every request (metrics).
    """

    policy: HttpPolicy = field(default_factory=HttpPolicy)
    sleep: Callable[[float], None] = time.sleep
    observer: Observer | None = None

    def __post_init__(self) -> None:
        self._opener = urllib.request.build_opener(
            _HttpHandler(self.policy.read_timeout_s), _HttpsHandler(self.policy.read_timeout_s))

    def get(self, url: str, *, source: str = "http", accept: str = "*/*",
            max_bytes: int | None = None) -> Response:
        """Fetch ``url``; the answer is a 2xx :class:`Response` (redirects followed).

        :raises UpstreamError: on any failure, after the retries allowed.
        """
        started = time.monotonic()
        deadline = started + self.policy.deadline_s
        limit = max_bytes or self.policy.max_bytes
        attempt = 0
        outcome: str | None = "error"
        try:
            while True:
                try:
                    response = self._once(url, accept, limit, deadline)
                except _Retry as exc:
                    outcome = exc.code
                    delay = (exc.retry_after_s if exc.retry_after_s is not None
                             else self.policy.backoff_s * 2 ** attempt)
                    if (attempt >= self.policy.retries or delay > self.policy.max_retry_after_s
                            or time.monotonic() + delay >= deadline):
                        raise
                    attempt += 1
                    self.sleep(delay)
                    continue
                except UpstreamError as exc:
                    outcome = f"http_{exc.status}" if exc.status else "error"
                    raise
                outcome = None
                response.elapsed_ms = (time.monotonic() - started) * 1000
                return response
        finally:
            if self.observer is not None:
                self.observer(source, (time.monotonic() - started) * 1000, outcome)

    def get_json(self, url: str, *, source: str = "http", max_bytes: int | None = None) -> Any:
        """Fetch and parse a JSON document; decoding is lenient (NASA feeds hold U+FFFD).

        :raises UpstreamError: as :meth:`get`.
        :raises BadData: when the body is not JSON (an HTML error page, a truncated document).
        """
        response = self.get(url, source=source, accept="application/json", max_bytes=max_bytes)
        text = response.body.decode("utf-8", errors="replace")
        try:
            return json.loads(text)
        except ValueError:
            start = text.lstrip()[:40].replace("\n", " ")
            raise BadData(f"{source}: {redact(response.url)} did not answer JSON "
                          f"({len(response.body)} bytes starting {start!r})") from None

    def _once(self, address: str, accept: str, limit: int, deadline: float) -> Response:
        url = redact(address)  # what messages show: never the key
        request = urllib.request.Request(address, headers={"User-Agent": USER_AGENT,
                                                       "Accept": accept})
        try:
            with self._opener.open(request, timeout=self.policy.connect_timeout_s) as answer:
                headers = {k.lower(): v for k, v in answer.headers.items()}
                length = headers.get("content-length", "")
                if length.isdigit() and int(length) > limit:
                    raise UpstreamError(f"{url} is {length} bytes, over the {limit} byte limit")
                body = self._read(answer, url, limit, deadline)
                if length.isdigit() and len(body) < int(length):
                    # http.client returns a short body quietly when the peer hangs up early
                    raise _Retry(f"{url} broke off after {len(body)} of {length} bytes",
                                 "truncated")
                return Response(answer.status, answer.url, headers, body)
        except urllib.error.HTTPError as exc:
            status = exc.code
            exc.close()
            if status == 429:
                raise _Retry(f"{url} answered 429 (rate limited)", "http_429", status,
                             _retry_after(exc.headers.get("Retry-After"))) from None
            if status >= 500:
                raise _Retry(f"{url} answered {status}", f"http_{status}", status,
                             _retry_after(exc.headers.get("Retry-After"))) from None
            raise UpstreamError(f"{url} answered {status}", status=status) from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError | socket.timeout):
                raise _Retry(f"{url} timed out connecting", "timeout") from None
            if isinstance(exc.reason, socket.gaierror):
                # No DNS: no network at all (the laptop offline); retrying only delays the answer.
                raise UpstreamError(f"{url}: cannot resolve the host ({exc.reason})") from None
            if isinstance(exc.reason, OSError):
                raise _Retry(f"{url} unreachable: {exc.reason}", "unreachable") from None
            # bad redirect target, unknown scheme: not worth repeating
            raise UpstreamError(f"{url}: {exc.reason}") from None
        except TimeoutError:
            raise _Retry(f"{url} timed out reading", "timeout") from None
        except (http.client.HTTPException, ConnectionError) as exc:
            raise _Retry(f"{url} broke off: {type(exc).__name__}", "broken") from None

    @staticmethod
    def _read(answer: Any, url: str, limit: int, deadline: float) -> bytes:
        parts: list[bytes] = []
        size = 0
        while True:
            if time.monotonic() > deadline:
                raise _Retry(f"{url} took too long to download", "timeout")
            chunk = answer.read(CHUNK)
            if not chunk:
                return b"".join(parts)
            size += len(chunk)
            if size > limit:
                raise UpstreamError(f"{url} is over the {limit} byte limit")
            parts.append(chunk)
