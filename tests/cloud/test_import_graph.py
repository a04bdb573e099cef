"""The backend's modules import one another without a cycle, counting the imports made inside
functions: a cycle hidden in a function is still one (whichever module loads first may meet the
other half-built), and it ties two modules that no longer read as layers."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("cloud", "contracts")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules ``path`` imports, anywhere in it (``from a import b`` counts
    ``a.b`` when that is a module, else ``a``)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                dotted = f"{node.module}.{alias.name}"
                out.add(dotted if dotted in known else node.module)
    return {name for name in out if name in known}


def test_no_import_cycle_in_the_backend():
    known = modules()
    graph = {name: imports(path, known) - {name} for name, path in known.items()}
    # a package's __init__ re-exporting its modules is not a cycle with them
    graph = {name: {dep for dep in deps if not dep.startswith(name + ".")}
             for name, deps in graph.items()}
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        raise AssertionError(f"import cycle: {' -> '.join(exc.args[1])}") from None
