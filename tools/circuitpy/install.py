"""What an install does: copy the app, its libraries and the settings to the drive."""

from __future__ import annotations

import importlib.metadata
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from tools.circuitpy import drives

ROOT = Path(__file__).resolve().parents[2]
APP_DIR = ROOT / "device" / "pyportal"
APP_SKIP = {"README.md", ".gitignore", "settings.toml"}  # never copied from the repository
# Libraries the app imports that the PyPortal firmware does not have frozen in:
# module -> the PyPI distribution whose wheel (installed in this venv, same pin) provides it.
LIBRARIES = {"adafruit_touchscreen": "adafruit-circuitpython-touchscreen"}
SETTING_FLAGS = {"ssid": "CIRCUITPY_WIFI_SSID", "password": "CIRCUITPY_WIFI_PASSWORD",
                 "api_url": "MARS_API_URL", "api_key": "MARS_API_KEY"}
SECRETS = {"CIRCUITPY_WIFI_PASSWORD", "MARS_API_KEY"}
PHOTO_ROOM = 160 * 1024  # a photo needs this much on the drive when it has no SD card
LINE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


class InstallError(Exception):
    """The install cannot go ahead; the message says why and what to do."""


@dataclass
class Plan:
    """Everything an install writes, and notes for the user."""

    drive: Path
    copies: list[tuple[Path, Path]] = field(default_factory=list)  # (source, destination)
    unchanged: list[Path] = field(default_factory=list)
    settings_text: str | None = None  # new settings.toml, None if unchanged
    notes: list[str] = field(default_factory=list)

    @property
    def bytes_needed(self) -> int:
        new = sum(src.stat().st_size for src, _ in self.copies)
        old = sum(dst.stat().st_size for _, dst in self.copies if dst.exists())
        return new - old + len((self.settings_text or "").encode())

    def describe(self) -> list[str]:
        lines = [f"copy {src.name} -> {dst.relative_to(self.drive)}" for src, dst in self.copies]
        lines += [f"same {path.relative_to(self.drive)}" for path in self.unchanged]
        if self.settings_text is not None:
            lines.append("write settings.toml")
        return lines + self.notes


def find_drive(explicit: Path | None = None) -> Path:
    """The CIRCUITPY drive: ``explicit``, or the first one mounted where the system puts it."""
    if explicit is not None:
        if not explicit.is_dir():
            raise InstallError(f"--drive {explicit}: no such folder")
        if not drives.is_circuitpy(explicit):
            raise InstallError(f"--drive {explicit}: no boot_out.txt there; is it the "
                               "CIRCUITPY drive of a board running CircuitPython?")
        return explicit
    for path in drives.candidates():
        if path.is_dir() and drives.is_circuitpy(path):
            return path
    raise InstallError("no CIRCUITPY drive found: plug the board in (a data USB cable), "
                       "wait for the drive to appear, or name it with --drive PATH")


def library_source(module: str, dist: str) -> Path:
    """The ``.py`` of ``module`` as installed from its PyPI wheel (never a Blinka shim)."""
    try:
        files = importlib.metadata.files(dist) or []
    except importlib.metadata.PackageNotFoundError:
        raise InstallError(f"{dist} is not installed here; run `make venv`") from None
    for f in files:
        if str(f) == f"{module}.py":
            return Path(f.locate())
    raise InstallError(f"{dist} does not contain {module}.py")


def _toml_value(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a valid TOML basic string


def parse_settings(text: str) -> dict[str, str]:
    """The uncommented ``KEY = value`` lines of a settings.toml (values as written)."""
    values = {}
    for line in text.splitlines():
        m = LINE.match(line)
        if m and not line.lstrip().startswith("#"):
            values[m.group(1)] = m.group(2)
    return values


def _is_placeholder(raw: str) -> bool:
    return raw.strip('"').startswith(("your-", "https://example."))


def merge_settings(existing: str | None, wanted: dict[str, str], force: bool,
                   notes: list[str]) -> str | None:
    """settings.toml with ``wanted`` set, keeping values the user set unless ``force``."""
    text = existing if existing is not None else (APP_DIR / "settings.toml.example").read_text()
    current = parse_settings(text)
    lines = text.splitlines()
    for key, value in wanted.items():
        shown = "***" if key in SECRETS else value
        raw = current.get(key)
        if raw is not None and not force and not _is_placeholder(raw):
            if raw != _toml_value(value):
                notes.append(f"kept {key} already set in settings.toml (--force replaces it)")
            continue
        new_line = f"{key} = {_toml_value(value)}"
        for i, line in enumerate(lines):
            m = LINE.match(line)
            if m and m.group(1) == key and not line.lstrip().startswith("#"):
                lines[i] = new_line
                break
        else:
            lines.append(new_line)
        notes.append(f"set {key} = {shown}")
    result = "\n".join(lines) + "\n"
    if existing is None:
        return result
    return None if result == existing else result


def make_plan(drive: Path, settings: dict[str, str], force: bool = False) -> Plan:
    """Work out the install; nothing is written."""
    plan = Plan(drive=drive)
    sources = [(p, drive / p.name) for p in sorted(APP_DIR.iterdir())
               if p.is_file() and p.name not in APP_SKIP]
    sources += [(library_source(m, d), drive / "lib" / f"{m}.py") for m, d in LIBRARIES.items()]
    # code.py last: saving it restarts the board, which should find everything else in place
    sources.sort(key=lambda pair: pair[1].name == "code.py")
    for src, dst in sources:
        if dst.exists() and dst.read_bytes() == src.read_bytes():
            plan.unchanged.append(dst)
        else:
            plan.copies.append((src, dst))
    target = drive / "settings.toml"
    existing = target.read_text() if target.exists() else None
    plan.settings_text = merge_settings(existing, settings, force, plan.notes)
    merged = parse_settings(plan.settings_text or existing or "")
    missing = [k for k in SETTING_FLAGS.values()
               if k != "CIRCUITPY_WIFI_PASSWORD" and _is_placeholder(merged.get(k, '"your-"'))]
    if missing:
        plan.notes.append("still to fill in settings.toml: " + ", ".join(missing))
    free = shutil.disk_usage(drive).free
    if plan.bytes_needed > free:
        raise InstallError(f"not enough room on {drive}: {plan.bytes_needed} bytes needed, "
                           f"{free} free; delete old files from the drive")
    if free - plan.bytes_needed < PHOTO_ROOM:
        plan.notes.append("little room left for the photo: use an SD card")
    return plan


def carry_out(plan: Plan) -> None:
    """Write the plan to the drive."""
    for src, dst in plan.copies:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    if plan.settings_text is not None:
        (plan.drive / "settings.toml").write_text(plan.settings_text)
