"""Feed URLs in ``/mars`` answers: only those a person may be sent to.

``photos[].full_url`` and the ``source_url`` of the image and of each photo come from the feeds,
and the page sets them as ``href`` and ``src``. Only URLs the backend itself would fetch reach an
answer (:class:`~cloud.mars.allowlist.Allowlist`: https on NASA's hosts and the configured
bases; plain http only on a configured http base, a test server or a local mirror). Anything
else (``javascript:``, ``file:``, ``data:``, another host) becomes ``null``, and the log counts
it: one line per URL the first time it is dropped, with the running total.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from aws_lambda_powertools import Logger

from cloud.mars.allowlist import Allowlist
from cloud.mars.http import redact

# a child of the handler's Powertools logger: JSON lines with its correlation id
log = Logger(service="mars", child=True)
REMEMBERED = 256  # distinct dropped URLs logged once each (then the set starts over)


class Links:
    """:param allowlist: the URLs answers may carry; ``None`` allows any https URL (tools)."""

    def __init__(self, allowlist: Allowlist | None) -> None:
        self.allowlist = allowlist
        self.dropped = 0
        self._logged: set[str] = set()
        self._lock = threading.Lock()

    def allows(self, url: Any) -> bool:
        if not isinstance(url, str):
            return False
        if self.allowlist is None:
            return url.lower().startswith("https://")
        return self.allowlist.allows(url)

    def clean(self, item: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
        """``item`` with each URL field in ``names`` kept only if allowed (else ``None``)."""
        for name in names:
            url = item.get(name)
            if url is not None and not self.allows(url):
                item[name] = None
                self._count(name, url)
        return item

    def _count(self, name: str, url: Any) -> None:
        shown = redact(str(url))[:120]
        with self._lock:
            self.dropped += 1
            first = shown not in self._logged
            if first:
                if len(self._logged) >= REMEMBERED:
                    self._logged.clear()
                self._logged.add(shown)
            total = self.dropped
        if first:
            log.warning("feed URL dropped from the answer: not https on NASA's hosts",
                        extra={"field": name, "url": shown, "dropped_total": total})
