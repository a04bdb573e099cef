"""Blinka's ``displayio.OnDiskBitmap`` (the simulator's code path) loads every bitmap we make,
and the RGB565 it sends to the display is exactly what ``panel_view`` says the panel shows."""

from __future__ import annotations

import os

import numpy as np
import pytest

from cloud.bitmap import convert, panel_view
from testing import bmpcheck
from testing import sample_images as samples

os.environ.setdefault("BLINKA_OS_AGNOSTIC", "1")
displayio = pytest.importorskip("displayio")
from displayio import ColorConverter, OnDiskBitmap, Palette  # noqa: E402

from tools.pyportal_sim.display import stop_background_refresh  # noqa: E402

stop_background_refresh()  # no display here: its refresh thread would only burn CPU


def blinka_rgb565(path) -> np.ndarray:
    """Every pixel of ``path`` through OnDiskBitmap and its pixel shader, as display codes."""
    bitmap = OnDiskBitmap(str(path))
    shader = bitmap.pixel_shader
    get_pixel = bitmap._get_pixel  # the call displayio's refresh makes
    # the shader and the converter are pure: each value is looked up once
    shown: dict[int, int] = {}

    def code(value: int) -> int:
        colour = shader[value] if isinstance(shader, Palette) else value
        shown[value] = ColorConverter._compute_rgb565(colour)
        return shown[value]

    rows = [[get_pixel(x, y) for x in range(bitmap.width)] for y in range(bitmap.height)]
    return np.array([[shown[v] if v in shown else code(v) for v in row] for row in rows],
                    np.uint16).reshape(bitmap.height, bitmap.width)


SIZES = [(320, 240), (480, 320), (16, 16), (321, 17)]
# depth 4: the PyPortal's screen and an odd width (a half-filled last byte, padded rows)
CASES = [(depth, size) for depth in (8, 16) for size in SIZES] + [
    (4, (320, 240)), (4, (321, 17))]


@pytest.mark.parametrize(("depth", "size"), CASES, ids=str)
@pytest.mark.parametrize("source", ["rocket", "grey"])
def test_blinka_shows_what_panel_view_predicts(tmp_path, source, depth, size):
    if source == "grey":
        data = samples.encode(samples.photo("coffee").convert("L"), "JPEG", quality=90)
    else:
        data = samples.encode(samples.photo(source), "JPEG", quality=90)
    bmp = convert(data, *size, depth)
    path = tmp_path / "photo.bmp"
    path.write_bytes(bmp)
    on_display = blinka_rgb565(path)
    assert on_display.shape == (size[1], size[0])
    assert np.array_equal(on_display, bmpcheck.rgb565(np.asarray(panel_view(bmp))))
    # Not a vacuous match: the picture has structure.
    assert len(np.unique(on_display)) > (12 if depth == 4 else 20)
