"""``python -m tools.pyportal_sim --api URL [--api-key KEY] [...]``: see ``--help``."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

from tools.pyportal_sim import esp32, firmware, libraries
from tools.pyportal_sim.runner import DEVICE_DIR, SIZES, VIEWS, Options, Simulator, settings_from


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m tools.pyportal_sim",
        description="Run the PyPortal app on this computer and save its screen as a PNG.")
    p.add_argument("--api", required=True, help="Mars API base URL (MARS_API_URL)")
    p.add_argument("--api-key", default=os.environ.get("MARS_API_KEY"),
                   help="the x-api-key (default: $MARS_API_KEY, which keeps it out of ps)")
    p.add_argument("--size", choices=sorted(SIZES), default="320x240",
                   help="320x240: PyPortal and Pynt; 480x320: Titano")
    p.add_argument("--out", type=Path, default=Path("out/pyportal.png"),
                   help="PNG written at every refresh")
    p.add_argument("--frames", type=int, help="stop after N refreshes (virtual clock)")
    p.add_argument("--once", action="store_true", help="same as --frames 1")
    p.add_argument("--keep-frames", action="store_true", help="also save OUT-001.png, ...")
    p.add_argument("--window", action="store_true", help="show the screen (needs pygame)")
    p.add_argument("--refresh-minutes", type=int,
                   help="REFRESH_MINUTES (default: --settings' value, else 10)")
    p.add_argument("--units", choices=("C", "F"), help="UNITS (default: --settings', else C)")
    p.add_argument("--view", choices=VIEWS,
                   help="VIEW, the screen shown first (default: --settings', else classic)")
    p.add_argument("--depth", type=int, choices=(4, 8),
                   help="DEPTH, bits per pixel of the photos (default: --settings', else the "
                        "app's choice: 4 for the Gallery and without an SD card, else 8)")
    p.add_argument("--settings", type=Path,
                   help="a settings.toml to start from; the options above override it only "
                        "when given")
    p.add_argument("--drive", type=Path,
                   help="folder standing in for CIRCUITPY (default: next to --out)")
    p.add_argument("--firmware", type=_firmware, default=firmware.DEFAULT_FIRMWARE,
                   metavar="VERSION",
                   help="the CircuitPython release whose frozen libraries run (requests, "
                        "connection manager, ESP32SPI, display_text): one of "
                        + "; ".join(s.releases for s in libraries.SETS.values())
                        + f" (default {firmware.DEFAULT_FIRMWARE})")
    p.add_argument("--slow-link", action="store_true",
                   help="a weak Wi-Fi link: slow DNS, TLS handshakes and transfers")
    p.add_argument("--no-sd-card", action="store_true", help="no card in the slot")
    p.add_argument("--resolve", action="append", default=[], metavar="HOST=ADDR:PORT",
                   help="the simulated ESP32 reaches HOST (any port, TLS included) at ADDR:PORT")
    p.add_argument("--device-dir", type=Path, default=DEVICE_DIR,
                   help="the app's files (default: this repository's device/pyportal)")
    args = p.parse_args(argv)
    args.resolve = dict(_resolve(p, text) for text in args.resolve)
    if args.api_key is None:  # an empty key goes on: the app itself says what is wrong
        p.error("--api-key or the MARS_API_KEY environment variable is required")
    if args.once:
        args.frames = 1
    if args.frames is not None and args.frames < 1:
        p.error("--frames must be at least 1")
    return args


def _firmware(text: str) -> str:
    try:
        libraries.for_release(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def _resolve(p: argparse.ArgumentParser, text: str) -> tuple[str, tuple[str, int]]:
    host, _, address = text.partition("=")
    addr, _, port = address.rpartition(":")
    if not host or not addr or not port.isdigit():
        p.error(f"--resolve {text}: expected HOST=ADDR:PORT")
    return host, (addr, int(port))


def settings_of(args: argparse.Namespace) -> dict[str, str]:
    """The simulated settings.toml: ``--settings``' values, overridden by the options given."""
    return settings_from(args.api, args.api_key, args.refresh_minutes, args.units,
                         args.settings, view=args.view, depth=args.depth)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = settings_of(args)
    link = replace(esp32.SLOW_LINK if args.slow_link else esp32.Link(),
                   # --frames: waiting on the local server counts 3x, so that timeouts of
                   # seconds pass in a fraction of that
                   net_speedup=3.0 if args.frames is not None else 1.0,
                   hosts=args.resolve)
    options = Options(settings=settings, size=SIZES[args.size], out=args.out, drive=args.drive,
                      frames=args.frames, fast=args.frames is not None,
                      keep_frames=args.keep_frames, window=args.window,
                      firmware=args.firmware, sd_card=not args.no_sd_card,
                      link=link, device_dir=args.device_dir)
    print(f"simulator: {args.size} screen, saving {args.out}", flush=True)
    return Simulator(options).run()


if __name__ == "__main__":
    sys.exit(main())
