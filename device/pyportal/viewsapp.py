"""The app with the three views: Photo, Weather and Gallery (``VIEW`` picks the first).

A tap on the upper two thirds of the screen shows the next view (and refreshes for it); below,
it does the view's own thing: hide or show the Photo view's weather strip, switch °C/°F on the
Weather view, show the Gallery's next photo. Each view asks the API only for what it shows:
the Weather view downloads no bitmap at all.
"""

import time

import view
import viewtext
from app import DEPTH, LONG_PRESS_MS, TICK, App
from errors import BadBitmap, FetchError
from net import now_ms

#: The query each view adds to ``GET /mars``.
QUERIES = {"photo": "&history=0&photos=0", "weather": "&history=30&photos=0",
           "gallery": "&history=0&photos=6"}


class ViewsApp(App):
    """:class:`app.App` on a :class:`views.Views` root group.

    :param views: the :class:`views.Views` on the display.
    """

    def __init__(self, hw, views, settings, log=print, timeout=4, on_long_press=None):
        self.gallery_index = 0
        self.gallery_files = {}  # file name -> etag of the photo in it
        self.next_slide_at = 0  # ms of uptime, like App.next_at
        super().__init__(hw, views, settings, log=log, timeout=timeout,
                         on_long_press=on_long_press)
        views.select(settings.view or "photo")

    @property
    def view_name(self):
        return self.screen.current

    def _fetch(self, net):
        return net.fetch(self.hw.width, self.hw.height, DEPTH, QUERIES[self.view_name])

    def _show(self, net, payload):
        self.screen.show_payload(payload, self.units)
        if self.view_name == "weather":
            return ""
        if self.view_name == "gallery":
            return self._slide(net, payload)
        return self._update_photo(net, payload)

    # -- gallery ---------------------------------------------------------------------------
    def _slide(self, net, payload):
        """Show the gallery's current photo, downloading it unless it is kept already.

        With an SD card every place keeps its file (a round costs bytes once); on the flash
        two files alternate, so each photo is downloaded when its turn comes.
        """
        gallery = self.screen.gallery
        items = viewtext.gallery_items(payload)
        self.next_slide_at = now_ms() + self.settings.gallery_seconds * 1000
        if not items:
            gallery.show_place(0, 0, "no photos")
            return ", no photos"
        index = self.gallery_index % len(items)
        url, etag, size, caption = items[index]
        if self.hw.storage is None:
            gallery.show_place(index, len(items), caption)
            return ", " + self.hw.storage_note
        keep_all = self.hw.storage_note == "SD card"
        name = "gal%d.bmp" % (index if keep_all else index % 2)
        if self.gallery_files.get(name) != etag or etag is None:
            path = self._path(name)
            if getattr(self, "_gallery_shown", None) == name:
                gallery.clear_photo()  # never rewrite the file OnDiskBitmap is reading
            try:
                net.download(url, path, self.hw.width, self.hw.height, None, size)
            except (BadBitmap, FetchError) as e:
                self.log("gallery: rejected: %s" % e)
                self.gallery_files.pop(name, None)
                return ", photo: " + view.short_error(e)
            self.gallery_files[name] = etag
        gallery.show_photo(self._path(name))
        self._gallery_shown = name
        gallery.show_place(index, len(items), caption)
        return ""

    def advance(self):
        """The gallery's next photo; never raises ``Exception``."""
        self.gallery_index += 1
        if self.payload is None:
            return
        try:
            note = self._slide(self._client(), self.payload)
            if note:
                self.screen.show_status(note.lstrip(", "), "stale")
        except Exception as e:  # the next refresh tries again
            self.log("gallery: %s" % e)
            self.next_slide_at = now_ms() + self.settings.gallery_seconds * 1000

    # -- touch -----------------------------------------------------------------------------
    def on_tap(self, x, y):
        action = self.screen.tap(x, y)
        if action == "next":
            self.screen.next_view()
            self.next_at = 0  # fetch what the new view shows
        elif action == "strip":
            self.screen.photo.toggle_strip()
        elif action == "units":
            self.units = "F" if self.units == "C" else "C"
            if self.payload is not None:
                self.screen.show_payload(self.payload, self.units)
        elif action == "advance":
            self.advance()
        return action

    def wait(self):
        """Sleep until the next refresh, feeding the watchdog, turning the gallery and
        handling taps."""
        while now_ms() < self.next_at:
            self.hw.feed()
            if self.view_name == "gallery" and now_ms() >= self.next_slide_at:
                self.advance()
            point = self.hw.touch_point()
            if point is not None:
                pressed = now_ms()
                while self.hw.touch_point() is not None:  # one action per tap
                    self.hw.feed()
                    time.sleep(TICK)
                if now_ms() - pressed >= LONG_PRESS_MS:
                    self.on_long_press()
                else:
                    self.on_tap(point[0], point[1])
            time.sleep(TICK)
