"""``GET /mars`` behind CloudFront: relative image links, and how long an answer may be cached.

In AWS the PyPortal calls the API through the page's CloudFront distribution, whose ``/mars*``
behaviour keys its cache on the path, the query and ``x-api-key``. A ``/mars`` answer holds for
the rest of its photo window (``REFRESH_S``), at most :data:`MAX_AGE_S` so the weather stays
fresh, and a stale one briefly; the bitmaps it links are immutable and cached for a year. Their
links are relative (``/mars/image/{etag}.bmp``): the device fetches them from the host it
asked, through the same cache, instead of a presigned S3 URL that would expire in the cache.
"""

from __future__ import annotations

#: CloudFront adds this header to every request it sends to its origin (in any case: the handler
#: reads it from Powertools' case-insensitive headers).
CDN_HEADER = "x-amz-cf-id"
MAX_AGE_S = 600
STALE_MAX_AGE_S = 60


def mars_cache_control(now_s: float, refresh_s: int, stale: bool) -> str:
    """``Cache-Control`` for a ``/mars`` answer given behind CloudFront at ``now_s``."""
    left = int(refresh_s - now_s % refresh_s)
    return f"public, max-age={max(0, min(STALE_MAX_AGE_S if stale else MAX_AGE_S, left))}"
