"""A real Mars API on 127.0.0.1 for the device code: payloads and BMPs made here, misbehaving
on request (HTTP errors, bad JSON, slow answers, cut or unreadable bitmaps).

The query is read by the API's own parser and the payload cut by its own rules
(:mod:`cloud.mars.query`, :func:`cloud.mars.history.window`); the payload files carry the
real answer's keys and types (``tests/cloud/test_fake_mars_api.py``).

>>> with MarsServer() as server:
...     server.url  # "http://127.0.0.1:PORT"
"""

from __future__ import annotations

import io
import json
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from PIL import Image, ImageDraw

from cloud.mars import history
from cloud.mars.errors import BadParameter
from cloud.mars.query import parse_extras, parse_query
from testing.data import DATA

PAYLOADS = DATA / "mars_api"
_IMAGES: dict[tuple[str, int, int], bytes] = {}
API_KEY = "test-key"
CLIENT_TIMEOUT_S = 10
"""The device client's timeout in tests: long enough for a busy 2-core machine, far shorter
than ``SLOW_S``, how long the server stalls in ``slow`` mode."""
SLOW_S = 60.0


def load_payload(name: str) -> dict:
    return json.loads((PAYLOADS / f"{name}.json").read_text())


def photo(width: int, height: int, seed: int = 1) -> Image.Image:
    """A test pattern with colour ramps and shapes, so misplaced pixels show."""
    # red ramps along x, green along y, blue along the diagonal: built a row at a time
    red = bytes((x * 255 // width + seed * 40) % 256 for x in range(width)) * height
    green = b"".join(bytes((y * 255 // height,)) * width for y in range(height))
    diagonal = bytes(k * seed % 256 for k in range(width + height))
    blue = b"".join(diagonal[y:y + width] for y in range(height))
    image = Image.merge("RGB", [Image.frombytes("L", (width, height), band)
                                for band in (red, green, blue)])
    draw = ImageDraw.Draw(image)
    draw.ellipse((width // 4, height // 6, width // 2, height // 2), fill=(200, 60, 30))
    draw.rectangle((width * 2 // 3, 10, width - 10, height // 3), fill=(20, 200, 90))
    return image


def bmp8(image: Image.Image) -> bytes:
    """An uncompressed 8-bit palettized BMP (what the API sends with depth=8)."""
    out = io.BytesIO()
    # fast octree: ~1 ms where median cut takes ~1 s for a 320x240 pattern
    image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(
        out, format="BMP")
    return out.getvalue()


def bmp4(image: Image.Image) -> bytes:
    """An uncompressed 4-bit palettized BMP (what the API sends with depth=4): 16 palette
    entries (``biClrUsed`` 16), two pixels a byte with the left one in the high nibble, rows
    padded to 4 bytes, bottom-up. Pillow reads this layout but writes none under 8 bits."""
    indexed = image.quantize(16, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    width, height = indexed.size
    palette = (indexed.getpalette("RGB") or [])[:48]
    palette += [0] * (48 - len(palette))
    entries = Image.frombytes("RGB", (16, 1), bytes(palette)).tobytes("raw", "BGRX")
    stride = (width * 4 + 31) // 32 * 4
    offset = 14 + 40 + len(entries)
    size = offset + stride * height
    head = b"BM" + struct.pack("<IHHI", size, 0, 0, offset)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 4, 0, stride * height, 2835, 2835,
                       16, 0)
    return head + info + entries + indexed.tobytes("raw", "P;4", stride, -1)


def rle8(width: int, height: int) -> bytes:
    """A valid BI_RLE8 BMP: readable by many programs, refused by OnDiskBitmap."""
    rows = b""
    for y in range(height):
        left = width
        while left:
            run = min(255, left)
            rows += bytes((run, y % 256))
            left -= run
        rows += b"\x00\x00"
    rows = rows[:-2] + b"\x00\x01"
    palette = b"".join(bytes((i, i, i, 0)) for i in range(256))
    offset = 14 + 40 + len(palette)
    size = offset + len(rows)
    head = b"BM" + struct.pack("<IHHI", size, 0, 0, offset)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(rows), 2835, 2835, 256, 0)
    return head + info + palette + rows


def image_name(photo_id: str, depth: int) -> str:
    """The bitmap's id (and ETag) for a depth: the photo's id at 8, ``<id>.d4`` at 4 (the
    real API names each conversion by a hash of the photo and the request)."""
    return photo_id if depth == 8 else f"{photo_id}.d{depth}"


def split_name(image_id: str) -> tuple[str, int]:
    """``(photo id, depth)`` of a bitmap's id (:func:`image_name`)."""
    photo_id, _, depth = image_id.rpartition(".d")
    return (photo_id, int(depth)) if photo_id and depth.isdigit() else (image_id, 8)


class MarsServer:
    """``GET /mars`` and ``GET /mars/image/{id}.bmp`` with ``x-api-key``, like the real API.

    Attributes tests change between refreshes: ``mode`` (``ok``, ``500``, ``403``, ``badjson``,
    ``slow``), ``stall`` (the next ``/mars`` answer stalls for ``stall_s``, once: ``before`` its
    first byte, or in its ``headers``), ``image_mode`` (``ok``, ``truncated``, ``rle``,
    ``oversized``, ``wrongsize``, ``500``), ``public_url``, ``payload`` (a dict), ``image_id``,
    ``depths`` (those ``GET /mars`` accepts: an API from before depth 4 answers 400 to it).
    ``requests`` lists ``(path, headers)``.
    """

    def __init__(self, payload: str = "full", api_key: str = API_KEY, delay: float = SLOW_S):
        self.mode = "ok"
        self.image_mode = "ok"
        self.payload = load_payload(payload)
        self.image_id = "photo-1"
        self.depths = (4, 8, 16)
        self.api_key = api_key
        self.delay = delay
        self.public_url: str | None = None  # the API's URL as clients know it (image URLs)
        self.stall: str | None = None
        self.stall_s = 120.0
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.queries: list[str] = []  # the query of each request, in order
        self._stop = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self.port = 0

    # -- content ---------------------------------------------------------------------------
    def image_bytes(self, width: int, height: int, image_id: str | None = None) -> bytes:
        """The BMP of ``image_id``: 4 bits for an id ending in ``.d4`` (:func:`image_name`),
        else 8."""
        image_id = image_id or self.image_id
        key = (image_id, width, height)
        if key not in _IMAGES:  # shared by every server
            photo_id, depth = split_name(image_id)
            tail = photo_id.rsplit("-", 1)[-1]  # "photo-2" -> 2; an API's hex ETag -> 1..7
            seed = int(tail) if tail.isdigit() else sum(photo_id.encode()) % 7 + 1
            _IMAGES[key] = (bmp4 if depth == 4 else bmp8)(photo(width, height, seed))
        return _IMAGES[key]

    def paths(self, prefix: str = "/mars") -> list[str]:
        return [p for p, _ in self.requests if p.startswith(prefix)]

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MarsServer:
        """Start (again, on the same port after :meth:`stop`)."""
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):  # http.server's naming
                server._handle(self)

        self._stop.clear()
        for size in ((320, 240), (480, 320), (640, 480)):  # ready before any request asks
            self.image_bytes(*size)
        ThreadingHTTPServer.allow_reuse_address = True
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> MarsServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- handling --------------------------------------------------------------------------
    def _send(self, h: BaseHTTPRequestHandler, status: int, body: bytes,
              content_type: str = "application/json", headers: dict | None = None,
              length: int | None = None) -> None:
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)
        h.wfile.flush()

    def _error(self, h, status: int, code: str) -> None:
        body = json.dumps({"error": {"code": code, "message": code.replace("_", " ")}})
        self._send(h, status, body.encode())

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urlparse(h.path)
        self.requests.append((url.path, {k.lower(): v for k, v in h.headers.items()}))
        self.queries.append(url.query)
        if h.headers.get("x-api-key") != self.api_key:
            return self._error(h, 403, "forbidden")
        if url.path == "/mars":
            return self._mars(h, parse_qs(url.query))
        if url.path.startswith("/mars/image/") and url.path.endswith(".bmp"):
            return self._image(h, url.path[len("/mars/image/"):-4])
        return self._error(h, 404, "not_found")

    def _mars(self, h, query) -> None:
        stall, self.stall = self.stall, None
        if stall == "before" and self._stop.wait(self.stall_s):
            return
        if stall == "headers":
            h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: applic")
            h.wfile.flush()
            self._stop.wait(self.stall_s)
            return
        if self.mode == "slow" and self._stop.wait(self.delay):
            return
        if self.mode in ("500", "403"):
            return self._error(h, int(self.mode), "internal" if self.mode == "500" else "forbidden")
        if self.mode == "badjson":
            return self._send(h, 200, b'{"weather": {"sol": 12')
        params = {name: values[0] for name, values in query.items()}
        try:  # what the API reads of the query, read as it reads it
            request, more = parse_query(params), parse_extras(params)
            if request.depth not in self.depths:  # as an API from before depth 4 answered
                raise BadParameter(f"depth must be 8 or 16, got {request.depth}")
        except BadParameter as exc:
            body = {"error": {"code": "BAD_PARAMETER", "message": str(exc)}}
            return self._send(h, 400, json.dumps(body).encode())
        width, height, depth = request.width, request.height, request.depth
        payload = json.loads(json.dumps(self.payload))
        base = self.public_url or self.url
        if isinstance(payload.get("image"), dict) and payload["image"].get("url"):
            name = image_name(self.image_id, depth)
            path = f"/mars/image/{name}.bmp"
            payload["image"].update(url=base + path, etag=name,  # bare, as the API
                                    bytes=len(self.image_bytes(width, height, name)),
                                    width=width, height=height, depth=depth)
            payload["image_url"] = base + path
        elif payload.get("image_url"):
            payload["image_url"] = f"{self.url}/mars/image/{self.image_id}.bmp"
        if isinstance(payload.get("history"), list):  # cut as the API cuts it
            payload["history"] = history.window(payload["history"], more.history)
        if isinstance(payload.get("photos"), list):
            payload["photos"] = payload["photos"][:more.photos]
            for item in payload["photos"]:
                image_id = image_name(item["etag"], depth)
                item.update(url=f"{self.url}/mars/image/{image_id}.bmp", width=width,
                            height=height, depth=depth, etag=image_id,
                            bytes=len(self.image_bytes(width, height, image_id)))
        self._last_size = (width, height)
        self._send(h, 200, json.dumps(payload).encode())

    def _image(self, h, image_id: str) -> None:
        width, height = getattr(self, "_last_size", (320, 240))
        etag = f'"{image_id}"'
        if h.headers.get("If-None-Match") == etag:
            h.send_response(304)
            h.send_header("ETag", etag)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        mode = self.image_mode
        if mode == "500":
            return self._error(h, 500, "internal")
        if mode == "rle":
            body = rle8(width, height)
        elif mode == "oversized":
            body = self.image_bytes(width * 2, height * 2, image_id)
        elif mode == "wrongsize":
            body = self.image_bytes(width // 2, height // 2, image_id)
        else:
            body = self.image_bytes(width, height, image_id)
        if mode == "truncated":
            # announce the whole file, send half, hang up
            return self._send(h, 200, body[: len(body) // 2], "image/bmp", {"ETag": etag},
                              length=len(body))
        self._send(h, 200, body, "image/bmp", {"ETag": etag})
