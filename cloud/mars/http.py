"""A small, careful HTTP client for the NASA feeds and photos, on urllib3.

Connections are pooled and kept alive (NASA's feeds and photos share a host: one TLS handshake
per warm container, not per request). Every request has a connect timeout, a per-read timeout
and an overall deadline that holds on every read: a watchdog shuts the socket when the deadline
passes, so a server trickling one byte at a time cannot hold a request past it (a per-read
timeout never fires while bytes keep coming). urllib3's ``Retry`` repeats timeouts, dropped
connections and 5xx answers with exponential backoff, never past the deadline. A 429 is not
retried here: its ``Retry-After`` goes to the cache on :class:`UpstreamError`, which backs off
that long instead of holding a Lambda invocation. Only allowlisted URLs are fetched, redirects
included (:mod:`cloud.mars.allowlist`).

Keys travel in headers (``X-Api-Key``), never in URLs: urllib3 logs the URL of every retry at
WARNING, which Lambda's runtime sends to CloudWatch. Those headers go to the URL's own origin
only; a redirect to another origin is followed without them.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urljoin, urlsplit

import urllib3
from aws_lambda_powertools import Logger
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.util.retry import Retry

from cloud.mars.allowlist import Allowlist
from cloud.mars.errors import BadData, UpstreamError
from contracts import safejson

# a child of the handler's Powertools logger: JSON lines with its correlation id
log = Logger(service="mars", child=True)
USER_AGENT = "mars-robot/0.1 (Mars weather display backend; PyPortal)"
CHUNK = 64 * 1024
MAX_REDIRECTS = 5
RETRY_STATUSES = frozenset({500, 502, 503, 504})
_SECRET_QUERY = re.compile(r"((?:api_key|token|X-Amz-Signature)=)[^&]*", re.IGNORECASE)

#: ``observer(source, elapsed_ms, error)``: called once per :meth:`HttpClient.get`, ``error``
#: is ``None`` on success, else a short code such as ``"timeout"`` or ``"http_503"``.
Observer = Callable[[str, float, "str | None"], None]


@dataclass(frozen=True)
class HttpPolicy:
    """Limits of one client. ``deadline_s`` bounds a whole request, retries and backoff
    included, and stays well below the API function's Lambda timeout (``template.yaml``)."""

    connect_timeout_s: float = 3.0
    read_timeout_s: float = 5.0
    deadline_s: float = 8.0
    max_bytes: int = 25 * 1024 * 1024  # the REMS feed is several MB; photos are < 2 MB
    retries: int = 2
    backoff_s: float = 0.5
    max_retry_after_s: float = 5.0  # a 5xx's Retry-After longer than this ends the request


@dataclass
class Response:
    status: int
    url: str  # after redirects
    headers: dict[str, str]  # lower-case names
    body: bytes
    elapsed_ms: float = 0.0


class _Failed(UpstreamError):
    """Internal: a failure with its telemetry code."""

    def __init__(self, message: str, code: str, status: int | None = None,
                 retryable: bool = True, retry_after_s: float | None = None) -> None:
        super().__init__(message, status=status, retryable=retryable,
                         retry_after_s=retry_after_s)
        self.code = code


class _OutOfTime(Exception):
    """Internal: the next attempt could not finish before the deadline."""


def redact(url: str) -> str:
    """``url`` with keys and signatures masked, safe for logs and error messages."""
    return _SECRET_QUERY.sub(r"\1***", url)


def nasa_key_header(key: str) -> dict[str, str]:
    """How api.nasa.gov takes its key: the ``X-Api-Key`` header of api.data.gov, the gateway
    it runs on (https://api.data.gov/docs/developer-manual), so no URL ever carries it."""
    return {"X-Api-Key": key}


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


# ---------------------------------------------------------------- the deadline watchdog

_current = threading.local()  # the watchdog of the request this thread is making


class _Watchdog:
    """Shuts the request's socket down at the deadline, whatever read it is blocked in."""

    def __init__(self, deadline: float) -> None:
        self.fired = False
        self._lock = threading.Lock()
        self._conn: HTTPConnection | None = None
        self._done = False
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        _current.watchdog = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._done = True
        self._timer.cancel()
        _current.watchdog = None

    def watch(self, conn: HTTPConnection) -> None:
        with self._lock:
            self._conn = conn

    def _fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.fired = True
            sock = getattr(self._conn, "sock", None)
            if sock is not None:
                # the plain socket's shutdown (an SSLSocket's would also drop its TLS state);
                # OSError: already closed, nothing is waiting on it
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _watched(conn: HTTPConnection) -> None:
    watchdog = getattr(_current, "watchdog", None)
    if watchdog is not None:
        watchdog.watch(conn)


class _WatchedHttp(HTTPConnection):
    def connect(self) -> None:
        _watched(self)
        super().connect()

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watched(self)  # a kept-alive connection is reused without connect()
        super().request(*args, **kwargs)


class _WatchedHttps(_WatchedHttp, HTTPSConnection):
    """The same over TLS: ``super()`` of :class:`_WatchedHttp` is HTTPS' here."""


class _HttpPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHttp


class _HttpsPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHttps


# ---------------------------------------------------------------- retries within the deadline


class _DeadlineRetry(Retry):
    """urllib3's Retry, sleeping through the client's ``sleep`` and never past the deadline.
    A host that does not resolve is not retried (no network: retrying only delays the answer)."""

    deadline = float("inf")
    sleeper: Callable[[float], None] = staticmethod(time.sleep)

    def new(self, **kw: Any) -> _DeadlineRetry:
        fresh = super().new(**kw)
        fresh.deadline, fresh.sleeper = self.deadline, self.sleeper
        return fresh

    def increment(self, method: str | None = None, url: str | None = None,
                  *args: Any, **kwargs: Any) -> _DeadlineRetry:
        error = kwargs.get("error")
        if isinstance(error, NameResolutionError):
            raise MaxRetryError(cast(Any, kwargs.get("_pool")), url or "", error) from error
        return super().increment(method, url, *args, **kwargs)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        # only 5xx: urllib3 would also repeat a 429 or 413 that carries a Retry-After
        return status_code in RETRY_STATUSES and super().is_retry(method, status_code,
                                                                  has_retry_after)

    def sleep(self, response: Any = None) -> None:
        delay = self.get_retry_after(response) if response is not None else None
        if delay is None:
            delay = self.get_backoff_time()
        elif delay >= self.retry_after_max:
            raise _OutOfTime  # the server asks for a long wait: the cache takes it from here
        if time.monotonic() + delay >= self.deadline:
            raise _OutOfTime
        if delay > 0:
            self.sleeper(delay)


def _code_of(error: BaseException | None) -> tuple[str, str]:
    """(telemetry code, words) for what urllib3 reports as the reason of a failure."""
    if isinstance(error, NameResolutionError):
        return "unreachable", "cannot resolve the host"
    if isinstance(error, NewConnectionError):  # (a subclass of ConnectTimeoutError)
        return "unreachable", "unreachable"
    if isinstance(error, ReadTimeoutError | ConnectTimeoutError | TimeoutError):
        return "timeout", "timed out"
    if "IncompleteRead" in repr(error):
        return "truncated", "broke off before the end of the body"
    return "broken", f"broke off ({type(error).__name__})"


@dataclass
class HttpClient:
    """GET with pooled connections, timeouts, a deadline, a size limit, retries and backoff.

    :param policy: the limits.
    :param sleep: how to wait between attempts (tests pass a fake).
    :param observer: told the latency and outcome of every request (metrics).
    :param allowlist: which URLs may be fetched; ``None`` allows any http(s) URL (tools only).
    """

    policy: HttpPolicy = field(default_factory=HttpPolicy)
    sleep: Callable[[float], None] = time.sleep
    observer: Observer | None = None
    allowlist: Allowlist | None = None

    def __post_init__(self) -> None:
        self._pool = urllib3.PoolManager(num_pools=8, maxsize=4, block=False)
        self._pool.pool_classes_by_scheme = {"http": _HttpPool, "https": _HttpsPool}

    def get(self, url: str, *, source: str = "http", accept: str = "*/*",
            max_bytes: int | None = None, secret_headers: Mapping[str, str] | None = None,
            ) -> Response:
        """Fetch ``url``; the answer is a 2xx :class:`Response` (allowed redirects followed).

        :param secret_headers: sent to ``url``'s origin only (an API key), never logged.

        :raises UpstreamError: on any failure, after the retries the deadline allows
            (:class:`~cloud.mars.allowlist.RefusedUrl` for a URL outside the allowlist).
        """
        started = time.monotonic()
        outcome: str | None = "error"
        try:
            response = self._get(url, accept, max_bytes or self.policy.max_bytes,
                                 started + self.policy.deadline_s, secret_headers or {})
            outcome = None
            response.elapsed_ms = (time.monotonic() - started) * 1000
            return response
        except _Failed as exc:
            outcome = exc.code
            raise
        except UpstreamError as exc:
            outcome = "refused" if exc.status is None else f"http_{exc.status}"
            raise
        finally:
            if self.observer is not None:
                self.observer(source, (time.monotonic() - started) * 1000, outcome)

    def get_json(self, url: str, *, source: str = "http", max_bytes: int | None = None,
                 secret_headers: Mapping[str, str] | None = None) -> Any:
        """Fetch and parse a JSON document; decoding is lenient (NASA feeds hold U+FFFD).

        :raises UpstreamError: as :meth:`get`.
        :raises BadData: when the body is not JSON (an HTML error page, a truncated document).
        """
        response = self.get(url, source=source, accept="application/json", max_bytes=max_bytes,
                            secret_headers=secret_headers)
        text = response.body.decode("utf-8", errors="replace")
        try:
            # The size was capped by get(); the depth check keeps a hostile feed from
            # recursing the parser ("replace" may grow each bad byte to three).
            return safejson.loads(text, max_bytes=3 * len(response.body) + 16)
        except safejson.TooDeep as exc:
            raise BadData(f"{source}: {redact(response.url)}: {exc}") from None
        except safejson.UnsafeJson:
            start = text.lstrip()[:40].replace("\n", " ")
            raise BadData(f"{source}: {redact(response.url)} did not answer JSON "
                          f"({len(response.body)} bytes starting {start!r})") from None

    # ------------------------------------------------------------ internals

    def _retry(self, deadline: float) -> _DeadlineRetry:
        n = self.policy.retries
        retry = _DeadlineRetry(total=n, connect=n, read=n, status=n, other=0, redirect=0,
                               status_forcelist=RETRY_STATUSES, allowed_methods={"GET"},
                               backoff_factor=self.policy.backoff_s, raise_on_status=False,
                               raise_on_redirect=False, respect_retry_after_header=True,
                               retry_after_max=int(self.policy.max_retry_after_s))
        retry.deadline, retry.sleeper = deadline, self.sleep
        return retry

    def _check(self, url: str) -> None:
        if self.allowlist is None:
            return
        try:
            self.allowlist.check(url, redact(url))
        except UpstreamError as exc:
            log.warning("%s", exc)
            raise

    def _get(self, url: str, accept: str, limit: int, deadline: float,
             secret_headers: Mapping[str, str]) -> Response:
        retry = self._retry(deadline)
        home = _origin(url)
        for _ in range(MAX_REDIRECTS + 1):
            self._check(url)
            headers = {"User-Agent": USER_AGENT, "Accept": accept}
            if _origin(url) == home:
                headers.update(secret_headers)  # a key stays with its own origin
            response, retry = self._once(url, headers, limit, deadline, retry)
            if response.status not in (301, 302, 303, 307, 308):
                return response
            location = response.headers.get("location")
            if not location:
                raise _Failed(f"{redact(url)} redirected nowhere", "broken", response.status,
                              retryable=False)
            url = urljoin(url, location)
        raise _Failed(f"{redact(url)}: more than {MAX_REDIRECTS} redirects", "broken",
                      retryable=False)

    def _once(self, url: str, headers: dict[str, str], limit: int, deadline: float,
              retry: _DeadlineRetry) -> tuple[Response, _DeadlineRetry]:
        """One hop, its retries included: the 2xx or 3xx answer and the retries left."""
        shown = redact(url)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Failed(f"{shown} took longer than the {self.policy.deadline_s:g} s "
                              "deadline", "timeout")
            timeout = urllib3.Timeout(connect=min(self.policy.connect_timeout_s, remaining),
                                      read=min(self.policy.read_timeout_s, remaining))
            with _Watchdog(deadline) as watchdog:
                try:
                    answer = self._pool.urlopen("GET", url, headers=headers,
                                                retries=retry, redirect=False, timeout=timeout,
                                                preload_content=False)
                    retry = cast(_DeadlineRetry, answer.retries or retry)
                    body = self._body(answer, shown, limit)
                except _OutOfTime:
                    raise _Failed(f"{shown} could not be retried within the "
                                  f"{self.policy.deadline_s:g} s deadline", "timeout") from None
                except MaxRetryError as exc:
                    code, words = _code_of(exc.reason)
                    if watchdog.fired:
                        code, words = "timeout", "ran past the deadline"
                    raise _Failed(f"{shown} {words}", code, retryable=not isinstance(
                        exc.reason, NameResolutionError)) from None
                except (ProtocolError, ReadTimeoutError) as exc:  # while reading the body
                    if watchdog.fired:
                        raise _Failed(f"{shown} took longer than the "
                                      f"{self.policy.deadline_s:g} s deadline", "timeout") \
                            from None
                    try:
                        retry = retry.increment("GET", url, error=exc)
                        retry.sleep()
                    except (MaxRetryError, _OutOfTime):
                        code, words = _code_of(exc)
                        raise _Failed(f"{shown} {words}", code) from None
                    continue
                except HTTPError as exc:
                    raise _Failed(f"{shown}: {exc}", "broken", retryable=False) from None
            headers = {k.lower(): v for k, v in answer.headers.items()}
            self._status(answer.status, headers, shown)
            return Response(answer.status, url, headers, body), retry

    def _status(self, status: int, headers: dict[str, str], shown: str) -> None:
        if status < 400:
            return
        wait = _retry_after(headers.get("retry-after"))
        if status == 429:
            raise _Failed(f"{shown} answered 429 (rate limited)", "http_429", status,
                          retry_after_s=wait)
        if status >= 500:
            raise _Failed(f"{shown} answered {status}", f"http_{status}", status,
                          retry_after_s=wait)
        raise UpstreamError(f"{shown} answered {status}", status=status)

    def _body(self, answer: Any, shown: str, limit: int) -> bytes:
        try:
            length = answer.headers.get("content-length", "")
            if length.isdigit() and int(length) > limit:
                raise UpstreamError(f"{shown} is {length} bytes, over the {limit} byte limit")
            parts: list[bytes] = []
            size = 0
            while chunk := answer.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise UpstreamError(f"{shown} is over the {limit} byte limit")
                parts.append(chunk)
            answer.release_conn()  # read to the end: the connection goes back for reuse
            return b"".join(parts)
        except BaseException:
            answer.close()  # half-read: this connection must not be reused
            answer.release_conn()
            raise


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return Retry().parse_retry_after(value)
    except HTTPError:
        return None
