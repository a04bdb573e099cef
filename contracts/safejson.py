"""JSON from strangers: size and nesting checked before the parser sees it.

Python's parser recurses once per ``[`` or ``{``: a kilobyte of ``[`` raises ``RecursionError``
(not ``ValueError``), which nothing expects and which crashes the process that reads it. Every
place that parses untrusted JSON (the cloud, the local stack, the robot agent) goes through
:func:`loads`, so the worst input is a clear :class:`UnsafeJson`.

What passes is what the page's ``JSON.parse`` behind ``cloud/web/safejson.js`` accepts: UTF-8
text only (no UTF-16 guessing, no byte-order mark), and no ``NaN`` or ``Infinity``.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from contracts.errors import TooDeep, UnsafeJson

__all__ = ["MAX_DEPTH", "TooDeep", "UnsafeJson", "depth", "loads"]

MAX_DEPTH = 32  # commands, statuses and signaling messages nest 3 levels at most
# A string to its closing quote, or to the end when it has none (then all the rest is string,
# as a scanner reading left to right sees it).
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"?', re.DOTALL)
_BRACKETS = re.compile(rb"[^\[\]{}]+")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in ``raw``, strings skipped (no parsing).

    An unmatched closing bracket lowers the level below zero, as in the page's guard: what
    follows it is never parsed, the parser fails there first.
    """
    brackets = _BRACKETS.sub(b"", _STRING.sub(b"", raw))
    return max(0, max(accumulate(map(_STEP.__getitem__, brackets)), default=0))


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads(data: bytes | bytearray | str, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``data`` as JSON once it is known to be small and shallow enough.

    :raises UnsafeJson: ``reason`` ``too_large`` (over ``max_bytes``, or nested deeper than
        ``max_depth``: :class:`TooDeep`) or ``malformed`` (not UTF-8 JSON); never
        ``RecursionError``, ``UnicodeDecodeError`` or ``MemoryError`` from the parser.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    if len(raw) > max_bytes:
        raise UnsafeJson("too_large", f"{len(raw)} bytes of JSON; at most {max_bytes} accepted")
    if depth(raw) > max_depth:
        raise TooDeep("too_large", f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise UnsafeJson("malformed", f"not valid JSON: {str(exc)[:80]}") from None
