"""The classic screen, a view like the others: the photo full screen, a weather panel over its
lower part (four lines and the status), the photo's caption at the top.

Every layer is created once; a refresh only changes label texts (when they differ) and swaps
the photo's TileGrid, so a refresh allocates almost nothing.
"""

import view
from widgets import LINE, PAD, PANEL, TEXT, PhotoFrame, label_at, rect, set_text

TEMPS = 0xFFB060
STATUS_COLORS = {"ok": 0x80FF80, "busy": 0xC0C0FF, "stale": 0xFFD040, "error": 0xFF6060}
PANEL_HEIGHT = PAD * 2 + LINE * 5 + 12  # four lines (one at double size) and the status


class ClassicView(PhotoFrame):
    """The app's first screen, and still what it shows without ``VIEW``.

    :param width: display width in pixels.
    :param height: display height in pixels.
    """

    name = "classic"
    query = "&history=0&photos=0"  # it shows no history and one photo
    photos = "photo"

    def __init__(self, width, height, font=None):
        super().__init__(width, height, font, caption_at=(PAD, PAD), caption_padding=2)
        self.panel_top = height - PANEL_HEIGHT
        self.append(rect(width, PANEL_HEIGHT, 0, self.panel_top, PANEL))
        y = self.panel_top + PAD
        self.lines = [label_at(PAD, y, TEXT, font=font),
                      label_at(PAD, y + LINE, TEMPS, scale=2, font=font),
                      label_at(PAD, y + LINE * 2 + 12, TEXT, font=font),
                      label_at(PAD, y + LINE * 3 + 12, TEXT, font=font)]
        self.status = label_at(PAD, y + LINE * 4 + 12, STATUS_COLORS["busy"], font=font)
        for item in self.lines:
            self.append(item)
        self.append(self.status)

    def show(self, payload, units):
        self.show_lines(view.weather_lines(payload, units))

    def show_lines(self, lines):
        """Four lines in the panel: the weather (:func:`view.weather_lines`) or a message."""
        for i in range(len(self.lines)):  # no zip(strict=) on CircuitPython
            set_text(self.lines[i], lines[i])

    def show_status(self, text, kind="ok"):
        """The status line; ``kind`` is ``ok``, ``busy``, ``stale`` or ``error``."""
        set_text(self.status, text)
        self.status.color = STATUS_COLORS[kind]

    def tap(self, x, y):
        """The panel switches °C/°F; anywhere else refreshes now."""
        return "units" if y >= self.panel_top else "refresh"
