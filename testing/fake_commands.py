"""Stand-in system commands for running install.sh in a throwaway root (not a booted system:
no systemd, no user database to change)."""

from __future__ import annotations

import os
import subprocess
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



def run_install(root: Path, bin_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """``install.sh *args`` in the throwaway ``root``: systemd, user management and pip stood
    in for (apt too, where the environment names ``APT_GET``)."""
    agent = Path(__file__).resolve().parents[1] / "device" / "robot-pi"
    userdel = f"#!/bin/sh\necho \"$@\" >> {bin_dir}/ud.log\n"
    env = dict(os.environ, ROOT=str(root), CHOWN="true", VENV_ARGS="--without-pip",
               SYSTEMCTL=fake_command(bin_dir / "systemctl",
                                      FAKE_SYSTEMCTL.format(log=bin_dir / "sc.log")),
               USERADD=fake_command(bin_dir / "useradd", FAKE_USERADD.format(root=root)),
               USERDEL=fake_command(bin_dir / "userdel", userdel),
               PIP=fake_command(bin_dir / "pip", FAKE_PIP.format(log=bin_dir / "pip.log")))
    return subprocess.run(["bash", str(agent / "install.sh"), *args], env=env,
                          capture_output=True, text=True, timeout=120)
