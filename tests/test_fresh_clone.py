"""A newcomer's first run: clone, `make test`, nothing installed by hand.

It clones the committed ``main`` into a temporary directory and runs the README's test command
there, which builds its own ``.venv`` from scratch. The inner run skips this test (no recursion).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from tests.stackproc import ROOT

INNER = "FRESH_CLONE_INNER"


@pytest.mark.slow
@pytest.mark.timeout(3000)
@pytest.mark.skipif(bool(os.environ.get(INNER)), reason="already inside the fresh clone")
@pytest.mark.skipif(shutil.which("make") is None or shutil.which("git") is None,
                    reason="needs git and make")
def test_make_test_passes_in_a_fresh_clone(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTEST"))}
    env[INNER] = "1"
    # The venv's bin first would hide the clean start; use the interpreter make would find.
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if ".venv" not in p)
    started = time.monotonic()
    result = subprocess.run(["make", "test"], cwd=clone, env=env, capture_output=True,
                            text=True, timeout=2900)
    elapsed = time.monotonic() - started
    tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
    assert result.returncode == 0, f"make test failed in a fresh clone:\n{tail}"
    assert (clone / ".venv" / "bin" / "python").exists()
    assert " passed" in result.stdout
    print(f"fresh clone: make test took {elapsed:.0f} s")
