"""The cases of the PyPortal's pure modules, as data: one table for CPython and MicroPython.

``tests/pyportal/test_{view,settings,bmp,errors,net}.py`` check each case's outcome on CPython;
``tests/pyportal/test_micropython.py`` runs the very same cases in the MicroPython VM and wants
identical outcomes. A case is a call (``"view.temperature"``, or a ``"@helper"`` of
``micropython/caserun.py``) with JSON-able arguments and the outcome it must have.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any

from testing.fake_mars_api import bmp4, bmp8, load_payload, photo, rle8
from testing.micropython.caserun import encode


@dataclass(frozen=True)
class Raises:
    """The outcome of a call that raises ``kind`` with exactly ``message``."""

    kind: str
    message: str
    setting: str | None = None  # a SettingError's ``name``

    def encoded(self) -> dict:
        out = [self.kind, self.message] + ([self.setting] if self.setting else [])
        return {"$raises": out}


@dataclass(frozen=True)
class Case:
    id: str
    call: str
    args: tuple = ()
    expect: Any = None
    kwargs: dict = field(default_factory=dict)

    def wire(self) -> dict:
        """The case as the runner takes it, in either runtime (JSON for the VM)."""
        return {"id": self.id, "call": self.call, "args": to_wire(list(self.args)),
                "kwargs": to_wire(self.kwargs)}

    def expected(self):
        """The outcome as the runner encodes it."""
        return expected_form(self.expect)


def to_wire(value):
    """Arguments as JSON: payload dicts stay dicts; bytes, tuples and floats get a marker
    (an ``exc()`` argument is already in its wire form)."""
    if isinstance(value, dict) and "$exc" not in value:
        return {k: to_wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_wire(v) for v in value]
    if isinstance(value, tuple):
        return {"$tuple": [to_wire(v) for v in value]}
    if isinstance(value, (bytes, float)):
        return encode(value)
    return value


def expected_form(value):
    """An expected outcome in the runner's encoding; a :class:`Raises` anywhere inside."""
    if isinstance(value, Raises):
        return value.encoded()
    if isinstance(value, dict):
        return {"$dict": sorted([str(k), expected_form(v)] for k, v in value.items())}
    if isinstance(value, tuple):
        return {"$tuple": [expected_form(v) for v in value]}
    if isinstance(value, list):
        return [expected_form(v) for v in value]
    return encode(value)


def exc(kind: str, *args) -> dict:
    """An exception instance as an argument (built in the runtime that runs the case)."""
    return {"$exc": [kind, list(args)]}


# -- view ----------------------------------------------------------------------------------

def _full_with_bytes() -> dict:
    payload = load_payload("full")
    payload["image"]["bytes"] = 77878
    return payload


FULL_LINES = ("Sol 4995, 94 sols ago  2026-08-25", "-71°C to -5°C",
              "777 Pa  northern winter  Sunny", "sunrise 06:46  sunset 18:51  Curiosity")
HISTORY = load_payload("history")  # its mars_time: Curiosity at sol 5089, 94 after the report


def _reported(season=None, ls=None, name=None, sol=4995, now=None, rover="Curiosity",
              at="Curiosity") -> dict:
    """A payload whose report has these season fields, and the rover's sol now (``now``)."""
    weather = {k: v for k, v in {"season": season, "ls": ls, "season_name": name, "sol": sol,
                                 "rover": rover}.items() if v is not None}
    payload: dict = {"weather": weather}
    if now is not None:
        payload["mars_time"] = {"rover": at, "sol": now, "lmst": "14:03:27"}
    return payload


def _season(payload: dict) -> dict:
    return payload["weather"]


SOL_AGES: list[tuple[dict[str, Any], str]] = [
    ({"now": 5093}, "98 sols ago"), ({"now": 4996}, "1 sol ago"),
    ({"now": 4995}, "today"), ({"now": 4990}, ""), ({}, ""),
    ({"now": 5093, "at": "Perseverance"}, ""), ({"now": 5093, "rover": None}, ""),
    ({"now": "5093", "sol": "4995"}, "98 sols ago"), ({"now": 5093, "sol": None}, ""),
]

VIEW = [
    Case("lines-full", "view.weather_lines", (load_payload("full"), "C"), FULL_LINES),
    Case("lines-fahrenheit", "view.weather_lines", (load_payload("full"), "F"),
         ("Sol 4995, 94 sols ago  2026-08-25", "-96°F to 23°F",
          "777 Pa  northern winter  Sunny", "sunrise 06:46  sunset 18:51  Curiosity")),
    Case("lines-with-the-reports-age", "view.weather_lines",
         ({"weather": HISTORY["weather"], "mars_time": HISTORY["mars_time"]}, "C"),
         ("Sol 4995, 94 sols ago  2026-08-25", "-71°C to -5°C",
          "777 Pa  northern winter  Sunny", "sunrise 06:46  sunset 18:51  Curiosity")),
    # the season in words, never the feed's "Month 12"
    *[Case(f"season-{i}", "view.season", (_season(_reported(*fields)),), words)
      for i, (fields, words) in enumerate([
          (("Month 12", 341, "northern winter"), "northern winter"),
          (("Month 12", 341), "northern winter"),
          (("Month 4", 95.5), "northern summer"),
          (("Month 7", 180), "northern autumn"),
          (("Month 12",), "northern winter"),
          (("Month 1",), "northern spring"),
          (("Month 6",), "northern summer"),
          (("Month 13",), ""),
          (("Month x",), ""),
          ((None, 359.9), "northern winter"),
          ((None, 360), "northern spring"),
          (("summer",), "summer"),  # InSight's words stay
          (("--",), ""),
          ((), ""),
      ])],
    # the report's age at the rover's sol now (mars_time), as the page says it
    *[Case(f"sol-age-{i}", "view.sol_age", (_reported(**fields),), words)
      for i, (fields, words) in enumerate(SOL_AGES)],
    Case("sol-words", "view.sol_words", (_reported(now=5093),), "Sol 4995, 98 sols ago"),
    Case("sol-words-no-age", "view.sol_words", (_reported(),), "Sol 4995"),
    Case("sol-words-none", "view.sol_words", ({},), ""),
    Case("sun", "view.sun", ({"sunrise": "06:46", "sunset": "18:51"},),
         "sunrise 06:46  sunset 18:51"),
    Case("sun-missing", "view.sun", ({"sunrise": None},), "sunrise --  sunset --"),
    *[Case(f"temperature-{i}", "view.temperature", (c, u), text) for i, (c, u, text) in enumerate([
        (-71, "C", "-71°C"), (-71.6, "C", "-72°C"), ("-5", "C", "-5°C"), (0, "F", "32°F"),
        (None, "C", "--"), ("--", "F", "--"), (True, "C", "--"), ([], "C", "--"),
        (-0.5, "C", "0°C"), (2.5, "C", "2°C"), (-40, "F", "-40°F"), ("1e3", "C", "1000°C"),
    ])],
    Case("lines-nulls", "view.weather_lines", (load_payload("nulls"), "C"),
         ("Sol --  --", "-- to -5°C", "-- Pa  --", "sunrise --  sunset --  REMS")),
    Case("image-nulls", "view.image", (load_payload("nulls"),), None),
    Case("caption-nulls", "view.caption", (load_payload("nulls"),), ""),
    Case("status-nulls", "view.status_updated", (load_payload("nulls"),),
         "NASA unreachable, data from earlier"),
    Case("lines-strings", "view.weather_lines", (load_payload("strings"), "C"),
         ("Sol 4995  2026-08-25", "-72°C to --", "777 Pa  --", "sunrise 06:46  sunset --  --")),
    Case("image-not-an-object", "view.image", (load_payload("strings"),), None),
    Case("status-not-a-timestamp", "view.status_updated", (load_payload("strings"),), "updated"),
    Case("lines-legacy", "view.weather_lines", (load_payload("legacy"), "C"),
         ("Sol 675  2020-10-19", "avg -62°C", "751 Pa  summer",
          "sunrise --  sunset --  InSight")),
    Case("image-legacy", "view.image", (load_payload("legacy"),),
         ("/mars/image/photo-1.bmp", None, None)),
    Case("lines-empty", "view.weather_lines", ({}, "C"), ("No weather report", "", "", "")),
    Case("image-empty", "view.image", ({},), None),
    Case("image-full", "view.image", (load_payload("full"),),
         ("/mars/image/photo-1.bmp", '"photo-1"', None)),
    Case("image-with-bytes", "view.image", (_full_with_bytes(),),
         ("/mars/image/photo-1.bmp", '"photo-1"', 77878)),
    Case("caption-full", "view.caption", (load_payload("full"),),
         "Perseverance NAVCAM_LEFT sol 1994"),
    Case("status-full", "view.status_updated", (load_payload("full"),), "updated 08:15 UTC"),
    Case("failed-stale", "view.status_failed", ("08:15", exc("OSError", "refused")),
         "stale since 08:15: refused"),
    Case("failed-long", "view.status_failed", ("", exc("ValueError", "x" * 60)),
         "no data yet: " + "x" * 39 + "~"),
    Case("short-error-empty", "view.short_error", (exc("TimeoutError"),), "TimeoutError"),
    Case("short-error-unicode", "view.short_error", (exc("OSError", "é" * 45),), "é" * 39 + "~"),
    Case("hhmm", "view.hhmm", ("2026-09-29T10:11:12Z",), "10:11"),
    Case("hhmm-date", "view.hhmm", ("2026-09-29",), ""),
    Case("hhmm-none", "view.hhmm", (None,), ""),
    # a tenth either way of the period; after failures, half to all of the backoff
    *[Case(f"backoff-{n}-{jitter}", "view.refresh_delay_ms", (n, 600, jitter), d)
      for jitter, delays in ((0.0, [540000, 7500, 15000, 30000, 60000, 120000, 240000]),
                             (0.5, [600000, 11250, 22500, 45000, 90000, 180000, 360000]),
                             # 15/16: exact in the board's floats too
                             (0.9375, [652500, 14531, 29062, 58125, 116250, 232500, 465000]))
      for n, d in enumerate(delays)],
    Case("backoff-capped", "view.refresh_delay_ms", (50, 600, 0.0), 300000),
    Case("backoff-capped-top", "view.refresh_delay_ms", (50, 600, 0.9375), 581250),
    Case("refresh-one-minute", "view.refresh_delay_ms", (0, 60, 0.9375), 65250),
    *[Case(f"same-etag-{i}", "view.same_etag", (a, b), same) for i, (a, b, same) in enumerate([
        ("abc", '"abc"', True), ('W/"abc"', "abc", True), ("abc", "abd", False),
        (None, None, False)])],
    Case("quoted-bare", "view.quoted_etag", ("abc",), '"abc"'),
    Case("quoted-already", "view.quoted_etag", ('"abc"',), '"abc"'),
]

# -- settings ------------------------------------------------------------------------------

GOOD = {"CIRCUITPY_WIFI_SSID": "home", "CIRCUITPY_WIFI_PASSWORD": "secret-pw",
        "MARS_API_URL": "https://api.example/prod", "MARS_API_KEY": "k3y"}


def _settings(**changes) -> tuple:
    values = {k: v for k, v in {**GOOD, **changes}.items() if v is not None}
    return (values,)


def _loaded(url="https://api.example/prod", minutes=10, units="C", password="secret-pw",
            view=None, gallery_seconds=30, depth=None):
    # the last: whether a print of the settings would show the password or the key (never)
    return ("home", password, url, "k3y", minutes, units, view, gallery_seconds, depth, False)


SETTINGS = [
    Case("defaults", "@settings_load", _settings(), _loaded()),
    Case("int-minutes", "@settings_load", _settings(REFRESH_MINUTES=5), _loaded(minutes=5)),
    Case("str-minutes", "@settings_load", _settings(REFRESH_MINUTES=" 7 "), _loaded(minutes=7)),
    Case("url-slash", "@settings_load", _settings(MARS_API_URL="http://127.0.0.1:8000/"),
         _loaded(url="http://127.0.0.1:8000")),
    Case("url-mars", "@settings_load", _settings(MARS_API_URL="https://x.example/prod/mars"),
         _loaded(url="https://x.example/prod")),
    Case("units-lower", "@settings_load", _settings(UNITS="f"), _loaded(units="F")),
    Case("no-password", "@settings_load", _settings(CIRCUITPY_WIFI_PASSWORD=None),
         _loaded(password="")),
    Case("views-and-depth", "@settings_load",
         _settings(VIEW="Weather", GALLERY_SECONDS="60", DEPTH="4"),
         _loaded(view="weather", gallery_seconds=60, depth=4)),
    *[Case(f"bad-{name}-{value!r}", "@settings_load", _settings(**{name: value}),
           Raises("SettingError", f"{name} {problem}: set it in settings.toml", name))
      for name, value, problem in [
          ("CIRCUITPY_WIFI_SSID", None, "is missing"),
          ("MARS_API_KEY", None, "is missing"),
          ("MARS_API_KEY", "  ", "is empty"),
          ("MARS_API_URL", None, "is missing"),
          ("MARS_API_URL", "api.example", "must start with https:// or http://"),
          ("MARS_API_URL", "https://x/mars?width=1", "must be a base URL without ? or spaces"),
          ("REFRESH_MINUTES", "ten", "must be a whole number of minutes"),
          ("REFRESH_MINUTES", "7.5", "must be a whole number of minutes"),
          ("REFRESH_MINUTES", 0, "must be between 1 and 1440"),
          ("REFRESH_MINUTES", 2000, "must be between 1 and 1440"),
          ("UNITS", "K", 'must be "C" or "F"'),
          ("MARS_API_URL", "ftp://api.example", "must start with https:// or http://"),
          ("MARS_API_URL", "http://", "has no host name"),
          ("MARS_API_URL", "https:///prod", "has no host name"),
          ("MARS_API_URL", "http://api.example:80a", "has a port that is not a number"),
          ("MARS_API_URL", "http://0.0.0.0:8080", "0.0.0.0 is no address to connect to"),
          ("MARS_API_URL", "http://0:8080", "0 is no address to connect to"),
          ("MARS_API_URL", "http://[::1]:8080", "is IPv6; the board has IPv4 only"),
          ("MARS_API_URL", "http://[fe80::1]/prod", "is IPv6; the board has IPv4 only"),
          ("DEPTH", "16", "must be 4 or 8"),
          ("DEPTH", "four", "must be 4 or 8"),
          ("GALLERY_SECONDS", "2", "must be between 5 and 3600"),
      ]],
    # one setting as the app takes it: the installer checks what it writes with this
    *[Case(f"check-{name}-{value!r}", "settings.read", (name, value), taken)
      for name, value, taken in [
          ("DEPTH", "4", 4), ("DEPTH", 8, 8), ("DEPTH", " 4 ", 4), ("DEPTH", None, None),
          ("UNITS", "f", "F"), ("VIEW", "Gallery", "gallery"), ("VIEW", None, None),
          ("REFRESH_MINUTES", "15", 15), ("MARS_API_URL", "https://x.example/prod/mars",
                                          "https://x.example/prod"),
          # this computer's loopback is the board's own: the installer refuses it, the app
          # does not (the simulator, on this computer, reaches it)
          ("MARS_API_URL", "http://127.1:8080/", "http://127.1:8080"),
          ("MARS_API_URL", "http://user@api.example:8080", "http://user@api.example:8080"),
          ("CIRCUITPY_WIFI_SSID", " home ", "home"),
      ]],
    Case("check-bad-url", "settings.read", ("MARS_API_URL", "api.example"),
         Raises("SettingError", "MARS_API_URL must start with https:// or http://: set it in "
                "settings.toml", "MARS_API_URL")),
    Case("check-empty-ssid", "settings.read", ("CIRCUITPY_WIFI_SSID", ""),
         Raises("SettingError", "CIRCUITPY_WIFI_SSID is empty: set it in settings.toml",
                "CIRCUITPY_WIFI_SSID")),
]

# -- errors --------------------------------------------------------------------------------

ERRORS = [
    Case("setting-error", "@setting_error", ("UNITS", "is missing"),
         ("UNITS is missing: set it in settings.toml", "UNITS", "is missing", True, True)),
]

# -- bmp -----------------------------------------------------------------------------------


def _head(data: bytes) -> bytes:
    return data[:54]


def _bitfields16(w: int = 32, h: int = 8) -> tuple[bytes, int]:
    """A BITMAPV4 header with RGB565 masks, as the API writes for depth=16."""
    row = ((w * 16 + 31) // 32) * 4
    offset = 14 + 108
    size = offset + row * h
    head = b"BM" + struct.pack("<IHHI", size, 0, 0, offset)
    info = struct.pack("<IiiHHIIiiII", 108, w, h, 1, 16, 3, row * h, 0, 0, 0, 0)  # bottom-up
    info += struct.pack("<IIII", 0xF800, 0x07E0, 0x001F, 0) + bytes(108 - 56)
    return head + info, size


def _patched(offset: int, fmt: str, value: int) -> bytes:
    data = bytearray(_head(bmp8(photo(320, 240))))
    struct.pack_into(fmt, data, offset, value)
    return bytes(data)


def _bmp_cases() -> list[Case]:
    import io

    rgb = io.BytesIO()
    photo(320, 240).save(rgb, format="BMP")
    head16, size16 = _bitfields16()
    good = bmp8(photo(320, 240))
    nibbles = bmp4(photo(320, 240))

    def four(offset: int, fmt: str, value: int) -> bytes:
        data = bytearray(_head(nibbles))
        struct.pack_into(fmt, data, offset, value)
        return bytes(data)

    return [
        Case("bmp4-passes", "bmp.check", (_head(nibbles), 320, 240), 38518),
        Case("bmp4-titano", "bmp.check", (_head(bmp4(photo(480, 320))), 480, 320), 76918),
        Case("bmp4-all-16-colours", "bmp.check", (four(46, "<I", 0), 320, 240), 38518),
        # OnDiskBitmap.c takes biClrUsed colours whatever the bits: more than 16 would
        # overrun into the pixels, one it replaces with black and white
        Case("bmp4-17-colours-refused", "bmp.check", (four(46, "<I", 17), 320, 240),
             Raises("BadBitmap", "BMP palette of 17 colours at 4 bpp")),
        Case("bmp8-1-colour-refused", "bmp.check", (_patched(46, "<I", 1), 320, 240),
             Raises("BadBitmap", "BMP palette of 1 colours at 8 bpp")),
        Case("bmp4-palette-over-pixels-refused", "bmp.check", (four(10, "<I", 100), 320, 240),
             Raises("BadBitmap", "BMP pixels out of file")),
        Case("bmp4-pixels-past-end-refused", "bmp.check", (four(2, "<I", 30000), 320, 240),
             Raises("BadBitmap", "BMP pixels out of file")),
        Case("bmp2-refused", "bmp.check", (four(28, "<H", 2), 320, 240),
             Raises("BadBitmap", "BMP of 2 bpp")),
        Case("row-bytes-4", "bmp.row_bytes", (321, 4), 164),
        Case("bmp8-passes", "bmp.check", (_head(good), 320, 240), len(good)),
        Case("bmp8-size", "bmp.check", (_head(good), 320, 240), 77878),
        Case("bitfields16-passes", "bmp.check", (head16, 32, 8), size16),
        Case("rle-refused", "bmp.check", (_head(rle8(320, 240)), 320, 240),
             Raises("BadBitmap", "compressed BMP (1)")),
        Case("24bpp-refused", "bmp.check", (_head(rgb.getvalue()), 320, 240),
             Raises("BadBitmap", "BMP of 24 bpp")),
        Case("wrong-size-refused", "bmp.check", (_head(bmp8(photo(160, 120))), 320, 240),
             Raises("BadBitmap", "BMP 160x120, want 320x240")),
        Case("gif-refused", "bmp.check", (b"GIF89a" + bytes(48), 320, 240),
             Raises("BadBitmap", "not a BMP")),
        Case("short-refused", "bmp.check", (good[:30], 320, 240),
             Raises("BadBitmap", "not a BMP")),
        Case("os2-header-refused", "bmp.check", (_patched(14, "<I", 12), 320, 240),
             Raises("BadBitmap", "BMP header size 12")),
        Case("pixels-past-end-refused", "bmp.check", (_patched(2, "<I", 20000), 320, 240),
             Raises("BadBitmap", "BMP pixels out of file")),
        Case("huge-file-refused", "bmp.check", (_patched(2, "<I", 2**31 + 5), 320, 240),
             Raises("BadBitmap", "BMP size 2147483653")),
        Case("negative-width-refused", "bmp.check", (_patched(18, "<i", -320), 320, 240),
             Raises("BadBitmap", "BMP -320x240, want 320x240")),
        # OnDiskBitmap reads the height as unsigned: a top-down BMP would be garbage
        Case("top-down-refused", "bmp.check", (_patched(22, "<i", -240), 320, 240),
             Raises("BadBitmap", "top-down BMP")),
        Case("row-bytes", "bmp.row_bytes", (321, 8), 324),
        Case("max-size", "bmp.max_size", (480, 320), 14 + 124 + 12 + 1024 + 960 * 320),
    ]


BMP = _bmp_cases()

# -- net: the request/response logic against scripted answers -----------------------------

API = "http://api.example:8080/prod"
SIZE = (48, 36, 8)  # a small screen keeps the scripted bitmaps small
KEYED = {"Host": "api.example:8080", "x-api-key": "test-key"}


def _json(status: int, body) -> dict:
    text = body if isinstance(body, str) else json.dumps(body)
    return {"status": status, "headers": {"content-length": str(len(text.encode()))},
            "body": text}


def _bmp(body: bytes, status: int = 200, length: int | None = None, etag='"photo-1"') -> dict:
    headers = {"etag": etag}
    if length != -1:
        headers["content-length"] = str(len(body) if length is None else length)
    return {"status": status, "headers": headers, "body": body}


def _fetch(id_, response, outcome) -> Case:
    """``GET /mars`` answered by ``response``: what it returns or raises, what it sent."""
    return Case(id_, "@net_fetch", (API, [response], SIZE), {
        "outcome": outcome, "sent": [[API + "/mars?width=48&height=36&depth=8", KEYED, False]],
        "requests": 1, "bytes": len(response["body"].encode()), "all_closed": True})


def _download(id_, response, outcome, url=API + "/mars/image/photo-1.bmp", etag=None,
              announced=None, headers=None, sent_url=None, file=None, fed=0, nbytes=0):
    """A photo download answered by ``response``: outcome, request, the file written
    (``[length, equal to the body sent]``), watchdog feeds and bytes counted."""
    headers = dict(KEYED if headers is None else headers)
    if etag:
        headers["If-None-Match"] = etag
    return Case(id_, "@net_download", (API, [response], url, SIZE[:2]),
                {"outcome": outcome, "sent": [[sent_url or url, headers, True]], "requests": 1,
                 "bytes": nbytes, "all_closed": True, "file": file, "fed": fed},
                kwargs={"etag": etag, "announced": announced})


def _net_cases() -> list[Case]:
    payload = load_payload("full")
    good = bmp8(photo(48, 36))
    n = len(good)
    chunks = -(-n // 1024)
    other = "http://photos.example/p.bmp"
    return [
        _fetch("fetch-ok", _json(200, payload), payload),
        _fetch("fetch-500", _json(500, {"error": {"code": "internal"}}),
               Raises("FetchError", "HTTP 500 internal")),
        _fetch("fetch-403", _json(403, {"error": {"code": "forbidden"}}),
               Raises("FetchError", "HTTP 403 forbidden")),
        _fetch("fetch-502-html", _json(502, "<html>bad gateway</html>"),
               Raises("FetchError", "HTTP 502")),
        _fetch("fetch-long-code", _json(400, {"error": {"code": "x" * 40}}),
               Raises("FetchError", "HTTP 400 " + "x" * 24)),
        _fetch("fetch-bad-json", _json(200, '{"weather": {"sol": 12'),
               Raises("FetchError", "bad JSON from API")),
        _fetch("fetch-not-an-object", _json(200, [1, 2]),
               Raises("FetchError", "bad JSON from API")),
        _download("download-ok", _bmp(good), '"photo-1"', file=[n, True], fed=chunks, nbytes=n),
        _download("download-relative", _bmp(good), '"photo-1"', url="/mars/image/photo-1.bmp",
                  sent_url="http://api.example:8080/mars/image/photo-1.bmp", file=[n, True],
                  fed=chunks, nbytes=n),
        _download("download-other-host-no-key", _bmp(good), '"photo-1"', url=other,
                  headers={"Host": "photos.example"}, file=[n, True], fed=chunks, nbytes=n),
        _download("download-unchanged", {"status": 304, "headers": {"etag": '"photo-1"'}}, None,
                  etag='"photo-1"'),
        _download("download-no-etag-header", {**_bmp(good), "headers": {
            "content-length": str(n)}}, "", file=[n, True], fed=chunks, nbytes=n),
        _download("download-rle", _bmp(rle8(48, 36)), Raises("BadBitmap", "compressed BMP (1)"),
                  file=[0, False], fed=1),
        _download("download-wrong-size", _bmp(bmp8(photo(36, 48))),
                  Raises("BadBitmap", "BMP 36x48, want 48x36"), file=[0, False], fed=1),
        _download("download-oversized", _bmp(bmp8(photo(96, 72))),
                  Raises("BadBitmap", f"image of {len(bmp8(photo(96, 72)))} bytes")),
        _download("download-announced-size-differs", _bmp(good),
                  Raises("BadBitmap", f"image of {n} bytes"), announced=1234),
        _download("download-truncated", _bmp(good[: n // 2], length=n),
                  Raises("FetchError", f"image cut at {n // 2} bytes"),
                  file=[n // 2, True], fed=-(-(n // 2) // 1024), nbytes=n // 2),
        _download("download-500", _json(500, {"error": {"code": "internal"}}),
                  Raises("FetchError", "HTTP 500 internal")),
        _download("download-longer-than-header", _bmp(good + bytes(1500), length=-1),
                  Raises("BadBitmap", "image longer than its header says"),
                  file=[2048, False], fed=3, nbytes=3072),  # the third KB is one too many
        _download("download-empty", _bmp(b"", length=-1), Raises("FetchError", "empty image"),
                  file=[0, True]),
        _download("download-not-bmp", _bmp(b"GIF89a", length=-1),
                  Raises("BadBitmap", "not a BMP"), file=[0, False], fed=1),
    ]


NET = _net_cases()

# -- diagnostics: the first line names the runtime, so the helper checks it and returns the rest

DIAGNOSTICS = [
    *[Case(f"signal-{rssi!r}", "diagnostics.signal_words", (rssi,), words) for rssi, words in [
        (-58, "good"), (-67, "good"), (-68, "fair"), (-80, "fair"), (-81, "weak"),
        (None, "unknown"), ("-58", "unknown"), (-58.0, "unknown")]],
    Case("diag-connected", "@diagnostics_lines",
         ("pyportal", ("1.7.7", "home", -72), 61840, "SD card", ("HTTP 200", 231)),
         (True, ["diag: board pyportal", "diag: esp32 firmware 1.7.7",
                 "diag: free memory 61840 bytes", "diag: storage SD card",
                 "diag: wifi home signal -72 dBm (fair)", "diag: api HTTP 200 in 231 ms"])),
    Case("diag-at-start", "@diagnostics_lines",
         ("pyportal_titano", (None, None, None), "n/a", "none: weather only", None),
         (True, ["diag: board pyportal_titano", "diag: esp32 firmware not started",
                 "diag: free memory n/a bytes", "diag: storage none: weather only",
                 "diag: wifi not connected", "diag: api not asked yet"])),
]

# The modules that do not touch the board, each with its table: CPython and MicroPython both.
# In import order, a module after those it imports (the bench counts each one's own heap).
from testing.pyportal_cases_mars import CHART, VIEWTEXT  # noqa: E402 - needs Case above

TABLES = {"errors": ERRORS, "settings": SETTINGS, "view": VIEW, "bmp": BMP, "net": NET,
          "diagnostics": DIAGNOSTICS, "chart": CHART, "viewtext": VIEWTEXT}
PURE = tuple(TABLES)
ALL = [case for table in TABLES.values() for case in table]
