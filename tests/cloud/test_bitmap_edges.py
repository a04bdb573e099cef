"""Bitmap geometry (cover / contain) and the image edge cases upstream feeds produce."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud.bitmap import BitmapError, convert, panel_view
from testing import bmpcheck
from testing import sample_images as samples
from testing.sample_images import BLUE, GREEN, RED


def shown(bmp: bytes) -> np.ndarray:
    return np.asarray(panel_view(bmp), dtype=int)


def is_colour(pixel, colour, tolerance=16) -> bool:
    return bool(np.all(np.abs(np.asarray(pixel) - colour) <= tolerance))


# --- cover: fill the screen, crop the overflow equally --------------------------------------


@pytest.mark.parametrize("depth", [4, 8, 16])
def test_square_frame_on_4_3_screen_is_cropped_top_and_bottom_equally(depth):
    # 300x300 in thirds; cover at 320x240 scales by 16/15 and shows rows 37.5..262.5, so the
    # red/green edge lands on output row 66.7 and green/blue on 173.3.
    view = shown(convert(samples.encode(samples.bands([RED, GREEN, BLUE])), 320, 240, depth))
    column = view[:, 160]
    assert all(is_colour(p, RED) for p in column[:63])
    assert all(is_colour(p, GREEN) for p in column[71:170])
    assert all(is_colour(p, BLUE) for p in column[177:])
    # The whole width is filled: no bars.
    assert is_colour(view[120, 0], GREEN) and is_colour(view[120, 319], GREEN)


def test_wide_frame_is_cropped_left_and_right_equally():
    # 600x200 in thirds on 320x240: scale 1.2, shows columns 166.7..433.3, edges at 40 and 280.
    image = samples.bands([RED, GREEN, BLUE], size=(600, 200), vertical=True)
    row = shown(convert(samples.encode(image), 320, 240, 16))[120]
    assert all(is_colour(p, RED) for p in row[:36])
    assert all(is_colour(p, GREEN) for p in row[44:276])
    assert all(is_colour(p, BLUE) for p in row[284:])


# --- contain: the whole photo, black bars ---------------------------------------------------


@pytest.mark.parametrize("depth", [4, 8, 16])
def test_square_frame_contained_has_black_side_bars(depth):
    view = shown(
        convert(samples.encode(samples.bands([RED, GREEN, BLUE])), 320, 240, depth, "contain")
    )
    # 240x240 photo centred: bars are columns 0..39 and 280..319, exactly black.
    assert not view[:, :40].any()
    assert not view[:, 280:].any()
    # All three bands are visible (nothing cropped), in order.
    assert is_colour(view[20, 160], RED)
    assert is_colour(view[120, 160], GREEN)
    assert is_colour(view[220, 160], BLUE)
    assert is_colour(view[120, 41], GREEN, 40) and is_colour(view[120, 278], GREEN, 40)


@pytest.mark.parametrize("size", [(320, 240), (480, 320), (321, 17)], ids=str)
@pytest.mark.parametrize("depth", [4, 8])
def test_dithering_never_spills_into_the_bars(size, depth):
    # A photo's quantisation error must not be diffused into the letterbox as stray dots.
    photo = samples.photo_png("astronaut")  # square: bars left and right on every size here
    bmp = convert(photo, *size, depth, "contain")
    colours = bmpcheck.colours(bmp)
    bar = (size[0] - size[1]) // 2
    assert not colours[:, :bar].any() and not colours[:, size[0] - bar :].any()
    assert colours[:, bar:-bar].reshape(-1, 3).any(axis=1).mean() > 0.5  # the photo is there


def test_wide_frame_contained_has_black_bars_above_and_below():
    image = samples.bands([RED, BLUE], size=(400, 100), vertical=True)
    view = shown(convert(samples.encode(image), 320, 240, 16, "contain"))
    # 4:1 into 320x240 -> 320x80 centred: rows 80..159.
    assert not view[:80].any() and not view[160:].any()
    assert is_colour(view[120, 10], RED) and is_colour(view[120, 310], BLUE)


# --- the edge cases of the NASA feeds -------------------------------------------------------


@pytest.fixture(scope="module")
def jpeg() -> bytes:
    return samples.encode(samples.photo("chelsea"), "JPEG", quality=90)


def test_truncated_jpeg_is_a_clear_error(jpeg):
    with pytest.raises(BitmapError, match="truncated"):
        convert(jpeg[: len(jpeg) // 2], 320, 240)


def test_corrupt_jpeg_header_is_a_clear_error(jpeg):
    # Keep the start-of-image marker, wreck everything after it.
    corrupt = jpeg[:2] + bytes(range(256)) * 4
    with pytest.raises(BitmapError, match="^corrupt JPEG header"):
        convert(corrupt, 320, 240)


def test_corrupt_jpeg_scan_gives_a_bitmap_or_a_clear_error(jpeg):
    # Garbage in the entropy-coded data: libjpeg may recover (a damaged picture is still a
    # picture) or give up; either way the caller gets a board bitmap or a BitmapError.
    middle = len(jpeg) // 2
    corrupt = jpeg[:middle] + bytes(reversed(jpeg[middle : middle + 4000])) + jpeg[middle + 4000 :]
    try:
        bmp = convert(corrupt, 320, 240)
    except BitmapError as error:
        assert "corrupt" in str(error) or "truncated" in str(error)
    else:
        bmpcheck.check(bmp)


@pytest.mark.parametrize(
    "data",
    [
        b"<html><body><h1>503 Service Unavailable</h1></body></html>",
        b'{"error": {"code": "OVER_RATE_LIMIT"}}',
        b"\x00" * 1000,
    ],
    ids=["html-page", "json", "zeros"],
)
def test_non_image_bytes_are_a_clear_error(data):
    with pytest.raises(BitmapError, match="not a supported image"):
        convert(data, 320, 240)


def test_declared_pixels_over_the_limit_are_refused_undecoded():
    # The PNG carries no real pixel data: had the decoder run, the error would be "truncated".
    with pytest.raises(BitmapError, match=r"8000x6000 = 48000000 pixels.*not decoded"):
        convert(samples.png_bomb(8000, 6000), 320, 240)


def test_real_zlib_bomb_is_refused_before_inflating():
    bomb = samples.zlib_bomb_png(7000)  # 49 Mpx of zeros in a few tens of kilobytes
    assert len(bomb) < 100_000
    with pytest.raises(BitmapError, match="decompression bomb"):
        convert(bomb, 320, 240)


def test_max_pixels_is_the_limit():
    data = samples.encode(samples.flat(RED, size=(100, 100)))
    with pytest.raises(BitmapError, match="max_pixels=9999"):
        convert(data, 16, 16, max_pixels=9_999)
    bmpcheck.check(convert(data, 16, 16, max_pixels=10_000))


def test_pillow_bomb_limit_is_also_a_bitmap_error():
    # Beyond twice Pillow's own limit, Image.open itself raises; that must not escape either.
    with pytest.raises(BitmapError, match="pixels"):
        convert(samples.png_bomb(30_000, 30_000), 320, 240, max_pixels=10**10)


@pytest.mark.slow
def test_several_megabyte_png_converts():
    data = samples.large_png()
    for depth in (8, 16):
        info = bmpcheck.check(convert(data, 480, 320, depth))
        assert (info.width, info.height) == (480, 320)


def test_tiny_source_is_upscaled_to_the_screen():
    info = bmpcheck.check(convert(samples.encode(samples.flat(GREEN, size=(3, 2))), 320, 240))
    assert (info.width, info.height) == (320, 240)


@pytest.mark.parametrize("blob", ["panel", "bmp"])
def test_panel_view_refuses_what_is_not_a_bmp(blob):
    data = samples.encode(samples.flat(RED)) if blob == "panel" else b"BM" + b"\x00" * 200
    with pytest.raises(BitmapError):
        panel_view(data)


# --- nothing but BitmapError escapes --------------------------------------------------------

_SEEDS = {
    "jpeg": samples.encode(samples.photo("coffee").resize((96, 64)), "JPEG", quality=80),
    "png": samples.encode(samples.photo("coffee").resize((96, 64))),
    "gif": samples.encode(samples.photo("coffee").resize((96, 64)), "GIF"),
}


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.sampled_from(sorted(_SEEDS)),
    cut=st.integers(min_value=1, max_value=20_000),  # past the end: the whole file
    edits=st.lists(
        st.tuples(st.integers(min_value=0, max_value=2000), st.integers(0, 255)), max_size=8
    ),
)
def test_mangled_images_give_a_bitmap_or_a_bitmap_error(seed, cut, edits):
    data = bytearray(_SEEDS[seed][:cut])
    for position, value in edits:
        if position < len(data):
            data[position] = value
    try:
        bmp = convert(bytes(data), 16, 16)
    except BitmapError:
        return
    bmpcheck.check(bmp)
