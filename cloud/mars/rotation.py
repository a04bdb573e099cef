"""This refresh window's photo, converted for the device; photos that fail are set aside.

:func:`cloud.mars.selection.pick` orders the candidates for the window; the first whose bitmap
can be made is shown. One that will not download or decode is skipped for ``BROKEN_PHOTO_S``;
one that timed out or met a server error only for ``RETRY_PHOTO_S``, so a few bad seconds at
cold start cost a minute, not hours.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from aws_lambda_powertools import Logger

from cloud.bitmap import BitmapError
from cloud.mars import selection
from cloud.mars.bitmaps import BitmapStore, bitmap_etag
from cloud.mars.cache import SingleFlight
from cloud.mars.conversions import Busy
from cloud.mars.errors import UpstreamError
from cloud.mars.models import Photo
from cloud.mars.query import ImageRequest

# a child of the handler's Powertools logger: JSON lines with its correlation id
log = Logger(service="mars", child=True)
BROKEN_PHOTO_S = 6 * 3600  # a photo that 404s or will not decode is left out this long
RETRY_PHOTO_S = 60  # one that timed out or met a server error, this long


class PhotoRotation:
    """Chooses the photo to show now and makes sure its bitmap exists.

    :param background: converts on its own (the API): a request takes a candidate already
        converted and waits at most ``wait_s`` for one conversion. Without it (the scheduled
        refresh, tests) the request converts.
    """

    def __init__(self, bitmaps: BitmapStore, clock: Callable[[], float], refresh_s: int,
                 background: Callable[[Callable[[], None]], None] | None = None,
                 wait_s: float = 8.0) -> None:
        self.bitmaps = bitmaps
        self.clock = clock
        self.refresh_s = refresh_s
        self.background = background
        self.wait_s = wait_s
        self._broken: dict[str, float] = {}  # photo id -> until when it is skipped

    def current(self, photos: Sequence[Photo],
                request: ImageRequest) -> tuple[Photo, str, int] | None:
        """``(photo, etag, size)`` for this window, or ``None`` when no candidate works."""
        now = self.clock()
        broken = frozenset(key for key, until in self._broken.items() if until > now)
        pending: tuple[Photo, Any] | None = None
        for photo in selection.pick(photos, now, self.refresh_s, broken):
            if photo.id in broken:
                continue
            if self.background is not None:
                ready = self.bitmaps.ready(photo, request)
                if ready is not None:
                    return (photo, *ready)
                if pending is None:  # one conversion at a time; a ready candidate meanwhile
                    pending = (photo, self.bitmaps.convert_later(
                        photo, request, self.background,
                        functools.partial(self._skip, photo, now)))
                continue
            try:
                etag, size = self.bitmaps.ensure(photo, request)
            except (UpstreamError, BitmapError) as exc:
                self._skip(photo, now, exc)  # the next candidate will do
                continue
            except Busy as exc:  # not the photo's fault: no turn for it now
                log.warning("photo %s: %s; answering without it", photo.id, exc)
                return None
            return photo, etag, size
        if pending is None:
            return None
        photo, call = pending
        try:
            bmp = SingleFlight.wait(call, photo.id, self.wait_s)
        except TimeoutError:
            log.warning("photo %s: still converting after %g s; answering without it",
                        photo.id, self.wait_s)
            return None
        except Busy as exc:
            log.warning("photo %s: %s; answering without it", photo.id, exc)
            return None
        except (UpstreamError, BitmapError):
            return None  # set aside by _skip already
        return photo, bitmap_etag(photo, request), len(bmp)

    def _skip(self, photo: Photo, now: float, exc: Exception) -> None:
        transient = isinstance(exc, UpstreamError) and exc.retryable
        wait_s = RETRY_PHOTO_S if transient else BROKEN_PHOTO_S
        log.warning("photo %s skipped for %d s: %s", photo.id, wait_s, exc)
        self._broken[photo.id] = now + wait_s
