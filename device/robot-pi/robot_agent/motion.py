"""Acceleration limiting (pure): how far the wheels may speed up in one step.

Only speeding up is limited. Slowing down, stopping and the deadman act at once (braking is
the safe direction); a reversal brakes to zero at once, then speeds up within the limit.
"""

from __future__ import annotations

import math


def towards(current: float, target: float, max_rise: float) -> float:
    """One wheel's next value on its way from ``current`` to ``target`` (both -1..1).

    :param max_rise: the most ``abs(value)`` may grow in this step (``inf``: no limit).
    """
    if target == current:
        return target
    if current != 0 and (target == 0 or math.copysign(1, target) != math.copysign(1, current)):
        current = 0.0  # braking, then the reversal's speeding-up part
    if abs(target) <= abs(current):
        return target
    rise = min(abs(target) - abs(current), max_rise)
    return round(math.copysign(abs(current) + rise, target), 4)


def step(current: tuple[float, float], target: tuple[float, float],
         max_rise: float) -> tuple[float, float]:
    """Both wheels' next values (see :func:`towards`)."""
    return (towards(current[0], target[0], max_rise), towards(current[1], target[1], max_rise))
