"""Hypothesis strategies for JSON from strangers, and the nesting a parser would reach: for the
tests of every place that parses it (the guard itself, the cloud, the stack, the page)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
documents = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                         max_leaves=30)
openers = st.sampled_from(["[", "{\"a\":", "[{\"k\":", "[\"\\\"\","])


@st.composite
def deep(draw: st.DrawFn) -> bytes:
    """Nesting from shallow to far past Python's recursion limit, under 1 KB or not."""
    opener = draw(openers)
    depth = draw(st.integers(min_value=1, max_value=5000))
    closing = draw(st.booleans())
    text = opener * depth + ("1" + "]" * depth if closing and opener == "[" else "")
    return text.encode()


untrusted = st.binary(max_size=2048) | deep() | documents.map(lambda d: json.dumps(d).encode())


def nesting(value: Any) -> int:
    """How deep arrays and objects nest in a parsed value."""
    if isinstance(value, list):
        return 1 + max((nesting(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((nesting(v) for v in value.values()), default=0)
    return 0
