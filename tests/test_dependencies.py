"""Every third-party package the code imports is declared where it is imported (the agent's in
``device/robot-pi/pyproject.toml``, the rest in ``pyproject.toml``), and every package a lock
file pins carries its hashes."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AGENT = ROOT / "device" / "robot-pi"
OURS = {"cloud", "contracts", "tools", "testing", "bench", "robot_agent", "tests"}
# Not from PyPI: Pi OS's picamera2 (apt); the device modules the PyPortal bench imports.
ELSEWHERE = {"picamera2", "font"}
# Run on CircuitPython or MicroPython only (the app, the VM's harness, the core's stand-ins).
NOT_HERE = ("device/pyportal/", "testing/micropython/", "testing/circuitpython/standins/")


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.split(r"[<>=!\[;\s]", requirement)[0]).lower()


def declared(pyproject: Path) -> set[str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    return {_name(r) for r in requirements}


def test_every_imported_package_is_declared_where_it_is_imported():
    distributions = packages_distributions()
    agent, root = declared(AGENT / "pyproject.toml"), declared(ROOT / "pyproject.toml")
    files = subprocess.run(["git", "-C", str(ROOT), "ls-files", "*.py"], capture_output=True,
                           text=True, check=True).stdout.split()
    undeclared: dict[str, set[str]] = {}
    for name in files:
        if name.startswith(NOT_HERE):
            continue
        mine = agent if name.startswith("device/robot-pi/") else agent | root
        for node in ast.walk(ast.parse((ROOT / name).read_text(), name)):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for top in {m.split(".")[0] for m in modules} - OURS - ELSEWHERE:
                if top in sys.stdlib_module_names:
                    continue
                if not {_name(d) for d in distributions.get(top, [])} & mine:
                    undeclared.setdefault(top, set()).add(name)
    assert undeclared == {}


def test_every_locked_package_has_its_hashes():
    for lock in [*ROOT.glob("requirements/*.txt"), *AGENT.glob("*.lock")]:
        entries = re.split(r"\n(?=[a-z0-9])", lock.read_text())
        pinned = [e for e in entries if re.match(r"[a-z0-9][\w.-]*==", e)]
        assert pinned, lock
        assert [e.split()[0] for e in pinned if "--hash=sha256:" not in e] == [], lock
