"""What a maker pastes into an issue: one ``diag:`` line per fact, at start and on a long press.

Pure formatting; the facts come from :class:`hardware.Hardware` and the app.
"""

import sys


def firmware():
    """``"CircuitPython 9.2.1"``, or the Python running the app elsewhere."""
    impl = sys.implementation
    version = ".".join(str(n) for n in impl.version[:3])
    name = "CircuitPython" if impl.name == "circuitpython" else impl.name
    return "%s %s" % (name, version)


def lines(board_name, esp, free, storage_note, api):
    """The diagnostic lines.

    :param board_name: ``board.board_id``.
    :param esp: ``(firmware, ssid, rssi)`` from :meth:`hardware.Hardware.radio_info`.
    :param free: free heap after the imports (bytes, or ``"n/a"``).
    :param storage_note: where photos go, or why there is nowhere.
    :param api: ``(status, ms)`` of the last API answer, or ``None`` before the first one.
    """
    version, ssid, rssi = esp
    out = ["diag: firmware %s" % firmware(),
           "diag: board %s" % board_name,
           "diag: esp32 firmware %s" % (version or "not started"),
           "diag: free memory %s bytes" % free,
           "diag: storage %s" % storage_note,
           "diag: wifi %s" % ("not connected" if ssid is None else
                             "%s signal %s dBm (%s)" % (ssid, rssi, signal_words(rssi)))]
    if api is None:
        out.append("diag: api not asked yet")
    else:
        out.append("diag: api %s in %d ms" % api)
    return out


def signal_words(rssi):
    """An RSSI in words: below -80 dBm the ESP32 drops packets, TLS handshakes time out."""
    if not isinstance(rssi, int):
        return "unknown"
    if rssi >= -67:
        return "good"
    if rssi >= -80:
        return "fair"
    return "weak"
