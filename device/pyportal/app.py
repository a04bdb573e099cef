"""The app's behaviour: refresh, show, keep going whatever happens, on whichever view is shown.

Errors never stop it: each failed refresh leaves the last good screen up with a "stale"
status and retries with an exponential backoff; the ESP32 is reset after repeated failures;
a repeated ``MemoryError`` ends in a soft reload. Each view asks the API only for what it
shows (``view.query``): the classic screen and the Photo view one photo and no history, the
Weather view the history and no bitmap, the Gallery the photo list. Refreshes and retries
wait a random share more or less (``view.refresh_delay_ms``), so boards powered on together drift
apart.
"""

import gc
import random
import time

import view
import viewtext
from errors import BadBitmap, FetchError
from hardware import free_space, mem_free
from net import FedPool, Net, close_sockets, now_ms, wait_ms

# Palette BMPs, which OnDiskBitmap reads from storage: 8 bits (256 colours, 77 KB at 320x240)
# where an SD card keeps one photo, 4 (16 colours, 38 KB) for the Gallery's several photos and
# for the flash; DEPTH in settings.toml decides instead when set.
DEPTH_SD, DEPTH_SMALL = 8, 4
RADIO_RESET_AFTER = 3  # consecutive failures before the ESP32 is reset
TICK = 0.1  # seconds between touch polls while waiting (the board sleeps in between)
LONG_PRESS_MS = 2000  # a press this long shows the diagnostics
DIAGNOSTICS_MS = 10000  # on screen at least this long, and until a refresh has succeeded


class Stats:
    """Counters for the serial log, the simulator and the benchmark."""

    def __init__(self):
        self.refreshes = 0
        self.requests = 0
        self.bytes = 0
        self.failures = 0


stats = Stats()


class App:
    """Refresh the screen from the API forever.

    :param hw: a :class:`hardware.Hardware`.
    :param screen: the :class:`screen.Screen` on the display.
    :param settings: a :class:`settings.Settings`.
    :param log: one-line serial log.
    :param timeout: seconds without data before a request fails. Each socket call (DNS,
        connect with its TLS handshake, each read) feeds the watchdog, so only the longest
        single call must stay under its 16 s: a read waits at most ``timeout``.
    :param on_long_press: called after a 2 s press (the diagnostics).
    :param jitter: a number in [0, 1) for each wait (``random.random``: seeded by the board's
        hardware random generator, so each board draws its own).
    """

    def __init__(self, hw, screen, settings, log=print, timeout=4, on_long_press=None,
                 jitter=random.random):
        self.hw = hw
        self.screen = screen
        self.settings = settings
        self.log = log
        self.timeout = timeout
        self.on_long_press = on_long_press or (lambda: None)
        self.jitter = jitter
        self.depth_refused = False  # the API refused depth 4 (an older one): 8 from then on
        self.units = settings.units
        self.net = None
        self.pool = None
        self.api = None  # (status, ms) of the last answer, for the diagnostics
        self.payload = None
        self.last_ok = ""
        self.failures = 0
        self.memory_errors = 0
        self.slot = 0
        self.etag = None
        self.next_at = 0
        self.diagnostics_ms = DIAGNOSTICS_MS
        self._diagnostics_until = None
        self.gallery_index = 0
        self.gallery_files = {}  # file name -> etag of the photo in it
        self._gallery_shown = None
        self.next_slide_at = 0  # ms of uptime, like next_at
        self._restore_photo()

    @property
    def view_name(self):
        return self.screen.current

    @property
    def depth(self):
        """Bits per pixel of the photos to ask for: ``DEPTH``, else 4 for the Gallery and
        where there is no SD card (the flash holds little), else 8."""
        depth = self.settings.depth
        if depth is None:
            small = self.view_name == "gallery" or self.hw.storage_note != "SD card"
            depth = DEPTH_SMALL if small else DEPTH_SD
        return DEPTH_SD if self.depth_refused else depth

    # -- photo storage ---------------------------------------------------------------------
    def _path(self, name):
        folder = self.hw.storage
        return name if folder in ("", ".") else "%s/%s" % (folder, name)

    def _restore_photo(self):
        """Show the photo kept from before a restart (or on the view shown now), so the
        screen is not empty meanwhile."""
        frame = self.screen.photo_view
        if self.hw.storage is None or frame is None:
            return
        try:
            with open(self._path("mars.etag")) as f:
                slot, etag = f.read().split("\n", 1)
            frame.show_photo(self._path("mars%s.bmp" % slot))
            self.slot, self.etag = int(slot), etag.strip() or None
        except (OSError, ValueError):
            pass  # nothing kept yet (or unreadable): the first refresh downloads one

    def _remember_photo(self):
        try:
            with open(self._path("mars.etag"), "w") as f:
                f.write("%d\n%s" % (self.slot, self.etag or ""))
        except OSError as e:
            self.log("storage: %s" % e)

    # -- refresh ---------------------------------------------------------------------------
    def _client(self):
        if self.net is None:
            import adafruit_requests

            pool, ssl_context = self.hw.connect(self.settings.ssid, self.settings.password)
            self.log("wifi: connected to %s" % self.settings.ssid)
            self.pool = FedPool(pool, self.hw.feed)
            self.net = Net(adafruit_requests.Session(self.pool, ssl_context),
                           self.settings.api_url, self.settings.api_key, feed=self.hw.feed,
                           timeout=self.timeout)
        return self.net

    def _close_sockets(self):
        """After a failure no socket may stay taken: see :func:`net.close_sockets`."""
        if self.pool is not None:
            try:
                close_sockets(self.pool)
            except Exception as e:  # the next refresh starts afresh anyway
                self.log("wifi: closing sockets: %s" % e)

    def refresh(self):
        """Fetch and show what the view on screen needs; never raises ``Exception``."""
        start = now_ms()
        self.hw.feed()
        if self.payload is None:
            self.screen.show_status("connecting...", "busy")
        try:
            net = self._client()
            before = net.bytes
            self.payload = None  # the last answer goes before the next one is parsed
            gc.collect()
            payload = self._fetch(net)
            self.payload = payload
            note = self._show(net, payload)
            status = view.status_updated(payload)
            self.last_ok = view.hhmm(payload.get("updated_utc")) or "earlier"
            self.screen.show_status(status + note, "stale" if payload.get("stale") else "ok")
            self.failures = self.memory_errors = 0
            self.api = ("HTTP 200", wait_ms(start))
            self.log("fetch: ok %d B %d ms free %s" % (net.bytes - before, wait_ms(start),
                                                       mem_free()))
        except MemoryError:
            self.payload = None
            gc.collect()
            self.memory_errors += 1
            self.log("memory: low, free %s after collect" % mem_free())
            if self.memory_errors >= 2:
                self.hw.reload()
            self._failed(MemoryError("out of memory"))
        except Exception as e:  # any failure must leave the app running
            self._failed(e)
        stats.refreshes += 1
        if self.net is not None:
            stats.requests, stats.bytes = self.net.requests, self.net.bytes
        stats.failures = self.failures
        refresh_s = self.settings.refresh_minutes * 60
        self.next_at = now_ms() + view.refresh_delay_ms(self.failures, refresh_s, self.jitter())
        gc.collect()

    def _fetch(self, net):
        """``GET /mars`` for the view shown, at :attr:`depth`; an API that refuses depth 4
        (one from before it) is asked again for 8, and from then on."""
        query = self.screen.view.query
        try:
            return net.fetch(self.hw.width, self.hw.height, self.depth, query)
        except FetchError as e:
            if self.depth == DEPTH_SD or not str(e).startswith("HTTP 400"):
                raise
        payload = net.fetch(self.hw.width, self.hw.height, DEPTH_SD, query)
        self.depth_refused = True
        self.log("fetch: the API refused depth %d; asking for %d" % (DEPTH_SMALL, DEPTH_SD))
        return payload

    def _show(self, net, payload):
        """Show a new payload on the view; returns a note for the status line."""
        self.screen.show_payload(payload, self.units)
        photos = self.screen.view.photos
        if photos == "gallery":
            return self._slide(net, payload)
        if photos == "photo":
            return self._update_photo(net, payload)
        return ""

    def _failed(self, error):
        self.failures += 1
        self.api = ("failed: " + view.short_error(error), 0)
        self.log("fetch: failed (%d) %s: %s" % (self.failures, type(error).__name__, error))
        self.screen.show_status(view.status_failed(self.last_ok, error),
                                "stale" if self.last_ok else "error")
        self._close_sockets()
        if self.failures % RADIO_RESET_AFTER == 0:
            self.net = self.pool = None  # a new session after the radio comes back
            try:
                self.hw.reset_radio()
            except Exception as e:  # the next refresh tries again
                self.log("wifi: reset failed: %s" % e)

    def _update_photo(self, net, payload):
        """Download the photo if it changed; returns a note for the status line."""
        frame = self.screen.photo_view
        info = view.image(payload)
        if info is None:
            return ", no photo"
        if self.hw.storage is None:
            return ", " + self.hw.storage_note
        url, etag, size = info
        if view.same_etag(etag, self.etag) and frame.has_photo:
            return ""  # unchanged: not even a conditional request
        room = free_space(self.hw.storage)
        if room is not None and size and size > room:
            return ", no room for photo"
        slot = 1 - self.slot
        path = self._path("mars%d.bmp" % slot)
        start = now_ms()
        try:
            new_etag = net.download(url, path, self.hw.width, self.hw.height,
                                    view.quoted_etag(self.etag)
                                    if self.etag and frame.has_photo else None, size)
        except (BadBitmap, FetchError) as e:
            self.log("photo: rejected: %s" % e)
            return ", photo: " + view.short_error(e)
        if new_etag is None:
            self.log("photo: unchanged")
            return ""
        frame.show_photo(path)
        self.slot, self.etag = slot, etag or new_etag
        frame.show_caption(view.caption(payload))
        self._remember_photo()
        self.log("photo: %s %d ms" % (path, wait_ms(start)))
        return ""

    # -- gallery ---------------------------------------------------------------------------
    def _slide(self, net, payload):
        """Show the gallery's current photo, downloading it unless it is kept already.

        With an SD card every place keeps its file (a round costs bytes once); on the flash
        two files alternate, so each photo is downloaded when its turn comes.
        """
        gallery = self.screen.view
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
            if self._gallery_shown == name:
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

    # -- diagnostics -----------------------------------------------------------------------
    def show_diagnostics(self, lines):
        """Show the ``diag:`` lines for :data:`DIAGNOSTICS_MS` and until a refresh has
        succeeded: at start they stay through a first refresh that fails, where they help
        most."""
        self.screen.show_diagnostics(lines)
        self._diagnostics_until = now_ms() + self.diagnostics_ms

    def _diagnostics_done(self, tapped=False):
        """Hide the diagnostics when their time is over (or on a tap); True if it did."""
        if self._diagnostics_until is None:
            return False
        settled = self.payload is not None and self.failures == 0
        if tapped or (now_ms() >= self._diagnostics_until and settled):
            self.screen.hide_diagnostics()
            self._diagnostics_until = None
            return True
        return False

    # -- touch and waiting -----------------------------------------------------------------
    def toggle_units(self):
        self.units = "F" if self.units == "C" else "C"
        if self.payload is not None:
            self.screen.show_payload(self.payload, self.units)

    def on_tap(self, x, y):
        """What a tap does: on the diagnostics, put them away; else what the view says
        (``view.tap``): the next view, refresh now, °C/°F, the strip, the next photo."""
        if self.screen.on_diagnostics(y):
            self._diagnostics_done(tapped=True)
            return "diagnostics"
        action = self.screen.view.tap(x, y)
        if action == "next":
            self.screen.next_view()  # a new view: nothing on it yet
            self._gallery_shown = None
            self._restore_photo()
            self.next_at = 0  # fetch what the new view shows
        elif action == "refresh":
            self.next_at = 0
        elif action == "units":
            self.toggle_units()
        elif action == "strip":
            self.screen.view.toggle_strip()
        elif action == "advance":
            self.advance()
        return action

    def wait(self):
        """Sleep until the next refresh is due, feeding the watchdog, turning the gallery and
        handling taps (a 2 s press shows the diagnostics)."""
        while now_ms() < self.next_at:
            self.hw.feed()
            self._diagnostics_done()
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
