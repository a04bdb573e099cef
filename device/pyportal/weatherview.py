"""The Weather view (``VIEW``): today's values large, the last sols as a chart, the season.

Drawn with what the firmware has: ``vectorio`` polygons for the temperature band, and
``bitmaptools`` lines into one 2-bit bitmap for the chart (4 colours, transparent
background), allocated once when the view is built; labels in the app's font.
"""

import bitmaptools
import displayio
import vectorio

import chart
import view
import viewtext
from widgets import TEXT, degree_sign, label_at, own_area, palette, rect, scale_for, set_text

BACKGROUND = 0x000000
MUTED = 0xA09080
HIGH = 0xFF8C42  # orange: daily maximum
LOW = 0x5AA9E6  # blue: daily minimum
BAND = 0x4A2410  # between them
GRID = 0x706050  # grid and the pressure sparkline
BAND_RUNS = 4  # band polygons kept ready: runs of sols without gaps


class WeatherView(displayio.Group):
    """Today's values large; the report's sol, its age and the rover's local time now; min/max
    over the last sols as a band between two lines with a grid in whole tens of the unit
    shown, pressure as a sparkline; season, sunrise and sunset."""

    name = "weather"
    query = "&history=30&photos=0"
    photos = None  # it downloads no bitmap at all

    def __init__(self, width, height, font=None):
        super().__init__()
        self.width, self.height = width, height
        self.degree = degree_sign(font)
        s = scale_for(width)
        line = 12 * s + 2
        self.append(rect(width, height, 0, 0, BACKGROUND))
        self.today = label_at(4, 2, HIGH, 3 * s, font)
        self.append(self.today)
        # the report's sol, its age, the time at the rover now: three lines beside today's
        self.when = [label_at(width - 4, 2 + line * i, TEXT if i == 0 else MUTED, s, font,
                              anchor=(1, 0)) for i in range(3)]
        top = 2 + 36 * s + 4
        bottom_lines = 2 * line
        spark = 10 + 6 * s
        left = 6 * 3 + 8  # "-80" in the 6-px font, and a gap
        # plot, sol labels under it, the sparkline, then two lines of text
        self.plot = (left, top, width - left - 6, height - top - bottom_lines - spark - 16)
        self.spark = (left, self.plot[1] + self.plot[3] + 14, self.plot[2], spark)
        self.band_shader = palette(BAND)
        self.bands = []
        for _ in range(BAND_RUNS):
            band = vectorio.Polygon(pixel_shader=self.band_shader,
                                    points=[(0, 0), (1, 0), (0, 1)], x=0, y=0)
            band.hidden = True
            self.bands.append(band)
            self.append(band)
        # the plot's lines in 2 bits a pixel (grid, high, low), the sparkline's in 1
        self.canvas = displayio.Bitmap(self.plot[2], self.plot[3], 4)
        shader = palette(BACKGROUND, GRID, HIGH, LOW)
        shader.make_transparent(0)
        self.append(displayio.TileGrid(self.canvas, pixel_shader=shader, x=left, y=top))
        self.spark_canvas = displayio.Bitmap(self.spark[2], self.spark[3], 2)
        shader = palette(BACKGROUND, GRID)
        shader.make_transparent(0)
        self.append(displayio.TileGrid(self.spark_canvas, pixel_shader=shader, x=left,
                                       y=self.spark[1]))
        self.tick_labels = [label_at(left - 4, 0, MUTED, 1, font, anchor=(1, 0.5))
                            for _ in range(5)]
        self.sol_labels = [label_at(left, 0, MUTED, 1, font),
                           label_at(left + self.plot[2], 0, MUTED, 1, font, anchor=(1, 0)),
                           label_at(left + self.plot[2] // 2, 0, MUTED, 1, font,
                                    anchor=(0.5, 0))]  # the series and the unit
        for item in self.tick_labels + self.sol_labels:
            item.hidden = True
            self.append(item)
        self.pressure = label_at(2, self.spark[1] + spark // 2, MUTED, 1, font, anchor=(0, 0.5))
        self.append(self.pressure)
        self.lines = [label_at(4, height - 2 * line, TEXT, s, font),
                      label_at(4, height - line, TEXT, s, font)]
        for item in self.when + self.lines:
            self.append(item)
        self.drawn = {}  # type: dict

    # -- drawing ---------------------------------------------------------------------------
    def _line(self, bitmap, box, points, color, thick=1):
        """A polyline ``thick`` px wide (downwards) in ``bitmap``, which covers ``box`` of the
        screen; a lone point as a dot."""
        ox, oy = box[0], box[1]
        for dy in range(thick):
            for i in range(len(points)):
                x, y = points[i]
                if i == 0:
                    if len(points) == 1:  # a lone sol: a dot as wide as the line is thick
                        _dot(bitmap, x - ox, y - oy + dy, color)
                    continue
                px, py = points[i - 1]
                bitmaptools.draw_line(bitmap, px - ox, py - oy + dy, x - ox, y - oy + dy, color)

    def _band(self, polygons):
        for i in range(BAND_RUNS):
            polygon = self.bands[i]
            if i < len(polygons):
                polygon.points = polygons[i]
            polygon.hidden = i >= len(polygons)

    def show(self, payload, units):
        points, others = chart.series(payload)
        self.canvas.fill(0)
        self.spark_canvas.fill(0)
        for item in self.tick_labels + self.sol_labels:
            item.hidden = True
        w = view.weather(payload)
        set_text(self.today, viewtext.today_line(w, units, self.degree))
        age = view.sol_age(payload)
        when = (viewtext.sol_line(w), age, viewtext.local_time_line(payload) if age else "")
        for i in range(len(self.when)):
            set_text(self.when[i], when[i])
        self._fit_today()
        set_text(self.lines[0], viewtext.season_line(payload, others))
        set_text(self.lines[1], view.sun(w))
        set_text(self.pressure, viewtext.pressure_text(w))
        points = chart.in_units(points, units)  # grid lines in whole tens of the unit shown
        rng = chart.temperature_range(points)
        self.drawn = {}
        if rng is None:
            self._band([])
            return
        low, high = rng
        left, top, width, height = self.plot
        values = chart.ticks(low, high)
        for i in range(len(self.tick_labels)):
            item = self.tick_labels[i]
            if i < len(values):
                y = chart.y_of(values[i], low, high, top, height)
                bitmaptools.draw_line(self.canvas, 0, y - top, width - 1, y - top, 1)
                set_text(item, "%d" % values[i])
                item.anchored_position = (left - 4, y)
                item.hidden = False
        y_sol = top + height + 1
        first, last, series = self.sol_labels
        first.anchored_position = (left, y_sol)
        last.anchored_position = (left + width, y_sol)
        series.anchored_position = (left + width // 2, y_sol)
        set_text(first, "sol %d" % points[0][0])
        set_text(last, "%d" % points[-1][0])
        set_text(series, viewtext.series_line(payload, units, self.degree))
        first.hidden = series.hidden = False
        last.hidden = points[-1][0] == points[0][0]
        self._band(chart.bands(points, self.plot, low, high))
        # each series drawn and let go before the next is computed: less heap at once
        for key, index, color, thick in (("high", 2, 2, 2), ("low", 1, 3, 2)):
            runs = chart.polylines(points, index, self.plot, low, high)
            for run in runs:
                self._line(self.canvas, self.plot, run, color, thick)
            self.drawn[key] = _extents(runs)
        runs = chart.sparkline(points, self.spark)
        for run in runs:
            self._line(self.spark_canvas, self.spark, run, 1)
        self.drawn["pressure"] = _extents(runs)

    def _fit_today(self):
        """Today's values as large as they go without running into the lines beside them
        (three times the text's scale, less for a long "-112/-10°F" beside "94 sols ago")."""
        beside = max([item.bounding_box[2] * item.scale for item in self.when])
        room = self.width - 12 - beside
        scale = 3 * scale_for(self.width)
        while scale > 1 and self.today.bounding_box[2] * scale > room:
            scale -= 1
        self.today.scale = scale

    def tap(self, x, y):
        return "units" if own_area(self.height, y) else "next"


def _dot(bitmap, x, y, color):
    """Three pixels wide around ``x``, cut to ``bitmap``: the firmware's ``fill_region``
    refuses corners outside the bitmap ("x1 must be 0-294") where Blinka's clips."""
    x1, x2 = max(0, x - 1), min(bitmap.width, x + 2)
    if x1 < x2 and 0 <= y < bitmap.height:
        bitmaptools.fill_region(bitmap, x1, y, x2, y + 1, color)


def _extents(runs):
    """What was drawn, for tests and logs: ``(first x, last x, points)`` of each run."""
    return [(run[0][0], run[-1][0], len(run)) for run in runs]
