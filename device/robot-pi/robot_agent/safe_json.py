"""JSON from untrusted bytes, bounded before the parser runs.

``json.loads`` recurses once per nesting level: a kilobyte of ``[`` raises ``RecursionError``
(not ``ValueError``) and, uncaught, takes the agent down. The size and the nesting depth are
therefore checked on the raw bytes first, in one linear pass that never recurses.
"""

from __future__ import annotations

import json
from typing import Any

from robot_agent.errors import BadCommand

MAX_DEPTH = 8  # a command is one flat object; a little room for future nested fields

_OPEN = frozenset(b"[{")
_CLOSE = frozenset(b"]}")
_QUOTE, _BACKSLASH = ord('"'), ord("\\")


def nesting_depth(data: bytes) -> int:
    """The deepest ``[``/``{`` nesting outside JSON strings (garbage in, a number out)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPEN:
            depth += 1
            deepest = max(deepest, depth)
        elif byte in _CLOSE:
            depth = max(depth - 1, 0)
    return deepest


def loads(payload: bytes, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """Decode ``payload`` as UTF-8 JSON within the limits.

    :raises BadCommand: ``too_large`` (bytes or depth) or ``malformed``; never anything else.
    """
    if len(payload) > max_bytes:
        raise BadCommand("too_large", f"payload is {len(payload)} bytes (limit {max_bytes})")
    depth = nesting_depth(payload)
    if depth > max_depth:
        raise BadCommand("too_large", f"JSON nested {depth} deep (limit {max_depth})")
    try:
        # NaN/Infinity pass here: the field checks refuse them as non-finite numbers.
        return json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadCommand("malformed", "payload is not JSON") from None
