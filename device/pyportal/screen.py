"""The screen: the photo full screen, a weather panel over it, a caption and a status line;
the diagnostics over the photo when asked for.

Every layer is created once; a refresh only changes label texts (when they differ) and swaps
the photo's TileGrid, so a refresh allocates almost nothing. The diagnostics are one
bitmap label (1 bit per pixel: 32 bytes a row, ~3 KB for seven lines while shown, a
few bytes when hidden).
"""

import displayio
import terminalio
import vectorio
from adafruit_display_text import bitmap_label, label

from font import ScreenFont

BACKGROUND = 0x000000
PANEL = 0x202040  # solid, so the text stays legible over any photo
TEXT = 0xFFFFFF
TEMPS = 0xFFB060
CAPTION_BG = 0x000000
STATUS_COLORS = {"ok": 0x80FF80, "busy": 0xC0C0FF, "stale": 0xFFD040, "error": 0xFF6060}
PAD = 4
LINE = 14  # terminalio is 6x12; 2 px between lines


def _rect(width, height, x, y, color):
    palette = displayio.Palette(1)
    palette[0] = color
    return vectorio.Rectangle(pixel_shader=palette, width=width, height=height, x=x, y=y)


_font = None


def screen_font():
    """The board's font with the app's extra glyphs (made once)."""
    global _font
    if _font is None:
        _font = ScreenFont(terminalio.FONT)
    return _font


def _label(x, y, color, scale=1):
    return label.Label(screen_font(), text=" ", color=color, scale=scale,
                       anchor_point=(0, 0), anchored_position=(x, y))


class Screen(displayio.Group):
    """The app's one root group.

    :param width: display width in pixels.
    :param height: display height in pixels.
    """

    def __init__(self, width, height):
        super().__init__()
        self.width = width
        self.height = height
        self.append(_rect(width, height, 0, 0, BACKGROUND))
        self._photo = displayio.Group()
        self.append(self._photo)
        self._bitmap = None
        self.caption = label.Label(screen_font(), text=" ", color=TEXT,
                                   background_color=CAPTION_BG, padding_left=2,
                                   padding_right=2, anchor_point=(0, 0),
                                   anchored_position=(PAD, PAD))
        self.caption.hidden = True
        self.append(self.caption)
        self.panel_top = height - (PAD * 2 + LINE * 5 + 12)
        self.append(_rect(width, height - self.panel_top, 0, self.panel_top, PANEL))
        y = self.panel_top + PAD
        self.lines = [_label(PAD, y, TEXT), _label(PAD, y + LINE, TEMPS, scale=2),
                      _label(PAD, y + LINE * 2 + 12, TEXT), _label(PAD, y + LINE * 3 + 12, TEXT)]
        self.status = _label(PAD, y + LINE * 4 + 12, STATUS_COLORS["busy"])
        for item in self.lines:
            self.append(item)
        self.append(self.status)
        self._diagnostics = displayio.Group()
        self._diagnostics.append(_rect(width, self.panel_top, 0, 0, PANEL))
        self._diagnostics.append(bitmap_label.Label(
            screen_font(), text=" ", color=TEXT, anchor_point=(0, 0),
            anchored_position=(PAD, PAD), line_spacing=1.0))
        self._diagnostics.hidden = True
        self.append(self._diagnostics)

    @staticmethod
    def _set(item, text):
        text = text or " "
        if item.text != text:
            item.text = text

    def show_weather(self, lines):
        """Four lines from :func:`view.weather_lines`."""
        for i in range(len(self.lines)):  # no zip(strict=) on CircuitPython
            self._set(self.lines[i], lines[i])

    def show_caption(self, text):
        self._set(self.caption, text)
        self.caption.hidden = not text

    def show_status(self, text, kind="ok"):
        """The status line; ``kind`` is ``ok``, ``busy``, ``stale`` or ``error``."""
        self._set(self.status, text)
        self.status.color = STATUS_COLORS[kind]

    def show_diagnostics(self, lines):
        """The ``diag:`` lines over the photo, one per row (the panel stays in view)."""
        text = "\n".join(line.replace("diag: ", "") for line in lines)
        self._set(self._diagnostics[1], text)
        self._diagnostics.hidden = False

    def hide_diagnostics(self):
        self._diagnostics.hidden = True
        self._set(self._diagnostics[1], " ")  # frees its bitmap

    @property
    def showing_diagnostics(self):
        return not self._diagnostics.hidden

    def show_photo(self, path):
        """Show the BMP at ``path`` full screen (its header was checked before)."""
        bitmap = displayio.OnDiskBitmap(path)
        grid = displayio.TileGrid(bitmap, pixel_shader=bitmap.pixel_shader)
        if len(self._photo):
            self._photo.pop()
        self._photo.append(grid)
        self._bitmap = bitmap

    def clear_photo(self):
        if len(self._photo):
            self._photo.pop()
        self._bitmap = None

    @property
    def has_photo(self):
        return self._bitmap is not None

    def in_panel(self, y):
        """True when a touch at row ``y`` is on the weather panel."""
        return y >= self.panel_top
