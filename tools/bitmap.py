"""Turn any photo into a PyPortal bitmap: ``python -m tools.bitmap SRC DST``.

Example::

    python -m tools.bitmap mars.jpg /Volumes/CIRCUITPY/mars.bmp --size 480x320 --depth 4

Prints one line (size, bytes, milliseconds) and exits 0; on bad input prints one line to stderr
and exits 1 without touching DST (argparse exits 2 for bad flags).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from cloud.bitmap import DEPTHS, FITS, BitmapError, convert


def parse_size(text: str) -> tuple[int, int]:
    """``"320x240"`` -> ``(320, 240)``; the range is checked by :func:`convert`."""
    width, sep, height = text.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit():
        raise argparse.ArgumentTypeError(f"size must look like 320x240, not {text!r}")
    return int(width), int(height)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.bitmap",
        description="Convert an image (JPEG, PNG, GIF, BMP, WebP, TIFF) into a BMP that "
        "CircuitPython's displayio.OnDiskBitmap shows on the PyPortal's RGB565 panel.",
    )
    parser.add_argument("src", type=Path, help="the image to convert")
    parser.add_argument("dst", type=Path, help="where to write the .bmp")
    parser.add_argument(
        "--size",
        type=parse_size,
        default=(320, 240),
        metavar="WxH",
        help="screen size: 320x240 (PyPortal), 480x320 (Titano); 16..1024 a side (default 320x240)",
    )
    parser.add_argument(
        "--depth",
        type=int,
        choices=DEPTHS,
        default=8,
        help="4: 16-colour palette, half the bytes of 8; 8: 256-colour palette; "
        "16: RGB565, no palette, twice the bytes of 8 (default 8)",
    )
    parser.add_argument(
        "--fit",
        choices=FITS,
        default="cover",
        help="cover: fill the screen, crop the edges; contain: whole photo, black bars "
        "(default cover)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    width, height = args.size
    try:
        data = args.src.read_bytes()
    except OSError as error:
        return _fail(f"cannot read {args.src}: {error.strerror or error}")
    started = time.perf_counter()
    try:
        bmp = convert(data, width, height, args.depth, args.fit)
    except BitmapError as error:
        return _fail(f"{args.src}: {error}")
    elapsed_ms = (time.perf_counter() - started) * 1000
    try:
        _write_atomically(args.dst, bmp)
    except OSError as error:
        return _fail(f"cannot write {args.dst}: {error.strerror or error}")
    print(
        f"{args.dst}: {width}x{height} depth {args.depth} {args.fit}, {len(bmp)} bytes, "
        f"{elapsed_ms:.1f} ms"
    )
    return 0


def _write_atomically(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder, so DST is never left half written."""
    handle, temporary = tempfile.mkstemp(dir=path.parent or ".", prefix=".bitmap-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _fail(message: str) -> int:
    # One line: BitmapError messages may quote bytes, never newlines worth keeping.
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
