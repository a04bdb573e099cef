"""Heap of a full refresh on CircuitPython's core (``bench/pyportal.py``, the budget tests).

A run is ``code.py`` on the installed drive until its first refresh has succeeded and the
diagnostics are put away. What the core's heap holds beyond the board's (the harness's
stand-in modules, and the frozen libraries' bytecode, which the board keeps in flash) is
measured in the same run before the app starts (``baseline_bytes``) and left out:

- ``peak_bytes``: the most heap live at any display or socket call of the stand-ins (after a
  collection), less the baseline;
- ``min_heap_bytes``: the smallest ``-X heapsize`` in which the refresh succeeds (bisection),
  less the baseline: the heap the app needs, transients included.
"""

from __future__ import annotations

from testing.circuitpython.core import Board

VIEWS = ("classic", "photo", "weather", "gallery")
BUDGET = {(320, 240): 96 * 1024, (480, 320): 128 * 1024}  # the device README's budget
GENEROUS = 512 * 1024
STEP = 256  # bisection stops within this many bytes
CHECK, WINDOW = 1024, 8192  # a heap "fits" when this much more, in these steps, fits too
SETTLE_MS = 11000  # the diagnostics go after 10 s: the refresh's screen is complete


def settings(view: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """settings.toml for ``view`` (and ``extra`` settings, e.g. ``DEPTH``)."""
    return {**({} if view == "classic" else {"VIEW": view}), **(extra or {})}


def _task(board: Board, view: str, size: tuple[int, int], probe: bool,
          extra: dict[str, str] | None) -> dict:
    return board.start_task("m", size, settings(view, extra), probe=probe, capture=False,
                            settle_ms=SETTLE_MS)


def succeeded(report: dict) -> bool:
    """The app ran on, its first refresh succeeded (and nothing reset the board)."""
    return (report.get("outcome") == "running" and report.get("failures") == 0
            and report.get("refreshes", 0) >= 1)


def refresh(board: Board, view: str, size: tuple[int, int], heap: int,
            probe: bool = False, extra: dict[str, str] | None = None) -> dict:
    """One run on a fixed ``heap``; its report (``{}`` if the process died before it)."""
    run = board.run([_task(board, view, size, probe, extra)], heap=heap)
    return run.reports.get("m", {})


def baseline(board: Board, view: str, size: tuple[int, int],
             extra: dict[str, str] | None = None) -> dict:
    """A run on a generous heap, probing: ``peak_bytes`` and the ``baseline_bytes``."""
    report = refresh(board, view, size, GENEROUS, probe=True, extra=extra)
    if not succeeded(report):
        raise AssertionError(f"{view} {size} fails on CircuitPython {board.tag} even with a "
                             f"{GENEROUS}-byte heap: {report}")
    return report


def fits(board: Board, view: str, size: tuple[int, int], base: int,
         budget: int | None = None) -> dict:
    """Whether a full refresh succeeds with ``budget`` bytes of heap beyond the harness's
    ``base`` (:func:`baseline`; :data:`BUDGET` by default), and with 4 KB more: a pass at one
    lucky size would say little. ``{"ok", "failed": [heaps that failed]}``."""
    budget = budget or BUDGET[size]
    failed = [budget + more for more in (0, WINDOW // 2)
              if not succeeded(refresh(board, view, size, base + budget + more))]
    return {"ok": not failed, "failed": failed}


def smallest_heap(board: Board, view: str, size: tuple[int, int], base: int,
                  extra: dict[str, str] | None = None) -> int:
    """The smallest ``-X heapsize`` (within :data:`STEP`) from which the refresh succeeds in
    every heap up to :data:`WINDOW` larger: success is not monotonic in the heap's size (where
    the free space lies matters), so a bisection's answer is checked above and the search goes
    on above any failure found there."""
    low, high = base, GENEROUS
    while True:
        while high - low > STEP:
            mid = (low + high) // 2
            if succeeded(refresh(board, view, size, mid, extra=extra)):
                high = mid
            else:
                low = mid
        above = [h for h in range(high + CHECK, high + WINDOW + 1, CHECK)
                 if not succeeded(refresh(board, view, size, h, extra=extra))]
        if not above:
            return high
        low, high = above[-1], GENEROUS


def measure(board: Board, view: str, size: tuple[int, int],
            extra: dict[str, str] | None = None) -> dict:
    """``{"peak_bytes", "min_heap_bytes", "frozen_bytes"}`` of one screen at one size
    (``extra``: more settings, e.g. ``{"DEPTH": "4"}``)."""
    first = baseline(board, view, size, extra)
    base = first["baseline_bytes"]
    return {"peak_bytes": first["peak_bytes"] - base,
            "min_heap_bytes": smallest_heap(board, view, size, base, extra) - base,
            "frozen_bytes": first["frozen_bytes"]}
