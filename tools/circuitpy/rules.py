"""The board's own checks of ``settings.toml`` values, run on this computer before the
installer writes them: ``device/pyportal/settings.py`` (and the ``errors`` it imports), loaded
under private names so that nothing here shadows or is shadowed by the app's modules.

Beyond the board's checks, the installer refuses API hosts that this computer reaches and the
board cannot (:func:`reach_problem`); the app does not refuse them itself, because the
simulator, a program on this computer, does reach them.
"""

from __future__ import annotations

import functools
import importlib.util
import ipaddress
import socket
import sys
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

APP_DIR = Path(__file__).resolve().parents[2] / "device" / "pyportal"


def _load(name: str, errors: ModuleType | None = None) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_pyportal_{name}", APP_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    saved = sys.modules.get("errors")
    if errors is not None:
        sys.modules["errors"] = errors  # what ``from errors import SettingError`` finds
    try:
        spec.loader.exec_module(module)
    finally:
        if errors is not None:
            if saved is None:
                sys.modules.pop("errors", None)
            else:
                sys.modules["errors"] = saved
    return module


@functools.cache
def device_settings() -> ModuleType:
    """The app's ``settings`` module."""
    return _load("settings", errors=_load("errors"))


def check(name: str, value: str) -> object:
    """``value`` of setting ``name`` as the board will take it.

    :raises ValueError: the board's words for what is wrong (``settings.SettingError.problem``).
    """
    try:
        return device_settings().read(name, value)
    except Exception as error:  # the device module's SettingError
        problem = getattr(error, "problem", None)
        if problem is None:
            raise
        raise ValueError(problem) from None


def reach_problem(url: str) -> str | None:
    """Why a board on the Wi-Fi could not reach ``url``'s host though this computer can: the
    computer's own loopback (``localhost``, ``127.0.0.1``, ``127.1``, ``::1``) or a link-local
    address; ``None`` for any other host."""
    host = urlsplit(url).hostname or ""
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        try:  # the short forms the ESP32's lwIP reads too (127.1 is 127.0.0.1)
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            address = None
    if host == "localhost" or host.endswith(".localhost") or (address and address.is_loopback):
        return (f"{host} is this computer as seen from itself; the board cannot reach it. Use "
                "the computer's LAN address: `make run ARGS=--lan` prints the URL and the "
                "command to use")
    if address is not None and address.is_link_local:
        return (f"{host} is a link-local address, which the board cannot reach (it gets its "
                "address from your router); use the computer's LAN address: `make run "
                "ARGS=--lan` prints it")
    return None
