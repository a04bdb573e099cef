"""What an install does: copy the app, its libraries and the settings to the drive."""

from __future__ import annotations

import importlib.metadata
import ipaddress
import shutil
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import tomlkit

from tools.circuitpy import boot_out, drives, mpy

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
BACKED_UP = {"code.py", "boot.py", "settings.toml"}  # a user's own versions are kept as .bak
SCRIPTS = {"code.py", "boot.py"}  # run by the firmware by these names: never compiled


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
    backups: list[tuple[Path, Path]] = field(default_factory=list)  # (file, its backup)
    removals: list[Path] = field(default_factory=list)  # a module's other form (.py / .mpy)
    make_sd: bool = False  # the folder CircuitPython mounts the SD card on

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
        lines += [f"back up {f.name} -> {b.name}" for f, b in self.backups]
        lines += [f"remove {path.relative_to(self.drive)} (replaced by its "
                  f"{'.py' if path.suffix == '.mpy' else '.mpy'})" for path in self.removals]
        if self.make_sd:
            lines.append("make folder sd (the SD card mounts there)")
        return lines + self.notes


def find_drive(explicit: Path | None = None, force: bool = False) -> Path:
    """The CIRCUITPY drive: ``explicit``, or the first one mounted where the system puts it.

    :param force: accept ``explicit`` without a ``boot_out.txt`` (a folder for testing).
    """
    if explicit is not None:
        if not explicit.is_dir():
            raise InstallError(f"--drive {explicit}: no such folder")
        if not drives.is_circuitpy(explicit) and not force:
            raise InstallError(f"--drive {explicit}: no boot_out.txt there; is it the "
                               "CIRCUITPY drive of a board running CircuitPython? "
                               "(--force installs into any folder)")
        return explicit
    for path in drives.candidates():
        if path.is_dir() and drives.is_circuitpy(path):
            return path
    raise InstallError("no CIRCUITPY drive found: plug the board in (a data USB cable), "
                       "wait for the drive to appear, or name it with --drive PATH")


def check_board(drive: Path, force: bool, notes: list[str]) -> boot_out.BootOut | None:
    """Read boot_out.txt: refuse CircuitPython < 9 and, unless ``force``, other boards.

    :returns: what boot_out.txt says, ``None`` without a readable one (``force``).
    """
    path = drive / "boot_out.txt"
    if not path.is_file():
        notes.append("no boot_out.txt: board and CircuitPython version not checked (--force)")
        return None
    found = boot_out.parse(path.read_text(errors="replace"))
    if found is None:
        if not force:
            raise InstallError(f"{path} does not say which CircuitPython runs there; "
                               "reset the board and try again (--force skips the check)")
        notes.append("boot_out.txt unreadable: board not checked (--force)")
        return None
    needed = ".".join(str(n) for n in boot_out.NEEDED[:2])
    if found.version < boot_out.NEEDED:
        raise InstallError(f"CircuitPython {found.version_text} found; the app needs {needed} "
                           "or later: update it from circuitpython.org/board/pyportal "
                           "(or pyportal_titano, pyportal_pynt), then run this again")
    notes.append(f"found {found.board_name} with CircuitPython {found.version_text}")
    if not found.supported_board:
        if not force:
            raise InstallError(f"{found.board_name} ({found.board_id}) is not a PyPortal, "
                               "PyPortal Pynt or Titano: the app needs their screen, ESP32 "
                               "and SD slot (--force installs anyway)")
        notes.append(f"warning: {found.board_name} is not a PyPortal (--force)")
    notes.extend("warning: " + w for w in found.warnings())
    return found


def check_api_url(url: str) -> None:
    """A board cannot reach this computer's loopback, nor a link-local address."""
    host = urlsplit(url).hostname or ""
    try:
        address = ipaddress.ip_address(host)
        unreachable = address.is_loopback or address.is_link_local
    except ValueError:
        unreachable = host == "localhost" or host.endswith(".localhost")
    if unreachable:
        raise InstallError(f"--api-url {url}: {host} is this computer as seen from itself; the "
                           "board cannot reach it. Use the computer's LAN address: "
                           "`make run ARGS=--lan` prints the URL and the command to use")


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


def parse_settings(text: str) -> dict[str, str]:
    """The values of a settings.toml, as strings."""
    return {k: str(v) for k, v in tomlkit.parse(text).items()}


def _is_placeholder(value: str) -> bool:
    return value.startswith(("your-", "https://example."))


def merge_settings(existing: str | None, wanted: dict[str, str], force: bool,
                   notes: list[str]) -> str | None:
    """settings.toml with ``wanted`` set, keeping values the user set unless ``force``,
    and every comment and line the user wrote."""
    text = existing if existing is not None else (APP_DIR / "settings.toml.example").read_text()
    try:
        doc = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as e:
        raise InstallError(f"settings.toml on the drive is not valid TOML ({e}); fix or "
                           "remove it, then run this again") from None
    for key, value in wanted.items():
        shown = "***" if key in SECRETS else value
        current = doc.get(key)
        if current is not None and not force and not _is_placeholder(str(current)):
            if str(current) != value:
                notes.append(f"kept {key} already set in settings.toml (--force replaces it)")
            continue
        doc[key] = value
        notes.append(f"set {key} = {shown}")
    result = tomlkit.dumps(doc)
    if existing is None:
        return result
    return None if result == existing else result


def _backup_name(path: Path) -> Path:
    """``code.py.bak``, or ``code.py.bak2``... : an earlier backup is never overwritten."""
    candidate = path.with_name(path.name + ".bak")
    n = 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.bak{n}")
    return candidate


def choose_compiler(found: boot_out.BootOut | None, notes: list[str]) -> mpy.Compiler | None:
    """The ``mpy-cross`` for the board's CircuitPython, or ``None`` (with a note saying why
    the app goes as ``.py`` files)."""
    if found is None:
        notes.append("CircuitPython version unknown: copying .py files (the board compiles "
                     "them at each start, which takes more memory)")
        return None
    compiler = mpy.for_board(found.version)
    if compiler is None:
        notes.append(f"no mpy-cross for CircuitPython {found.version[0]}.x here (set "
                     f"{mpy.CORE_ENV} to CircuitPython's core kit): copying .py files (the "
                     "board compiles them at each start, which takes more memory)")
        return None
    notes.append(f"compiled with CircuitPython {compiler.name}'s mpy-cross (.mpy files)")
    return compiler


def _compiled(sources: list[tuple[Path, Path]], compiler: mpy.Compiler | None,
              build: Path) -> list[tuple[Path, Path]]:
    """``sources`` with every module but code.py and boot.py compiled into ``build``."""
    if compiler is None:
        return sources
    out = []
    for src, dst in sources:
        if src.suffix == ".py" and dst.name not in SCRIPTS:
            staged = build / dst.parent.name / (src.stem + ".mpy")
            try:
                compiler.compile(src, staged)
            except RuntimeError as e:
                raise InstallError(str(e)) from None
            src, dst = staged, dst.with_suffix(".mpy")
        out.append((src, dst))
    return out


def make_plan(drive: Path, settings: dict[str, str], force: bool = False) -> Plan:
    """Work out the install (compiling the app to ``.mpy`` in a temporary folder when an
    ``mpy-cross`` for the board's CircuitPython is at hand); nothing is written to the drive.

    :raises InstallError: wrong firmware or board, unreachable API URL, no room.
    """
    plan = Plan(drive=drive)
    found = check_board(drive, force, plan.notes)
    if "MARS_API_URL" in settings:
        check_api_url(settings["MARS_API_URL"])
    plan.make_sd = not (drive / "sd").is_dir()
    sources = [(p, drive / p.name) for p in sorted(APP_DIR.iterdir())
               if p.is_file() and p.name not in APP_SKIP]
    sources += [(library_source(m, d), drive / "lib" / f"{m}.py") for m, d in LIBRARIES.items()]
    build = Path(tempfile.mkdtemp(prefix="circuitpy-mpy-"))
    weakref.finalize(plan, shutil.rmtree, build, ignore_errors=True)
    sources = _compiled(sources, choose_compiler(found, plan.notes), build)
    # code.py last: saving it restarts the board, which should find everything else in place
    sources.sort(key=lambda pair: pair[1].name == "code.py")
    for src, dst in sources:
        other = dst.with_suffix(".py" if dst.suffix == ".mpy" else ".mpy")
        if dst.suffix in (".py", ".mpy") and dst.name not in SCRIPTS and other.exists():
            plan.removals.append(other)  # a .py beside its .mpy would be imported instead
        if dst.exists() and dst.read_bytes() == src.read_bytes():
            plan.unchanged.append(dst)
        else:
            plan.copies.append((src, dst))
            if dst.name in BACKED_UP and dst.parent == drive and dst.exists():
                plan.backups.append((dst, _backup_name(dst)))
    target = drive / "settings.toml"
    existing = target.read_text() if target.exists() else None
    plan.settings_text = merge_settings(existing, settings, force, plan.notes)
    if plan.settings_text is not None and existing is not None:
        plan.backups.append((target, _backup_name(target)))
    merged = parse_settings(plan.settings_text or existing or "")
    missing = [k for k in SETTING_FLAGS.values()
               if k != "CIRCUITPY_WIFI_PASSWORD" and _is_placeholder(merged.get(k, "your-"))]
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
    """Write the plan to the drive: backups first, code.py last."""
    for original, backup in plan.backups:
        shutil.copyfile(original, backup)
    for path in plan.removals:
        path.unlink(missing_ok=True)
    if plan.make_sd:
        (plan.drive / "sd").mkdir(exist_ok=True)
    for src, dst in plan.copies:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    if plan.settings_text is not None:
        (plan.drive / "settings.toml").write_text(plan.settings_text)
