"""``fontio.Glyph``: shared-bindings/fontio/Glyph.c, a named tuple of eight fields."""

from collections import namedtuple

Glyph = namedtuple("Glyph", ("bitmap", "tile_index", "width", "height", "dx", "dy",
                             "shift_x", "shift_y"))


class FontProtocol:
    pass
