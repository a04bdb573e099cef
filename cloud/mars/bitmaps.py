"""Device bitmaps of rover photos: downloaded once, converted once, stored by content address.

A bitmap's name is a hash of the photo and the request (:func:`bitmap_etag`), so the same photo
at the same size is converted once whatever the number of devices asking, and its URL can be
cached forever.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeGuard

from aws_lambda_powertools import Logger

from cloud.bitmap import BitmapError, convert
from cloud.mars import offline
from cloud.mars.cache import SingleFlight, _Call
from cloud.mars.errors import NotFound, UpstreamError
from cloud.mars.http import HttpClient
from cloud.mars.models import Photo
from cloud.mars.query import ImageRequest
from cloud.mars.store import Store, StoreError
from cloud.mars.telemetry import Telemetry

# a child of the handler's Powertools logger: JSON lines with its correlation id
log = Logger(service="mars", child=True)
PRESIGN_S = 3600
KEEP_ORIGINALS = 2  # the photo of this window and the next: a few MB, not a gallery
UNSAVED_BITMAPS = 8  # bitmaps kept in memory when the store cannot take them (< 3 MB)


def bitmap_etag(photo: Photo, request: ImageRequest) -> str:
    """The content address of one photo at one size, depth and fit."""
    identity = f"{photo.id}|{photo.url}|{request.width}x{request.height}|{request.depth}|" \
               f"{request.fit}|v1"
    return hashlib.sha256(identity.encode()).hexdigest()[:32]


def sound_bmp(data: bytes | None) -> TypeGuard[bytes]:
    """Whether a stored bitmap is whole: ``BM`` and the size its header declares.

    A truncated or overwritten file is converted again rather than served for a year under an
    ``immutable`` header.
    """
    return data is not None and data[:2] == b"BM" and len(data) >= 54 and \
        int.from_bytes(data[2:6], "little") == len(data)


def _key(etag: str) -> str:
    return f"bmp/{etag}.bmp"


class Originals:
    """The photos' original bytes, each downloaded once, the last few kept in memory."""

    def __init__(self, http: HttpClient, keep: int = KEEP_ORIGINALS) -> None:
        self.http = http
        self.keep = keep
        self._downloads = SingleFlight()
        self._kept: OrderedDict[str, bytes] = OrderedDict()  # photo id -> bytes
        self._lock = threading.Lock()

    def get(self, photo: Photo) -> bytes:
        """:raises UpstreamError: the photo could not be downloaded."""
        with self._lock:
            data = self._kept.get(photo.id)
        if data is not None:
            return data
        if photo.id == offline.PHOTO.id:
            data = offline.image()
        else:
            data = self._downloads.do(photo.id, lambda: self.http.get(
                photo.url, source=f"image_{photo.rover.lower()}", accept="image/*").body)
        with self._lock:
            self._kept[photo.id] = data
            while len(self._kept) > self.keep:
                self._kept.popitem(last=False)
        return data


class BitmapStore:
    """Converts a photo for a request once and keeps the bitmap in the store.

    A store that refuses writes (read-only) costs nothing but memory: the last few bitmaps are
    then served from here.

    :param converter: ``convert(data, width, height, depth, fit)`` -> BMP bytes.
    """

    def __init__(self, store: Store, originals: Originals, *,
                 converter: Callable[..., bytes] = convert,
                 telemetry: Telemetry | None = None) -> None:
        self.store = store
        self.originals = originals
        self.converter = converter
        self.telemetry = telemetry
        self._sizes: dict[str, int] = {}  # etag -> bytes, known to be in the store
        self._conversions = SingleFlight()
        self._unsaved: OrderedDict[str, bytes] = OrderedDict()  # etag -> BMP the store refused
        self._lock = threading.Lock()

    def ensure(self, photo: Photo, request: ImageRequest) -> tuple[str, int]:
        """``(etag, size)`` of the photo's bitmap, converting it once if it is not stored yet.

        :raises UpstreamError: the photo could not be downloaded.
        :raises BitmapError: it could not be converted.
        """
        etag = bitmap_etag(photo, request)
        size = self._sizes.get(etag)
        if size is not None:
            self._count(hit=True)
            return etag, size
        return etag, self._conversions.do(etag, lambda: self._produce(photo, request))

    def known(self, etag: str) -> int | None:
        """The size of a bitmap known to be stored, without asking the store."""
        return self._sizes.get(etag)

    @property
    def known_count(self) -> int:
        """How many bitmaps are known to be stored (grows as conversions finish)."""
        return len(self._sizes)

    def ready(self, photo: Photo, request: ImageRequest) -> tuple[str, int] | None:
        """``(etag, size)`` when the bitmap is already stored, without converting."""
        etag = bitmap_etag(photo, request)
        size = self._sizes.get(etag)
        if size is None:
            stored = self.store.get(_key(etag))
            if not sound_bmp(stored):
                return None
            size = self._sizes[etag] = len(stored)
        return etag, size

    def convert_later(self, photo: Photo, request: ImageRequest,
                      spawn: Callable[[Callable[[], None]], None],
                      on_failure: Callable[[Exception], None]) -> _Call:
        """Convert through ``spawn`` unless that already runs; the call's result is the size,
        or ``None`` when the photo failed (``on_failure`` was told, even if nobody waits)."""
        def convert_or_report() -> int | None:
            try:
                return self._produce(photo, request)
            except (UpstreamError, BitmapError) as exc:
                on_failure(exc)
                return None

        return self._conversions.start(bitmap_etag(photo, request), convert_or_report, spawn)

    def read(self, image_id: str) -> bytes:
        """The stored bitmap ``image_id`` (``<etag>`` or ``<etag>.bmp``).

        :raises NotFound: no such bitmap.
        """
        etag = image_id.removesuffix(".bmp")
        if not (8 <= len(etag) <= 64 and all(c in "0123456789abcdef" for c in etag)):
            raise NotFound(f"no image {image_id[:80]!r}")
        with self._lock:
            data = self._unsaved.get(etag)
        if data is None:
            data = self.store.get(_key(etag))
        if data is None:
            raise NotFound(f"no image {image_id[:80]!r}")
        if not sound_bmp(data):
            log.warning("bitmap %s in the store is damaged; converting it again", etag)
            self._sizes.pop(etag, None)
            raise NotFound(f"no image {image_id[:80]!r}")
        return data

    def url(self, etag: str, base_url: str | None) -> str:
        """Where a device fetches the bitmap: a presigned URL, or this API's image route
        (always when ``base_url`` is ``""``: a link relative to a caching CDN, see
        :mod:`cloud.mars.cdn`)."""
        presigned = self.store.url(_key(etag), PRESIGN_S) if base_url != "" else None
        return presigned or f"{base_url or ''}/mars/image/{etag}.bmp"

    def _produce(self, photo: Photo, request: ImageRequest) -> int:
        """Convert and store the bitmap (or find it stored); its size in bytes."""
        etag = bitmap_etag(photo, request)
        stored = self.store.get(_key(etag))
        if sound_bmp(stored):
            self._count(hit=True)
            size = len(stored)
        else:
            original = self.originals.get(photo)
            started = time.perf_counter()
            bmp = self.converter(original, request.width, request.height, request.depth,
                                 request.fit)
            self._count(hit=False, conversion_ms=(time.perf_counter() - started) * 1000)
            try:
                self.store.put(_key(etag), bmp, "image/bmp")
            except StoreError as exc:  # a read-only store still answers, from memory
                log.warning("bitmap %s kept in memory only: %s", etag, exc)
                with self._lock:
                    self._unsaved[etag] = bmp
                    while len(self._unsaved) > UNSAVED_BITMAPS:
                        self._unsaved.popitem(last=False)
            size = len(bmp)
        self._sizes[etag] = size
        return size

    def _count(self, hit: bool, conversion_ms: float | None = None) -> None:
        if self.telemetry:
            self.telemetry.bitmap(hit=hit, conversion_ms=conversion_ms)
