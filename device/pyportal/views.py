"""The three views: Photo, Weather (a chart) and Gallery, each a ``displayio.Group`` built
once for the screen size; a refresh changes texts, points and pixels, not the objects.

Drawn with what the firmware has: ``vectorio`` shapes for the strip and the temperature band,
``bitmaptools`` lines into one 2-bit bitmap for the chart (4 colours, transparent background:
12.8 KB at 320x240, 21.8 KB at 480x320, allocated once), and labels in the app's font.
"""

import bitmaptools
import displayio
import vectorio
from adafruit_display_text import label

import chart
import view
import viewtext
from screen import screen_font

BACKGROUND = 0x000000
TEXT = 0xFFFFFF
MUTED = 0xA09080
HIGH = 0xFF8C42  # orange: daily maximum
LOW = 0x5AA9E6  # blue: daily minimum
BAND = 0x4A2410  # between them
GRID = 0x706050  # grid and the pressure sparkline
STRIP = 0x000000
BAND_RUNS = 4  # band polygons kept ready: runs of sols without gaps
VIEWS = ("photo", "weather", "gallery")


def _palette(*colors):
    palette = displayio.Palette(len(colors))
    for i in range(len(colors)):
        palette[i] = colors[i]
    return palette


def _rect(width, height, x, y, color):
    return vectorio.Rectangle(pixel_shader=_palette(color), width=width, height=height, x=x, y=y)


def _label(x, y, color, scale=1, font=None, anchor=(0, 0), background=None):
    return label.Label(font or screen_font(), text=" ", color=color, scale=scale,
                       anchor_point=anchor, anchored_position=(x, y),
                       background_color=background)


def _set(item, text):
    text = text or " "
    if item.text != text:
        item.text = text


def degree_sign(font):
    """``"°"`` when ``font`` can draw it; the board's built-in font cannot."""
    return "°" if (font or screen_font()).get_glyph(0xB0) is not None else ""


def scale_for(width):
    """Text scale: 1 on the 320-px screens, 2 on the Titano's 480."""
    return 2 if width >= 480 else 1


class PhotoFrame(displayio.Group):
    """A photo full screen with a one-line caption; the base of Photo and Gallery."""

    def __init__(self, width, height, font=None):
        super().__init__()
        self.width, self.height = width, height
        self._photo = displayio.Group()
        self.append(self._photo)
        self._bitmap = None
        self.caption = _label(2, 2, TEXT, font=font, background=STRIP)
        self.caption.hidden = True
        self.append(self.caption)

    def show_photo(self, path):
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

    def show_caption(self, text):
        _set(self.caption, text)
        self.caption.hidden = not text


class PhotoView(PhotoFrame):
    """The photo with a compact caption and a one-line weather strip at the bottom (16 px at
    320x240, 28 at 480x320: under a tenth of the screen); a tap toggles the strip."""

    def __init__(self, width, height, font=None):
        super().__init__(width, height, font)
        self.degree = degree_sign(font)
        s = scale_for(width)
        self.strip_height = 12 * s + 4
        self.strip_top = height - self.strip_height
        self.strip = displayio.Group()
        self.strip.append(_rect(width, self.strip_height, 0, self.strip_top, STRIP))
        self.line = _label(3, self.strip_top + 2, TEXT, s, font)
        self.strip.append(self.line)
        self.append(self.strip)

    def show(self, payload, units):
        self.show_caption(view.caption(payload))
        _set(self.line, viewtext.strip_line(payload, units, self.degree))

    def toggle_strip(self):
        self.strip.hidden = not self.strip.hidden


class GalleryView(PhotoFrame):
    """The last photos in turn, each with its caption and its place ("2/6")."""

    def __init__(self, width, height, font=None):
        super().__init__(width, height, font)
        self.place = _label(width - 2, 2, TEXT, 1, font, anchor=(1, 0), background=STRIP)
        self.place.hidden = True
        self.append(self.place)

    def show_place(self, index, count, caption):
        self.show_caption(caption)
        _set(self.place, "%d/%d" % (index + 1, count) if count else "")
        self.place.hidden = not count


class WeatherView(displayio.Group):
    """Today's values large, min/max over the last sols as a band between two lines with
    axis labels, pressure as a sparkline, season, sunrise/sunset and the rover's local time."""

    def __init__(self, width, height, font=None):
        super().__init__()
        self.width, self.height = width, height
        self.degree = degree_sign(font)
        s = scale_for(width)
        line = 12 * s + 2
        self.append(_rect(width, height, 0, 0, BACKGROUND))
        self.today = _label(4, 2, HIGH, 3 * s, font)
        self.append(self.today)
        self.when = [_label(width - 4, 2, TEXT, s, font, anchor=(1, 0)),
                     _label(width - 4, 2 + line, MUTED, s, font, anchor=(1, 0))]
        top = 2 + 36 * s + 4
        bottom_lines = 2 * line
        spark = 10 + 6 * s
        left = 6 * 3 + 8  # "-80" in the 6-px font, and a gap
        # plot, sol labels under it, the sparkline, then two lines of text
        self.plot = (left, top, width - left - 6, height - top - bottom_lines - spark - 16)
        self.spark = (left, self.plot[1] + self.plot[3] + 14, self.plot[2], spark)
        self.band_shader = _palette(BAND)
        self.bands = []
        for _ in range(BAND_RUNS):
            band = vectorio.Polygon(pixel_shader=self.band_shader,
                                    points=[(0, 0), (1, 0), (0, 1)], x=0, y=0)
            band.hidden = True
            self.bands.append(band)
            self.append(band)
        chart_top = self.plot[1]
        self.canvas = displayio.Bitmap(width - left, self.spark[1] + spark - chart_top, 4)
        self.canvas_origin = (left, chart_top)
        palette = _palette(BACKGROUND, GRID, HIGH, LOW)
        palette.make_transparent(0)
        self.append(displayio.TileGrid(self.canvas, pixel_shader=palette, x=left, y=chart_top))
        self.tick_labels = [_label(left - 4, 0, MUTED, 1, font, anchor=(1, 0.5))
                            for _ in range(5)]
        self.sol_labels = [_label(left, 0, MUTED, 1, font),
                           _label(left + self.plot[2], 0, MUTED, 1, font, anchor=(1, 0))]
        for item in self.tick_labels + self.sol_labels:
            item.hidden = True
            self.append(item)
        self.pressure = _label(2, self.spark[1] + spark // 2, MUTED, 1, font, anchor=(0, 0.5))
        self.append(self.pressure)
        self.lines = [_label(4, height - 2 * line, TEXT, s, font),
                      _label(4, height - line, TEXT, s, font)]
        for item in self.when + self.lines:
            self.append(item)
        self.drawn = {"high": [], "low": [], "pressure": []}  # type: dict

    # -- drawing ---------------------------------------------------------------------------
    def _line(self, points, color, thick=1):
        """A polyline ``thick`` px wide (downwards), a lone point as a dot."""
        ox, oy = self.canvas_origin
        for dy in range(thick):
            for i in range(len(points)):
                x, y = points[i]
                if i == 0:
                    if len(points) == 1:  # a lone sol: a dot as wide as the line is thick
                        bitmaptools.fill_region(self.canvas, x - ox - 1, y - oy + dy,
                                                x - ox + 2, y - oy + dy + 1, color)
                    continue
                px, py = points[i - 1]
                bitmaptools.draw_line(self.canvas, px - ox, py - oy + dy, x - ox, y - oy + dy,
                                      color)

    def _band(self, polygons):
        for i in range(BAND_RUNS):
            polygon = self.bands[i]
            if i < len(polygons):
                polygon.points = polygons[i]
            polygon.hidden = i >= len(polygons)

    def show(self, payload, units):
        points, others = chart.series(payload)
        self.canvas.fill(0)
        for item in self.tick_labels + self.sol_labels:
            item.hidden = True
        w = view.weather(payload)
        _set(self.today, viewtext.today_line(w, units, self.degree))
        _set(self.when[0], viewtext.sol_line(w))
        _set(self.when[1], viewtext.local_time_line(payload))
        _set(self.lines[0], viewtext.season_line(payload, others))
        _set(self.lines[1], viewtext.sun_line(w))
        pressure = viewtext.pressure_text(w)
        _set(self.pressure, pressure)
        rng = chart.temperature_range(points)
        self.drawn = {"high": [], "low": [], "pressure": []}
        if rng is None:
            self._band([])
            return
        low, high = rng
        left, top, width, height = self.plot
        ox, oy = self.canvas_origin
        values = chart.ticks(low, high)
        for i in range(len(self.tick_labels)):
            item = self.tick_labels[i]
            if i < len(values):
                y = chart.y_of(values[i], low, high, top, height)
                bitmaptools.draw_line(self.canvas, 0, y - oy, width - 1, y - oy, 1)
                _set(item, viewtext.degrees(values[i], units))
                item.anchored_position = (left - 4, y)
                item.hidden = False
        y_sol = top + height + 1
        self.sol_labels[0].anchored_position = (left, y_sol)
        self.sol_labels[1].anchored_position = (left + width, y_sol)
        _set(self.sol_labels[0], "sol %d" % points[0][0])
        _set(self.sol_labels[1], "%d" % points[-1][0])
        self.sol_labels[0].hidden = False
        self.sol_labels[1].hidden = points[-1][0] == points[0][0]
        highs = chart.polylines(points, 2, self.plot, low, high)
        lows = chart.polylines(points, 1, self.plot, low, high)
        self._band(chart.bands(points, self.plot, low, high))
        spark = chart.sparkline(points, self.spark)
        for run in spark:
            self._line(run, 1)
        for run in highs:
            self._line(run, 2, 2)
        for run in lows:
            self._line(run, 3, 2)
        self.drawn = {"high": highs, "low": lows, "pressure": spark}


STATUS_COLORS = {"ok": 0x80FF80, "busy": 0xC0C0FF, "stale": 0xFFD040, "error": 0xFF6060}


class Views(displayio.Group):
    """The app's root group: the three views, one shown at a time, and a status line shown
    only when something is not right (busy, stale, error).

    It answers the calls :class:`app.App` makes on its screen (``show_photo``,
    ``show_caption``, ``show_status``...): the photo ones go to the Photo view.

    :param font: the app's font (``screen.screen_font()``, with the degree sign, by default).
    """

    def __init__(self, width, height, font=None):
        super().__init__()
        self.width, self.height = width, height
        self.photo = PhotoView(width, height, font)
        self.weather = WeatherView(width, height, font)
        self.gallery = GalleryView(width, height, font)
        self.views = {"photo": self.photo, "weather": self.weather, "gallery": self.gallery}
        for name in VIEWS:
            self.views[name].hidden = True
            self.append(self.views[name])
        self.status = _label(width - 2, height - 2, STATUS_COLORS["busy"], 1, font,
                             anchor=(1, 1), background=STRIP)
        self.append(self.status)
        self.current = "photo"
        self.select("photo")

    def select(self, name):
        """Show view ``name`` (one of :data:`VIEWS`)."""
        if name not in self.views:
            raise ValueError("no view %r" % name)
        self.views[self.current].hidden = True
        self.current = name
        self.views[name].hidden = False

    def next_view(self):
        self.select(VIEWS[(VIEWS.index(self.current) + 1) % len(VIEWS)])
        return self.current

    def show_payload(self, payload, units):
        """Texts and chart of the shown view (the others are filled when selected)."""
        if self.current == "weather":
            self.weather.show(payload, units)
        elif self.current == "photo":
            self.photo.show(payload, units)

    def tap(self, x, y):
        """What a tap at ``(x, y)`` means: ``"next"`` (upper two thirds: the next view) or
        the view's own action below (``"strip"``, ``"units"``, ``"advance"``)."""
        if y < self.height * 2 // 3:
            return "next"
        return {"photo": "strip", "weather": "units", "gallery": "advance"}[self.current]

    # -- what App calls on its screen ------------------------------------------------------
    def show_status(self, text, kind="ok"):
        _set(self.status, text)
        self.status.color = STATUS_COLORS[kind]
        self.status.hidden = kind == "ok"

    def show_photo(self, path):
        self.photo.show_photo(path)

    def clear_photo(self):
        self.photo.clear_photo()

    @property
    def has_photo(self):
        return self.photo.has_photo

    def show_caption(self, text):
        self.photo.show_caption(text)

    def show_weather(self, lines):
        """Four lines of text (the setup message): on the Weather view, without a chart."""
        self.select("weather")
        w = self.weather
        _set(w.today, lines[0])
        _set(w.when[0], "")
        _set(w.when[1], "")
        _set(w.lines[0], " ".join(lines[1:3]).strip())
        _set(w.lines[1], lines[3])

    def in_panel(self, y):
        return y >= self.height * 2 // 3

    def show_diagnostics(self, lines):
        """The diagnostic lines (a long press) on the Weather view, until the next refresh."""
        words = [line.replace("diag: ", "") for line in lines]
        self.show_weather([" | ".join(words[i:i + 2]) for i in range(0, 8, 2)])
