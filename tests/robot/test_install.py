"""install.sh for real, in a throwaway root: a venv over Debian's own python3 (python3-venv and
python3-numpy 1.24 from apt, as on Pi OS Bookworm) and pip from the package index.

Only systemctl, useradd/userdel and chown are stand-ins (the root is not a booted system).
The camera extra over Debian's numpy is test_debian_python.py's (its root is cached); here the
bundle, a second run, the source folder left clean, and --uninstall, with the light [pi] extra.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from testing.fake_commands import FAKE_SYSTEMCTL, FAKE_USERADD, fake_command
from testing.pki import sign_csr
from testing.stack_process import ROOT
from testing.system import needs
from tools.deploy.provision import write_bundle
from tools.stack.component import StackContext
from tools.stack.components.robot import pi_bundle

AGENT_DIR = ROOT / "device/robot-pi"
SYSTEM_PYTHON = "/usr/bin/python3"


pytestmark = [
    pytest.mark.slow,
    needs("python3", "python3-venv", "python3-numpy"),
]


def make_bundle(tmp_path: Path, csr: Path) -> Path:
    """The deploy's bundle for the robot whose CSR is ``csr`` (install.sh --csr made it)."""
    folder = tmp_path / "robots" / "sts-pi"
    (folder / "certs").mkdir(parents=True)
    (folder / "config.toml").write_text('name = "sts-pi"\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\n'
                                        '[camera]\ndriver = "aiortc"\n'
                                        'signaling_url = "ws://127.0.0.1:1/signaling"\n'
                                        'signaling_token = "t"\n')
    signer = tmp_path / "ca"
    signer.mkdir()
    (folder / "certs" / "certificate.pem.crt").write_text(sign_csr(csr, signer))
    (folder / "certs" / "AmazonRootCA1.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    return write_bundle(folder, "sts-pi")


def local_stack_bundle(tmp_path: Path) -> Path:
    """The bundle ``--robot sts-pi`` makes: the config alone, with the stack's broker."""
    ctx = StackContext(host="127.0.0.1", port=8080, mqtt_port=1, data_dir=tmp_path / "stack",
                       api_key="k", robot_token="t", mqtt_url="mqtt://127.0.0.1:1", env={},
                       mqtt_passwords={"sts-pi": "its-password"}, selected=("broker", "robot"))
    return pi_bundle(ctx, "sts-pi")


def run(root: Path, bin_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ROOT=str(root), PYTHON=SYSTEM_PYTHON, CHOWN="true",
               SYSTEMCTL=fake_command(bin_dir / "systemctl",
                                      FAKE_SYSTEMCTL.format(log=bin_dir / "sc")),
               USERADD=fake_command(bin_dir / "useradd", FAKE_USERADD.format(root=root)),
               USERDEL=fake_command(bin_dir / "userdel", "#!/bin/sh\n"))
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run(["bash", str(AGENT_DIR / "install.sh"), *args], env=env,
                          capture_output=True, text=True, timeout=600)


def untracked(folder: Path) -> list[str]:
    out = subprocess.run(["git", "status", "--porcelain", "--ignored", "--untracked-files=all",
                          "."], cwd=folder, capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if "__pycache__" not in line]


def test_bundle_install_twice_then_uninstall(tmp_path):
    root, bin_dir = tmp_path / "root", tmp_path / "bin"
    root.mkdir()
    bin_dir.mkdir()
    made = run(root, bin_dir, "--csr", "sts-pi")  # the key is made here and stays here
    assert made.returncode == 0, made.stderr
    bundle = make_bundle(tmp_path, root / "etc/robot-agent/certs/sts-pi.csr")
    before = untracked(AGENT_DIR)
    venv = root / "opt/robot-agent/venv"
    etc = root / "etc/robot-agent"
    for attempt in (1, 2):
        # The bundle's config asks for a camera: --no-camera keeps this run light.
        result = run(root, bin_dir, "--no-camera", "--bundle", str(bundle))
        assert result.returncode == 0, f"run {attempt}:\n{result.stdout}\n{result.stderr}"
        assert "include-system-site-packages = true" in (venv / "pyvenv.cfg").read_text()
        probe = subprocess.run(
            [str(venv / "bin/python"), "-c", "import numpy, robot_agent, gpiozero, lgpio; "
             "from contracts import command; print(numpy.__file__, numpy.__version__, "
             "command.__file__, len(command.schema()))"],
            capture_output=True, text=True, cwd=tmp_path)
        assert probe.returncode == 0, probe.stderr
        numpy_file, numpy_version, contracts_file, _ = probe.stdout.split()
        # The agent's install carries the shared contracts package, schema included.
        assert contracts_file.startswith(str(venv)), contracts_file
        system = subprocess.run([SYSTEM_PYTHON, "-c", "import numpy; print(numpy.__version__)"],
                                capture_output=True, text=True).stdout.strip()
        # The system's numpy is seen (picamera2 is built against it), and not replaced.
        assert numpy_file.startswith("/usr/lib/python3/") and numpy_version == system
        assert not list(venv.glob("lib/python3*/site-packages/numpy*"))
        version = subprocess.run([str(venv / "bin/robot-agent"), "--version"],
                                 capture_output=True, text=True)
        assert version.returncode == 0 and version.stdout.startswith("robot-agent ")
        # The installed command runs doctor (no broker here: its TCP line fails, exit 1).
        doctor = subprocess.run([str(venv / "bin/robot-agent"), "doctor", "--simulate",
                                 "--config", str(etc / "config.toml")],
                                capture_output=True, text=True, timeout=120)
        assert doctor.returncode == 1 and "OK   config:" in doctor.stdout, doctor.stdout
        assert "FAIL tcp: cannot reach 127.0.0.1:1" in doctor.stdout
        assert (etc / "config.toml").read_text().startswith('name = "sts-pi"')
        for name in ("certificate.pem.crt", "private.pem.key", "AmazonRootCA1.pem"):
            assert stat.S_IMODE((etc / "certs" / name).stat().st_mode) == 0o600
        assert untracked(AGENT_DIR) == before  # no build/, no *.egg-info in the source
    assert not (etc / "config.toml.bak").exists()  # the same bundle twice: nothing replaced
    calls = (bin_dir / "sc").read_text().splitlines()
    assert calls.count("restart robot-agent.service") == 2
    assert "up to date" in result.stdout  # the second run did not run pip again

    # The local stack's bundle for the same Pi (no AWS): taken the same way, certificates none.
    local = run(root, bin_dir, "--no-camera", "--bundle", str(local_stack_bundle(tmp_path)))
    assert local.returncode == 0, f"{local.stdout}\n{local.stderr}"
    assert "installed the bundle's config (a local stack's: no certificates)" in local.stdout
    config = (etc / "config.toml").read_text()
    assert 'username = "sts-pi"' in config and 'password = "its-password"' in config
    assert stat.S_IMODE((etc / "config.toml").stat().st_mode) == 0o640
    assert (etc / "config.toml.bak").read_text().startswith('name = "sts-pi"')  # the old one
    assert (bin_dir / "sc").read_text().splitlines().count("restart robot-agent.service") == 3
    doctor = subprocess.run([str(venv / "bin/robot-agent"), "doctor", "--simulate",
                             "--config", str(etc / "config.toml")],
                            capture_output=True, text=True, timeout=120)
    assert "OK   config:" in doctor.stdout and "FAIL tcp: cannot reach 127.0.0.1:1" in doctor.stdout

    removed = run(root, bin_dir, "--uninstall")
    assert removed.returncode == 0, removed.stderr
    assert not (root / "opt/robot-agent").exists()
    assert not (root / "etc/systemd/system/robot-agent.service").exists()
    assert (etc / "certs/private.pem.key").exists()  # kept until --purge


def test_a_bundle_with_other_names_is_refused_before_anything_changes(tmp_path):
    import tarfile

    root, bin_dir = tmp_path / "root", tmp_path / "bin"
    root.mkdir()
    bin_dir.mkdir()
    evil = tmp_path / "evil.tar.gz"
    (tmp_path / "config.toml").write_text("name = 'x'\n")
    with tarfile.open(evil, "w:gz") as tar:
        tar.add(tmp_path / "config.toml", arcname="config.toml")
        tar.add(tmp_path / "config.toml", arcname="../../etc/cron.d/x")
    result = run(root, bin_dir, "--bundle", str(evil))
    assert result.returncode == 1 and "unexpected entry" in result.stderr
    assert not (root / "etc").exists()
    # A config that names a certificate the bundle lacks (a deploy's, cut short).
    cut = tmp_path / "cut.tar.gz"
    (tmp_path / "config.toml").write_text(
        'name = "x"\n[mqtt]\nendpoint = "e"\n'
        'cert = "/etc/robot-agent/certs/certificate.pem.crt"\n')
    with tarfile.open(cut, "w:gz") as tar:
        tar.add(tmp_path / "config.toml", arcname="config.toml")
    result = run(root, bin_dir, "--bundle", str(cut))
    assert result.returncode == 1
    assert "lacks certs/certificate.pem.crt, which its config.toml names" in result.stderr
    assert not (root / "etc").exists()
    # A deploy's config for a Pi that has not made its key yet (install.sh --csr NAME).
    (tmp_path / "config.toml").write_text(
        'name = "x"\n[mqtt]\nendpoint = "e"\nkey = "/etc/robot-agent/certs/private.pem.key"\n')
    with tarfile.open(cut, "w:gz") as tar:
        tar.add(tmp_path / "config.toml", arcname="config.toml")
    result = run(root, bin_dir, "--bundle", str(cut))
    assert result.returncode == 1 and "this Pi has no key yet" in result.stderr
    assert not (root / "etc").exists()
