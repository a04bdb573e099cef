"""The bitmap pipeline: parameters, validity on the board, input modes, geometry, hostile input."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cloud.bitmap import MAX_SIDE, MIN_SIDE, BitmapError, convert, panel_view
from cloud.errors import CloudError
from testing import bmpcheck
from testing import sample_images as samples
from testing.sample_images import BLUE, RED, WHITE


def shown(bmp: bytes) -> np.ndarray:
    """What the panel shows, as an (h, w, 3) int array."""
    return np.asarray(panel_view(bmp), dtype=int)


def assert_near(actual, expected, tolerance=10):
    assert np.all(np.abs(np.asarray(actual, int) - np.asarray(expected, int)) <= tolerance), (
        actual,
        expected,
    )


@pytest.fixture(scope="module")
def photo_png() -> bytes:
    return samples.photo_png("astronaut")


# --- parameters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"width": MIN_SIDE - 1}, "width"),
        ({"width": MAX_SIDE + 1}, "width"),
        ({"width": 320.0}, "width"),
        ({"width": True}, "width"),
        ({"height": 0}, "height"),
        ({"height": "240"}, "height"),
        ({"depth": 24}, "depth"),
        ({"depth": 1}, "depth"),
        ({"depth": 2}, "depth"),
        ({"fit": "stretch"}, "fit"),
        ({"fit": None}, "fit"),
        ({"max_pixels": 0}, "max_pixels"),
    ],
)
def test_bad_parameter_is_named(photo_png, kwargs, named):
    arguments = {"width": 320, "height": 240, "depth": 8, "fit": "cover"} | kwargs
    with pytest.raises(BitmapError, match=rf"^{named} must"):
        convert(photo_png, **arguments)


@pytest.mark.parametrize("data", [b"", "not bytes", None])
def test_missing_data_is_refused(data):
    with pytest.raises(BitmapError, match="data"):
        convert(data, 320, 240)


def test_error_is_a_cloud_error_and_a_value_error():
    assert issubclass(BitmapError, CloudError)
    assert issubclass(BitmapError, ValueError)


# --- what the board accepts ----------------------------------------------------------------


SIZES = [(320, 240), (480, 320), (16, 16), (1024, 1024), (321, 17), (17, 321), (1023, 16)]


HEADERS = {4: 14 + 40 + 16 * 4, 8: 14 + 40 + 256 * 4, 16: 14 + 40 + 3 * 4}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("depth", [4, 8, 16])
def test_every_size_and_depth_is_a_board_bitmap(photo_png, size, depth):
    bmp = convert(photo_png, *size, depth)
    info = bmpcheck.check(bmp)
    assert (info.width, info.height, info.bits_per_pixel) == (*size, depth)
    assert info.header_size == 40
    assert info.compression == (3 if depth == 16 else 0)
    row = (size[0] * depth + 31) // 32 * 4
    assert len(bmp) == HEADERS[depth] + row * size[1] >= 138
    if depth == 16:
        assert info.masks == bmpcheck.MASKS_565
    else:
        assert len(info.palette) == 1 << depth
    colours = bmpcheck.colours(bmp)
    assert colours.shape == (size[1], size[0], 3)
    # The board decodes the same picture panel_view describes, code for code.
    assert np.array_equal(bmpcheck.rgb565(colours), bmpcheck.rgb565(np.asarray(panel_view(bmp))))


@pytest.mark.parametrize("depth", [4, 8])
def test_palette_holds_only_panel_colours(photo_png, depth):
    info = bmpcheck.check(convert(photo_png, 320, 240, depth))
    for entry in info.palette:
        rgb = np.array([[[entry >> 16, (entry >> 8) & 0xFF, entry & 0xFF]]], np.uint8)
        expanded = np.asarray(panel_view_of_rgb(rgb))
        assert np.array_equal(expanded, rgb), hex(entry)  # truncating + expanding changes nothing


def panel_view_of_rgb(rgb: np.ndarray) -> Image.Image:
    from cloud.bitmap import rgb565

    return rgb565.panel(Image.fromarray(rgb))


def test_depth8_uses_many_colours_for_a_photo(photo_png):
    colours = bmpcheck.colours(convert(photo_png, 320, 240, 8)).reshape(-1, 3)
    assert len(np.unique(colours, axis=0)) > 200  # an adaptive palette, filled


def test_depth4_uses_all_16_colours_for_a_photo(photo_png):
    bmp = convert(photo_png, 320, 240, 4)
    assert len(bmp) == 38_518  # half of depth 8's 77,878
    colours = bmpcheck.colours(bmp).reshape(-1, 3)
    assert len(np.unique(colours, axis=0)) == 16


def test_conversion_is_deterministic(photo_png):
    # The store addresses bitmaps by content: the same input must give the same bytes.
    assert convert(photo_png, 320, 240, 8) == convert(photo_png, 320, 240, 8)
    assert convert(photo_png, 320, 240, 4) == convert(photo_png, 320, 240, 4)
    assert convert(photo_png, 480, 320, 16) == convert(photo_png, 480, 320, 16)


def test_large_jpeg_is_decoded_at_reduced_scale():
    from cloud.bitmap import decode

    data = samples.encode(samples.flat(RED, size=(2000, 1500)), "JPEG")
    with decode.open_image(data, 40_000_000) as image:
        decode.draft_for(image, 320 / 2000)
        assert image.size == (500, 375)  # 1/4 scale: still over 1.5x the 320x240 it needs
    png = samples.encode(samples.flat(RED, size=(2000, 1500)))
    with decode.open_image(png, 40_000_000) as image:
        decode.draft_for(image, 320 / 2000)
        assert image.size == (2000, 1500)  # only JPEG can decode at reduced scale


# --- input modes ---------------------------------------------------------------------------


COLOUR = (200, 120, 40)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(samples.encode(samples.flat(COLOUR)), COLOUR, id="rgb-png"),
        pytest.param(samples.encode(samples.flat(COLOUR), "JPEG", quality=95), COLOUR, id="jpeg"),
        pytest.param(samples.encode(samples.flat(90, mode="L"), "JPEG"), (90,) * 3, id="grey-jpeg"),
        pytest.param(samples.encode(samples.flat(90, mode="L")), (90,) * 3, id="grey-png"),
        pytest.param(samples.encode(samples.flat(1, mode="1")), WHITE, id="1-bit-png"),
        pytest.param(samples.png16_grey(0x8000), (128,) * 3, id="png-16-bit-grey"),
        pytest.param(
            samples.png16_rgb((0xFFFF, 0x8000, 0x2000)), (255, 128, 32), id="png-16-bit-rgb"
        ),
        pytest.param(
            samples.encode(samples.flat(COLOUR).convert("P", palette=Image.Palette.ADAPTIVE)),
            COLOUR,
            id="palette-png",
        ),
        pytest.param(
            samples.encode(samples.flat(COLOUR + (255,), mode="RGBA")), COLOUR, id="rgba-opaque"
        ),
        pytest.param(
            samples.encode(samples.flat((255, 255, 255, 128), mode="RGBA")),
            (128,) * 3,
            id="rgba-half",
        ),
        pytest.param(
            samples.encode(samples.flat(WHITE + (0,), mode="RGBA")), (0, 0, 0), id="rgba-clear"
        ),
        pytest.param(
            samples.encode(samples.flat((200, 64), mode="LA")), (50,) * 3, id="grey-alpha"
        ),
        pytest.param(
            samples.encode(samples.flat(COLOUR).convert("CMYK"), "JPEG", quality=95),
            COLOUR,
            id="cmyk-jpeg",
        ),
        pytest.param(samples.encode(samples.flat(COLOUR), "GIF"), COLOUR, id="gif"),
        pytest.param(samples.encode(samples.flat(COLOUR), "BMP"), COLOUR, id="bmp"),
        pytest.param(
            samples.encode(samples.flat(COLOUR), "WEBP", lossless=True), COLOUR, id="webp"
        ),
        pytest.param(samples.encode(samples.flat(COLOUR), "TIFF"), COLOUR, id="tiff"),
    ],
)
@pytest.mark.parametrize("depth", [4, 8, 16])
def test_input_mode_keeps_its_colour(data, expected, depth):
    bmp = convert(data, 32, 24, depth)
    bmpcheck.check(bmp)
    mean = shown(bmp).reshape(-1, 3).mean(axis=0)
    assert_near(mean, expected, tolerance=6)


def test_transparent_palette_entry_becomes_black():
    image = samples.flat(0, size=(40, 30), mode="P")
    image.putpalette([255, 255, 255, 255, 0, 0])
    image.paste(1, (20, 0, 40, 30))  # right half red, left half the transparent white
    bmp = convert(samples.encode(image, transparency=0), 40, 30, 16)
    view = shown(bmp)
    assert_near(view[15, 5], (0, 0, 0), 0)
    assert_near(view[15, 35], RED, 4)


def test_animated_gif_shows_its_first_frame():
    frames = [samples.flat(RED), samples.flat(BLUE)]
    data = samples.encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert_near(shown(convert(data, 32, 24, 16)).reshape(-1, 3).mean(axis=0), RED, 4)


@pytest.mark.parametrize(
    ("orientation", "top", "bottom"),
    [(1, None, None), (3, None, None), (6, RED, BLUE), (8, BLUE, RED)],
)
def test_exif_orientation_is_applied(orientation, top, bottom):
    # Stored landscape: red left, blue right. Orientation 6 turns it clockwise (red on top),
    # 8 counter-clockwise (red at the bottom); 1 and 3 keep it landscape (3 puts red right).
    stored = samples.bands([RED, BLUE], size=(2000, 1000), vertical=True)
    view = shown(convert(samples.exif_jpeg(stored, orientation), 160, 320, 16, "contain"))
    if top is None:
        # Landscape inside a portrait screen: letterboxed, bars above and below.
        left, right = (RED, BLUE) if orientation == 1 else (BLUE, RED)
        assert_near(view[160, 20], left, 16)
        assert_near(view[160, 140], right, 16)
        assert_near(view[10, 80], (0, 0, 0), 0)
    else:
        assert_near(view[40, 80], top, 16)
        assert_near(view[280, 80], bottom, 16)
