"""Who may import whom: benchmarks and shared harnesses never reach into tests/."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_bench_and_testing_do_not_import_from_tests():
    offenders = {str(path.relative_to(ROOT)): sorted(n for n in _imported(path)
                                                     if n == "tests" or n.startswith("tests."))
                 for folder in ("bench", "testing") for path in (ROOT / folder).rglob("*.py")}
    assert {path: names for path, names in offenders.items() if names} == {}
