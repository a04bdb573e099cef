"""The Mars API's logic: cached weather and photos in, the ``GET /mars`` payload out.

The handler parses and dispatches; everything that decides what a device sees is here, with
its collaborators (store, HTTP client, sources, clock, converter) passed in so tests build it
with fakes or a fake NASA server.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cloud.bitmap import FITS, MAX_SIDE, MIN_SIDE, BitmapError, convert
from cloud.mars import offline, selection
from cloud.mars.cache import Cache, Entry, SingleFlight
from cloud.mars.errors import BadData, BadParameter, NoData, NotFound, UpstreamError
from cloud.mars.http import HttpClient
from cloud.mars.models import Photo, Weather
from cloud.mars.photos import ImageSource
from cloud.mars.store import Store, StoreError
from cloud.mars.telemetry import Telemetry
from cloud.mars.weather import WeatherSource, better

log = logging.getLogger(__name__)
DEPTHS = (8, 16)
PRESIGN_S = 3600
BROKEN_PHOTO_S = 6 * 3600  # a photo that 404s or will not decode is left out this long
RETRY_PHOTO_S = 60  # one that timed out or met a server error, this long
UNSAVED_BITMAPS = 8  # bitmaps kept in memory when the store cannot take them (< 3 MB)
PRESET_SIZES = ((320, 240), (480, 320))  # PyPortal / Pynt, Titano: converted ahead of time
WAIT_S = 8.0  # the longest a request waits for NASA (cold cache): well inside Lambda's 20 s


@dataclass(frozen=True)
class ImageRequest:
    width: int = 320
    height: int = 240
    depth: int = 8
    fit: str = "cover"


def _int_param(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(f"{name} must be a whole number, got {raw[:20]!r}") from None
    if not low <= value <= high:
        raise BadParameter(f"{name} must be between {low} and {high}, got {value}")
    return value


def parse_query(params: Mapping[str, str] | None) -> ImageRequest:
    """``width``, ``height`` (16-1024, default 320x240), ``depth`` (8 or 16), ``fit``.

    :raises BadParameter: naming the parameter.
    """
    params = params or {}
    width = _int_param(params, "width", 320, MIN_SIDE, MAX_SIDE)
    height = _int_param(params, "height", 240, MIN_SIDE, MAX_SIDE)
    depth = _int_param(params, "depth", 8, 8, 16)
    if depth not in DEPTHS:
        raise BadParameter(f"depth must be 8 or 16, got {depth}")
    fit = params.get("fit") or "cover"
    if fit not in FITS:
        raise BadParameter(f"fit must be one of {', '.join(FITS)}, got {fit[:20]!r}")
    return ImageRequest(width, height, depth, fit)


def bitmap_etag(photo: Photo, request: ImageRequest) -> str:
    """The content address of one photo at one size, depth and fit."""
    identity = f"{photo.id}|{photo.url}|{request.width}x{request.height}|{request.depth}|" \
               f"{request.fit}|v1"
    return hashlib.sha256(identity.encode()).hexdigest()[:32]


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fmt(value: float | None) -> str | None:
    return None if value is None else f"{value:g}"


def insight_legacy(weather: Weather | None) -> dict[str, Any] | None:
    """The legacy ``insight`` object the original PyPortal Mars display reads."""
    if weather is None:
        return None
    average = weather.avg_temp_c
    if average is None and weather.min_temp_c is not None and weather.max_temp_c is not None:
        average = round((weather.min_temp_c + weather.max_temp_c) / 2, 1)
    day = f"{weather.earth_date}T00:00:00Z" if weather.earth_date else None
    return {"sol": str(weather.sol), "av_at": _fmt(average), "av_HWS": _fmt(weather.wind_speed_ms),
            "av_PRE": _fmt(weather.pressure_pa), "First_UTC": weather.first_utc or day,
            "Last_UTC": weather.last_utc or day, "season": weather.season}


class MarsService:
    """Everything ``GET /mars`` and the scheduled refresh do.

    :param image_sources: photo sources in preference order (failover goes down the list).
    :param weather_sources: weather sources in preference order.
    :param converter: ``convert(data, width, height, depth, fit)`` -> BMP bytes.
    """

    def __init__(self, store: Store, http: HttpClient, image_sources: Sequence[ImageSource],
                 weather_sources: Sequence[WeatherSource], *, image_ttl_s: int = 1800,
                 weather_ttl_s: int = 3600, refresh_s: int = 600, offline_sample: bool = False,
                 clock: Callable[[], float] = time.time,
                 converter: Callable[..., bytes] = convert,
                 telemetry: Telemetry | None = None,
                 background: Callable[[Callable[[], None]], None] | None = None,
                 wait_s: float = WAIT_S) -> None:
        self.store = store
        self.http = http
        self.image_sources = list(image_sources)
        self.weather_sources = list(weather_sources)
        self.image_ttl_s = image_ttl_s
        self.weather_ttl_s = weather_ttl_s
        self.refresh_s = refresh_s
        self.offline_sample = offline_sample
        self.clock = clock
        self.converter = converter
        self.telemetry = telemetry
        # With ``background`` (the API), no request waits for NASA when anything is cached:
        # refreshes and conversions run on their own, one per resource, and a cold request
        # waits at most ``wait_s``.
        self.background = background
        self.wait_s = wait_s
        self.cache = Cache(store, clock, failure_backoff_s=min(60, image_ttl_s, weather_ttl_s),
                           observer=telemetry.cache if telemetry else None,
                           background=background, cold_wait_s=wait_s)
        self._bitmaps: dict[str, int] = {}  # etag -> bytes, known to be in the store
        self._conversions = SingleFlight()
        self._downloads = SingleFlight()
        self._originals: OrderedDict[str, bytes] = OrderedDict()  # photo id -> JPEG, last 2
        self._broken: dict[str, float] = {}  # photo id -> until when it is skipped
        self._unsaved: OrderedDict[str, bytes] = OrderedDict()  # etag -> BMP the store refused
        self._lock = threading.Lock()

    # --- cached resources -------------------------------------------------------------------

    @staticmethod
    def _all_failed(kind: str, errors: list[tuple[str, Exception]]) -> UpstreamError:
        failure = UpstreamError(f"every {kind} source failed ("
                                + "; ".join(f"{name}: {exc}" for name, exc in errors) + ")")
        # Back off as long as the upstreams asked, when every one of them asked (429).
        waits = [getattr(exc, "retry_after_s", None) for _, exc in errors]
        if waits and all(w is not None for w in waits):
            failure.retry_after_s = min(waits)
        return failure

    def _fetch_weather(self) -> dict[str, Any]:
        errors: list[tuple[str, Exception]] = []
        for source in self.weather_sources:
            try:
                return source.fetch().to_dict()
            except (UpstreamError, BadData) as exc:
                errors.append((source.name, exc))
        raise self._all_failed("weather", errors)

    def _fetch_photos(self) -> dict[str, Any]:
        errors: list[tuple[str, Exception]] = []
        for source in self.image_sources:
            try:
                chosen = selection.candidates(source.fetch())
            except (UpstreamError, BadData) as exc:
                errors.append((source.name, exc))
                continue
            if chosen:
                return {"source": source.name, "photos": [p.to_dict() for p in chosen]}
            errors.append((source.name, BadData("no suitable photo")))
        raise self._all_failed("photo", errors)

    def weather(self, force: bool = False) -> Entry:
        """:raises NoData: no weather was ever obtained."""
        return self.cache.get(
            "weather", self.weather_ttl_s, self._fetch_weather, force=force,
            better=lambda new, old: better(Weather.from_dict(new), Weather.from_dict(old)))

    def photos(self, force: bool = False) -> Entry:
        """:raises NoData: no photo list was ever obtained."""
        return self.cache.get("photos", self.image_ttl_s, self._fetch_photos, force=force)

    # --- bitmaps ----------------------------------------------------------------------------

    def _original(self, photo: Photo) -> bytes:
        with self._lock:
            data = self._originals.get(photo.id)
        if data is not None:
            return data
        if photo.id == offline.PHOTO.id:
            data = offline.image()
        else:
            data = self._downloads.do(photo.id, lambda: self.http.get(
                photo.url, source=f"image_{photo.rover.lower()}", accept="image/*").body)
        with self._lock:
            self._originals[photo.id] = data
            while len(self._originals) > 2:
                self._originals.popitem(last=False)
        return data

    def bitmap_for(self, photo: Photo, request: ImageRequest) -> tuple[str, int]:
        """``(etag, size)`` of the photo's bitmap, converting it once if it is not stored yet.

        :raises UpstreamError: the photo could not be downloaded.
        :raises BitmapError: it could not be converted.
        """
        etag = bitmap_etag(photo, request)
        size = self._bitmaps.get(etag)
        if size is not None:
            if self.telemetry:
                self.telemetry.bitmap(hit=True)
            return etag, size
        return etag, self._conversions.do(etag, lambda: self._produce(photo, request))

    def _produce(self, photo: Photo, request: ImageRequest) -> int:
        """Convert and store the bitmap (or find it stored); its size in bytes."""
        etag = bitmap_etag(photo, request)
        stored = self.store.get(f"bmp/{etag}.bmp")
        if stored is not None:
            if self.telemetry:
                self.telemetry.bitmap(hit=True)
            size = len(stored)
        else:
            original = self._original(photo)
            started = time.perf_counter()
            bmp = self.converter(original, request.width, request.height, request.depth,
                                 request.fit)
            if self.telemetry:
                self.telemetry.bitmap(hit=False,
                                      conversion_ms=(time.perf_counter() - started) * 1000)
            try:
                self.store.put(f"bmp/{etag}.bmp", bmp, "image/bmp")
            except StoreError as exc:  # a read-only store still answers, from memory
                log.warning("bitmap %s kept in memory only: %s", etag, exc)
                with self._lock:
                    self._unsaved[etag] = bmp
                    while len(self._unsaved) > UNSAVED_BITMAPS:
                        self._unsaved.popitem(last=False)
            size = len(bmp)
        self._bitmaps[etag] = size
        return size

    def bitmap(self, image_id: str) -> bytes:
        """The stored bitmap ``image_id`` (``<etag>`` or ``<etag>.bmp``).

        :raises NotFound: no such bitmap.
        """
        etag = image_id[:-4] if image_id.endswith(".bmp") else image_id
        if not (8 <= len(etag) <= 64 and all(c in "0123456789abcdef" for c in etag)):
            raise NotFound(f"no image {image_id[:80]!r}")
        with self._lock:
            data = self._unsaved.get(etag)
        if data is None:
            data = self.store.get(f"bmp/{etag}.bmp")
        if data is None:
            raise NotFound(f"no image {image_id[:80]!r}")
        return data

    def _image(self, entry: Entry, request: ImageRequest,
               base_url: str | None) -> tuple[dict[str, Any] | None, bool]:
        """The payload's ``image`` object for this refresh window, and whether it is offline."""
        now = self.clock()
        broken = frozenset(k for k, until in self._broken.items() if until > now)
        photos = [Photo.from_dict(d) for d in entry.value["photos"]]
        pending: tuple[Photo, Any] | None = None
        for photo in selection.pick(photos, now, self.refresh_s, broken):
            if photo.id in broken:
                continue
            if self.background is not None:
                ready = self._ready(photo, request)
                if ready is not None:
                    return self._describe(photo, *ready, request, base_url), False
                if pending is None:  # one conversion at a time; a ready candidate meanwhile
                    pending = (photo, self._conversions.start(
                        bitmap_etag(photo, request),
                        lambda p=photo: self._convert_or_skip(p, request, now),
                        self.background))
                continue
            try:
                etag, size = self.bitmap_for(photo, request)
            except (UpstreamError, BitmapError) as exc:
                self._skip(photo, exc, now)  # the next candidate will do
                continue
            return self._describe(photo, etag, size, request, base_url), False
        if pending is None:
            return None, False
        photo, call = pending
        try:
            size = SingleFlight.wait(call, photo.id, self.wait_s)
        except TimeoutError:
            log.warning("photo %s: still converting after %g s; answering without it",
                        photo.id, self.wait_s)
            return None, False
        if size is None:
            return None, False
        return self._describe(photo, bitmap_etag(photo, request), size, request,
                              base_url), False

    def _ready(self, photo: Photo, request: ImageRequest) -> tuple[str, int] | None:
        """``(etag, size)`` when the bitmap is already stored, without converting."""
        etag = bitmap_etag(photo, request)
        size = self._bitmaps.get(etag)
        if size is None:
            stored = self.store.get(f"bmp/{etag}.bmp")
            if stored is None:
                return None
            size = self._bitmaps[etag] = len(stored)
        return etag, size

    def _convert_or_skip(self, photo: Photo, request: ImageRequest, now: float) -> int | None:
        try:
            return self._produce(photo, request)
        except (UpstreamError, BitmapError) as exc:
            self._skip(photo, exc, now)
            return None

    def _skip(self, photo: Photo, exc: Exception, now: float) -> None:
        # A photo that 404s or will not decode is left out for hours; one that timed out or
        # met a 5xx only for a minute, so a few bad seconds at cold start cost a minute.
        transient = isinstance(exc, UpstreamError) and exc.retryable
        wait_s = RETRY_PHOTO_S if transient else BROKEN_PHOTO_S
        log.warning("photo %s skipped for %d s: %s", photo.id, wait_s, exc)
        self._broken[photo.id] = now + wait_s

    def _describe(self, photo: Photo, etag: str, size: int, request: ImageRequest,
                  base_url: str | None) -> dict[str, Any]:
        url = self.store.url(f"bmp/{etag}.bmp", PRESIGN_S)
        if url is None:
            url = f"{base_url or ''}/mars/image/{etag}.bmp"
        return {"url": url, "width": request.width, "height": request.height,
                "depth": request.depth, "bytes": size, "etag": etag, "rover": photo.rover,
                "camera": photo.camera, "sol": photo.sol, "taken_utc": photo.taken_utc,
                "source_url": photo.source_url, "credit": photo.credit}

    # --- the payload ------------------------------------------------------------------------

    def payload(self, request: ImageRequest, base_url: str | None = None) -> dict[str, Any]:
        """The ``GET /mars`` answer.

        :param base_url: ``scheme://host`` the device reached us at (local image URLs).
        :raises NoData: nothing was ever obtained (and the offline sample is off).
        """
        entries: list[Entry] = []
        weather: Weather | None = None
        image: dict[str, Any] | None = None
        retry_after = 60
        try:
            weather_entry = self.weather()
            weather = Weather.from_dict(weather_entry.value)
            entries.append(weather_entry)
        except NoData as exc:
            retry_after = exc.retry_after_s
        missing_image = False
        try:
            photos_entry = self.photos()
            image, _ = self._image(photos_entry, request, base_url)
            if image is not None:
                entries.append(photos_entry)
            else:  # photos are listed, none could be shown: say so, in the log and the answer
                missing_image = True
                log.warning("no photo of %d candidates could be shown at %dx%d",
                            len(photos_entry.value["photos"]), request.width, request.height)
        except NoData as exc:
            retry_after = min(retry_after, exc.retry_after_s)
        if not entries:
            if self.offline_sample:
                return self.offline_payload(request, base_url)
            raise NoData("no Mars data has been obtained yet; try again shortly", retry_after)
        stale = missing_image or any(e.stale for e in entries)
        if self.telemetry:
            self.telemetry.answer(stale=stale, offline=False)
        return self._assemble(image, weather, stale, min(e.fetched_at for e in entries))

    def offline_payload(self, request: ImageRequest, base_url: str | None) -> dict[str, Any]:
        """The labelled sample served when no NASA data was ever obtained."""
        etag, size = self.bitmap_for(offline.PHOTO, request)
        image = self._describe(offline.PHOTO, etag, size, request, base_url)
        if self.telemetry:
            self.telemetry.answer(stale=True, offline=True)
        answer = self._assemble(image, offline.WEATHER, True, self.clock())
        answer["offline"] = True
        return answer

    def _assemble(self, image: dict[str, Any] | None, weather: Weather | None, stale: bool,
                  updated: float) -> dict[str, Any]:
        return {
            "image": image,
            "weather": weather.public() if weather else None,
            "stale": stale,
            "updated_utc": _iso(updated),
            "refresh_s": self.refresh_s,
            "offline": False,
            "image_url": image["url"] if image else None,
            "insight": insight_legacy(weather),
        }

    # --- the scheduled refresh --------------------------------------------------------------

    def refresh(self, sizes: Sequence[tuple[int, int]] = PRESET_SIZES,
                depth: int = 8) -> dict[str, Any]:
        """Refresh weather and photo metadata now and convert every candidate for ``sizes``.

        Failures are reported, not raised: the last good data stays in place.
        """
        report: dict[str, Any] = {"weather": None, "photos": None, "bitmaps": 0, "errors": []}
        for name, get in (("weather", self.weather), ("photos", self.photos)):
            try:
                entry = get(force=True)
                report[name] = "stale" if entry.stale else "fresh"
            except NoData as exc:
                report["errors"].append(str(exc))
        entry = self.cache.peek("photos")
        for data in (entry.value["photos"] if entry else []):
            photo = Photo.from_dict(data)
            for width, height in sizes:
                try:
                    self.bitmap_for(photo, ImageRequest(width, height, depth))
                    report["bitmaps"] += 1
                except (UpstreamError, BitmapError, StoreError) as exc:
                    report["errors"].append(f"{photo.id} {width}x{height}: {exc}")
                    break
        return report
