"""What every screen of the app is made of: the font, lines of text, rectangles, and a photo
frame (a photo full screen with a caption), drawn with what the firmware has (displayio,
vectorio, bitmaptools)."""

import displayio
import terminalio
import vectorio

from font import ScreenFont, text_bitmap

TEXT = 0xFFFFFF
PANEL = 0x202040  # solid, so text stays legible over any photo
STRIP = 0x000000
PAD = 4
LINE = 14  # terminalio is 6x12; 2 px between lines

_font = None


def screen_font():
    """The board's font with the app's extra glyphs (made once)."""
    global _font
    if _font is None:
        _font = ScreenFont(terminalio.FONT)
    return _font


def palette(*colors):
    shader = displayio.Palette(len(colors))
    for i in range(len(colors)):
        shader[i] = colors[i]
    return shader


def rect(width, height, x, y, color):
    return vectorio.Rectangle(pixel_shader=palette(color), width=width, height=height, x=x, y=y)


class TextLine(displayio.Group):
    """One line of text, drawn into one 1-bit bitmap (:func:`font.text_bitmap`).

    Laid out as adafruit_display_text's ``label.Label`` lays out the board's font (the same
    pixels: its anchor, scale and padding rules, label.py and __init__.py), in a tenth of its
    heap. ``anchor`` is the point of the text's box (``(0, 0)`` top left, ``(1, 0.5)`` middle
    right) that goes to ``(x, y)``; ``background`` (``None``: transparent) fills ``padding``
    columns left and right too.
    """

    def __init__(self, x, y, color, scale=1, font=None, anchor=(0, 0), background=None,
                 padding=0):
        super().__init__(scale=scale)
        self._font = font or screen_font()
        self._palette = palette(0 if background is None else background, color)
        if background is None:
            self._palette.make_transparent(0)
        self._anchor, self._position, self._padding = anchor, (x, y), padding
        self._color = color
        self._text = None
        self._width = 0
        self.text = " "

    @property
    def text(self):
        return self._text

    @text.setter
    def text(self, value):
        if value == self._text:
            return
        self._text = value
        pad = self._padding
        bitmap = text_bitmap(self._font, [value], pad_left=pad, pad_right=pad)
        if len(self):
            self.pop()  # the old bitmap goes with its TileGrid
        self.append(displayio.TileGrid(bitmap, pixel_shader=self._palette, x=-pad))
        self._width = bitmap.width - 2 * pad
        self._place()

    @property
    def color(self):
        return self._color

    @color.setter
    def color(self, value):
        self._color = value
        self._palette[1] = value

    @property
    def anchored_position(self):
        return self._position

    @anchored_position.setter
    def anchored_position(self, position):
        self._position = position
        self._place()

    @property
    def bounding_box(self):
        """``(x, y, width, height)`` of the text, unscaled, as the label's."""
        return (0, 0, self._width, self._font.get_bounding_box()[1])

    def _place(self):
        _, _, width, height = self.bounding_box
        self.x = int(self._position[0] - round(self._anchor[0] * width * self.scale))
        self.y = int(self._position[1] - round(self._anchor[1] * height * self.scale))


def label_at(x, y, color, scale=1, font=None, anchor=(0, 0), background=None, padding=0):
    return TextLine(x, y, color, scale, font, anchor, background, padding)


def degree_sign(font):
    """``"°"`` when ``font`` can draw it (the app's can; the board's built-in one cannot)."""
    return "°" if (font or screen_font()).get_glyph(0xB0) is not None else ""


def scale_for(width):
    """Text scale: 1 on the 320-px screens, 2 on the Titano's 480."""
    return 2 if width >= 480 else 1


def own_area(height, y):
    """True for a tap on the lower third, where each view does its own thing (above it, a
    tap shows the next view)."""
    return y >= height * 2 // 3


def set_text(item, text):
    """Change a label only when its text changes (a new text rebuilds its glyphs)."""
    text = text or " "
    if item.text != text:
        item.text = text


class PhotoFrame(displayio.Group):
    """A photo full screen with a one-line caption; the base of the Classic, Photo and
    Gallery views.

    :param caption_at: where the caption's top left corner goes.
    :param caption_padding: blank pixels left and right of the caption's text.
    """

    photos = "photo"  # what the app downloads for it: "photo", "gallery" or None

    def __init__(self, width, height, font=None, caption_at=(2, 2), caption_padding=0):
        super().__init__()
        self.width, self.height = width, height
        self._photo = displayio.Group()
        self.append(self._photo)
        self._bitmap = None
        self.caption = label_at(caption_at[0], caption_at[1], TEXT, font=font,
                                background=STRIP, padding=caption_padding)
        self.caption.hidden = True
        self.append(self.caption)

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

    def show_caption(self, text):
        set_text(self.caption, text)
        self.caption.hidden = not text
