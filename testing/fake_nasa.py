"""A fake NASA on loopback: a real ``ThreadingHTTPServer`` serving the test fixtures.

It answers the paths the real feeds use (``/rss/api/?feed=...``, ``/api/v1/raw_image_items/``,
``/insight_weather/``, ``/api/v1/rovers/{rover}/latest_photos``) and photos under
``/images/{name}.jpg`` (scikit-image's natural photographs, or generated ones). Each route can be
scripted with a sequence of :class:`Reply` objects (slow, error status, HTML error page,
truncated body, redirect...); every request is counted per route.

>>> with FakeNasa() as nasa:
...     nasa.script("rems", Reply(status=500), Reply(fixture="rems_weather.json"))
...     urlopen(nasa.url + "/rss/api/?feed=weather&category=msl")  # -> 500, then the fixture
"""

from __future__ import annotations

import functools
import io
import json
import random
import re
import struct
import threading
import zlib
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from PIL import Image

from testing.data import DATA

FIXTURES = DATA / "nasa"
NATURAL = ("astronaut", "coffee", "chelsea", "rocket", "camera")

DEFAULTS = {
    "perseverance": "perseverance_raw_images.json",
    "curiosity": "curiosity_raw_image_items.json",
    "rems": "rems_weather.json",
    "meda": "meda_weather.json",
    "insight": "insight_weather.json",
    "mars_photos": "mars_photos_latest.json",
}


def load_fixture(name: str, base: str = "http://nasa.test") -> Any:
    """A feed fixture as the fake server would serve it (``{base}`` becomes ``base``)."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8").replace("{base}", base))


def html_page(status: int) -> bytes:
    return (f"<!DOCTYPE html><html><head><title>{status} Error</title></head><body>"
            f"<h1>{status}</h1><p>The server encountered a problem.</p></body></html>").encode()


@dataclass
class Reply:
    """One scripted answer.

    :param fixture: a JSON file under ``testing/data/nasa`` (``{base}`` becomes the server URL).
    :param body: raw bytes instead of a fixture.
    :param delay_s: wait this long before answering (beyond a client's read timeout = slow).
    :param truncate: send only this many bytes of the body while declaring its full length.
    :param redirect: answer 302 to this path (or URL).
    :param encoding: how the fixture text is encoded (``latin-1`` makes invalid UTF-8).
    :param trickle_s: send the body one byte every this many seconds (under any read timeout).
    """

    status: int = 200
    fixture: str | None = None
    body: bytes | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    truncate: int | None = None
    redirect: str | None = None
    encoding: str = "utf-8"
    chunked: bool = False  # no Content-Length: the size is only known by reading
    trickle_s: float = 0.0


def error_page(status: int, **headers: str) -> Reply:
    """The HTML error page a CDN answers with."""
    return Reply(status=status, body=html_page(status), content_type="text/html",
                 headers=headers)


def json_error(status: int, fixture: str, **headers: str) -> Reply:
    return Reply(status=status, fixture=fixture, headers=headers)


# --- images -----------------------------------------------------------------------------------


def _jpeg(image: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


@functools.cache
def natural(name: str) -> Image.Image:
    from skimage import data

    array = getattr(data, name)()
    return Image.fromarray(array)


@functools.cache
def generated(name: str, size: tuple[int, int] = (1280, 960)) -> Image.Image:
    rng = random.Random(name)
    base = tuple(rng.randint(60, 200) for _ in range(3))
    image = Image.new("RGB", size, base)
    pixels = image.load()
    assert pixels is not None  # a new image always has pixels
    for y in range(0, size[1], 8):
        for x in range(0, size[0], 8):
            shade = (x * 255 // size[0] + y * 128 // size[1]) % 256
            pixels[x, y] = (shade, base[1], 255 - shade)
    return image.resize((size[0] // 2, size[1] // 2)).resize(size)


def _bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header declares absurd dimensions (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


GIANT = re.compile(r"^giant_(\d+)x(\d+)_(rgba|rgb|l)(?:_\w+)?$")


@functools.cache
def giant_png(width: int, height: int, mode: str) -> bytes:
    """A PNG of ``width`` x ``height`` that compresses to a few hundred KB and decodes to
    4 bytes a pixel (RGB, RGBA) or 1 (L): what a hostile feed sends to exhaust memory."""
    fills: dict[str, int | tuple[int, ...]] = {"RGB": (90, 60, 40), "RGBA": (90, 60, 40, 200),
                                               "L": 90}
    image = Image.new(mode, (width, height), fills[mode])
    ramp = Image.linear_gradient("L").resize((max(1, width // 4), max(1, height // 4)))
    image.paste(ramp.convert(mode), (0, 0))
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


def giant_feed(base: str, count: int, size: tuple[int, int], mode: str = "rgb",
               sol: int = 2000) -> bytes:
    """A Perseverance ``raw_images`` page of ``count`` full frames, each a :func:`giant_png`
    (a distinct photo each, the same bytes)."""
    images = []
    for n in range(count):
        name = f"giant_{size[0]}x{size[1]}_{mode}_{n}"
        images.append({
            "imageid": f"ZL0_{sol}_08{n:08d}_000EBY_N0590000ZCAM09000_1100LMJ",
            "sample_type": "Full", "sol": sol, "camera": {"instrument": "MCZ_LEFT"},
            "image_files": {"large": f"{base}/images/{name}.png",
                            "full_res": f"{base}/images/{name}.png"},
            "extended": {"dimension": f"({size[0]},{size[1]})"},
            "date_taken_utc": f"2026-10-01T10:{n // 60:02d}:{n % 60:02d}.000",
            "title": f"Mars Perseverance Sol {sol}: Left Mastcam-Z Camera", "caption": "",
            "credit": "NASA/JPL-Caltech/ASU"})
    return json.dumps({"images": images, "total_results": count}).encode()


@functools.cache
def image_bytes(name: str) -> tuple[bytes, str] | None:
    """The bytes and type served at ``/images/{name}``; ``None`` = 404."""
    stem, dot, ext = name.rpartition(".")
    for suffix in ("_320", "_800", "_1200"):
        stem = stem.removesuffix(suffix)
    if not dot or stem == "missing":
        return None
    if stem == "corrupt":
        whole = _jpeg(natural("coffee"))
        return whole[: len(whole) // 3], "image/jpeg"  # a truncated JPEG
    if stem == "garbage":
        return b"\xff\xd8\xff\xe0 this is not really a JPEG" * 10, "image/jpeg"
    if stem == "bomb":
        return _bomb_png(), "image/png"
    giant = GIANT.match(stem)
    if giant:
        return giant_png(int(giant[1]), int(giant[2]), giant[3].upper()), "image/png"
    if stem == "big":  # noise compresses badly: several MB of PNG
        noise = Image.frombytes("RGB", (1400, 1050), random.Random(7).randbytes(1400 * 1050 * 3))
        out = io.BytesIO()
        noise.save(out, "PNG", compress_level=1)
        return out.getvalue(), "image/png"
    flipped = stem.endswith("_r")
    stem = stem.removesuffix("_r")
    image = natural(stem) if stem in NATURAL else generated(stem)
    if flipped:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if ext == "png":
        out = io.BytesIO()
        image.save(out, "PNG")
        return out.getvalue(), "image/png"
    return _jpeg(image), "image/jpeg"


# --- the server -------------------------------------------------------------------------------


def route_of(path: str, query: dict[str, list[str]]) -> str | None:
    """The route name of a request, as the real feeds are addressed."""
    one = {k: v[0] for k, v in query.items()}
    if path in ("/rss/api/", "/rss/api"):
        feed, category = one.get("feed"), one.get("category")
        if feed == "raw_images" and category == "mars2020":
            return "perseverance"
        if feed == "weather":
            return {"msl": "rems", "mars2020": "meda"}.get(category or "")
        return None
    if path.startswith("/api/v1/raw_image_items"):
        return "curiosity"
    if path.startswith("/insight_weather"):
        return "insight"
    if path.startswith("/api/v1/rovers/") and path.endswith("/latest_photos"):
        return f"mars_photos:{path.split('/')[4]}"
    if path.startswith("/images/"):
        return f"image:{path[len('/images/'):]}"
    if path.startswith("/moved/"):
        return f"moved:{path[len('/moved/'):]}"
    return None


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hang up on purpose


class FakeNasa:
    """The fake server. ``url`` is its base URL; ``counts`` counts requests per route."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.in_flight: Counter[str] = Counter()  # requests being answered now, per route
        self.most_in_flight: Counter[str] = Counter()  # the highest in_flight seen, per route
        self.requests: list[dict] = []
        self._scripts: dict[str, list[Reply]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle
    def start(self) -> FakeNasa:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # http.server's name
                fake._answer(self)

            def log_message(self, *args) -> None:
                pass

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        kwargs={"poll_interval": 0.05})
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeNasa:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake NASA server is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # scripting
    def script(self, route: str, *replies: Reply) -> None:
        """Answer the next requests to ``route`` with ``replies`` in turn; the last repeats."""
        with self._lock:
            self._scripts[route] = list(replies)

    def reset_counts(self) -> None:
        with self._lock:
            self.counts.clear()
            self.most_in_flight.clear()
            self.requests.clear()

    def _reply_for(self, route: str) -> Reply | None:
        with self._lock:
            script = self._scripts.get(route) or self._scripts.get(route.split(":")[0])
            if script:
                return script.pop(0) if len(script) > 1 else script[0]
        if route.split(":")[0] in DEFAULTS:
            return Reply(fixture=DEFAULTS[route.split(":")[0]])
        if route.startswith("image:"):
            found = image_bytes(route[len("image:"):])
            if found is None:
                return error_page(404)
            return Reply(body=found[0], content_type=found[1])
        if route.startswith("moved:"):
            return Reply(status=302, redirect="/" + route[len("moved:"):].replace("~", "?", 1))
        return None

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        route = route_of(parts.path, parse_qs(parts.query))
        key = route or "unknown"
        with self._lock:
            self.counts[key] += 1
            self.in_flight[key] += 1
            self.most_in_flight[key] = max(self.most_in_flight[key], self.in_flight[key])
            self.requests.append({"route": route, "path": handler.path,
                                  "headers": dict(handler.headers.items()),
                                  "client": handler.client_address})
        try:
            self._reply(handler, route)
        finally:
            with self._lock:
                self.in_flight[key] -= 1

    def _reply(self, handler: BaseHTTPRequestHandler, route: str | None) -> None:
        reply = self._reply_for(route) if route else None
        if reply is None:
            reply = error_page(404)
        if reply.delay_s and self._stopping.wait(reply.delay_s):
            return
        if reply.redirect is not None:
            handler.send_response(reply.status if reply.status in (301, 302, 303, 307, 308)
                                  else 302)
            handler.send_header("Location", reply.redirect)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        if reply.fixture is not None:
            text = (FIXTURES / reply.fixture).read_text(encoding="utf-8")
            body = text.replace("{base}", self.url).encode(reply.encoding)
        else:
            body = reply.body or b""
        handler.send_response(reply.status)
        handler.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        if reply.chunked:
            handler.send_header("Connection", "close")
            handler.end_headers()
            handler.wfile.write(body)
            handler.close_connection = True
            return
        handler.send_header("Content-Length", str(len(body)))
        if reply.truncate is not None:
            handler.send_header("Connection", "close")
            handler.end_headers()
            handler.wfile.write(body[: reply.truncate])
            handler.wfile.flush()
            handler.close_connection = True
            return
        handler.end_headers()
        if reply.trickle_s:
            for i in range(len(body)):
                handler.wfile.write(body[i:i + 1])
                handler.wfile.flush()
                if self._stopping.wait(reply.trickle_s):
                    return
            return
        handler.wfile.write(body)


