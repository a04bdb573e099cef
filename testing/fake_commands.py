"""Stand-in system commands for running install.sh in a throwaway root (not a booted system:
no systemd, no user database to change)."""

from __future__ import annotations

from pathlib import Path

FAKE_SYSTEMCTL = """#!/bin/sh
echo "$@" >> "{log}"
"""
FAKE_USERADD = """#!/bin/sh
for last; do :; done
mkdir -p "{root}/etc"
echo "$last:x:999:999::/var/lib/robot-agent:/usr/sbin/nologin" >> "{root}/etc/passwd"
"""
FAKE_PIP = """#!/bin/sh
echo "$@" >> "{log}"
"""


def fake_command(path: Path, text: str) -> str:
    """Write an executable script ``text`` at ``path``; its path, for an environment variable."""
    path.write_text(text)
    path.chmod(0o755)
    return str(path)

