"""Which URLs the backend may fetch: NASA's hosts over https, and plain http only where a
configured base (a test server, a local mirror) says so.

Feeds name the photo URLs, so a hostile or broken feed could otherwise make the backend read
``file:///etc/passwd`` or an internal address and serve it as a photo. Redirects are checked
hop by hop by :class:`~cloud.mars.http.HttpClient`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from cloud.config import Config
from cloud.mars.errors import UpstreamError


class RefusedUrl(UpstreamError):
    """A URL outside the allowlist (scheme or host); never fetched, never retried."""


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if scheme not in ("http", "https") or not host or parts.username or parts.password:
        return None
    return scheme, host, port or (443 if scheme == "https" else 80)


@dataclass(frozen=True)
class Allowlist:
    """``https`` on *https_hosts* (port 443, or the port a configured base names), ``http``
    only on the exact *http_origins* (host, port) of configured bases."""

    https_origins: frozenset[tuple[str, int]]
    http_origins: frozenset[tuple[str, int]] = frozenset()

    @classmethod
    def of(cls, bases: Iterable[str | None], hosts: Iterable[str] = ()) -> Allowlist:
        """From configured base URLs (any scheme they use) and extra https host names."""
        https = {(host.lower(), 443) for host in hosts}
        http: set[tuple[str, int]] = set()
        for base in bases:
            origin = _origin(base) if base else None
            if origin is None:
                continue
            scheme, host, port = origin
            (https if scheme == "https" else http).add((host, port))
        return cls(frozenset(https), frozenset(http))

    @classmethod
    def from_config(cls, config: Config) -> Allowlist:
        return cls.of((config.mars_site_base, config.nasa_api_base,
                       config.mars_photos_api_base), config.mars_image_hosts)

    def allows(self, url: str) -> bool:
        origin = _origin(url)
        if origin is None:
            return False
        scheme, host, port = origin
        return (host, port) in (self.https_origins if scheme == "https" else self.http_origins)

    def check(self, url: str, shown: str) -> None:
        """:raises RefusedUrl: naming *shown* (the URL with secrets masked)."""
        if not self.allows(url):
            raise RefusedUrl(f"refused to fetch {shown[:200]}: only https on the configured "
                             "NASA hosts (and http on configured test bases) is allowed")
