"""MicroPython's WebAssembly VM, pinned by ``package-lock.json`` here, run by Node.

The npm package is installed once with ``npm ci`` into a cache folder named after the lock
file's hash (``$XDG_CACHE_HOME`` or ``~/.cache``), so a warm machine starts the VM at once and a
new pin installs beside the old one. Programs run with the device folder at ``/device`` and this
folder at ``/harness`` in the VM's own filesystem.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

HARNESS = Path(__file__).resolve().parent
DEVICE_DIR = HARNESS.parents[1] / "device" / "pyportal"
PACKAGE = "@micropython/micropython-webassembly-pyscript"
RESULT = "RESULT "  # the line a program prints its JSON answer on


def device_modules() -> list[str]:
    """Every module of the app, boot.py aside (it runs before code.py on a heap then reset)."""
    return sorted(p.stem for p in DEVICE_DIR.glob("*.py") if p.stem != "boot")


class VMUnavailable(RuntimeError):
    """Node or npm is missing, or the pinned package could not be installed."""


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mars-robot"


def install() -> Path:
    """The pinned VM's ``micropython.mjs``, installing it first if this pin is not cached."""
    lock = (HARNESS / "package-lock.json").read_bytes()
    folder = _cache_root() / ("micropython-" + hashlib.sha256(lock).hexdigest()[:16])
    entry = folder / "node_modules" / PACKAGE / "micropython.mjs"
    if entry.is_file():
        return entry
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise VMUnavailable(f"{tool} is not installed (Node.js 20 runs the MicroPython VM)")
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / ".micropython.lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)  # two test runs at once install once
        if entry.is_file():
            return entry
        work = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".install-"))
        for name in ("package.json", "package-lock.json"):
            shutil.copy(HARNESS / name, work / name)
        done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
                              cwd=work, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            shutil.rmtree(work, ignore_errors=True)
            raise VMUnavailable(f"npm ci failed:\n{done.stdout}{done.stderr}")
        shutil.rmtree(folder, ignore_errors=True)
        work.rename(folder)
    return entry


def run(program: str, mounts: dict[Path, str] | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``program`` in a fresh VM, with ``/device``, ``/harness`` and any other ``mounts``."""
    entry = install()
    folders = {DEVICE_DIR: "/device", HARNESS: "/harness", **(mounts or {})}
    args = ["node", str(HARNESS / "run.mjs"), str(entry)]
    args += [f"{host}={vm}" for host, vm in folders.items()]
    return subprocess.run(args, input=program, capture_output=True, text=True, timeout=timeout)


def answer(program: str, data=None, timeout: float = 60):
    """Run ``program`` with ``data`` readable as ``/data/data.json``; return the JSON it prints
    on its ``RESULT`` line. A program that fails raises with the VM's output."""
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "data.json").write_text(json.dumps(data))
        done = run(program, {Path(tmp): "/data"}, timeout=timeout)
    for line in done.stdout.splitlines():
        if line.startswith(RESULT):
            return json.loads(line[len(RESULT):])
    raise AssertionError(f"the MicroPython program failed (exit {done.returncode}):\n"
                         f"{done.stdout}{done.stderr}")


# The start of every program: the shims, then the device folder last on the path, as the
# simulator has it, so a device module never shadows one of the VM's.
PRELUDE = """
import sys
sys.path.insert(0, "/harness")
sys.path.append("/device")
import shims
import json
"""

CASES = PRELUDE + """
import caserun
import os
os.mkdir("/scratch")
data = json.load(open("/data/data.json"))
modules, failed = caserun.import_all(data["modules"])
if failed:
    print("RESULT " + json.dumps({"$import_failed": failed}))
else:
    outcomes = caserun.run_all(data["cases"], modules, "/scratch", shims.exceptions())
    print("RESULT " + json.dumps(outcomes))
"""

IMPORTS = PRELUDE + """
failed = {}
for name in json.load(open("/data/data.json")):
    try:
        __import__(name)
    except ImportError as error:
        failed[name] = str(error)
print("RESULT " + json.dumps(failed))
"""

HEAP = PRELUDE + """
import heap
data = json.load(open("/data/data.json"))
print("RESULT " + json.dumps(heap.main(data["pure"], data["board"], data["payload"])))
"""


def run_cases(modules: list[str], cases: list[dict]) -> dict:
    """Every case (``Case.wire()`` form) in one VM, with these device modules imported:
    ``{id: outcome}``."""
    outcomes = answer(CASES, {"modules": modules, "cases": cases})
    if "$import_failed" in outcomes:
        name, message = outcomes["$import_failed"]
        raise AssertionError(f"device module {name} does not import in MicroPython: {message}")
    return outcomes


def import_failures(modules: list[str]) -> dict[str, str]:
    """``{module: ImportError message}`` for the modules the VM cannot import (device modules
    from ``/device``, the others from the VM's own)."""
    return answer(IMPORTS, modules)


def heap_report(pure: list[str], board: list[str], payload: dict) -> dict:
    """The app's heap figures (``heap.py``): the ``pure`` modules imported, the ``board`` ones
    compiled, ``payload`` (the API's answer) parsed and formatted."""
    return answer(HEAP, {"pure": pure, "board": board, "payload": json.dumps(payload)})
