"""The cache: TTL, single flight, stale serving, never replacing good with bad."""

from __future__ import annotations

import concurrent.futures
import threading
import time

import pytest

from cloud.mars.cache import Cache, SingleFlight
from cloud.mars.errors import BadData, NoData, UpstreamError
from cloud.mars.store import LocalStore
from testing.clock import Clock
from testing.waiting import wait_until

WAIT_S = 30  # for a thread to reach a point: generous, only a broken test waits this long


class Upstream:
    """A fetch function whose answers tests set; counts its calls.

    ``delay`` makes it slow; :meth:`hold` makes it wait, once started (``entered`` is set),
    until :meth:`release`.
    """

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.calls = 0
        self.delay = 0.0
        self.entered = threading.Event()
        self._released = threading.Event()
        self._released.set()

    def hold(self) -> None:
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    def __call__(self):
        self.calls += 1
        self.entered.set()
        if not self._released.wait(WAIT_S):
            raise AssertionError("the test never released the upstream")
        time.sleep(self.delay)  # a slow upstream, not a synchronisation
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def cache(tmp_path, clock):
    events = []
    made = Cache(LocalStore(tmp_path), clock, failure_backoff_s=60,
                 observer=lambda event, key: events.append(event))
    made.events = events
    return made


def test_fresh_values_come_from_memory(cache, clock):
    upstream = Upstream({"sol": 1})
    assert cache.get("weather", 100, upstream).value == {"sol": 1}
    clock.advance(99)
    assert cache.get("weather", 100, upstream).value == {"sol": 1}
    assert upstream.calls == 1 and cache.events == ["miss", "hit"]


def test_expired_values_are_refreshed(cache, clock):
    upstream = Upstream({"sol": 1}, {"sol": 2})
    cache.get("weather", 100, upstream)
    clock.advance(101)
    entry = cache.get("weather", 100, upstream)
    assert entry.value == {"sol": 2} and not entry.stale and entry.fetched_at == clock.now


def test_failed_refresh_keeps_good_data_marked_stale_and_backs_off(cache, clock):
    upstream = Upstream({"sol": 1}, UpstreamError("down", retryable=True))
    cache.get("weather", 100, upstream)
    clock.advance(101)
    entry = cache.get("weather", 100, upstream)
    assert entry.value == {"sol": 1} and entry.stale
    assert upstream.calls == 2
    clock.advance(30)  # within the back-off: the dead feed is left alone
    assert cache.get("weather", 100, upstream).stale and upstream.calls == 2
    clock.advance(31)
    cache.get("weather", 100, upstream)
    assert upstream.calls == 3


def test_bad_data_never_replaces_good(cache, clock):
    upstream = Upstream({"sol": 5}, BadData("html page"), {"sol": 3})
    cache.get("weather", 100, upstream, better=lambda new, old: new["sol"] >= old["sol"])
    for _ in range(2):
        clock.advance(200)
        entry = cache.get("weather", 100, upstream,
                          better=lambda new, old: new["sol"] >= old["sol"])
        assert entry.value == {"sol": 5} and entry.stale
    assert "rejected" in cache.events


def test_upstream_retry_after_sets_the_back_off(cache, clock):
    error = UpstreamError("429", status=429, retryable=True)
    error.retry_after_s = 900
    upstream = Upstream(error, {"sol": 1})
    with pytest.raises(NoData) as caught:
        cache.get("weather", 100, upstream)
    assert caught.value.retry_after_s == 900
    clock.advance(600)
    with pytest.raises(NoData):
        cache.get("weather", 100, upstream)
    assert upstream.calls == 1
    clock.advance(301)
    assert cache.get("weather", 100, upstream).value == {"sol": 1}


def test_values_survive_a_restart_through_the_store(tmp_path, clock):
    Cache(LocalStore(tmp_path), clock).get("photos", 100, Upstream([1, 2]))
    again = Upstream([3])
    assert Cache(LocalStore(tmp_path), clock).get("photos", 100, again).value == [1, 2]
    assert again.calls == 0


def test_a_fresher_copy_in_the_store_is_used_instead_of_upstream(tmp_path, clock):
    api = Cache(LocalStore(tmp_path), clock)
    api.get("photos", 100, Upstream([1]))
    clock.advance(150)
    Cache(LocalStore(tmp_path), clock).get("photos", 100, Upstream([2]), force=True)  # refresh
    upstream = Upstream([3])
    assert api.get("photos", 100, upstream).value == [2] and upstream.calls == 0


def test_corrupt_store_copy_is_refetched(tmp_path, clock):
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "photos.json").write_text("{not json")
    assert Cache(LocalStore(tmp_path), clock).get("photos", 100, Upstream([9])).value == [9]


def test_ten_concurrent_cold_callers_cause_one_fetch(cache):
    upstream = Upstream({"sol": 1})
    upstream.delay = 0.2
    results, barrier = [], threading.Barrier(10)

    def call():
        barrier.wait()
        results.append(cache.get("weather", 100, upstream).value)

    threads = [threading.Thread(target=call) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert upstream.calls == 1 and results == [{"sol": 1}] * 10


def test_callers_during_a_refresh_get_the_cached_value_at_once(cache, clock):
    upstream = Upstream({"sol": 1}, {"sol": 2})
    cache.get("weather", 100, upstream)
    clock.advance(101)
    upstream.hold()
    leader = threading.Thread(target=cache.get, args=("weather", 100, upstream))
    leader.start()
    assert upstream.entered.wait(WAIT_S)  # the leader's refresh is under way, and held
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        answer = pool.submit(cache.get, "weather", 100, upstream)
        try:  # answered while the refresh is still held: nobody waits for it
            assert answer.result(timeout=WAIT_S).value == {"sol": 1}
        finally:
            upstream.release()
    leader.join()
    assert cache.get("weather", 100, upstream).value == {"sol": 2} and upstream.calls == 2


def test_cold_failure_is_shared_by_waiters_as_no_data(cache):
    upstream = Upstream(UpstreamError("down"))
    upstream.delay = 0.2
    errors, barrier = [], threading.Barrier(5)

    def call():
        barrier.wait()
        try:
            cache.get("weather", 100, upstream)
        except NoData as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == 5 and upstream.calls == 1


def test_single_flight_shares_results_and_errors():
    flight = SingleFlight()
    assert flight.do("k", lambda: 42) == 42
    with pytest.raises(ValueError):
        flight.do("k", lambda: (_ for _ in ()).throw(ValueError("x")))
    assert not flight.running("k")


def test_clock_fixture_is_manual(clock: Clock):
    before = clock()
    clock.advance(5)
    assert clock() == before + 5


@pytest.fixture
def background(tmp_path, clock):
    """The API's cache: refreshes on their own thread, a cold caller waits at most 0.3 s."""
    return Cache(LocalStore(tmp_path), clock, failure_backoff_s=60,
                 background=lambda fn: threading.Thread(target=fn, daemon=True).start(),
                 cold_wait_s=0.3)


def test_background_refresh_answers_the_trigger_at_once(background, clock):
    upstream = Upstream({"sol": 1}, {"sol": 2})
    background.get("weather", 100, upstream)
    clock.advance(101)
    gate = threading.Event()
    upstream.answers = [{"sol": 2}]
    upstream.delay = 0
    slow = lambda: (gate.wait(5), upstream())[1]  # noqa: E731 - held until the gate opens
    started = time.monotonic()
    for _ in range(20):
        assert background.get("weather", 100, slow).value == {"sol": 1}
    assert time.monotonic() - started < 0.5  # nobody waited for the held refresh
    gate.set()
    wait_until(lambda: background.get("weather", 100, slow).value == {"sol": 2})
    assert upstream.calls == 2  # twenty triggers, one refresh


def test_a_cold_caller_waits_only_its_budget(background):
    gate = threading.Event()
    started = time.monotonic()
    with pytest.raises(NoData, match="slow") as caught:
        background.get("weather", 100, lambda: (gate.wait(5), {"sol": 1})[1])
    assert time.monotonic() - started < 2 and caught.value.retry_after_s == 5
    gate.set()
    wait_until(lambda: background.peek("weather") is not None)


def test_a_refresh_that_cannot_start_fails_its_waiters_instead_of_hanging(tmp_path, clock):
    def no_threads(fn):
        raise RuntimeError("can't start new thread")

    cache = Cache(LocalStore(tmp_path), clock, background=no_threads, cold_wait_s=5)
    with pytest.raises(RuntimeError):
        cache.get("weather", 100, Upstream({"sol": 1}))
    assert not cache.flight.running("weather")
