"""The app's one root group: the view shown, a status line for the views that have none of
their own, and the diagnostics over whichever view is shown.

``VIEW`` decides which views there are: unset (or ``classic``), the classic screen alone; else
the Photo, Weather and Gallery views, starting with the one named. Only the view on screen
exists (a tap builds the next one after the last is gone) and only its module is imported:
the Weather view's chart bitmap, for one, takes 10 KB of heap.
"""

import gc

import displayio

from font import text_bitmap
from widgets import PAD, PANEL, STRIP, TEXT, label_at, palette, rect, screen_font, set_text

STATUS_COLORS = {"ok": 0x80FF80, "busy": 0xC0C0FF, "stale": 0xFFD040, "error": 0xFF6060}
DIAGNOSTICS_BOTTOM = 90  # px left free at the bottom: the classic panel, a view's own lines
CYCLE = ("photo", "weather", "gallery")  # the order a tap on the upper part goes through
# view -> (module, class): imported when first shown
VIEWS = {"classic": ("classic", "ClassicView"), "photo": ("photoviews", "PhotoView"),
         "weather": ("weatherview", "WeatherView"), "gallery": ("photoviews", "GalleryView")}


def build(name, width, height):
    """A new view ``name`` for this screen size."""
    module, cls = VIEWS[name]
    return getattr(__import__(module), cls)(width, height)


class Screen(displayio.Group):
    """:param first: the ``VIEW`` setting (``None``: the classic screen)."""

    def __init__(self, width, height, first=None):
        super().__init__()
        self.width, self.height = width, height
        first = first or "classic"
        self.order = ("classic",) if first == "classic" else CYCLE
        self.status = label_at(width - 2, height - 2, STATUS_COLORS["busy"], anchor=(1, 1),
                               background=STRIP)
        self.status.hidden = True
        self.append(self.status)
        self.diagnostics_bottom = height - DIAGNOSTICS_BOTTOM
        self._diagnostics = displayio.Group()
        self._diagnostics.append(rect(width, self.diagnostics_bottom, 0, 0, PANEL))
        self._diagnostics.hidden = True
        self.append(self._diagnostics)
        if first not in self.order:
            raise ValueError("no view %r" % first)
        self.current = first
        self.view = build(first, width, height)
        self.insert(0, self.view)

    def select(self, name):
        """Show view ``name``: the one shown before is let go first."""
        if name not in self.order:
            raise ValueError("no view %r" % name)
        if name == self.current:
            return
        self.remove(self.view)
        self.view = None
        gc.collect()
        self.view = build(name, self.width, self.height)
        self.insert(0, self.view)
        self.current = name

    @property
    def photo_view(self):
        """The view shown if it shows the single latest photo (Classic, Photo), else None."""
        return self.view if self.view.photos == "photo" else None

    def next_view(self):
        self.select(self.order[(self.order.index(self.current) + 1) % len(self.order)])
        return self.current

    def show_payload(self, payload, units):
        """Texts and chart of the view shown (another one is filled when selected)."""
        self.view.show(payload, units)

    def show_status(self, text, kind="ok"):
        """``kind``: ``ok``, ``busy``, ``stale`` or ``error``. A view with its own status line
        shows it there; the others only when something is not right, in the corner."""
        own = getattr(self.view, "show_status", None)
        if own is not None:
            own(text, kind)
            self.status.hidden = True
            return
        set_text(self.status, text)
        self.status.color = STATUS_COLORS[kind]
        self.status.hidden = kind == "ok"

    def show_message(self, lines):
        """Four lines of text (the setup message), on the classic screen."""
        self.view.show_lines(lines)

    # -- diagnostics -------------------------------------------------------------------------
    def show_diagnostics(self, lines):
        """The ``diag:`` lines, one per row, on their own panel over the top of the view (the
        bottom stays in view). Each row is one 1-bit bitmap (~350 bytes: small pieces find
        room in a heap a refresh has fragmented), freed when they are put away."""
        self.hide_diagnostics()
        shader = palette(PANEL, TEXT)
        font = screen_font()
        height = font.get_bounding_box()[1]
        rows = min(len(lines), (self.diagnostics_bottom - 2 * PAD) // height)
        for i in range(rows):
            bitmap = text_bitmap(font, [lines[i].replace("diag: ", "")], self.width - 2 * PAD)
            self._diagnostics.append(displayio.TileGrid(bitmap, pixel_shader=shader, x=PAD,
                                                        y=PAD + i * height))
        self._diagnostics.hidden = False

    def hide_diagnostics(self):
        self._diagnostics.hidden = True
        while len(self._diagnostics) > 1:
            self._diagnostics.pop()  # frees the bitmaps

    @property
    def showing_diagnostics(self):
        return not self._diagnostics.hidden

    def on_diagnostics(self, y):
        """True when a tap at row ``y`` lands on the diagnostics shown."""
        return self.showing_diagnostics and y < self.diagnostics_bottom
