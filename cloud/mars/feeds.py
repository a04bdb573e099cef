"""The two cached resources, weather and the photo list, each filled from its sources in turn.

Sources are tried in preference order; the first usable answer wins. The cache serves fresh
data, keeps the last good data when every source fails, and backs off as long as they asked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from cloud.mars import history, selection
from cloud.mars.cache import Cache, CacheObserver, Entry
from cloud.mars.errors import BadData, UpstreamError
from cloud.mars.models import Photo, Weather, conforms
from cloud.mars.photos import ImageSource
from cloud.mars.store import Store
from cloud.mars.weather import WeatherSource, better

WEATHER, PHOTOS = "weather", "photos"
"""The cache keys (also the names the scheduled refresh reports)."""


def all_failed(kind: str, errors: list[tuple[str, Exception]]) -> UpstreamError:
    """One error for a whole failover; its ``retry_after_s`` is the shortest wait asked for,
    when every source asked for one (429), so the cache backs off no longer than needed."""
    failure = UpstreamError(f"every {kind} source failed ("
                            + "; ".join(f"{name}: {exc}" for name, exc in errors) + ")")
    waits = [exc.retry_after_s if isinstance(exc, UpstreamError) else None for _, exc in errors]
    known = [wait for wait in waits if wait is not None]
    if known and len(known) == len(waits):
        failure.retry_after_s = min(known)
    return failure


def valid_weather(value: Any) -> bool:
    """A cached weather value: a report and its history, as :meth:`Feeds.weather` stores it."""
    return conforms(Weather, value) and history.valid(value.get("history"))


def valid_photos(value: Any) -> bool:
    """A cached photo list, as :meth:`Feeds.photos` stores it."""
    return (isinstance(value, dict) and isinstance(value.get("source"), str)
            and isinstance(value.get("photos"), list)
            and all(conforms(Photo, photo) for photo in value["photos"]))


class Feeds:
    """Weather and photo metadata through the cache, with failover across sources.

    :param image_sources: photo sources in preference order (failover goes down the list).
    :param weather_sources: weather sources in preference order.
    :param background: runs refreshes on their own (the API): see :class:`Cache`.
    :param wait_s: the longest a cold request waits for a background refresh.
    """

    def __init__(self, store: Store, image_sources: Sequence[ImageSource],
                 weather_sources: Sequence[WeatherSource], *, clock: Callable[[], float],
                 image_ttl_s: int = 1800, weather_ttl_s: int = 3600,
                 observer: CacheObserver | None = None,
                 background: Callable[[Callable[[], None]], None] | None = None,
                 wait_s: float = 8.0) -> None:
        self.image_sources = list(image_sources)
        self.weather_sources = list(weather_sources)
        self.image_ttl_s = image_ttl_s
        self.weather_ttl_s = weather_ttl_s
        self.cache = Cache(store, clock, failure_backoff_s=min(60, image_ttl_s, weather_ttl_s),
                           observer=observer, background=background, cold_wait_s=wait_s,
                           valid={WEATHER: valid_weather, PHOTOS: valid_photos})

    def weather(self, force: bool = False) -> Entry:
        """:raises NoData: no weather was ever obtained."""
        return self.cache.get(
            WEATHER, self.weather_ttl_s, self._fetch_weather, force=force,
            better=lambda new, old: better(Weather.from_dict(new), Weather.from_dict(old)))

    def photos(self, force: bool = False) -> Entry:
        """:raises NoData: no photo list was ever obtained."""
        return self.cache.get(PHOTOS, self.image_ttl_s, self._fetch_photos, force=force)

    def cached_photos(self) -> Entry | None:
        """The photo list as last obtained, without going upstream."""
        return self.cache.peek(PHOTOS)

    def _fetch_weather(self) -> dict[str, Any]:
        errors: list[tuple[str, Exception]] = []
        for source in self.weather_sources:
            try:
                report = source.fetch_report()  # the newest report and the feed's history
            except (UpstreamError, BadData) as exc:
                errors.append((source.name, exc))
            except RecursionError:  # a hostile feed's "[[[[...": that source failed, no more
                errors.append((source.name, BadData("JSON nested too deep")))
            else:
                # after a source switch the previous source's series stays beside the new one
                previous = self.cache.peek(WEATHER)
                report["history"] = history.carry_over(
                    report["history"], previous.value.get("history") if previous else None)
                return report
        raise all_failed("weather", errors)

    def _fetch_photos(self) -> dict[str, Any]:
        errors: list[tuple[str, Exception]] = []
        for source in self.image_sources:
            try:
                chosen = selection.candidates(source.fetch())
            except (UpstreamError, BadData) as exc:
                errors.append((source.name, exc))
                continue
            except RecursionError:  # a hostile feed's "[[[[...": that source failed, no more
                errors.append((source.name, BadData("JSON nested too deep")))
                continue
            if chosen:
                return {"source": source.name, "photos": [p.to_dict() for p in chosen]}
            errors.append((source.name, BadData("no suitable photo")))
        raise all_failed("photo", errors)
