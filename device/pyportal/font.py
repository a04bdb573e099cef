"""The built-in terminal font plus the few glyphs the app needs and the board lacks.

The PyPortal's ``terminalio.FONT`` holds printable ASCII only (CircuitPython builds it from
ASCII plus the characters of its en_US messages), and adafruit_display_text silently leaves
out a character the font has no glyph for: "-71°C" would show as "-71C". The missing glyphs
are drawn here, in the font's own cell, the first time a label asks for them: a few dozen
bytes of heap each.
"""

import bitmaptools
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


def text_bitmap(font, lines, max_width=4096, max_height=4096, pad_left=0, pad_right=0):
    """``lines`` drawn in ``font`` into one 1-bit bitmap (0 background, 1 ink), with
    ``pad_left``/``pad_right`` blank columns, cut at ``max_width`` x ``max_height`` pixels.
    A character the font has no glyph for takes no room (as in adafruit_display_text).

    What adafruit_display_text does, without importing it: its ``label.Label`` keeps a
    TileGrid per character (96 bytes each on the board, a 30-character line 3 KB, where this
    bitmap takes 300), and from display_text 4.0 (CircuitPython 10.1 and later) its
    ``bitmap_label`` imports ``adafruit_ticks``, which no PyPortal firmware has.
    """
    width, height = font.get_bounding_box()[:2]
    rows = []
    for line in lines[:max(1, max_height // height)]:
        glyphs = [font.get_glyph(ord(c)) for c in line]
        rows.append([g for g in glyphs if g is not None][:max(0, max_width // width)])
    columns = max([len(r) for r in rows] or [0])
    bitmap = displayio.Bitmap(max(1, pad_left + columns * width + pad_right),
                              max(1, len(rows) * height), 2)
    for row in range(len(rows)):
        for column in range(len(rows[row])):
            glyph = rows[row][column]
            if glyph.width <= 0 or glyph.height <= 0:
                continue
            per_row = glyph.bitmap.width // glyph.width  # the font's glyphs side by side
            x1 = (glyph.tile_index % per_row) * glyph.width
            y1 = (glyph.tile_index // per_row) * glyph.height
            bitmaptools.blit(bitmap, glyph.bitmap, pad_left + column * width, row * height,
                             x1=x1, y1=y1, x2=x1 + min(glyph.width, width),
                             y2=y1 + min(glyph.height, height))
    return bitmap
