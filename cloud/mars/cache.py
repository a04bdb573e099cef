"""A TTL cache over the store, with single-flight refreshes that never replace good with bad.

- A value younger than its TTL is answered from memory (the warm path: a dict lookup).
- When it is older, one refresh runs; every caller gets the cached value at once, or, when
  there is none yet, waits for that refresh and shares its result. So ten cold requests cost
  one upstream fetch. With ``background`` (the API) the refresh runs on its own thread and even
  its trigger does not wait; a cold caller waits at most ``cold_wait_s``, well inside the
  Lambda timeout. Without it (the scheduled refresh, unit tests) the caller runs it.
- Before going upstream the leader rereads the store: in AWS the scheduled refresh writes there,
  so user requests are answered from it.
- A failed refresh keeps the last good value and marks it ``stale``; so does a new value that
  ``better`` rejects. After a failure the resource is left alone for a back-off (the upstream's
  ``Retry-After`` when it gave one), so a dead feed is not hammered on every request.
- It is only a cache: a stored copy that cannot be read, is not JSON, nests too deep, or has not
  the shape its resource's ``valid`` check wants is no copy (it is logged and fetched again). A
  time in the future is never trusted: a copy written under a clock that was ahead counts as
  expired (served while one refresh runs, like any expired value) instead of fresh for as long
  as the clock was ahead.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from cloud.mars.errors import BadData, NoData, UpstreamError
from cloud.mars.store import Store, StoreError
from contracts import safejson

# a child of the handler's Powertools logger: JSON lines with its correlation id
log = Logger(service="mars", child=True)

#: ``observer(event, key)`` with event ``"hit"``, ``"miss"``, ``"stale"`` or ``"rejected"``.
CacheObserver = Callable[[str, str], None]
#: How far ahead of this clock a stored time may be and still be believed (clocks of two
#: containers differ by a little; one that was hours or days ahead is not believed).
FUTURE_SKEW_S = 300.0
MAX_STORED_BYTES = 8 * 1024 * 1024  # a cached value is tens of KB; anything this big is not one


@dataclass(frozen=True)
class Entry:
    value: Any  # JSON-serialisable
    fetched_at: float  # epoch seconds of the upstream fetch
    stale: bool = False  # the last refresh failed or brought worse data


class _Call:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


def in_thread(fn: Callable[[], None]) -> None:
    """Run ``fn`` in a daemon thread (in Lambda it pauses while the container is frozen and
    goes on with the next invocation)."""
    threading.Thread(target=fn, daemon=True, name="refresh").start()


class SingleFlight:
    """Run at most one ``fn`` per key at a time; concurrent callers share its outcome."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, _Call] = {}

    def running(self, key: str) -> bool:
        with self._lock:
            return key in self._calls

    def _join(self, key: str) -> tuple[_Call, bool]:
        with self._lock:
            call = self._calls.get(key)
            if call is not None:
                return call, False
            call = self._calls[key] = _Call()
            return call, True

    def _run(self, key: str, call: _Call, fn: Callable[[], Any]) -> None:
        try:
            call.result = fn()
        except BaseException as exc:  # handed to whoever waits; re-raised there
            call.error = exc
        finally:
            with self._lock:
                del self._calls[key]
            call.done.set()

    @staticmethod
    def wait(call: _Call, key: str, timeout_s: float) -> Any:
        """The outcome of ``call``, waiting at most ``timeout_s``.

        :raises TimeoutError: it is still running.
        """
        if not call.done.wait(timeout_s):
            raise TimeoutError(f"waited {timeout_s:g} s for {key}")
        if call.error is not None:
            raise call.error
        return call.result

    def do(self, key: str, fn: Callable[[], Any], timeout_s: float = 60.0) -> Any:
        """``fn()``'s result, computed once for all concurrent callers of ``key``."""
        call, leader = self._join(key)
        if leader:
            self._run(key, call, fn)
        return self.wait(call, key, timeout_s)

    def start(self, key: str, fn: Callable[[], Any],
              spawn: Callable[[Callable[[], None]], None] = in_thread) -> _Call:
        """Start ``fn`` through ``spawn`` unless it already runs for ``key``; returns the call
        to :meth:`wait` on."""
        call, leader = self._join(key)
        if leader:
            try:
                spawn(lambda: self._run(key, call, fn))
            except BaseException as exc:  # it never started: nobody may wait for it forever
                failure = exc

                def fail() -> Any:
                    raise failure

                self._run(key, call, fail)
        return call


class Cache:
    """Named, JSON-valued resources with a TTL each, persisted under ``meta/{name}.json``.

    :param clock: epoch seconds (tests pass a fake).
    :param failure_backoff_s: how long to leave a failed resource alone, at most.
    :param valid: per key, whether a stored value has the shape its readers need; a stored copy
        that fails it is discarded and fetched again.
    """

    def __init__(self, store: Store, clock: Callable[[], float] = time.time,
                 failure_backoff_s: float = 60.0, observer: CacheObserver | None = None,
                 background: Callable[[Callable[[], None]], None] | None = None,
                 cold_wait_s: float = 8.0,
                 valid: Mapping[str, Callable[[Any], bool]] | None = None) -> None:
        self.store = store
        self.valid = dict(valid or {})
        self.background = background
        self.cold_wait_s = cold_wait_s
        self.clock = clock
        self.failure_backoff_s = failure_backoff_s
        self.observer = observer
        self.flight = SingleFlight()
        self._entries: dict[str, Entry] = {}
        self._retry_at: dict[str, float] = {}
        self._last_error: dict[str, str] = {}

    def _tell(self, event: str, key: str) -> None:
        if self.observer is not None:
            self.observer(event, key)

    def peek(self, key: str) -> Entry | None:
        """The entry in memory or in the store, without going upstream."""
        entry = self._entries.get(key)
        if entry is None:
            entry = self._read(key)
            if entry is not None:
                self._entries[key] = entry
        return entry

    def get(self, key: str, ttl_s: float, fetch: Callable[[], Any],
            better: Callable[[Any, Any], bool] | None = None, force: bool = False) -> Entry:
        """The entry for ``key``, refreshed through ``fetch`` when older than ``ttl_s``.

        :param fetch: returns the new JSON value; raises :class:`UpstreamError` or
            :class:`BadData` on failure.
        :param better: ``better(new, old)``: may ``new`` replace ``old``? (default: yes)
        :param force: refresh even when fresh (the scheduled refresh).
        :raises NoData: nothing was ever obtained and this refresh failed too.
        """
        entry = self.peek(key)
        now = self.clock()
        if entry is not None and not force and fresh(entry, ttl_s, now):
            self._tell("hit", key)
            return entry
        if not force and now < self._retry_at.get(key, 0.0):
            if entry is not None:
                self._tell("stale", key)
                return entry
            raise NoData(f"no {key} yet: {self._last_error.get(key, 'upstream failed')}",
                         retry_after_s=max(1, int(self._retry_at[key] - now)))
        if entry is not None and not force and self.flight.running(key):
            self._tell("hit", key)  # someone is refreshing it: answer with what we have
            return entry
        self._tell("miss", key)
        refresh = lambda: self._refresh(key, ttl_s, fetch, better, force)  # noqa: E731
        if self.background is None or force:
            return self.flight.do(key, refresh)
        call = self.flight.start(key, refresh, self.background)
        if entry is not None:
            return entry  # answered now; the one refresh goes on by itself
        try:
            return self.flight.wait(call, key, self.cold_wait_s)
        except TimeoutError:
            raise NoData(f"no {key} yet: the upstream is slow; still fetching",
                         retry_after_s=5) from None

    def _refresh(self, key: str, ttl_s: float, fetch: Callable[[], Any],
                 better: Callable[[Any, Any], bool] | None, force: bool) -> Entry:
        stored, old = self._read(key), self._entries.get(key)
        now = self.clock()
        if stored is not None and (old is None or stored.fetched_at > old.fetched_at) and \
                stored.fetched_at <= now + FUTURE_SKEW_S:
            old = self._entries[key] = stored
        if old is not None and not force and fresh(old, ttl_s, now):
            return old  # another container (or the scheduled refresh) already did it
        try:
            value = fetch()
        except (UpstreamError, BadData) as exc:
            return self._failed(key, old, str(exc), getattr(exc, "retry_after_s", None))
        if old is not None and better is not None and not better(value, old.value):
            self._tell("rejected", key)
            return self._failed(key, old, "upstream answered worse data than cached", None)
        entry = Entry(value, now)
        self._entries[key] = entry
        self._retry_at.pop(key, None)
        self._last_error.pop(key, None)
        # A failed write loses nothing: memory has it and the next refresh writes again.
        with contextlib.suppress(StoreError):
            self.store.put(f"meta/{key}.json",
                           json.dumps({"value": value, "fetched_at": now}).encode(),
                           "application/json")
        return entry

    def _failed(self, key: str, old: Entry | None, error: str,
                retry_after_s: float | None) -> Entry:
        now = self.clock()
        wait = self.failure_backoff_s if retry_after_s is None else retry_after_s
        self._retry_at[key] = now + max(1.0, wait)
        self._last_error[key] = error
        if old is None:
            raise NoData(f"no {key} yet: {error}", retry_after_s=max(1, int(wait)))
        entry = Entry(old.value, old.fetched_at, stale=True)
        self._entries[key] = entry
        return entry

    def _read(self, key: str) -> Entry | None:
        """The stored copy, or ``None`` when there is none or it is unusable (logged)."""
        name = f"meta/{key}.json"
        try:
            raw = self.store.get(name)
        except StoreError as exc:
            log.warning("cache %s unreadable, fetching again: %s", name, exc)
            return None
        if raw is None:
            return None
        try:
            doc = safejson.loads(raw, max_bytes=MAX_STORED_BYTES)
            fetched_at = doc["fetched_at"]
            if isinstance(fetched_at, bool) or not isinstance(fetched_at, int | float) or \
                    not math.isfinite(fetched_at) or fetched_at < 0:
                raise ValueError(f"fetched_at is {str(fetched_at)[:40]}")
            value = doc["value"]
            check = self.valid.get(key)
            if check is not None and not check(value):
                raise ValueError("not the shape of a cached value")
            return Entry(value, float(fetched_at))
        except (safejson.UnsafeJson, ValueError, KeyError, TypeError) as exc:
            log.warning("cache %s discarded, fetching again: %s", name, str(exc)[:200])
            return None


def fresh(entry: Entry, ttl_s: float, now: float) -> bool:
    """Younger than ``ttl_s``, and not from the future (a clock that was ahead wrote it)."""
    return -FUTURE_SKEW_S <= now - entry.fetched_at < ttl_s
