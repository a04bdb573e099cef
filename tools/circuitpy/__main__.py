"""``python -m tools.circuitpy install [--drive PATH] [--api-url URL] [--api-key KEY]
[--ssid NAME] [--password] [--view V] [--units C|F] [--refresh MINUTES] [--depth 4|8]
[--replace-settings] [--skip-board-check] [--dry-run]``.

The Wi-Fi password never goes on the command line (shell history, ``ps``): it is asked for
when ``--ssid`` or ``--password`` is given, or read from ``CIRCUITPY_WIFI_PASSWORD``.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path

from tools.circuitpy.install import SETTING_FLAGS, InstallError, carry_out, find_drive, make_plan

PASSWORD_ENV = "CIRCUITPY_WIFI_PASSWORD"
ASK = "ask"  # --password given without a value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tools.circuitpy",
                                description="Put the PyPortal Mars app on a CIRCUITPY drive.")
    sub = p.add_subparsers(dest="command", required=True)
    install = sub.add_parser(
        "install", help="copy the app, its libraries and settings",
        description="Copy the app and write the settings given (each reported as set, "
                    "changed or the same; settings.toml backed up first). Settings not given "
                    "keep their values.")
    install.add_argument("--drive", type=Path, help="the CIRCUITPY folder (found if omitted)")
    install.add_argument("--api-url", help="MARS_API_URL: the API base URL")
    install.add_argument("--api-key", help="MARS_API_KEY")
    install.add_argument("--ssid", help="CIRCUITPY_WIFI_SSID (then the password is asked for)")
    install.add_argument("--password", nargs="?", const=ASK, metavar="",
                         help=f"ask for CIRCUITPY_WIFI_PASSWORD (or set ${PASSWORD_ENV}); "
                              "never give it here")
    install.add_argument("--view", help="VIEW: classic, photo, weather or gallery")
    install.add_argument("--units", help="UNITS: C or F")
    install.add_argument("--refresh", metavar="MINUTES", help="REFRESH_MINUTES: 1 to 1440")
    install.add_argument("--depth", help="DEPTH: 4 (16-colour photos, half the bytes) or 8 "
                                         "(256 colours); unset, the app chooses")
    install.add_argument("--replace-settings", action="store_true",
                         help="write a fresh settings.toml (from settings.toml.example) with "
                              "the values given; the old one is kept as settings.toml.bak")
    install.add_argument("--skip-board-check", action="store_true",
                         help="install on a board that is not a PyPortal, or into a folder "
                              "without boot_out.txt")
    install.add_argument("--force", action="store_true", help=argparse.SUPPRESS)
    install.add_argument("--dry-run", action="store_true", help="show the plan, write nothing")
    args = p.parse_args(argv)
    if args.force:
        p.error("--force is now two options: --replace-settings (a fresh settings.toml; values "
                "you give are written anyway) and --skip-board-check")
    if args.password not in (None, ASK):
        p.error(f"--password takes no value: a password there stays in your shell history "
                f"and shows in ps; give --password alone to be asked, or set ${PASSWORD_ENV}")
    return args


NO_ONE_TO_ASK = (f"the Wi-Fi password: run this in a terminal to be asked for it, or set "
                 f"{PASSWORD_ENV} in the environment (empty for an open network)")


def ask_at_terminal(prompt: str) -> str:
    """``getpass``, hidden, when someone at a terminal can answer."""
    if sys.stdin is None or not sys.stdin.isatty():
        raise InstallError(NO_ONE_TO_ASK)
    return getpass.getpass(prompt)


def wifi_password(args: argparse.Namespace, ask: Callable[[str], str] | None) -> str | None:
    """The Wi-Fi password when ``--ssid`` or ``--password`` asks for one: from the
    environment, else asked; ``None`` when not asked for.

    :raises InstallError: asked for, not in the environment, and no one to ask.
    """
    if args.ssid is None and args.password is None:
        return None
    if PASSWORD_ENV in os.environ:
        return os.environ[PASSWORD_ENV]
    if ask is None:
        raise InstallError(NO_ONE_TO_ASK)
    network = f"Wi-Fi {args.ssid!r}" if args.ssid else "the Wi-Fi"
    return ask(f"Password of {network} (empty for an open network; not shown): ")


def main(argv: list[str] | None = None,
         ask: Callable[[str], str] | None = ask_at_terminal) -> int:
    """:param ask: asks for the Wi-Fi password (``None``: no one to ask)."""
    args = parse_args(argv)
    try:
        wanted = {key: getattr(args, flag) for flag, key in SETTING_FLAGS.items()
                  if flag != "password" and getattr(args, flag) is not None}
        password = wifi_password(args, ask)
        if password is not None:
            wanted["CIRCUITPY_WIFI_PASSWORD"] = password
        drive = find_drive(args.drive, skip_board_check=args.skip_board_check)
        plan = make_plan(drive, wanted, replace_settings=args.replace_settings,
                         skip_board_check=args.skip_board_check)
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
