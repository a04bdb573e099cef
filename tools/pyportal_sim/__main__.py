"""``python -m tools.pyportal_sim --api URL --api-key KEY [...]``: see ``--help``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.pyportal_sim.runner import SIZES, Options, Simulator, settings_from


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m tools.pyportal_sim",
        description="Run the PyPortal app on this computer and save its screen as a PNG.")
    p.add_argument("--api", required=True, help="Mars API base URL (MARS_API_URL)")
    p.add_argument("--api-key", required=True, help="the x-api-key (MARS_API_KEY)")
    p.add_argument("--size", choices=sorted(SIZES), default="320x240",
                   help="320x240: PyPortal and Pynt; 480x320: Titano")
    p.add_argument("--out", type=Path, default=Path("out/pyportal.png"),
                   help="PNG written at every refresh")
    p.add_argument("--frames", type=int, help="stop after N refreshes (virtual clock)")
    p.add_argument("--once", action="store_true", help="same as --frames 1")
    p.add_argument("--keep-frames", action="store_true", help="also save OUT-001.png, ...")
    p.add_argument("--window", action="store_true", help="show the screen (needs pygame)")
    p.add_argument("--refresh-minutes", type=int, default=10)
    p.add_argument("--units", choices=("C", "F"), default="C")
    p.add_argument("--settings", type=Path, help="a settings.toml to start from")
    p.add_argument("--drive", type=Path,
                   help="folder standing in for CIRCUITPY (default: next to --out)")
    args = p.parse_args(argv)
    if args.once:
        args.frames = 1
    if args.frames is not None and args.frames < 1:
        p.error("--frames must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = settings_from(args.api, args.api_key, args.refresh_minutes, args.units,
                             args.settings)
    options = Options(settings=settings, size=SIZES[args.size], out=args.out, drive=args.drive,
                      frames=args.frames, fast=args.frames is not None,
                      keep_frames=args.keep_frames, window=args.window)
    print(f"simulator: {args.size} screen, saving {args.out}", flush=True)
    return Simulator(options).run()


if __name__ == "__main__":
    sys.exit(main())
