"""The one lazy-singleton style: built once on first use, even when threads race for it."""

from __future__ import annotations

import threading

from cloud.lazy import Lazy


def test_built_once_for_every_thread_and_rebuilt_after_it_is_forgotten():
    built: list[object] = []
    gate = threading.Barrier(8)

    def build() -> object:
        built.append(object())
        return built[-1]

    lazy = Lazy(build)
    assert lazy.peek() is None and built == []  # importing costs nothing
    seen: list[object] = []

    def get() -> None:
        gate.wait()
        seen.append(lazy.get())

    threads = [threading.Thread(target=get) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1 and seen == built * 8
    lazy.set(None)  # tests change the environment: the next use builds again
    assert lazy.get() is built[1]
    replacement = object()
    lazy.set(replacement)
    assert lazy.get() is replacement and len(built) == 2
