"""Talking to the Mars API: the weather JSON and the photo, through one requests session.

Every response is closed (``with``): the ESP32 has only a few sockets. Counters of requests
and bytes feed the serial log and the benchmark.

The watchdog is fed around every socket call (:class:`FedPool`): one refresh is DNS, a TCP
connect and a TLS handshake per request, each up to several seconds on the ESP32, and no
fixed budget for a whole request stays under the 16 s watchdog on a slow link.
"""

import json
import time

import bmp
from errors import BadBitmap, FetchError

CHUNK = 1024  # bytes per read; the watchdog is fed between chunks
MAX_JSON = 16384  # the largest API answer taken (a 30-sol history and 6 photos: ~7 KB)


class FedSocket:
    """A socket that feeds the watchdog before each call that may block."""

    def __init__(self, sock, feed):
        self._sock = sock
        self._feed = feed
        # connection_manager's TLS wrapper for the ESP32 copies these two
        self._interface = getattr(sock, "_interface", None)
        self._socket_pool = getattr(sock, "_socket_pool", None)

    def connect(self, address, *mode):
        self._feed()
        try:
            return self._sock.connect(address, *mode)
        finally:
            self._feed()

    def send(self, data):
        self._feed()
        return self._sock.send(data)

    def recv(self, size):
        self._feed()
        return self._sock.recv(size)

    def recv_into(self, buffer, size=0):
        self._feed()
        return self._sock.recv_into(buffer, size)

    def settimeout(self, seconds):
        self._sock.settimeout(seconds)

    def close(self):
        self._sock.close()


class FedPool:
    """A socket pool (ESP32SPI's or the stdlib's) whose DNS and sockets feed the watchdog.

    Its own object, so the connection manager keeps its sockets apart and
    :func:`close_sockets` can close exactly them.
    """

    def __init__(self, pool, feed):
        self._pool = pool
        self._feed = feed
        self.AF_INET = pool.AF_INET
        self.SOCK_STREAM = pool.SOCK_STREAM

    def getaddrinfo(self, host, port, family=0, socktype=0, proto=0, flags=0):
        self._feed()
        try:
            return self._pool.getaddrinfo(host, port, family, socktype, proto, flags)
        finally:
            self._feed()

    def socket(self, family=2, type=1, proto=0):
        return FedSocket(self._pool.socket(family, type, proto), self._feed)


def close_sockets(pool):
    """Close every socket the connection manager holds for ``pool``.

    A response that timed out can leave its socket neither closed nor free (adafruit_requests
    up to 4.1.8, CircuitPython 9.0-9.2.3, when the status line is late; every version when
    the headers stall); the connection manager then refuses every later request to that host
    ("An existing socket is already connected"), for any new session on the same pool.
    """
    import adafruit_connection_manager as acm

    close_all = getattr(acm, "connection_manager_close_all", None)
    if close_all is not None:  # connection manager 1.2 and later
        try:
            close_all(pool)
        except RuntimeError:
            pass  # "SocketPool not managed": nothing was ever opened
        return
    manager = acm.get_connection_manager(pool)  # 1.0.1 (CircuitPython 9.0.x): by hand
    for sock in list(getattr(manager, "_open_sockets", {}).values()):
        try:
            manager.close_socket(sock)
        except (OSError, RuntimeError):
            pass


def now_ms():
    """Milliseconds of uptime as an int: a float ``time.monotonic()`` loses the milliseconds
    after about 4.5 hours and whole seconds after days on CircuitPython (30-bit floats)."""
    ns = getattr(time, "monotonic_ns", None)
    if ns is not None:
        return ns() // 1000000
    return int(time.monotonic() * 1000)


def _origin(url):
    """``"https://host:443/path"`` -> ``"https://host:443"``."""
    start = url.find("//") + 2
    end = url.find("/", start)
    return url if end < 0 else url[:end]


def _host_header(url):
    """``{"Host": "host:port"}``: adafruit_requests leaves the port out of ``Host``, and a
    server that builds URLs from it (the local API does) would then point at port 80."""
    origin = _origin(url)
    return {"Host": origin[origin.find("//") + 2:]}


def _reason(response):
    """A few words for an HTTP error, from the API's ``{"error": {"code": ...}}`` if any."""
    words = "HTTP %d" % response.status_code
    try:
        code = response.json()["error"]["code"]
        if isinstance(code, str):
            words += " " + code[:24]
    except Exception:  # the body is only a hint; the status says enough
        pass
    return words


class Net:
    """The API client.

    :param session: an ``adafruit_requests.Session``.
    :param api_url: the API base URL (``MARS_API_URL``).
    :param api_key: sent as ``x-api-key`` to the API's own host only.
    :param feed: called often during long transfers (feeds the watchdog).
    :param timeout: seconds without data before a request fails.
    """

    def __init__(self, session, api_url, api_key, feed=None, timeout=15):
        self.session = session
        self.api_url = api_url
        self.timeout = timeout
        self._feed = feed or (lambda: None)
        self._origin = _origin(api_url)
        self._key_headers = _host_header(api_url)
        self._key_headers["x-api-key"] = api_key
        self.requests = 0
        self.bytes = 0

    def fetch(self, width, height, depth, extra=""):
        """``GET /mars`` for this screen; returns the parsed JSON object.

        :param extra: more query, e.g. ``"&history=30&photos=0"`` (what a view needs).

        :raises FetchError: on an HTTP error or a body that is not a JSON object.
        """
        url = "%s/mars?width=%d&height=%d&depth=%d%s" % (self.api_url, width, height, depth,
                                                          extra)
        self.requests += 1
        with self.session.get(url, headers=self._key_headers, timeout=self.timeout) as r:
            length = int(r.headers.get("content-length", 0))
            self.bytes += length
            if r.status_code != 200:
                raise FetchError(_reason(r))
            if length > MAX_JSON:
                raise FetchError("answer of %d bytes" % length)
            try:
                payload = json.loads(self._body(r, length)) if length else r.json()
            except ValueError:
                raise FetchError("bad JSON from API") from None
        if not isinstance(payload, dict):
            raise FetchError("bad JSON from API")
        return payload

    def _body(self, response, length):
        """The body in one buffer, read in large pieces: ``Response.json()`` asks the socket
        for one byte at a time (an ESP32 command per byte), and the garbage of each small
        read is left between the parsed objects, which fragments the heap."""
        body = bytearray(length)
        got = 0
        for chunk in response.iter_content(chunk_size=CHUNK):
            self._feed()
            body[got:got + len(chunk)] = chunk
            got += len(chunk)
        if got != length:
            raise FetchError("answer cut at %d bytes" % got)
        return body

    def download(self, url, path, width, height, etag=None, size=None):
        """Stream a BMP to ``path`` and check it.

        :param etag: the ETag of the photo already on screen, sent as ``If-None-Match``.
        :param size: the byte count the API announced, if any.
        :returns: ``None`` if the server says the photo is unchanged, else its ETag (or ``""``).
        :raises BadBitmap: wrong format, size or dimensions (nothing more is downloaded).
        :raises FetchError: HTTP error or a truncated transfer.
        """
        if url.startswith("/"):
            url = self._origin + url
        if _origin(url) == self._origin:
            headers = dict(self._key_headers)
        else:
            headers = _host_header(url)
        if etag:
            headers["If-None-Match"] = etag
        self.requests += 1
        with self.session.get(url, headers=headers, timeout=self.timeout, stream=True) as r:
            if r.status_code == 304:
                return None
            if r.status_code != 200:
                raise FetchError(_reason(r))
            length = int(r.headers.get("content-length", -1))
            if length > bmp.max_size(width, height) or (size and length >= 0 and length != size):
                raise BadBitmap("image of %d bytes" % length)
            got = self._save(r, path, width, height)
            if got < 0 or (length >= 0 and got != length):
                raise FetchError("image cut at %d bytes" % abs(got))
            return r.headers.get("etag", "")

    def _save(self, response, path, width, height):
        """Write the body to ``path``; returns bytes written, negative if fewer than announced."""
        head = b""
        expected = 0
        got = 0
        with open(path, "wb") as f:
            for chunk in response.iter_content(chunk_size=CHUNK):
                self._feed()
                if not expected:
                    head += chunk
                    if len(head) < bmp.HEADER_BYTES:
                        continue
                    expected = bmp.check(head, width, height)
                    chunk, head = head, b""
                got += len(chunk)
                self.bytes += len(chunk)
                if got > expected:
                    raise BadBitmap("image longer than its header says")
                f.write(chunk)
        if not expected:
            raise BadBitmap("not a BMP") if head else FetchError("empty image")
        return got if got == expected else -got


def wait_ms(start):
    """Milliseconds since ``start`` (a :func:`now_ms` value), for the log."""
    return now_ms() - start
