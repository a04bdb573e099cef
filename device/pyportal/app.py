"""The app's behaviour: refresh, show, keep going whatever happens.

Errors never stop it: each failed refresh leaves the last good screen up with a "stale"
status and retries with an exponential backoff; the ESP32 is reset after repeated failures;
a repeated ``MemoryError`` ends in a soft reload.
"""

import gc
import time

import view
from errors import BadBitmap, FetchError
from hardware import free_space, mem_free
from net import FedPool, Net, close_sockets, now_ms, wait_ms

DEPTH = 8  # 8-bit palette BMPs: half the bytes of RGB565 and OnDiskBitmap reads them from storage
RADIO_RESET_AFTER = 3  # consecutive failures before the ESP32 is reset
TICK = 0.1  # seconds between touch polls while waiting (the board sleeps in between)
LONG_PRESS_MS = 2000  # a press this long shows the diagnostics
DIAGNOSTICS_MS = 10000  # on screen at least this long, and until a photo is up (or a tap)


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
    :param screen: a :class:`screen.Screen` on the display.
    :param settings: a :class:`settings.Settings`.
    :param log: one-line serial log.
    :param timeout: seconds without data before a request fails. Each socket call (DNS,
        connect with its TLS handshake, each read) feeds the watchdog, so only the longest
        single call must stay under its 16 s: a read waits at most ``timeout``.
    """

    def __init__(self, hw, screen, settings, log=print, timeout=4, on_long_press=None):
        self.hw = hw
        self.screen = screen
        self.settings = settings
        self.log = log
        self.timeout = timeout
        self.on_long_press = on_long_press or (lambda: None)
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
        self._restore_photo()

    # -- photo storage ---------------------------------------------------------------------
    def _path(self, name):
        folder = self.hw.storage
        return name if folder in ("", ".") else "%s/%s" % (folder, name)

    def _restore_photo(self):
        """Show the photo kept from before a restart, so the screen is not empty meanwhile."""
        if self.hw.storage is None:
            return
        try:
            with open(self._path("mars.etag")) as f:
                slot, etag = f.read().split("\n", 1)
            self.screen.show_photo(self._path("mars%s.bmp" % slot))
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
        """Fetch and show the latest weather and photo; never raises ``Exception``."""
        start = now_ms()
        self.hw.feed()
        if self.payload is None:
            self.screen.show_status("connecting...", "busy")
        try:
            net = self._client()
            before = net.bytes
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
        self.next_at = now_ms() + view.refresh_delay(self.failures, refresh_s) * 1000
        gc.collect()

    def _fetch(self, net):
        return net.fetch(self.hw.width, self.hw.height, DEPTH)

    def _show(self, net, payload):
        """Show a new payload; returns a note for the status line."""
        self.screen.show_weather(view.weather_lines(payload, self.units))
        return self._update_photo(net, payload)

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
        info = view.image(payload)
        if info is None:
            return ", no photo"
        if self.hw.storage is None:
            return ", " + self.hw.storage_note
        url, etag, size = info
        if view.same_etag(etag, self.etag) and self.screen.has_photo:
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
                                    if self.etag and self.screen.has_photo else None, size)
        except (BadBitmap, FetchError) as e:
            self.log("photo: rejected: %s" % e)
            return ", photo: " + view.short_error(e)
        if new_etag is None:
            self.log("photo: unchanged")
            return ""
        self.screen.show_photo(path)
        self.slot, self.etag = slot, etag or new_etag
        self.screen.show_caption(view.caption(payload))
        self._remember_photo()
        self.log("photo: %s %d ms" % (path, wait_ms(start)))
        return ""

    # -- diagnostics -----------------------------------------------------------------------
    def show_diagnostics(self, lines):
        """Show the ``diag:`` lines for :data:`DIAGNOSTICS_MS` and until a photo is up: at
        start they stay through a first refresh that fails, where they help most."""
        self.screen.show_diagnostics(lines)
        self._diagnostics_until = now_ms() + self.diagnostics_ms

    def _diagnostics_done(self, tapped=False):
        """Hide the diagnostics when their time is over (or on a tap); True if it did."""
        if self._diagnostics_until is None:
            return False
        if tapped or (now_ms() >= self._diagnostics_until and self.screen.has_photo):
            self.screen.hide_diagnostics()
            self._diagnostics_until = None
            return True
        return False

    # -- waiting ---------------------------------------------------------------------------
    def toggle_units(self):
        self.units = "F" if self.units == "C" else "C"
        if self.payload is not None:
            self.screen.show_weather(view.weather_lines(self.payload, self.units))

    def wait(self):
        """Sleep until the next refresh is due, feeding the watchdog and handling taps.

        A tap on the weather panel toggles the units; anywhere else it puts the diagnostics
        away if they are up, else refreshes now.
        """
        while now_ms() < self.next_at:
            self.hw.feed()
            self._diagnostics_done()
            point = self.hw.touch_point()
            if point is not None:
                pressed = now_ms()
                while self.hw.touch_point() is not None:  # one action per tap
                    self.hw.feed()
                    time.sleep(TICK)
                if now_ms() - pressed >= LONG_PRESS_MS:
                    self.on_long_press()
                elif self.screen.in_panel(point[1]):
                    self.toggle_units()
                elif self._diagnostics_done(tapped=True):
                    pass  # a tap on the diagnostics (over the photo) only puts them away
                else:
                    self.next_at = 0
            time.sleep(TICK)
