"""Bitmap conversions bounded by a queue and by memory, one gate per process.

A feed names the photos, so a hostile one can list images just under the decoder's pixel limit
(40 M): decoding one takes 40 MB to 480 MB depending on its pixel format, and a conversion per
photo per screen size, all at once, outgrows the Mars Lambda's 1,024 MB. Every conversion of the
process therefore runs on :class:`Gate`'s few threads: at most ``workers`` at once, the memory
they are estimated to need (:func:`footprint`, from the image header, before any pixel is
decoded) within ``memory_bytes``, at most ``queue`` waiting for a turn, first come first served;
one more is refused at once (:class:`Busy`), and a photo that alone needs more than the budget
is refused as a bad photo (:class:`~cloud.bitmap.BitmapError`). A request waits for its
conversion at most its own deadline; the conversion goes on and the next request finds it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cloud.bitmap import BitmapError, decode
from cloud.bitmap.fit import scale
from cloud.mars.errors import NoData

T = TypeVar("T")
MB = 1024 * 1024
BUSY_RETRY_S = 5
IDLE_S = 60.0  # a conversion thread with nothing to do this long ends
OVERHEAD_BYTES = 16 * MB  # the fitted frame, the palette search, the BMP: small beside a decode
# Bytes per decoded pixel at the peak of a conversion, by the mode the decoder produces:
# measured with ``ru_maxrss`` on 6300x6300 PNGs, 320x240 and 1024x1024 out (RGB 4.0-5.2,
# palette 5, grey 1, grey 16-bit 9.5, RGBA and grey+alpha 11.6), rounded up.
_PER_PIXEL = {"1": 2, "L": 2, "P": 6, "RGB": 6}
_WIDE_PER_PIXEL = 12  # alpha (composited on black), 16-bit and float samples
_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}
NO_LIMIT = 2**62


class Busy(NoData):
    """Every conversion slot and queue place is taken: try again in a few seconds (HTTP 503)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retry_after_s=BUSY_RETRY_S)


def footprint(data: bytes, width: int, height: int, fit: str = "cover") -> int:
    """The most memory converting ``data`` to ``width`` x ``height`` is expected to take, in
    bytes, read from the header only.

    :raises BitmapError: not an image :func:`cloud.bitmap.convert` would read.
    """
    # no pixel limit here: the decoder applies its own, and a bomb's estimate is over any budget
    with decode.open_image(bytes(data), NO_LIMIT) as image:
        source = image.size
        if image.format == "PNG":  # Pillow decodes a PNG whole to look for its EXIF
            swapped = _png_may_carry_exif(data)
        else:
            swapped = decode.orientation(image) in decode.SWAPS_AXES
        oriented = (source[1], source[0]) if swapped else source
        decode.draft_for(image, scale(oriented, (width, height), fit))  # JPEG: 1/2..1/8 scale
        pixels = image.size[0] * image.size[1]
        mode = image.mode
        transparent = "transparency" in image.info
    if mode in _ALPHA_MODES or transparent or mode.startswith(("I", "F")):
        per_pixel = _WIDE_PER_PIXEL
    else:
        per_pixel = _PER_PIXEL.get(mode, 8)  # CMYK, YCbCr, LAB...: decoded, then converted
    if swapped:
        per_pixel += 4  # the EXIF rotation makes a second full-size copy
    return pixels * per_pixel + len(data) + OVERHEAD_BYTES


_PNG_METADATA = {b"eXIf", b"tEXt", b"zTXt", b"iTXt"}  # where Pillow finds an EXIF orientation


def _png_may_carry_exif(data: bytes) -> bool:
    """Whether a PNG has a chunk an EXIF orientation can live in, read from the chunk headers
    alone (taken as a rotation, the costlier case)."""
    pos = 8
    while pos + 8 <= len(data):
        length, kind = int.from_bytes(data[pos:pos + 4], "big"), data[pos + 4:pos + 8]
        if kind in _PNG_METADATA:
            return True
        if kind == b"IEND":
            return False
        pos += 12 + length
    return False


@dataclass
class GateStats:
    """What the gate has seen since it was made (for tests, benches and logs)."""

    most_running: int = 0
    most_bytes: int = 0
    most_waiting: int = 0
    refused: int = 0


@dataclass
class _Job:
    need: int
    work: Callable[[], Any]
    future: Future = field(default_factory=Future)


class Gate:
    """``workers`` long-lived threads that run conversions in arrival order, each once the
    memory it needs is free, with at most ``queue`` waiting.

    The same few threads do every conversion: the C allocator keeps a freed decode's memory in
    the arena of the thread that used it, so a conversion per new thread would leave a
    photo's worth of memory behind in each.

    :param workers: conversions at once (each is a core's work; Pillow releases the GIL).
    :param queue: conversions that may wait for a turn.
    :param memory_bytes: what the running conversions may need together.
    """

    def __init__(self, workers: int = 2, queue: int = 8, memory_bytes: int = 512 * MB) -> None:
        if workers < 1 or queue < 0 or memory_bytes < 1:
            raise ValueError("a gate needs a worker, a queue of 0 or more and some memory")
        self.workers = workers
        self.queue = queue
        self.memory_bytes = memory_bytes
        self.stats = GateStats()
        self._cond = threading.Condition()
        self._waiting: deque[_Job] = deque()
        self._running = 0
        self._bytes = 0
        self._threads: list[threading.Thread] = []

    def submit(self, need: int, work: Callable[[], T]) -> Future[T]:
        """Queue ``work``, a conversion needing ``need`` bytes; its future has the result.

        :raises BitmapError: ``need`` alone is over the memory budget (the photo is too big).
        :raises Busy: ``queue`` conversions are already waiting.
        """
        if need > self.memory_bytes:
            raise BitmapError(f"converting this photo would take about {need // MB} MB, more "
                              f"than the {self.memory_bytes // MB} MB conversions may use "
                              "(CONVERT_MEMORY_MB)")
        job = _Job(need, work)
        with self._cond:
            if len(self._waiting) >= self.queue and not self._fits(need):
                self.stats.refused += 1
                raise Busy(f"{self._running} bitmap conversions running and {len(self._waiting)}"
                           " waiting; try again in a few seconds")
            self._waiting.append(job)
            self.stats.most_waiting = max(self.stats.most_waiting, len(self._waiting))
            if len(self._threads) < self.workers:
                thread = threading.Thread(target=self._work, daemon=True,
                                          name=f"convert-{len(self._threads)}")
                self._threads.append(thread)
                thread.start()
            self._cond.notify_all()
        return job.future

    def run(self, need: int, work: Callable[[], T], wait_s: float | None = None) -> T:
        """``work()``'s result, run through the queue; it goes on if the wait ends first.

        :raises Busy: the queue is full, or ``work`` did not end within ``wait_s``.
        """
        future = self.submit(need, work)
        try:
            return future.result(timeout=wait_s)
        except TimeoutError:
            raise Busy(f"a bitmap conversion did not end within {wait_s:g} s (it goes on); "
                       "try again in a few seconds") from None

    def _fits(self, need: int) -> bool:
        return self._running < self.workers and self._bytes + need <= self.memory_bytes

    def _work(self) -> None:
        while True:
            with self._cond:
                if not self._cond.wait_for(lambda: bool(self._waiting)
                                           and self._fits(self._waiting[0].need), IDLE_S):
                    if not self._waiting:  # idle: the thread goes, the next job starts one
                        self._threads.remove(threading.current_thread())
                        return
                    continue
                job = self._waiting.popleft()  # first come, first served: no one starves
                self._running += 1
                self._bytes += job.need
                self.stats.most_running = max(self.stats.most_running, self._running)
                self.stats.most_bytes = max(self.stats.most_bytes, self._bytes)
            try:
                if job.future.set_running_or_notify_cancel():
                    try:
                        job.future.set_result(job.work())
                    except BaseException as exc:  # the waiter gets it
                        job.future.set_exception(exc)
            finally:
                with self._cond:
                    self._running -= 1
                    self._bytes -= job.need
                    self._cond.notify_all()
