"""``make clean`` keeps what cannot be rebuilt (deploy state, robot keys, local credentials);
``make clean-secrets`` lists each of those files, then deletes them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from testing.stack_process import ROOT

SECRETS = ["out/deploy/mars/state.json", "out/deploy/mars/robots/sts-pi.tar.gz",
           ".local-data/local-credentials.json", ".local-data/mosquitto/passwd"]
REBUILDABLE = [".venv/bin/python", ".local-data/mars/meta/weather.json",
               ".local-data/pyportal.png", "out/e2e/page.png", ".pytest_cache/x"]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    for name in SECRETS + REBUILDABLE:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    return tmp_path


def make(tree: Path, target: str) -> str:
    done = subprocess.run(["make", "--no-print-directory", "-C", str(tree), target],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_clean_keeps_the_secrets_and_says_so(tree):
    said = make(tree, "clean")
    assert [n for n in SECRETS + REBUILDABLE if (tree / n).exists()] == SECRETS
    assert "kept out/deploy" in said and "kept .local-data" in said


def test_clean_secrets_lists_then_deletes_them(tree):
    said = make(tree, "clean-secrets")
    for name in SECRETS:
        assert f"  {name}\n" in said and not (tree / name).exists()
