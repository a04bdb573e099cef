"""A headless ``displayio`` display that keeps its pixels, exactly as the panel would show them.

The PyPortal's ILI9341 takes big-endian RGB565; this display asks displayio for the same bytes
and keeps them in a framebuffer, so a snapshot shows the colour loss of the real panel.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, cast

os.environ.setdefault("BLINKA_OS_AGNOSTIC", "1")  # silence Blinka's "not fully supported"

import displayio  # after the environment is set
from busdisplay import BusDisplay
from displayio._area import Area
from PIL import Image


def stop_background_refresh() -> None:
    """Stop the thread Blinka's ``displayio`` starts on import to refresh every display each ms.

    Our displays redraw only when asked (:meth:`HeadlessDisplay.render` and ``update``, called
    by the simulator's loop and the tests), so the thread would only wake a thousand times a
    second for nothing, and spin hot wherever ``time.sleep`` is patched. It cannot be
    restarted, and nothing here needs it to be.
    """
    # Blinka's own function (no public way to stop it); CircuitPython's stubs do not know it.
    cast(Any, displayio)._stop_background()


stop_background_refresh()


def _rgb565_table() -> list[bytes]:
    """RGB888 bytes for each RGB565 value as read from memory (native byte order)."""
    table = []
    for native in range(65536):
        v = int.from_bytes(native.to_bytes(2, "little"), "big")  # panel order is big-endian
        r, g, b = (v >> 11) & 0x1F, (v >> 5) & 0x3F, v & 0x1F
        table.append(bytes(((r << 3) | (r >> 2), (g << 2) | (g >> 4), (b << 3) | (b >> 2))))
    return table


class HeadlessDisplay(BusDisplay):
    """A ``width`` x ``height`` RGB565 display without a bus; :meth:`snapshot` reads it."""

    _table: list[bytes] | None = None
    # What Blinka's BusDisplay has and CircuitPython's stubs (which mypy reads) do not:
    _core: Any
    _refresh_display: Callable[[], bool]

    def __init__(self, width: int = 320, height: int = 240) -> None:
        self._fb = bytearray(width * height * 2)
        self._changed = False
        # Blinka takes no bus; the stubs describe the board's, where one is required.
        super().__init__(None, b"", width=width, height=height,  # type: ignore[arg-type]
                         color_depth=16, auto_refresh=True)

    def _background(self) -> None:
        # displayio's thread would otherwise redraw concurrently with the app and the snapshot
        return

    def _refresh_area(self, area) -> bool:
        self._changed = True
        clipped = Area()
        if not self._core.clip_area(area, clipped):
            return True
        w, h = clipped.width(), clipped.height()
        buffer = memoryview(bytearray((w * h * 2 + 3) // 4 * 4)).cast("I")
        mask = memoryview(bytearray((w * h // 32 + 1) * 4)).cast("I")
        self._core.fill_area(clipped, mask, buffer)
        data = buffer.tobytes()
        stride = self._core.width * 2
        for row in range(h):
            start = (clipped.y1 + row) * stride + clipped.x1 * 2
            self._fb[start:start + w * 2] = data[row * w * 2:(row + 1) * w * 2]
        return True

    def render(self) -> None:
        """Redraw everything now (the board does this by itself ~60 times a second)."""
        self._core.full_refresh = True
        self._refresh_display()

    def update(self) -> bool:
        """Redraw what changed since the last redraw; ``True`` if anything did."""
        self._changed = False
        self._refresh_display()
        return self._changed

    def snapshot(self) -> Image.Image:
        """The screen as an RGB image, each pixel as the RGB565 panel shows it."""
        self.render()
        return self.image()

    def image(self) -> Image.Image:
        """The pixels as last drawn (:meth:`render` or :meth:`update`), as an RGB image."""
        if HeadlessDisplay._table is None:
            HeadlessDisplay._table = _rgb565_table()
        table = HeadlessDisplay._table
        rgb = b"".join([table[v] for v in memoryview(bytes(self._fb)).cast("H")])
        return Image.frombytes("RGB", (self._core.width, self._core.height), rgb)
