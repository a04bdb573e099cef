"""The Photo and Gallery views (``VIEW``): a photo full screen with its caption, and a
one-line weather strip (Photo) or the photo's place in the list (Gallery)."""

import displayio

import view
import viewtext
from widgets import (STRIP, TEXT, PhotoFrame, degree_sign, label_at, own_area, rect,
                     scale_for, set_text)


class PhotoView(PhotoFrame):
    """The photo with a compact caption and a one-line weather strip at the bottom (16 px at
    320x240, 28 at 480x320: under a tenth of the screen); a tap toggles the strip."""

    name = "photo"
    query = "&history=0&photos=0"

    def __init__(self, width, height, font=None):
        super().__init__(width, height, font)
        self.degree = degree_sign(font)
        s = scale_for(width)
        self.strip_height = 12 * s + 4
        self.strip_top = height - self.strip_height
        self.strip = displayio.Group()
        self.strip.append(rect(width, self.strip_height, 0, self.strip_top, STRIP))
        self.line = label_at(3, self.strip_top + 2, TEXT, s, font)
        self.strip.append(self.line)
        self.append(self.strip)

    def show(self, payload, units):
        self.show_caption(view.caption(payload))
        set_text(self.line, viewtext.strip_line(payload, units, self.degree))

    def toggle_strip(self):
        self.strip.hidden = not self.strip.hidden

    def tap(self, x, y):
        return "strip" if own_area(self.height, y) else "next"


class GalleryView(PhotoFrame):
    """The last photos in turn, each with its caption and its place ("2/6")."""

    name = "gallery"
    query = "&history=0&photos=6"
    photos = "gallery"

    def __init__(self, width, height, font=None):
        super().__init__(width, height, font)
        self.place = label_at(width - 2, 2, TEXT, 1, font, anchor=(1, 0), background=STRIP)
        self.place.hidden = True
        self.append(self.place)

    def show(self, payload, units):
        pass  # the app shows each photo with its caption (App.slide)

    def show_place(self, index, count, caption):
        self.show_caption(caption)
        set_text(self.place, "%d/%d" % (index + 1, count) if count else "")
        self.place.hidden = not count

    def tap(self, x, y):
        return "advance" if own_area(self.height, y) else "next"
