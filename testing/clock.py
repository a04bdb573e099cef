"""A clock tests move by hand."""

from __future__ import annotations


class Clock:
    """A clock tests move by hand (epoch seconds)."""

    def __init__(self, now: float = 1_790_676_672.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

