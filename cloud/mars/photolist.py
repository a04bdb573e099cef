"""The answer's ``photos`` list: the newest rotation candidates as device bitmaps for the
requested size, built from the cache only.

A bitmap not converted yet is listed with a URL that carries the photo and the size
(``/mars/image/{etag}.bmp?photo=...&width=...``): fetching it converts it once, and only a
listed photo at a size whose etag matches. Lists are built once per cached value and request
shape, so the warm path is a dict lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from aws_lambda_powertools import Logger

from cloud.bitmap import BitmapError
from cloud.mars import payload, selection
from cloud.mars.bitmaps import BitmapStore, bitmap_etag
from cloud.mars.cache import Entry
from cloud.mars.errors import BadParameter, UpstreamError
from cloud.mars.links import Links
from cloud.mars.models import Photo
from cloud.mars.query import ImageRequest, parse_query

log = Logger(service="mars", child=True)
PRESIGN_REUSE_S = 600  # presigned URLs (valid an hour) are made again at least this often
MEMO_SIZE = 64


class PhotoList:
    """:param bitmaps: where bitmaps are converted and stored.
    :param clock: epoch seconds (presigned URLs are remade every ``PRESIGN_REUSE_S``).
    :param links: which feed URLs (``full_url``, ``source_url``) the list may carry."""

    def __init__(self, bitmaps: BitmapStore, clock: Callable[[], float],
                 links: Links | None = None) -> None:
        self.bitmaps = bitmaps
        self.clock = clock
        self.links = links or Links(None)
        self._built: dict[tuple, list] = {}

    def memo(self, key: tuple, build: Callable[[], list]) -> list:
        """``build()``'s list, once per ``key`` (read-only: it goes straight into the JSON)."""
        found = self._built.get(key)
        if found is None:
            if len(self._built) >= MEMO_SIZE:
                self._built.clear()
            found = self._built[key] = build()
        return found

    def listed(self, entry: Entry | None, request: ImageRequest, base_url: str | None,
               count: int) -> list[dict[str, Any]]:
        if entry is None or count == 0:
            return []
        # a finished conversion changes its photo's URL: the count of known bitmaps is in the key
        key = (id(entry.value), entry.fetched_at, request, base_url, count,
               self.bitmaps.known_count, int(self.clock() // PRESIGN_REUSE_S))
        return self.memo(key, lambda: self._build(entry, request, base_url, count))

    def _build(self, entry: Entry, request: ImageRequest, base_url: str | None,
               count: int) -> list[dict[str, Any]]:
        photos = [Photo.from_dict(d) for d in entry.value["photos"]]
        out = []
        for photo in selection.newest(photos, count):
            etag = bitmap_etag(photo, request)
            size = self.bitmaps.known(etag)
            if size is not None:
                url = self.bitmaps.url(etag, base_url)
            else:  # this API's image route (never a presigned URL: the query would void it)
                url = f"{base_url or ''}/mars/image/{etag}.bmp?" + urlencode(
                    {"photo": photo.id, "width": request.width, "height": request.height,
                     "depth": request.depth, "fit": request.fit})
            item = payload.photo_object(photo, request, url=url, size=size, etag=etag, listed=True)
            out.append(self.links.clean(item, ("full_url", "source_url")))
        return out

    def convert(self, etag: str, params: Mapping[str, str], entry: Entry | None) -> bool:
        """Convert the listed photo ``params["photo"]`` at the size in ``params`` if its etag is
        ``etag``; whether a bitmap is now stored. Anything else converts nothing."""
        try:
            request = parse_query(params)
        except BadParameter:
            return False
        for data in (entry.value["photos"] if entry else []):
            photo = Photo.from_dict(data)
            if photo.id == params.get("photo") and bitmap_etag(photo, request) == etag:
                try:
                    self.bitmaps.ensure(photo, request)
                except (UpstreamError, BitmapError) as exc:
                    log.warning("listed photo %s failed: %s", photo.id, exc)
                    return False
                return True
        return False
