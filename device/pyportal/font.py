"""The built-in terminal font plus the few glyphs the app needs and the board lacks.

The PyPortal's ``terminalio.FONT`` holds printable ASCII only (CircuitPython builds it from
ASCII plus the characters of its en_US messages), and adafruit_display_text silently leaves
out a character the font has no glyph for: "-71°C" would show as "-71C". The missing glyphs
are drawn here, in the font's own cell, the first time a label asks for them: a few dozen
bytes of heap each.
"""

import displayio
import fontio

# Glyph rows, top to bottom, in the 6x12 cell of terminalio ("#" is ink).
DRAWN = {
    0xB0: (  # degree sign: a small ring at cap height
        "      ",
        " ##   ",
        "#  #  ",
        "#  #  ",
        " ##   ",
    ),
}


class ScreenFont:
    """``base`` (the board's font) with :data:`DRAWN` glyphs added; anything else it lacks
    is drawn as "?" so that no character vanishes without a trace."""

    def __init__(self, base):
        self._base = base
        self._drawn = {}

    def get_bounding_box(self):
        return self._base.get_bounding_box()

    def get_glyph(self, codepoint):
        glyph = self._base.get_glyph(codepoint)
        if glyph is not None:
            return glyph
        if codepoint in DRAWN:
            if codepoint not in self._drawn:
                self._drawn[codepoint] = self._draw(DRAWN[codepoint])
            return self._drawn[codepoint]
        return self._base.get_glyph(ord("?"))

    def _draw(self, rows):
        like = self._base.get_glyph(ord("o"))  # same cell, offsets and advance as the font
        bitmap = displayio.Bitmap(like.width, like.height, 2)
        for y in range(len(rows)):
            row = rows[y]
            for x in range(min(len(row), like.width)):
                if row[x] == "#":
                    bitmap[x, y] = 1
        return fontio.Glyph(bitmap, 0, like.width, like.height, like.dx, like.dy, like.shift_x,
                            like.shift_y)
