"""Secret files of the local stack are never readable by others, not even for a moment."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from testing.stack_process import StackProcess
from tools.stack import private


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_secret_is_written_into_a_file_that_is_already_private(tmp_path, monkeypatch):
    target = tmp_path / "creds.json"
    target.write_text("old")
    target.chmod(0o644)  # as an older stack left it
    seen = []
    real_replace = os.replace

    def replace(src, dst):
        seen.append((mode(src), Path(src).read_text()))
        real_replace(src, dst)

    monkeypatch.setattr(private.os, "replace", replace)
    private.write_private(target, "s3cret")
    assert seen == [(0o600, "s3cret")] and mode(target) == 0o600
    assert target.read_text() == "s3cret" and list(tmp_path.iterdir()) == [target]


def test_the_stacks_secret_files_are_0600(tmp_path):
    (tmp_path / "local-credentials.json").write_text("{}")
    (tmp_path / "local-credentials.json").chmod(0o644)
    with StackProcess(only="broker,robot", data_dir=tmp_path):
        for name in ("local-credentials.json", "robot-agent.toml", "mosquitto/passwd",
                     "mosquitto/acl", "mosquitto/mosquitto.conf"):
            assert mode(tmp_path / name) == 0o600, name
