"""Weather sources: Curiosity REMS, Perseverance MEDA, InSight (legacy).

Parsing is pure: strings become numbers, ``"--"`` becomes ``None``, the newest usable sol wins.
A feed without one usable sol raises :class:`BadData` so it can never replace good data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from cloud.config import Config
from cloud.mars import history
from cloud.mars.errors import BadData
from cloud.mars.feedvalues import clock, newest_first, number, text
from cloud.mars.http import HttpClient, nasa_key_header
from cloud.mars.models import Weather


def _usable(weather: Weather) -> bool:
    return any(v is not None for v in (weather.min_temp_c, weather.max_temp_c,
                                       weather.pressure_pa))


def _newest(reports: list[Weather], feed: str) -> Weather:
    usable = [w for w in reports if _usable(w)]
    if not usable:
        raise BadData(f"{feed}: no sol with temperature or pressure ({len(reports)} sols)")
    return max(usable, key=lambda w: w.sol)


def _sol_report(row: dict, source: str, rover: str) -> Weather | None:
    sol = number(row.get("sol"))
    if not isinstance(sol, int):
        return None
    return Weather(
        source=source, rover=rover, sol=sol, earth_date=text(row.get("terrestrial_date")),
        season=text(row.get("season")), ls=number(row.get("ls")),
        min_temp_c=number(row.get("min_temp")), max_temp_c=number(row.get("max_temp")),
        pressure_pa=number(row.get("pressure")), opacity=text(row.get("atmo_opacity")),
        sunrise=clock(row.get("sunrise")), sunset=clock(row.get("sunset")),
        wind_speed_ms=number(row.get("wind_speed")))


def _newest_of_rows(rows: list, source: str, rover: str, feed: str) -> Weather:
    # build reports from the newest sol down, stopping at the first usable one
    numbered = newest_first(rows)
    for _, row in numbered:
        report = _sol_report(row, source, rover)
        if report is not None and _usable(report):
            return report
    raise BadData(f"{feed}: no sol with temperature or pressure ({len(numbered)} sols)")


def parse_rems(doc: Any) -> Weather:
    """The newest usable sol of Curiosity's REMS feed (``{"soles": [...]}``, all strings)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("soles"), list):
        raise BadData("REMS feed: no 'soles' list")
    return _newest_of_rows(doc["soles"], "REMS", "Curiosity", "REMS feed")


def parse_meda(doc: Any) -> Weather:
    """The newest usable sol of Perseverance's MEDA feed (``{"sols": [...]}``)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("sols"), list):
        raise BadData("MEDA feed: no 'sols' list")
    return _newest_of_rows(doc["sols"], "MEDA", "Perseverance", "MEDA feed")


def _stat(block: Any, key: str) -> float | int | None:
    return number(block.get(key)) if isinstance(block, dict) else None


def parse_insight(doc: Any) -> Weather:
    """The newest sol of InSight's archival feed. Empty ``sol_keys`` is :class:`BadData`."""
    if not isinstance(doc, dict):
        raise BadData("InSight feed: not a JSON object")
    keys = doc.get("sol_keys")
    if not isinstance(keys, list) or not keys:
        raise BadData("InSight feed: no sols (empty sol_keys)")
    reports = []
    for key in keys:
        row = doc.get(str(key))
        sol = number(key)
        if not isinstance(row, dict) or not isinstance(sol, int):
            continue
        first, last = text(row.get("First_UTC")), text(row.get("Last_UTC"))
        reports.append(Weather(
            source="InSight", rover="InSight", sol=sol,
            earth_date=first[:10] if first else None, season=text(row.get("Season")),
            min_temp_c=_stat(row.get("AT"), "mn"), max_temp_c=_stat(row.get("AT"), "mx"),
            pressure_pa=_stat(row.get("PRE"), "av"), avg_temp_c=_stat(row.get("AT"), "av"),
            wind_speed_ms=_stat(row.get("HWS"), "av"), first_utc=first, last_utc=last,
            legacy=True))
    return _newest(reports, "InSight feed")


@dataclass
class WeatherSource:
    """A weather feed: one URL, one parser; ``secret_headers`` carry its key (never the URL)."""

    name: str
    url: str
    parse: Callable[[Any], Weather]
    http: HttpClient
    secret_headers: Mapping[str, str] = field(default_factory=dict, repr=False)

    def _get(self) -> Any:
        return self.http.get_json(self.url, source=self.name, secret_headers=self.secret_headers)

    def fetch(self) -> Weather:
        """:raises UpstreamError: the feed could not be fetched.
        :raises BadData: it answered nothing usable."""
        return self.parse(self._get())

    def fetch_report(self) -> dict[str, Any]:
        """The newest report as a dict, with ``history``: this feed's series of recent sols,
        parsed from the same download.

        :raises UpstreamError: the feed could not be fetched.
        :raises BadData: it answered nothing usable."""
        doc = self._get()
        series = history.series_for(self.name, doc)
        return {**self.parse(doc).to_dict(), "history": [series] if series else []}


def weather_sources(config: Config, http: HttpClient) -> list[WeatherSource]:
    """REMS, then MEDA, then InSight: the order failover tries them in."""
    site = config.mars_site_base
    feed = {"feed": "weather", "feedtype": "json"}
    insight = urlencode({"feedtype": "json", "ver": "1.0"})
    return [
        WeatherSource("rems", f"{site}/rss/api/?{urlencode({**feed, 'category': 'msl'})}",
                      parse_rems, http),
        WeatherSource("meda", f"{site}/rss/api/?{urlencode({**feed, 'category': 'mars2020'})}",
                      parse_meda, http),
        WeatherSource("insight", f"{config.nasa_api_base}/insight_weather/?{insight}",
                      parse_insight, http, nasa_key_header(config.nasa_api_key)),
    ]


def better(new: Weather, old: Weather | None) -> bool:
    """Whether ``new`` may replace ``old``: never legacy over live, never an older sol of the
    same source."""
    if old is None:
        return True
    if new.legacy and not old.legacy:
        return False
    return not (new.source == old.source and new.sol < old.sol)
