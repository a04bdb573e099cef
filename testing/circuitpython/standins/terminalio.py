"""``terminalio.FONT``: CircuitPython's ``BuiltinFont`` (shared-module/fontio/BuiltinFont.c):
printable ASCII only, 6x12 cells, a new ``Glyph`` tuple per ``get_glyph`` call. On the board
its bitmap is in flash; here it is made before any measurement starts."""

import displayio

import fontio


class BuiltinFont:
    def __init__(self):
        self.bitmap = displayio.Bitmap(6 * 95, 12, 2)

    def get_bounding_box(self):
        return (6, 12)

    def get_glyph(self, codepoint):
        if not 0x20 <= codepoint <= 0x7E:
            return None
        return fontio.Glyph(self.bitmap, codepoint - 0x20, 6, 12, 0, 0, 6, 0)


FONT = BuiltinFont()
