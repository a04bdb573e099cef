"""The layout holds: who may import whom, and every path or module a document names exists.

- ``bench/`` and ``testing/`` never reach into ``tests/`` (by import or by path);
- no module under ``tests/`` imports another one: shared code lives in ``testing/``, shared
  fixtures in a ``conftest.py``;
- every backticked path (``cloud/mars/cache.py``) or project module (``cloud.mars.cache.Cache``)
  in the Markdown files and in the docstrings of the project's Python exists.
"""

from __future__ import annotations

import ast
import re
import subprocess
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Where a bare module path may start: the repository, and the agent's own project folder.
PACKAGE_ROOTS = (ROOT, ROOT / "device" / "robot-pi")
PACKAGES = ("cloud", "contracts", "tools", "testing", "bench", "robot_agent")
# Made by running things (and ignored by git): named in the docs, absent from a checkout.
GENERATED = (".venv", ".local-data", "out", "build", "node_modules", "dist")
# Paths the documents name that are not this repository's files, each for its reason.
ELSEWHERE = {
    "cloud/.env": "an untracked file, named as what the build leaves out",
    "pyportal/settings.toml": "what the deploy writes under its --out folder",
    "meta/weather.json": "a key in the Mars store's layout",
    "mars/bmp/": "a prefix in the Mars store's bucket",
    "shared-module/displayio/OnDiskBitmap.c": "CircuitPython's own source",
}
_BACKTICKED_MD = re.compile(r"(?<!`)`([^`\s]+)`(?!`)")
_BACKTICKED_RST = re.compile(r"``([^`\s]+)``")
_PATH = re.compile(r"^[\w.-]+(/[\w.-]+)+/?$")  # two parts at least: "lib/" alone is vague
_DOC_NAME = re.compile(r"\b[\w-]+\.md\b")
_MODULE = re.compile(rf"^(?:{'|'.join(PACKAGES)})(?:\.\w+)+$")


@cache
def tracked() -> tuple[Path, ...]:
    names = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True,
                           check=True).stdout.decode().split("\0")
    return tuple(ROOT / name for name in names if name)


def python_files(*folders: str) -> list[Path]:
    return [p for p in tracked() if p.suffix == ".py" and p.relative_to(ROOT).parts[0] in folders
            and "frozen" not in p.parts]


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _mentions_tests_folder(path: Path) -> bool:
    """A string in ``path`` that names the ``tests`` folder (a path reaching into it)."""
    return any(isinstance(node, ast.Constant) and isinstance(node.value, str)
               and (node.value == "tests" or node.value.startswith(("tests/", "tests.")))
               for node in ast.walk(ast.parse(path.read_text(), str(path))))


def test_bench_and_testing_do_not_reach_into_tests():
    offenders = {}
    for path in python_files("bench", "testing"):
        names = sorted(n for n in _imported(path) if n == "tests" or n.startswith("tests."))
        if names or _mentions_tests_folder(path):
            offenders[str(path.relative_to(ROOT))] = names or ["a path into tests/"]
    assert offenders == {}


def test_no_test_module_imports_another():
    offenders = {str(path.relative_to(ROOT)): sorted(n for n in _imported(path)
                                                     if n == "tests" or n.startswith("tests."))
                 for path in python_files("tests")}
    assert {path: names for path, names in offenders.items() if names} == {}


# -- documents name what exists --------------------------------------------------------------

def _docstrings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    nodes = [tree, *(n for n in ast.walk(tree)
                     if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef))]
    return [doc for doc in (ast.get_docstring(n, clean=False) for n in nodes) if doc]


@cache
def _top_level_names(path: Path) -> frozenset[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
            names.update(e.id for t in targets if isinstance(t, ast.Tuple)
                         for e in t.elts if isinstance(e, ast.Name))
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
    return frozenset(names)


def _module_exists(dotted: str) -> bool:
    """``a.b.c`` is a module, or a module followed by names defined in it."""
    parts = dotted.split(".")
    for root in PACKAGE_ROOTS:
        for cut in range(len(parts), 0, -1):
            base = root.joinpath(*parts[:cut])
            module = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
            if module.is_file():
                rest = parts[cut:]
                return all(name in _top_level_names(module) for name in rest)
    return False


def _path_exists(token: str, here: Path) -> bool:
    token = token.rstrip("/")
    if token.split("/")[0] in GENERATED:
        return True
    bases = (ROOT, here, *PACKAGE_ROOTS)
    return any((base / token).exists() for base in bases)


def _checkable_path(token: str) -> bool:
    if not _PATH.match(token) or token.startswith(("/", "~", ".")) or token in ELSEWHERE:
        return False
    if token.split("/")[0].isupper():  # a setting standing for a URL or folder
        return False
    last = token.rstrip("/").rsplit("/", 1)[-1]
    return token.endswith("/") or "." in last  # a folder, or a file with an extension


def stale_references() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    texts: list[tuple[Path, str, re.Pattern[str]]] = []
    for path in tracked():
        if path.suffix == ".md" and "frozen" not in path.parts:
            texts.append((path, path.read_text(encoding="utf-8"), _BACKTICKED_MD))
    for path in python_files(*PACKAGES[:-1], "device", "tests"):
        texts += [(path, doc, _BACKTICKED_RST) for doc in _docstrings(path)]
    for path, text, pattern in texts:
        for token in pattern.findall(text):
            token = token.rstrip(".,:;)").removesuffix("()")
            if _MODULE.match(token):
                ok = _module_exists(token)
            elif _checkable_path(token):
                ok = _path_exists(token, path.parent)
            else:
                continue
            if not ok:
                found.setdefault(str(path.relative_to(ROOT)), []).append(token)
    return found


def test_documents_name_only_paths_and_modules_that_exist():
    assert stale_references() == {}


def test_every_markdown_file_named_in_the_code_or_docs_exists():
    """A ``*.md`` named anywhere (prose, docstrings, comments) is one of the repository's."""
    have = {p.name for p in tracked()}
    missing = {}
    for path in tracked():
        if path.suffix in (".md", ".py") and "frozen" not in path.parts:
            named = set(_DOC_NAME.findall(path.read_text(encoding="utf-8"))) - have
            if named:
                missing[str(path.relative_to(ROOT))] = sorted(named)
    assert missing == {}
