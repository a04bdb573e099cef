"""``supervisor.reload``: the harness ends the run there (``harness.BoardReset``)."""

import harness


def reload():
    raise harness.BoardReset("supervisor.reload()")


def ticks_ms():
    return harness.clock[0] % (1 << 29)
