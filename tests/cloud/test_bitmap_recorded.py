"""Recorded bitmaps: the converter's bytes for a set of inputs stay exactly what they were.

The store addresses bitmaps by content and devices skip downloads by ETag, so a change in the
bytes is a change users see. ``bitmap_digests.json`` holds SHA-256 digests recorded with the
hand-written 8-bit writer that Pillow's own BMP encoder replaced; ``RECORD_BITMAPS=1`` rewrites
it (only do that for an intended change of the pictures).
"""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from cloud.bitmap import convert
from testing import sample_images as samples
from testing.data import DATA

DIGESTS = DATA / "recorded" / "bitmap_digests.json"

# (name, source, width, height, depth, fit): photos at both screens, letterboxing (a reserved
# black entry), a short palette (a flat colour), odd widths (row padding, a half-filled byte at
# depth 4), 16-bit words.
CASES = [
    ("coffee-320x240-8-cover", "coffee", 320, 240, 8, "cover"),
    ("astronaut-480x320-8-contain", "astronaut", 480, 320, 8, "contain"),
    ("rocket-480x320-8-cover", "rocket", 480, 320, 8, "cover"),
    ("chelsea-33x17-8-contain", "chelsea", 33, 17, 8, "contain"),
    ("retina-320x240-16-cover", "retina", 320, 240, 16, "cover"),
    ("hubble-37x21-16-contain", "hubble_deep_field", 37, 21, 16, "contain"),
    ("red-18x16-8-cover", "flat", 18, 16, 8, "cover"),
    ("bands-19x17-8-contain", "bands", 19, 17, 8, "contain"),
    ("coffee-320x240-4-cover", "coffee", 320, 240, 4, "cover"),
    ("astronaut-35x17-4-contain", "astronaut", 35, 17, 4, "contain"),
    ("red-18x16-4-cover", "flat", 18, 16, 4, "cover"),
]


def _source(name: str) -> bytes:
    if name == "flat":
        return samples.encode(samples.flat(samples.RED))
    if name == "bands":
        return samples.encode(samples.bands([samples.RED, samples.GREEN, samples.BLUE]))
    return samples.encode(samples.photo(name).resize((400, 300)))


@pytest.fixture(scope="module")
def recorded() -> dict[str, str]:
    return json.loads(DIGESTS.read_text()) if DIGESTS.exists() else {}


@pytest.mark.parametrize(("name", "source", "width", "height", "depth", "fit"), CASES,
                         ids=[case[0] for case in CASES])
def test_bitmap_bytes_are_the_recorded_ones(recorded, name, source, width, height, depth, fit):
    digest = hashlib.sha256(convert(_source(source), width, height, depth, fit)).hexdigest()
    if os.environ.get("RECORD_BITMAPS") == "1":
        DIGESTS.write_text(json.dumps({**recorded, name: digest}, indent=1, sort_keys=True) + "\n")
        recorded[name] = digest
    assert digest == recorded.get(name), f"{name}: the bitmap's bytes changed"

