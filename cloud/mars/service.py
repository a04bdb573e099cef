"""The Mars API's use cases: the ``GET /mars`` answer, a stored bitmap, the scheduled refresh.

It composes the parts, each with one job: :class:`~cloud.mars.feeds.Feeds` (cached weather and
photo lists with failover), :class:`~cloud.mars.bitmaps.BitmapStore` (convert once, store by
content address), :class:`~cloud.mars.rotation.PhotoRotation` (this window's photo) and
:mod:`cloud.mars.payload` (the answer's shape). Collaborators (store, HTTP client, sources,
clock, converter) are passed in, so tests build it with fakes or a fake NASA server.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aws_lambda_powertools import Logger

from cloud.bitmap import BitmapError, convert
from cloud.mars import history, offline, payload
from cloud.mars.bitmaps import BitmapStore, Originals
from cloud.mars.cache import Cache, Entry
from cloud.mars.conversions import Busy, Gate
from cloud.mars.errors import NoData, NotFound, UpstreamError
from cloud.mars.feeds import PHOTOS, WEATHER, Feeds
from cloud.mars.http import HttpClient
from cloud.mars.links import Links
from cloud.mars.models import Photo, Weather
from cloud.mars.photolist import PhotoList
from cloud.mars.photos import ImageSource
from cloud.mars.query import DEFAULT_EXTRAS, Extras, ImageRequest
from cloud.mars.rotation import PhotoRotation
from cloud.mars.store import Store, StoreError
from cloud.mars.telemetry import Telemetry
from cloud.mars.weather import WeatherSource

# a child of the handler's Powertools logger: JSON lines with its correlation id
log = Logger(service="mars", child=True)
PRESET_SIZES = ((320, 240), (480, 320))  # PyPortal / Pynt, Titano: converted ahead of time
PRESET_DEPTHS = (4, 8)  # the two a PyPortal asks for (16-colour and 256-colour palettes)
NO_DATA_RETRY_S = 60
WAIT_S = 8.0  # the longest a request waits for NASA (cold cache): well inside Lambda's 20 s


class MarsService:
    """What ``GET /mars``, ``GET /mars/image/{id}`` and the scheduled refresh do.

    :param image_sources: photo sources in preference order (failover goes down the list).
    :param weather_sources: weather sources in preference order.
    :param converter: ``convert(data, width, height, depth, fit)`` -> BMP bytes.
    :param background: with it (the API), no request waits for NASA when anything is cached:
        refreshes and conversions run on their own, one per resource, and a cold request
        waits at most ``wait_s``.
    :param gate: bounds the process's bitmap conversions (queue and memory).
    """

    def __init__(self, store: Store, http: HttpClient, image_sources: Sequence[ImageSource],
                 weather_sources: Sequence[WeatherSource], *, image_ttl_s: int = 1800,
                 weather_ttl_s: int = 3600, refresh_s: int = 600, offline_sample: bool = False,
                 clock: Callable[[], float] = time.time,
                 converter: Callable[..., bytes] = convert,
                 telemetry: Telemetry | None = None,
                 background: Callable[[Callable[[], None]], None] | None = None,
                 wait_s: float = WAIT_S, gate: Gate | None = None) -> None:
        self.refresh_s = refresh_s
        self.offline_sample = offline_sample
        self.clock = clock
        self.telemetry = telemetry
        self.feeds = Feeds(store, image_sources, weather_sources, clock=clock,
                           image_ttl_s=image_ttl_s, weather_ttl_s=weather_ttl_s,
                           observer=telemetry.cache if telemetry else None,
                           background=background, wait_s=wait_s)
        self.bitmaps = BitmapStore(store, Originals(http), converter=converter,
                                   telemetry=telemetry, gate=gate, wait_s=wait_s)
        self.rotation = PhotoRotation(self.bitmaps, clock, refresh_s, background, wait_s)
        self.links = Links(http.allowlist)  # feed URLs an answer may carry
        self.photo_list = PhotoList(self.bitmaps, clock, self.links)

    @property
    def cache(self) -> Cache:
        return self.feeds.cache

    def payload(self, request: ImageRequest, base_url: str | None = None,
                more: Extras = DEFAULT_EXTRAS) -> dict[str, Any]:
        """The ``GET /mars`` answer.

        :param base_url: ``scheme://host`` the device reached us at (local image URLs).
        :param more: how much ``history`` and how many ``photos`` to include.
        :raises NoData: nothing was ever obtained (and the offline sample is off).
        """
        weather_entry = photos_entry = None
        entries: list[Entry] = []
        weather: Weather | None = None
        image: dict[str, Any] | None = None
        retry_after = NO_DATA_RETRY_S
        try:
            weather_entry = self.feeds.weather()
            weather = Weather.from_dict(weather_entry.value)
            entries.append(weather_entry)
        except NoData as exc:
            retry_after = exc.retry_after_s
        missing_image = False
        try:
            photos_entry = self.feeds.photos()
            image = self._image(photos_entry, request, base_url)
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
                return self.offline_payload(request, base_url, more)
            raise NoData("no Mars data has been obtained yet; try again shortly", retry_after)
        stale = missing_image or any(e.stale for e in entries)
        if self.telemetry:
            self.telemetry.answer(stale=stale, offline=False)
        now = self.clock()
        return payload.answer(
            image, weather, stale=stale, refresh_s=self.refresh_s, now_s=now,
            # never a time in the future (a cache written under a clock that was ahead)
            updated=min([e.fetched_at for e in entries] + [now]),
            history=self._history(weather_entry, more.history),
            photos=self.photo_list.listed(photos_entry, request, base_url, more.photos))

    def _history(self, entry: Entry | None, sols: int) -> list[dict]:
        """The answer's ``history``: the cached weather's series cut to ``sols``, once per
        cached value and window."""
        if entry is None:
            return []
        return self.photo_list.memo(("history", id(entry.value), entry.fetched_at, sols),
                                    lambda: history.window(entry.value.get("history"), sols))

    def offline_payload(self, request: ImageRequest, base_url: str | None,
                        more: Extras = DEFAULT_EXTRAS) -> dict[str, Any]:
        """The labelled sample served when no NASA data was ever obtained."""
        etag, size = self.bitmaps.ensure(offline.PHOTO, request)
        url = self.bitmaps.url(etag, base_url)
        if self.telemetry:
            self.telemetry.answer(stale=True, offline=True)
        now = self.clock()
        listed = payload.photo_object(offline.PHOTO, request, url=url, size=size, etag=etag,
                                      listed=True)
        return payload.answer(
            payload.photo_object(offline.PHOTO, request, url=url, size=size, etag=etag),
            offline.WEATHER, stale=True, updated=now, now_s=now, refresh_s=self.refresh_s,
            offline=True, photos=[listed][:more.photos])

    def bitmap(self, image_id: str, params: Mapping[str, str] | None = None) -> bytes:
        """The stored bitmap ``image_id`` (``<etag>`` or ``<etag>.bmp``).

        A ``photos`` list URL carries ``photo`` and the size in ``params``: a listed bitmap not
        converted yet is converted then (see :class:`~cloud.mars.photolist.PhotoList`).

        :raises NotFound: no such bitmap.
        """
        try:
            return self.bitmaps.read(image_id)
        except NotFound:
            if not (params and params.get("photo")) or not self.photo_list.convert(
                    image_id.removesuffix(".bmp"), params, self.feeds.cached_photos()):
                raise
        return self.bitmaps.read(image_id)

    def refresh(self, sizes: Sequence[tuple[int, int]] = PRESET_SIZES,
                depths: Sequence[int] = PRESET_DEPTHS,
                budget_s: float | None = None) -> dict[str, Any]:
        """Refresh weather and photo metadata now and convert every candidate for ``sizes`` at
        ``depths``.

        Failures are reported, not raised: the last good data stays in place.

        :param budget_s: no new photo is started after this many seconds (the invocation's
            time left, less one request's deadline); the rest waits for the next refresh.
        """
        started = time.monotonic()
        report: dict[str, Any] = {WEATHER: None, PHOTOS: None, "bitmaps": 0, "errors": []}
        for name, get in ((WEATHER, self.feeds.weather), (PHOTOS, self.feeds.photos)):
            try:
                entry = get(force=True)
                report[name] = "stale" if entry.stale else "fresh"
            except NoData as exc:
                report["errors"].append(str(exc))
        cached = self.feeds.cached_photos()
        for data in (cached.value["photos"] if cached else []):
            if budget_s is not None and time.monotonic() - started > budget_s:
                report["errors"].append("out of time: the other photos wait for the next run")
                break
            photo = Photo.from_dict(data)
            for width, height in sizes:
                try:
                    for depth in depths:
                        self.bitmaps.ensure(photo, ImageRequest(width, height, depth))
                        report["bitmaps"] += 1
                except (UpstreamError, BitmapError, StoreError, Busy) as exc:
                    report["errors"].append(f"{photo.id} {width}x{height}: {exc}")
                    break
        return report

    def _image(self, entry: Entry, request: ImageRequest,
               base_url: str | None) -> dict[str, Any] | None:
        """The answer's ``image`` for this refresh window, or ``None`` if no photo works."""
        photos = [Photo.from_dict(d) for d in entry.value["photos"]]
        current = self.rotation.current(photos, request)
        if current is None:
            return None
        photo, etag, size = current
        image = payload.photo_object(photo, request, url=self.bitmaps.url(etag, base_url),
                                     size=size, etag=etag)
        return self.links.clean(image, ("source_url",))
