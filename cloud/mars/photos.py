"""Rover photo sources: Perseverance raw images, Curiosity raw_image_items, a Mars Rover Photos
mirror. Each fetches one feed page and returns the *suitable* photos of it.

Suitable means a full frame (not a thumbnail, not a tiny subframe), not a calibration target,
with a JPEG to download. Parsing is pure (``parse_*``) so tests call it directly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode

from cloud.config import Config
from cloud.mars.errors import BadData
from cloud.mars.http import HttpClient, nasa_key_header
from cloud.mars.models import Photo

MIN_SIDE = 400  # a subframe smaller than this on either side is not worth a screen
CALIBRATION = re.compile(r"calibration|cal[ -]?target|\bcaltarget\b", re.IGNORECASE)
_RAW_BAYER = re.compile(r"LUJ\d*$")
_PAIR = re.compile(r"\(\s*(\d+)\s*,\s*(\d+)\s*(?:,\s*(\d+)\s*,\s*(\d+)\s*)?\)")
# Cameras that deliver grayscale frames (everything else is taken as colour).
GRAY_CAMERAS = {
    "NAV_LEFT_B", "NAV_RIGHT_B", "NAV_LEFT_A", "NAV_RIGHT_A", "FHAZ_LEFT_B", "FHAZ_RIGHT_B",
    "RHAZ_LEFT_B", "RHAZ_RIGHT_B", "FHAZ_LEFT_A", "FHAZ_RIGHT_A", "RHAZ_LEFT_A", "RHAZ_RIGHT_A",
    "CHEMCAM_RMI", "SUPERCAM_RMI", "NAVCAM", "FHAZ", "RHAZ", "CHEMCAM", "MINITES", "HELI_NAV",
    "SKYCAM",
}
# Not landscapes: sample tubes, sky photometry, descent imagery.
SKIP_CAMERAS = {"CACHECAM", "SKYCAM", "LCAM", "EDL_DDCAM", "EDL_PUCAM1", "EDL_PUCAM2",
                "EDL_RUCAM", "EDL_RDCAM"}


class ImageSource(Protocol):
    """Something that lists suitable photos from the newest sols of one rover."""

    name: str

    def fetch(self) -> list[Photo]:
        """:raises UpstreamError: the feed could not be fetched.
        :raises BadData: the feed answered without a suitable photo."""
        ...


def _size(text: Any) -> tuple[int, int] | None:
    """``"(w,h)"`` -> (w, h); ``"(x,y,w,h)"`` -> (w, h); anything else -> None."""
    match = _PAIR.search(str(text or ""))
    if not match:
        return None
    if match.group(3):
        return int(match.group(3)), int(match.group(4))
    return int(match.group(1)), int(match.group(2))


def _utc(text: Any) -> str | None:
    """An ISO timestamp as ``YYYY-MM-DDTHH:MM:SSZ`` (feeds differ in fractions and ``Z``)."""
    match = re.match(r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)", str(text or ""))
    return f"{match.group(1)}T{match.group(2)}Z" if match else None


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _https(url: str) -> str:
    # Old feeds say http://mars.jpl.nasa.gov; the same files are served over https.
    return "https://" + url[len("http://"):] if url.startswith("http://mars.") else url


def _big_enough(size: tuple[int, int] | None) -> bool:
    return size is None or min(size) >= MIN_SIDE


def parse_perseverance(doc: Any) -> list[Photo]:
    """Suitable photos of a Perseverance ``raw_images`` feed page."""
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), list):
        raise BadData("Perseverance feed: no 'images' list")
    photos = []
    for item in doc["images"]:
        if not isinstance(item, dict) or str(item.get("sample_type", "")).lower() != "full":
            continue
        camera = item.get("camera") or {}
        instrument = str(camera.get("instrument") or "").upper()
        files = item.get("image_files") or {}
        url = files.get("large") or files.get("medium")
        sol = _int(item.get("sol"))
        text = f"{item.get('title', '')} {item.get('caption', '')}"
        size = _size((item.get("extended") or {}).get("dimension"))
        if (not url or sol is None or not item.get("imageid") or instrument in SKIP_CAMERAS
                or CALIBRATION.search(text) or not _big_enough(size)):
            continue
        imageid = str(item["imageid"])
        photos.append(Photo(
            id=f"perseverance:{imageid}", rover="Perseverance", camera=instrument, sol=sol,
            url=url, taken_utc=_utc(item.get("date_taken_utc")),
            source_url=files.get("full_res") or url,
            credit=str(item.get("credit") or "NASA/JPL-Caltech"),
            # Mastcam-Z raw Bayer frames (..._1100LUJ) are gray in RGB clothing.
            colour=instrument not in GRAY_CAMERAS and not _RAW_BAYER.search(imageid),
            width=size[0] if size else None, height=size[1] if size else None))
    return photos


def parse_curiosity(doc: Any) -> list[Photo]:
    """Suitable photos of a ``raw_image_items`` page (Curiosity, or any mission of that API)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise BadData("raw_image_items: no 'items' list")
    photos = []
    for item in doc["items"]:
        if not isinstance(item, dict) or item.get("is_thumbnail"):
            continue
        extended = item.get("extended") or {}
        if str(extended.get("sample_type", "full")).lower() != "full":
            continue
        instrument = str(item.get("instrument") or "").upper()
        url = item.get("https_url") or item.get("url")
        sol = _int(item.get("sol"))
        size = _size(item.get("subframe_rect"))
        text = f"{item.get('title', '')} {item.get('description', '')}"
        if (not url or sol is None or not item.get("imageid") or instrument in SKIP_CAMERAS
                or CALIBRATION.search(text) or not _big_enough(size)):
            continue
        mission = str(item.get("mission") or "msl")
        rover = "Curiosity" if mission == "msl" else mission.capitalize()
        photos.append(Photo(
            id=f"{rover.lower()}:{item['imageid']}", rover=rover, camera=instrument, sol=sol,
            url=_https(url), taken_utc=_utc(item.get("date_taken")), source_url=_https(url),
            credit=str(item.get("image_credit") or "NASA/JPL-Caltech"),
            colour=instrument not in GRAY_CAMERAS,
            width=size[0] if size else None, height=size[1] if size else None))
    return photos


def parse_mars_photos(doc: Any) -> list[Photo]:
    """Photos of a Mars-Rover-Photos-shaped answer (``photos`` or ``latest_photos``)."""
    if not isinstance(doc, dict):
        raise BadData("Mars Rover Photos: not a JSON object")
    items = doc.get("latest_photos", doc.get("photos"))
    if not isinstance(items, list):
        raise BadData(f"Mars Rover Photos: no photo list ({str(doc)[:80]})")
    photos = []
    for item in items:
        if not isinstance(item, dict):
            continue
        camera = str((item.get("camera") or {}).get("name") or "").upper()
        url = item.get("img_src")
        sol = _int(item.get("sol"))
        # Perseverance _320.jpg is the small variant; the _1200.jpg sits next to it.
        if isinstance(url, str) and url.endswith("_320.jpg"):
            url = url[: -len("_320.jpg")] + "_1200.jpg"
        if not url or sol is None or camera in SKIP_CAMERAS:
            continue
        rover = str((item.get("rover") or {}).get("name") or "Unknown")
        photos.append(Photo(
            id=f"{rover.lower()}:mrp{item.get('id')}", rover=rover, camera=camera, sol=sol,
            url=_https(url), taken_utc=_utc(item.get("earth_date", "") + "T00:00:00")
            if item.get("earth_date") else None, source_url=_https(url),
            colour=camera not in GRAY_CAMERAS))
    return photos


@dataclass
class FeedSource:
    """A photo source: one URL, one parser; ``secret_headers`` carry its key (never the URL)."""

    name: str
    url: str
    parse: Callable[[Any], list[Photo]]
    http: HttpClient
    secret_headers: Mapping[str, str] = field(default_factory=dict, repr=False)

    def fetch(self) -> list[Photo]:
        photos = self.parse(self.http.get_json(self.url, source=self.name,
                                               secret_headers=self.secret_headers))
        if not photos:
            raise BadData(f"{self.name}: the newest page has no suitable photo")
        return photos


def perseverance(site: str, http: HttpClient, per_page: int = 100) -> FeedSource:
    query = urlencode({"feed": "raw_images", "category": "mars2020", "feedtype": "json",
                       "num": per_page, "page": 0, "order": "sol desc",
                       "extended": "sample_type::full"})
    return FeedSource("perseverance", f"{site}/rss/api/?{query}", parse_perseverance, http)


def curiosity(site: str, http: HttpClient, per_page: int = 100) -> FeedSource:
    order = "sol desc,instrument_sort asc,sample_type_sort asc, date_taken desc"
    query = urlencode({"order": order,
                       "per_page": per_page, "page": 0, "condition_1": "msl:mission"})
    return FeedSource("curiosity", f"{site}/api/v1/raw_image_items/?{query}", parse_curiosity,
                      http)


def mars_photos(base: str, rover: str, api_key: str, http: HttpClient) -> FeedSource:
    return FeedSource(f"mars_photos_{rover}", f"{base}/api/v1/rovers/{rover}/latest_photos",
                      parse_mars_photos, http, nasa_key_header(api_key))


def image_sources(config: Config, http: HttpClient) -> list[FeedSource]:
    """The photo sources in preference order: ``MARS_ROVERS``, then the mirror if configured."""
    makers = {"perseverance": perseverance, "curiosity": curiosity}
    sources = [makers[rover](config.mars_site_base, http) for rover in config.mars_rovers]
    if config.mars_photos_api_base:
        sources += [mars_photos(config.mars_photos_api_base, rover, config.nasa_api_key, http)
                    for rover in config.mars_rovers]
    return sources
