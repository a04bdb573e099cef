"""JSON from strangers: size and nesting checked before the parser sees it.

Python's parser recurses once per ``[`` or ``{``: a kilobyte of ``[`` raises ``RecursionError``
(not ``ValueError``), which nothing expects and which crashes the process that reads it. Every
place that parses untrusted JSON goes through :func:`loads`, so the worst input is a clear
``ValueError``.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 32  # commands, statuses and signaling messages nest 3 levels at most
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


class UnsafeJson(ValueError):
    """Input refused before parsing (too large, too deep) or not JSON at all."""


def depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in ``raw``, strings ignored (no parsing)."""
    deepest = level = 0
    for match in _BRACKET.finditer(_STRING.sub(b'""', raw)):
        if match.group() in (b"[", b"{"):
            level += 1
            deepest = max(deepest, level)
        else:
            level -= 1
    return deepest


def loads(data: bytes | bytearray | str, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``data`` as JSON once it is known to be small and shallow enough.

    :raises UnsafeJson: over ``max_bytes``, nested deeper than ``max_depth``, or not JSON
        (never ``RecursionError``, ``UnicodeDecodeError`` or ``MemoryError`` from the parser).
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    if len(raw) > max_bytes:
        raise UnsafeJson(f"{len(raw)} bytes of JSON; at most {max_bytes} accepted")
    if depth(raw) > max_depth:
        raise UnsafeJson(f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise UnsafeJson(f"not valid JSON: {str(exc)[:80]}") from None
