"""``python -m tools.circuitpy install [--drive PATH] [--api-url URL --api-key KEY --ssid S
--password P] [--dry-run] [--force]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.circuitpy.install import SETTING_FLAGS, InstallError, carry_out, find_drive, make_plan


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tools.circuitpy",
                                description="Put the PyPortal Mars app on a CIRCUITPY drive.")
    sub = p.add_subparsers(dest="command", required=True)
    install = sub.add_parser("install", help="copy the app, its libraries and settings")
    install.add_argument("--drive", type=Path, help="the CIRCUITPY folder (found if omitted)")
    install.add_argument("--api-url", help="MARS_API_URL: the API base URL")
    install.add_argument("--api-key", help="MARS_API_KEY")
    install.add_argument("--ssid", help="CIRCUITPY_WIFI_SSID")
    install.add_argument("--password", help="CIRCUITPY_WIFI_PASSWORD")
    install.add_argument("--force", action="store_true",
                         help="replace settings already in settings.toml; install on a board "
                              "that is not a PyPortal, or into a folder without boot_out.txt")
    install.add_argument("--dry-run", action="store_true", help="show the plan, write nothing")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wanted = {key: getattr(args, flag) for flag, key in SETTING_FLAGS.items()
              if getattr(args, flag) is not None}
    try:
        drive = find_drive(args.drive, force=args.force)
        plan = make_plan(drive, wanted, force=args.force)
    except InstallError as e:
        print(f"circuitpy: {e}", file=sys.stderr)
        return 2
    verb = "would" if args.dry_run else "did"
    print(f"circuitpy: {drive} ({plan.bytes_needed} bytes to write); {verb}:")
    for line in plan.describe():
        print(f"  {line}")
    if not (plan.copies or plan.removals or plan.make_sd) and plan.settings_text is None:
        print("circuitpy: the drive is up to date")
    elif not args.dry_run:
        carry_out(plan)
        print("circuitpy: done; the board restarts by itself. Watch it in Mu's serial panel.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
