"""``time`` as CircuitPython has it, on a virtual clock (``harness.clock``): the core's own
``time`` lacks ``monotonic`` and ``monotonic_ns`` (the kit's README), and a test must not
wait ten minutes for the app's next refresh. ``sleep`` advances the clock and lets the
harness stop the run (``harness.on_sleep``)."""

from time import localtime, time  # noqa: F401 - the core's own

import harness


def monotonic():
    return harness.clock[0] / 1000


def monotonic_ns():
    return harness.clock[0] * 1000000


def sleep(seconds):
    harness.advance(seconds)
    harness.on_sleep()
