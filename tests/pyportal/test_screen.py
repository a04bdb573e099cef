"""The screen in each state, rendered by displayio on a headless RGB565 panel.

Pixels are checked against what they must be (the photo through RGB565, the panel colour,
text in the panel) and against committed golden PNGs; ``REGENERATE_GOLDEN=1`` rewrites those
after a deliberate change (look at them before committing).
"""

from __future__ import annotations

import io
from collections import Counter

from PIL import Image, ImageChops

from testing.pyportal_device import DIAG, colors, compare_golden, rgb565


def expected_photo(data: bytes) -> Image.Image:
    source = Image.open(io.BytesIO(data)).convert("RGB")
    out = Image.new("RGB", source.size)
    out.putdata([rgb565((r << 16) | (g << 8) | b) for r, g, b in source.get_flattened_data()])
    return out



def panel_checks(device, image, classic, status_color, text=True):
    w, h = image.size
    panel = colors(image, (0, classic.panel_top, w, h))
    assert panel.most_common(1)[0][0] == rgb565(device.widgets.PANEL)
    if text:
        assert panel[rgb565(device.widgets.TEXT)] > 200  # the weather lines are drawn
    status = colors(image, (0, classic.status.y, w, h))
    assert status[rgb565(status_color)] > 50


def test_normal(device, displays, make_app, server):
    app = make_app(server.url)
    app.refresh()
    image = displays.current.snapshot()
    classic = app.screen.view
    # the photo, exactly as the panel shows it, below the caption and above the panel
    photo = expected_photo(server.image_bytes(320, 240))
    box = (0, 24, 320, classic.panel_top)
    assert ImageChops.difference(image.crop(box), photo.crop(box)).getbbox() is None
    panel_checks(device, image, classic, device.classic.STATUS_COLORS["ok"])
    temps = colors(image, (0, classic.lines[1].y, 320, classic.lines[1].y + 24))
    assert temps[rgb565(device.classic.TEMPS)] > 100  # big orange temperatures
    caption = colors(image, (0, 0, 320, 20))
    assert caption[(255, 255, 255)] > 100 and caption[(0, 0, 0)] > 500
    compare_golden("normal", image)



def test_diagnostics_over_the_photo_then_the_photo_again(device, displays, make_app, server):
    app = make_app(server.url)
    app.refresh()
    photo_shown = displays.current.snapshot()
    app.show_diagnostics(DIAG)
    image = displays.current.snapshot()
    top = app.screen.view.panel_top
    over = colors(image, (0, 0, 320, top))
    assert over.most_common(1)[0][0] == rgb565(device.widgets.PANEL)  # the photo is covered
    assert over[(255, 255, 255)] > 7 * 60  # seven lines of white text
    assert set(over) == {rgb565(device.widgets.PANEL), (255, 255, 255)}
    lines = [y for y in range(top) if (255, 255, 255) in colors(image, (0, y, 320, y + 1))]
    assert lines[0] >= 4 and lines[-1] < top  # the seven lines fit above the panel
    below = (0, top, 320, 240)
    assert ImageChops.difference(image.crop(below), photo_shown.crop(below)).getbbox() is None
    compare_golden("diagnostics", image)
    app.screen.hide_diagnostics()
    assert displays.current.snapshot().tobytes() == photo_shown.tobytes()


def test_labels_are_reused_not_recreated(make_app, server):
    app = make_app(server.url)
    app.refresh()
    before = [id(layer) for layer in app.screen.view]
    server.image_id = "photo-2"
    app.refresh()
    assert [id(layer) for layer in app.screen.view] == before


def test_stale(device, displays, make_app, server):
    app = make_app(server.url)
    app.refresh()
    server.mode = "500"
    app.refresh()
    image = displays.current.snapshot()
    panel_checks(device, image, app.screen.view, device.classic.STATUS_COLORS["stale"])
    compare_golden("stale", image)


def test_error_without_data(device, displays, make_app, server):
    server.mode = "403"
    app = make_app(server.url)
    app.refresh()
    image = displays.current.snapshot()
    top = app.screen.view.panel_top
    assert colors(image, (0, 0, 320, top)) == Counter({(0, 0, 0): 320 * top})  # no photo
    panel_checks(device, image, app.screen.view, device.classic.STATUS_COLORS["error"],
                 text=False)
    compare_golden("error", image)


def test_first_boot_connecting(device, displays, make_app, server):
    shots = []
    # the moment Wi-Fi is up, before the first request: what a fresh board shows
    app = make_app(server.url, log=lambda line: shots.append(displays.current.snapshot())
                   if line.startswith("wifi") else None)
    app.refresh()
    image = shots[0]
    status = colors(image, (0, app.screen.view.status.y, 320, 240))
    assert status[rgb565(device.classic.STATUS_COLORS["busy"])] > 50
    compare_golden("first_boot", image)


def test_titano(device, displays, make_app, server):
    app = make_app(server.url, size=(480, 320))
    app.refresh()
    assert server.requests[0][0] == "/mars"
    image = displays.current.snapshot()
    assert image.size == (480, 320)
    photo = expected_photo(server.image_bytes(480, 320))
    box = (0, 24, 480, app.screen.view.panel_top)
    assert ImageChops.difference(image.crop(box), photo.crop(box)).getbbox() is None
    panel_checks(device, image, app.screen.view, device.classic.STATUS_COLORS["ok"])
    compare_golden("titano", image)


def test_degree_sign_is_drawn_with_the_boards_font(device, displays):
    """The board's terminalio font has no "°": adafruit_display_text would drop it ("-71C")."""
    import terminalio

    assert terminalio.FONT.get_glyph(0xB0) is None  # the board's glyph set (conftest)
    displays.get(320, 240)
    screen = device.screen.Screen(320, 240)
    screen.show_message(("Sol 1", "-71°C to -5°C", "", ""))
    text = screen.view.lines[1].text
    assert screen.view.lines[1].bounding_box[2] == 6 * len(text)  # every character has a cell
    glyph = device.widgets.screen_font().get_glyph(0xB0)
    ink = [glyph.bitmap[x, y] for y in range(glyph.height) for x in range(glyph.width)]
    assert 4 <= sum(ink) <= 12  # a small ring, not a box
    assert device.widgets.screen_font().get_glyph(0x2603).bitmap is not None  # "?" for others


def test_displayio_refresh_thread_is_not_left_running(displays):
    # The headless display redraws on demand; Blinka's 1 kHz refresh thread would only burn CPU
    # under every later test.
    import displayio

    displays.get()
    assert not displayio.background_thread.is_alive()
