"""What an install does: copy the app, its libraries and the settings to the drive."""

from __future__ import annotations

import importlib.metadata
import shutil
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import tomlkit

from tools.circuitpy import boot_out, drives, mpy, rules

ROOT = Path(__file__).resolve().parents[2]
APP_DIR = rules.APP_DIR
APP_SKIP = {"README.md", ".gitignore", "settings.toml"}  # never copied from the repository
# Libraries the app imports that the PyPortal firmware does not have frozen in:
# module -> the PyPI distribution whose wheel (installed in this venv, same pin) provides it.
LIBRARIES = {"adafruit_touchscreen": "adafruit-circuitpython-touchscreen"}
# command-line option (its argparse dest) -> the setting it writes
SETTING_FLAGS = {"ssid": "CIRCUITPY_WIFI_SSID", "password": "CIRCUITPY_WIFI_PASSWORD",
                 "api_url": "MARS_API_URL", "api_key": "MARS_API_KEY", "view": "VIEW",
                 "units": "UNITS", "refresh": "REFRESH_MINUTES", "depth": "DEPTH"}
REQUIRED = ("CIRCUITPY_WIFI_SSID", "MARS_API_URL", "MARS_API_KEY")  # no default on the board
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


def find_drive(explicit: Path | None = None, skip_board_check: bool = False) -> Path:
    """The CIRCUITPY drive: ``explicit``, or the first one mounted where the system puts it.

    :param skip_board_check: accept ``explicit`` without a ``boot_out.txt`` (a folder for
        testing).
    """
    if explicit is not None:
        if not explicit.is_dir():
            raise InstallError(f"--drive {explicit}: no such folder")
        if not drives.is_circuitpy(explicit) and not skip_board_check:
            raise InstallError(f"--drive {explicit}: no boot_out.txt there; is it the "
                               "CIRCUITPY drive of a board running CircuitPython? "
                               "(--skip-board-check installs into any folder)")
        return explicit
    for path in drives.candidates():
        if path.is_dir() and drives.is_circuitpy(path):
            return path
    raise InstallError("no CIRCUITPY drive found: plug the board in (a data USB cable), "
                       "wait for the drive to appear, or name it with --drive PATH")


def check_board(drive: Path, skip: bool, notes: list[str]) -> boot_out.BootOut | None:
    """Read boot_out.txt: refuse CircuitPython < 9 and, unless ``skip``, other boards.

    :returns: what boot_out.txt says, ``None`` without a readable one (``skip``).
    """
    path = drive / "boot_out.txt"
    if not path.is_file():
        notes.append("no boot_out.txt: board and CircuitPython version not checked "
                     "(--skip-board-check)")
        return None
    found = boot_out.parse(path.read_text(errors="replace"))
    if found is None:
        if not skip:
            raise InstallError(f"{path} does not say which CircuitPython runs there; "
                               "reset the board and try again (--skip-board-check skips the "
                               "check)")
        notes.append("boot_out.txt unreadable: board not checked (--skip-board-check)")
        return None
    needed = ".".join(str(n) for n in boot_out.NEEDED[:2])
    if found.version < boot_out.NEEDED:
        raise InstallError(f"CircuitPython {found.version_text} found; the app needs {needed} "
                           "or later: update it from circuitpython.org/board/pyportal "
                           "(or pyportal_titano, pyportal_pynt), then run this again")
    notes.append(f"found {found.board_name} with CircuitPython {found.version_text}")
    if not found.supported_board:
        if not skip:
            raise InstallError(f"{found.board_name} ({found.board_id}) is not a PyPortal, "
                               "PyPortal Pynt or Titano: the app needs their screen, ESP32 "
                               "and SD slot (--skip-board-check installs anyway)")
        notes.append(f"warning: {found.board_name} is not a PyPortal (--skip-board-check)")
    notes.extend("warning: " + w for w in found.warnings())
    return found


def flag_of(key: str) -> str:
    """The command-line option that sets ``key``: ``MARS_API_URL`` -> ``--api-url``."""
    dest = next(d for d, k in SETTING_FLAGS.items() if k == key)
    return "--" + dest.replace("_", "-")


def checked_settings(wanted: dict[str, str]) -> dict[str, object]:
    """``wanted`` as the board will read them (``settings.check`` of the app itself), or the
    first refusal: the board's words, and for the API's URL also a host the board cannot reach
    (this computer's loopback or a link-local address).

    :raises InstallError: naming the option, the value and what is wrong.
    """
    out: dict[str, object] = {}
    for key, value in wanted.items():
        if key == "CIRCUITPY_WIFI_PASSWORD":
            out[key] = value  # any text, even none (an open network)
            continue
        shown = "***" if key in SECRETS else value
        try:
            out[key] = rules.check(key, value)
        except ValueError as e:
            hint = ""
            if key == "MARS_API_URL" and str(e).endswith("no address to connect to"):
                hint = ("; a server listening on all addresses is reached at its computer's "
                        "LAN address (`make run ARGS=--lan` prints it)")
            raise InstallError(f"{flag_of(key)} {shown}: {e}{hint}") from None
        if key == "MARS_API_URL":
            problem = rules.reach_problem(value)
            if problem:
                raise InstallError(f"--api-url {value}: {problem}")
    return out


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


def _as_board_reads(key: str, value: object) -> object:
    """A value already in settings.toml as the board takes it (``None`` if it refuses it)."""
    if key == "CIRCUITPY_WIFI_PASSWORD":
        return str(value)
    try:
        return rules.check(key, str(value))
    except ValueError:
        return None


def merge_settings(existing: str | None, wanted: dict[str, object], replace: bool,
                   notes: list[str]) -> str | None:
    """settings.toml with ``wanted`` written in (each reported as set, changed or the same),
    keeping every other value, comment and line the user wrote; with ``replace``, a fresh one
    from ``settings.toml.example`` instead.

    :returns: the new text, ``None`` if it would not change.
    """
    example = (APP_DIR / "settings.toml.example").read_text()
    text = example if existing is None or replace else existing
    try:
        doc = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as e:
        raise InstallError(f"settings.toml on the drive is not valid TOML ({e}); fix it, or "
                           "run again with --replace-settings for a fresh one (the old one is "
                           "kept as settings.toml.bak)") from None
    fresh = existing is None or replace
    if replace and existing is not None:
        notes.append("replaced settings.toml with a fresh one from settings.toml.example")
    for key, value in wanted.items():
        secret = key in SECRETS
        current = doc.get(key)
        if not fresh and current is not None and not _is_placeholder(str(current)) and \
                _as_board_reads(key, current) == value:
            notes.append(f"same {key}")
            continue
        doc[key] = value
        if fresh or current is None or _is_placeholder(str(current)):
            notes.append(f"set {key}" + ("" if secret else f" = {value}"))
        else:
            notes.append(f"changed {key}" + (" (not shown)" if secret else
                                             f": {current} -> {value}"))
    result = tomlkit.dumps(doc)
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


def make_plan(drive: Path, settings: dict[str, str], replace_settings: bool = False,
              skip_board_check: bool = False) -> Plan:
    """Work out the install (compiling the app to ``.mpy`` in a temporary folder when an
    ``mpy-cross`` for the board's CircuitPython is at hand); nothing is written to the drive.

    :param settings: values to write, by setting name, as given (checked here as the board
        checks them).
    :param replace_settings: a fresh settings.toml (the old one backed up) with these values.
    :param skip_board_check: install on another board, or into a folder without
        ``boot_out.txt``.
    :raises InstallError: wrong firmware or board, a value the board would refuse, an API the
        board cannot reach, no room.
    """
    plan = Plan(drive=drive)
    found = check_board(drive, skip_board_check, plan.notes)
    wanted = checked_settings(settings)
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
    plan.settings_text = merge_settings(existing, wanted, replace_settings, plan.notes)
    if plan.settings_text is not None and existing is not None:
        plan.backups.append((target, _backup_name(target)))
    merged = parse_settings(plan.settings_text or existing or "")
    missing = [k for k in REQUIRED if _is_placeholder(merged.get(k, "your-"))]
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
