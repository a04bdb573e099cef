"""Loopback ports for servers that tests start.

A port the OS hands out with ``bind(0)`` comes from the ephemeral range, the same range every
outgoing connection takes its source port from: between picking it and the server binding it,
another test's client may take it ("port ... is already in use"). So tests pick their listening
ports below that range, each pytest worker from its own block.
"""

from __future__ import annotations

import os
import random
import socket
from pathlib import Path

_LOWEST = 10000
_BLOCKS = 16


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default; macOS's range starts at 49152


def _worker_block() -> range:
    """This process's block of ports: one per xdist worker (``gw0``, ``gw1``...)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    size = (_ephemeral_start() - _LOWEST) // _BLOCKS
    start = _LOWEST + (index % _BLOCKS) * size
    return range(start, start + size)


_block = _worker_block()
_next = random.randrange(len(_block))  # a fresh run does not retry the last run's ports first


def free_port() -> int:
    """A port nothing listens on now, outside the range outgoing connections draw from."""
    global _next
    for _ in range(len(_block)):
        port = _block[_next % len(_block)]
        _next += 1
        if port_is_free(port):
            return port
    raise RuntimeError(f"no free port in {_block.start}-{_block.stop - 1}")


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on ``port`` now (TIME_WAIT leftovers do not count)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def is_listening(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts connections on ``port`` now."""
    with socket.socket() as probe:
        return probe.connect_ex((host, port)) == 0
