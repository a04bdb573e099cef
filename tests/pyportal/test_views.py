"""The Photo, Weather and Gallery views at 320x240 and 480x320: goldens, and pixel checks
that the chart's lines are where the data puts them."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from testing.fake_mars_api import bmp4, bmp8, load_payload, photo
from testing.pyportal_device import colors, compare_golden, rgb565

SIZES = ((320, 240), (480, 320))


def render(displays, group, size):
    display = displays.get(*size)
    display.root_group = group
    return display.snapshot()


@pytest.fixture
def photo_file(tmp_path):
    def make(size, seed=1):
        path = tmp_path / f"photo{seed}_{size[0]}.bmp"
        path.write_bytes(bmp8(photo(*size, seed=seed)))
        return str(path)
    return make


def expected_y(value, low, high, top, height):
    return top + round((high - value) * (height - 1) / (high - low))


@pytest.mark.parametrize("size", SIZES)
def test_weather_view_lines_follow_the_data(device, displays, size):
    views = device.weatherview
    weather = views.WeatherView(*size)
    payload = load_payload("history")
    image = render(displays, weather, size)  # empty first: the view exists before data
    weather.show(payload, "C")
    image = render(displays, weather, size)
    left, top, width, height = weather.plot
    sols = payload["history"][0]["sols"]
    values = [v for p in sols for v in (p["min_temp_c"], p["max_temp_c"]) if v is not None]
    low, high = (min(values) // 10) * 10, -(-max(values) // 10) * 10
    first, last = sols[0]["sol"], sols[-1]["sol"]
    px = image.load()
    for point in sols:
        x = left + round((point["sol"] - first) * (width - 1) / (last - first))
        for key, color in (("max_temp_c", views.HIGH), ("min_temp_c", views.LOW)):
            if point[key] is None:
                continue
            y = expected_y(point[key], low, high, top, height)
            assert px[x, y] == rgb565(color), (point, key, (x, y))
    # the gap (sols 4975-4977 missing) has no line and no band in the middle columns
    x_gap = left + round((4976 - first) * (width - 1) / (last - first))
    column = colors(image, (x_gap, top, x_gap + 1, top + height))
    assert rgb565(views.HIGH) not in column and rgb565(views.LOW) not in column
    assert rgb565(views.BAND) not in column
    # inside a run the band fills between the lines
    x_run = left + round((4970 - first) * (width - 1) / (last - first))
    assert colors(image, (x_run, top, x_run + 1, top + height))[rgb565(views.BAND)] > 10
    # today's values are large: orange text several times the height of the small font
    today = colors(image, (0, 0, size[0] // 2, top - 4))
    assert today[rgb565(views.HIGH)] > 400
    # the report's sol with its age beside the time at the rover now; words, not the feed's
    assert [item.text for item in weather.when] == ["Sol 4995", "94 sols ago", "14:03 LMST"]
    assert [item.text for item in weather.lines] == ["northern winter, Ls 341",
                                                     "sunrise 06:46  sunset 18:51"]
    compare_golden(f"weather_{size[0]}x{size[1]}", image)


@pytest.mark.parametrize("size", SIZES)
def test_weather_view_grid_in_fahrenheit_is_round(device, displays, size):
    """In °F the grid lines are whole tens of °F (-110, -70, -30, 10), not °C ones converted
    (-112, -76, -40, -4), and each line sits where its °F value puts it."""
    views = device.weatherview
    weather = views.WeatherView(*size)
    payload = load_payload("history")
    weather.show(payload, "F")
    image = render(displays, weather, size)
    shown = [t.text for t in weather.tick_labels if not t.hidden]
    assert shown == ["-110", "-70", "-30", "10"]
    assert weather.sol_labels[2].text == "Curiosity (REMS), °F"
    left, top, width, height = weather.plot
    px = image.load()
    sols = payload["history"][0]["sols"]
    first, last = sols[0]["sol"], sols[-1]["sol"]
    for point in sols:
        if point["max_temp_c"] is None:
            continue
        x = left + round((point["sol"] - first) * (width - 1) / (last - first))
        y = expected_y(point["max_temp_c"] * 9 / 5 + 32, -110, 30, top, height)
        assert px[x, y] == rgb565(views.HIGH), (point, (x, y))


@pytest.mark.parametrize("name", ["history_switch", "history_single", "nulls", "legacy"])
@pytest.mark.parametrize("size", SIZES)
def test_weather_view_edge_cases(device, displays, size, name):
    views = device.weatherview
    weather = views.WeatherView(*size)
    weather.show(load_payload(name), "F" if name == "nulls" else "C")
    image = render(displays, weather, size)
    plot = colors(image, (weather.plot[0], weather.plot[1], weather.plot[0] + weather.plot[2],
                          weather.plot[1] + weather.plot[3]))
    if name == "history_switch":
        assert weather.drawn["high"][0][0] == weather.plot[0]  # the first x of the first run
        assert weather.lines[0].text.endswith("(+REMS)")
        assert weather.when[0].text == "Sol 1994"
    elif name == "history_single":
        assert [points for _, _, points in weather.drawn["high"]] == [1]
        assert plot[rgb565(views.HIGH)] >= 3 and plot[rgb565(views.LOW)] >= 3  # dots
    else:  # no history: no lines, the texts still say what is known
        assert rgb565(views.HIGH) not in plot and rgb565(views.LOW) not in plot
    compare_golden(f"weather_{name}_{size[0]}x{size[1]}", image)


@pytest.mark.parametrize("size", SIZES)
def test_a_lone_first_sol_is_a_dot_inside_the_chart(device, displays, size):
    """The first sol alone (the next one missing): its dot starts at the chart's left edge,
    where the firmware's fill_region refuses x = -1 (the simulator's now validates too);
    the same for the pressure sparkline."""
    views = device.weatherview
    weather = views.WeatherView(*size)
    weather.show(load_payload("history_lone_first"), "C")
    image = render(displays, weather, size)
    left = weather.plot[0]
    assert weather.drawn["high"][0] == (left, left, 1)
    assert weather.drawn["pressure"][0] == (left, left, 1)
    column = colors(image, (left, weather.plot[1], left + 2, weather.plot[1] + weather.plot[3]))
    assert column[rgb565(views.HIGH)] >= 2 and column[rgb565(views.LOW)] >= 2


@pytest.mark.parametrize("size", SIZES)
def test_photo_view_strip_is_small_and_a_tap_hides_it(device, displays, size, photo_file):
    views = device.photoviews
    view = views.PhotoView(*size)
    view.show_photo(photo_file(size))
    view.show(load_payload("history"), "C")
    image = render(displays, view, size)
    assert view.strip_height <= size[1] // 10  # the old panel covered about 40 %
    strip = colors(image, (0, view.strip_top, size[0], size[1]))
    assert strip[(0, 0, 0)] > size[0] * view.strip_height // 2
    assert strip[(255, 255, 255)] > 50  # the weather line
    assert view.line.text == "-71/-5°C  777 Pa  Sol 4995, 94 sols ago"
    assert view.line.bounding_box[2] * view.line.scale <= size[0] - 3  # all of it on screen
    assert view.caption.text == "Perseverance NAVCAM_LEFT sol 1994"
    compare_golden(f"photo_{size[0]}x{size[1]}", image)
    view.toggle_strip()
    hidden = render(displays, view, size)
    assert colors(hidden, (0, view.strip_top, size[0], size[1]))[(0, 0, 0)] < \
        strip[(0, 0, 0)] // 4  # the photo shows through
    view.toggle_strip()
    assert not view.strip.hidden


@pytest.mark.parametrize("size", SIZES)
def test_gallery_view(device, displays, size, photo_file):
    views = device.photoviews
    gallery = views.GalleryView(*size)
    gallery.show_photo(photo_file(size, seed=3))
    gallery.show_place(1, 3, "Perseverance MCZ_LEFT sol 1993")
    image = render(displays, gallery, size)
    assert gallery.place.text == "2/3"
    compare_golden(f"gallery_{size[0]}x{size[1]}", image)


def test_weather_view_memory(device, displays):
    """Python-side allocations of building and drawing the view, the simulator's model of
    the heap (the board's own sizes differ; the README states both)."""
    views = device.weatherview
    payload = load_payload("history")
    results = {}
    for size in SIZES:
        displays.get(*size)
        tracemalloc.start()
        weather = views.WeatherView(*size)
        built, _ = tracemalloc.get_traced_memory()
        weather.show(payload, "C")
        drawn, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        results[size] = (built, drawn, peak)
        canvas = weather.canvas
        assert canvas.width * canvas.height * 2 // 8 < 26_000  # 2 bits per pixel
        assert weather.spark_canvas.width == canvas.width
    print(results)


def ondisk_colours(data: bytes) -> np.ndarray:
    """The colour of every pixel of an indexed BMP as CircuitPython reads it, top row first
    (shared-module/displayio/OnDiskBitmap.c: the palette of ``biClrUsed`` entries, or
    ``1 << bits``, just after the header; rows bottom-up, padded to 32 bits; in a byte the
    leftmost pixel in the high bits, ``get_pixel``'s shift of ``(8 - bits) - (x % per_byte) *
    bits``)."""
    def word(at: int) -> int:
        return int.from_bytes(data[at:at + 4], "little")

    header, offset, width, height = word(14), word(10), word(18), word(22)
    bits = int.from_bytes(data[28:30], "little")
    per_byte, stride = 8 // bits, (width * bits + 31) // 32 * 4
    rows = np.frombuffer(data, np.uint8, stride * height, offset).reshape(height, stride)[::-1]
    x = np.arange(width)
    index = (rows[:, x // per_byte] >> ((8 - bits) - (x % per_byte) * bits)) & ((1 << bits) - 1)
    palette = np.frombuffer(data, "<u4", word(46) or 1 << bits, 14 + header) & 0xFFFFFF
    return palette[index]


def test_a_4_bit_photo_is_drawn_as_the_firmware_reads_it(device, displays, tmp_path):
    """16 colours, two pixels a byte: the simulator's OnDiskBitmap (Blinka's) shows every
    pixel the colour the board's would (left nibble first, the palette after the header)."""
    size = (320, 240)
    data = bmp4(photo(*size, seed=2))
    path = tmp_path / "photo4.bmp"
    path.write_bytes(data)
    frame = device.widgets.PhotoFrame(*size)
    frame.show_photo(str(path))
    assert len(frame._bitmap.pixel_shader) == 16
    shown = np.asarray(render(displays, frame, size), np.uint32)
    c = ondisk_colours(data)
    r, g, b = (c >> 19) & 0x1F, (c >> 10) & 0x3F, (c >> 3) & 0x1F  # the panel's RGB565
    expected = np.stack([r << 3 | r >> 2, g << 2 | g >> 4, b << 3 | b >> 2], axis=-1)
    assert np.argwhere((shown != expected).any(axis=-1)).tolist() == []
    assert len(np.unique(c)) > 8  # a photo, not a flat screen
