"""Device bitmaps of rover photos: downloaded once, converted once, stored by content address.

A bitmap's name is a hash of the photo and the request (:func:`bitmap_etag`), so the same photo
at the same size is converted once whatever the number of devices asking, and its URL can be
cached forever. Conversions pass the process's :class:`~cloud.mars.conversions.Gate` (bounded
by a queue and by memory).

The store may lose a bitmap this process told devices about (the local store evicts the least
recently used; S3 expires old ones; a file can be damaged). A bitmap asked for and gone is made
again from the photo it was made of, and one believed stored is looked for again every
``RECHECK_S``.
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
from cloud.mars.conversions import Gate, footprint
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
RECIPES = 512  # bitmaps this process can make again on demand: the photo and size of each
RECHECK_S = 3600.0  # a bitmap believed stored is looked for in the store again after this


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
    then served from here. A store that cannot be read is a store without the bitmap.

    :param converter: ``convert(data, width, height, depth, fit)`` -> BMP bytes.
    :param gate: bounds the conversions of the process (a default gate when omitted).
    :param wait_s: the longest a request waits for a conversion's turn.
    :param monotonic: seconds for ``RECHECK_S`` (tests pass a fake).
    """

    def __init__(self, store: Store, originals: Originals, *,
                 converter: Callable[..., bytes] = convert,
                 telemetry: Telemetry | None = None, gate: Gate | None = None,
                 wait_s: float = 8.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.originals = originals
        self.converter = converter
        self.telemetry = telemetry
        self.gate = gate or Gate()
        self.wait_s = wait_s
        self.monotonic = monotonic
        self._sizes: dict[str, tuple[int, float]] = {}  # etag -> (bytes, when seen stored)
        self._recipes: OrderedDict[str, tuple[Photo, ImageRequest]] = OrderedDict()
        self._conversions = SingleFlight()
        self._unsaved: OrderedDict[str, bytes] = OrderedDict()  # etag -> BMP the store refused
        self._lock = threading.Lock()

    def ensure(self, photo: Photo, request: ImageRequest) -> tuple[str, int]:
        """``(etag, size)`` of the photo's bitmap, converting it once if it is not stored yet.

        :raises UpstreamError: the photo could not be downloaded.
        :raises BitmapError: it could not be converted.
        :raises Busy: no conversion turn within ``wait_s``.
        """
        etag = self._remember(photo, request)
        size = self._checked(etag)
        if size is not None:
            self._count(hit=True)
            return etag, size
        data = self._conversions.do(etag, lambda: self._make(photo, request, self.wait_s))
        return etag, len(data)

    def known(self, etag: str) -> int | None:
        """The size of a bitmap known to be stored, without asking the store."""
        known = self._sizes.get(etag)
        return None if known is None else known[0]

    @property
    def known_count(self) -> int:
        """How many bitmaps are known to be stored (changes as conversions finish)."""
        return len(self._sizes)

    def ready(self, photo: Photo, request: ImageRequest) -> tuple[str, int] | None:
        """``(etag, size)`` when the bitmap is already stored, without converting."""
        etag = self._remember(photo, request)
        size = self._checked(etag)
        if size is None:
            stored = self._lookup(etag)
            if not sound_bmp(stored):
                return None
            size = self._note(etag, len(stored))
        return etag, size

    def convert_later(self, photo: Photo, request: ImageRequest,
                      spawn: Callable[[Callable[[], None]], None],
                      on_failure: Callable[[Exception], None]) -> _Call:
        """Convert through ``spawn`` unless that already runs; the call's result is the BMP.
        A photo that fails is told to ``on_failure`` (even if nobody waits) and the call
        raises it; a conversion refused for want of a turn raises ``Busy``."""
        etag = self._remember(photo, request)

        def convert_or_report() -> bytes:
            try:
                return self._make(photo, request, wait_s=None)  # queued: the queue is bounded
            except (UpstreamError, BitmapError) as exc:
                on_failure(exc)
                raise

        return self._conversions.start(etag, convert_or_report, spawn)

    def read(self, image_id: str) -> bytes:
        """The stored bitmap ``image_id`` (``<etag>`` or ``<etag>.bmp``); one this process made
        and the store lost (evicted, expired, damaged) is made again.

        :raises NotFound: no such bitmap.
        :raises Busy: it must be made again and no conversion turn came within ``wait_s``.
        """
        etag = image_id.removesuffix(".bmp")
        if not (8 <= len(etag) <= 64 and all(c in "0123456789abcdef" for c in etag)):
            raise NotFound(f"no image {image_id[:80]!r}")
        data = self._lookup(etag)
        if sound_bmp(data):
            return data
        with self._lock:
            self._sizes.pop(etag, None)  # not where it was believed to be
            recipe = self._recipes.get(etag)
        if recipe is None:
            if data is not None:
                log.warning("bitmap %s in the store is damaged; not made here", etag)
            raise NotFound(f"no image {image_id[:80]!r}")
        log.warning("bitmap %s is %s; making it again", etag,
                    "missing from the store" if data is None else "damaged in the store")
        photo, request = recipe
        try:
            return self._conversions.do(etag, lambda: self._make(photo, request, self.wait_s))
        except (UpstreamError, BitmapError) as exc:
            log.warning("bitmap %s could not be made again: %s", etag, exc)
            raise NotFound(f"no image {image_id[:80]!r}") from None

    def url(self, etag: str, base_url: str | None) -> str:
        """Where a device fetches the bitmap: a presigned URL, or this API's image route
        (always when ``base_url`` is ``""``: a link relative to a caching CDN, see
        :mod:`cloud.mars.cdn`)."""
        presigned = self.store.url(_key(etag), PRESIGN_S) if base_url != "" else None
        return presigned or f"{base_url or ''}/mars/image/{etag}.bmp"

    def _remember(self, photo: Photo, request: ImageRequest) -> str:
        """The bitmap's etag; its photo and size are kept to make it again on demand."""
        etag = bitmap_etag(photo, request)
        with self._lock:
            self._recipes[etag] = (photo, request)
            self._recipes.move_to_end(etag)
            while len(self._recipes) > RECIPES:
                self._recipes.popitem(last=False)
        return etag

    def _checked(self, etag: str) -> int | None:
        """The size of a bitmap seen in the store within ``RECHECK_S``."""
        known = self._sizes.get(etag)
        if known is None or self.monotonic() - known[1] > RECHECK_S:
            return None
        return known[0]

    def _note(self, etag: str, size: int) -> int:
        self._sizes[etag] = (size, self.monotonic())
        return size

    def _lookup(self, etag: str) -> bytes | None:
        """The bitmap from memory (a store that refused it) or the store; ``None`` when the
        store does not have it or cannot be read."""
        with self._lock:
            data = self._unsaved.get(etag)
        if data is not None:
            return data
        try:
            return self.store.get(_key(etag))
        except StoreError as exc:
            log.warning("bitmap %s: %s", etag, exc)
            return None

    def _make(self, photo: Photo, request: ImageRequest, wait_s: float | None) -> bytes:
        """The bitmap's bytes: found stored, or converted and stored (the conversion goes on
        and is kept even if the wait for it ends first)."""
        etag = bitmap_etag(photo, request)
        stored = self._lookup(etag)
        if sound_bmp(stored):
            self._count(hit=True)
            self._note(etag, len(stored))
            return stored
        original = self.originals.get(photo)
        need = footprint(original, request.width, request.height, request.fit)
        return self.gate.run(need, lambda: self._convert(etag, original, request), wait_s)

    def _convert(self, etag: str, original: bytes, request: ImageRequest) -> bytes:
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
        self._note(etag, len(bmp))
        return bmp

    def _count(self, hit: bool, conversion_ms: float | None = None) -> None:
        if self.telemetry:
            self.telemetry.bitmap(hit=hit, conversion_ms=conversion_ms)
