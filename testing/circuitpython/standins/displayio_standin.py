"""``displayio`` for the tests on CircuitPython's core: its C ``Bitmap``, ``Palette``,
``ColorConverter`` and ``Colorspace``, plus Python stand-ins for what the core lacks.

Registered as ``sys.modules["displayio"]`` (``harness.setup``) before any device module is
imported. Each stand-in keeps only what the app and adafruit_display_text use. Their heap is
close to the board's C structs (shared-module/displayio/TileGrid.h, Group.h): a ``TileGrid``
costs 80 bytes here and 96 there (one 16-byte GC block less), a ``Group`` with its list of
layers about 85 here and 96 there.
"""

from displayio import Bitmap, ColorConverter, Colorspace, Palette  # noqa: F401 - CircuitPython's C

import harness


class Group:
    """shared-bindings/displayio/Group.c: an ordered list of layers."""

    hidden = False

    def __init__(self, *, scale=1, x=0, y=0):
        # not "self.scale": adafruit_display_text's LabelBase overrides scale with a property
        self._layers = []
        self._scale = scale
        self.x = x
        self.y = y
        harness.probe()

    def append(self, layer):
        self._layers.append(layer)
        harness.probe()

    def insert(self, index, layer):
        self._layers.insert(index, layer)

    def index(self, layer):
        return self._layers.index(layer)

    def pop(self, i=-1):
        return self._layers.pop(i)

    def remove(self, layer):
        self._layers.remove(layer)

    def __len__(self):
        return len(self._layers)

    def __getitem__(self, index):
        return self._layers[index]

    def __setitem__(self, index, layer):
        self._layers[index] = layer

    def __delitem__(self, index):
        del self._layers[index]

    def __contains__(self, layer):
        return layer in self._layers

    def __iter__(self):
        return iter(self._layers)

    @property
    def scale(self):
        return self._scale

    @scale.setter
    def scale(self, value):
        if value < 1:
            raise ValueError("scale must be >= 1")  # Group.c: mp_arg_validate_int_min
        self._scale = value


class TileGrid:
    """shared-bindings/displayio/TileGrid.c: a grid of tiles of one bitmap (a label's glyph,
    a photo). Rare attributes are class defaults, set on the instance only when changed."""

    hidden = False
    flip_x = False
    flip_y = False
    transpose_xy = False
    width = 1
    height = 1

    def __init__(self, bitmap, *, pixel_shader, width=1, height=1, tile_width=0,
                 tile_height=0, default_tile=0, x=0, y=0):
        tile_width = tile_width or bitmap.width
        tile_height = tile_height or bitmap.height
        # TileGrid.c: the tiles must divide the bitmap exactly
        if bitmap.width % tile_width != 0:
            raise ValueError("Tile width must exactly divide bitmap width")
        if bitmap.height % tile_height != 0:
            raise ValueError("Tile height must exactly divide bitmap height")
        self.bitmap = bitmap
        self.pixel_shader = pixel_shader
        self.x = x
        self.y = y
        self.tile = default_tile
        if width != 1 or height != 1:
            self.width, self.height = width, height
            self._tiles = bytearray(width * height)  # TileGrid.c allocates one byte a tile
        harness.probe()


class OnDiskBitmap:
    """shared-module/displayio/OnDiskBitmap.c: reads the header, keeps the file open; the
    pixels stay on the storage. Raises where the firmware raises."""

    def __init__(self, file):
        if isinstance(file, str):
            file = open(file, "rb")
        self._file = file
        head = file.read(26)
        if len(head) != 26 or head[0:2] != b"BM":
            raise ValueError("Invalid file")
        header_size = _word(head, 14)
        if header_size in (40, 108, 124):
            head += file.read(header_size - 12)
            if len(head) != 14 + header_size:
                raise ValueError("Invalid file")
        elif header_size != 12:
            raise ValueError("Only Windows format, uncompressed BMP supported: given header "
                             "size is %d" % header_size)
        compression = _word(head, 30)
        if compression not in (0, 3):
            raise ValueError("RLE-compressed BMP not supported")
        self.width = _word(head, 18)
        self.height = _word(head, 22)
        bpp = head[28] | head[29] << 8
        if bpp <= 8:
            count = _word(head, 46) if header_size >= 40 else 0
            count = count or 1 << bpp
            palette = Palette(count)
            file.seek(14 + header_size)
            data = file.read(count * 4)
            if len(data) != count * 4:
                raise ValueError("Unable to read color palette data")
            for i in range(count):
                palette[i] = data[i * 4] | data[i * 4 + 1] << 8 | data[i * 4 + 2] << 16
            self.pixel_shader = palette
        else:
            self.pixel_shader = ColorConverter()
        harness.probe()


def _word(data, offset):
    return data[offset] | data[offset + 1] << 8 | data[offset + 2] << 16 | data[offset + 3] << 24


class Display:
    """``board.DISPLAY``: what the app reads and sets on the board's display."""

    def __init__(self, width, height):
        self.width = width
        self.height = height
        self.root_group = None
        self.rotation = 0
        self.auto_refresh = True

    def refresh(self, **kwargs):
        return True


def release_displays():
    pass
