"""install.sh makes the robot's key on the Pi and only a CSR leaves it; a bundle installs only
with a certificate for that key; on a Pi with no camera video is turned off (said, and doctor
says why) and on again once one is attached. In a throwaway root, pip and systemd stood in
for (tests/robot/test_install.py installs for real)."""

from __future__ import annotations

import stat
import subprocess
import tarfile
from pathlib import Path

import pytest
from robot_agent.camera import NO_CAMERA
from robot_agent.doctor import Doctor

from testing.fake_commands import run_install
from testing.pki import robot_csr, sign_csr
from tools.deploy.provision import write_bundle

CONFIG = ('name = "sts-pi"\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\n\n[motors]\n'
          'driver = "explorer-hat"\n\n[camera]\n# video and the drive channel\n'
          'driver = "aiortc"\nregion = "eu-west-1"\n')


def bundle(tmp_path: Path, certificate: str, name: str = "b") -> Path:
    folder = tmp_path / name / "robots" / "sts-pi"
    (folder / "certs").mkdir(parents=True)
    (folder / "config.toml").write_text(CONFIG)
    (folder / "certs" / "certificate.pem.crt").write_text(certificate)
    (folder / "certs" / "AmazonRootCA1.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    return write_bundle(folder, "sts-pi")


@pytest.fixture
def pi(tmp_path, monkeypatch):
    """A throwaway root that looks like a Raspberry Pi (apt stood in for: it would install
    picamera2 on one)."""
    monkeypatch.setenv("APT_GET", "true")
    root, bin_dir = tmp_path / "root", tmp_path / "bin"
    (root / "proc/device-tree").mkdir(parents=True)
    (root / "proc/device-tree/model").write_text("Raspberry Pi 4 Model B Rev 1.5\0")
    bin_dir.mkdir()
    return root, bin_dir


def test_the_key_is_made_on_the_pi_and_the_bundle_must_fit_it(pi, tmp_path, monkeypatch):
    root, bin_dir = pi
    etc = root / "etc/robot-agent"
    made = run_install(root, bin_dir, "--csr", "sts-pi")
    assert made.returncode == 0, made.stderr
    key, csr = etc / "certs/private.pem.key", etc / "certs/sts-pi.csr"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and "PRIVATE KEY" in key.read_text()
    assert "PRIVATE KEY" not in csr.read_text() and "--csr sts-pi=sts-pi.csr" in made.stdout
    subject = subprocess.run(["openssl", "req", "-in", str(csr), "-noout", "-subject"],
                             capture_output=True, text=True, check=True).stdout
    assert "CN = sts-pi" in subject or "CN=sts-pi" in subject
    original = key.read_text()
    assert run_install(root, bin_dir, "--csr", "sts-pi").returncode == 0
    assert key.read_text() == original  # a second run keeps the key

    # a certificate for some other key: refused before anything changes
    other = tmp_path / "other"
    other.mkdir()
    (other / "o.csr").write_text(robot_csr("rover"))
    refused = run_install(root, bin_dir, "--bundle", str(bundle(
        tmp_path, sign_csr(other / "o.csr", other), "wrong")))
    assert refused.returncode == 1 and "not for this Pi's key" in refused.stderr
    assert not (etc / "config.toml").exists()

    # IoT's certificate for this Pi's CSR: installed; no camera here, so video goes off
    signer = tmp_path / "ca"
    signer.mkdir()
    right = bundle(tmp_path, sign_csr(csr, signer))
    monkeypatch.setenv("CAMERA_PROBE", "false")
    done = run_install(root, bin_dir, "--bundle", str(right))
    assert done.returncode == 0, done.stderr
    assert f"{NO_CAMERA}: video is off" in done.stdout
    config = (etc / "config.toml").read_text()
    assert f'driver = "none"  # install.sh: {NO_CAMERA}' in config
    assert 'driver = "explorer-hat"' in config  # the motors' driver untouched
    doctor = Doctor(str(etc / "config.toml"), simulate=True)
    assert doctor.check_config().ok
    result = doctor.check_camera()
    assert result.ok and NO_CAMERA in result.detail and "install.sh" in result.detail
    assert key.read_text() == original  # the bundle carried no key and replaced none

    monkeypatch.setenv("CAMERA_PROBE", "true")  # a camera attached, install.sh run again
    again = run_install(root, bin_dir)
    assert again.returncode == 0 and "video and the drive channel are on again" in again.stdout
    assert '\ndriver = "aiortc"\n' in (etc / "config.toml").read_text()


def test_a_bundle_with_a_private_key_in_it_is_refused(pi, tmp_path):
    root, bin_dir = pi
    (tmp_path / "private.pem.key").write_text("-----BEGIN PRIVATE KEY-----\n")
    (tmp_path / "config.toml").write_text(CONFIG)
    old = tmp_path / "old.tar.gz"
    with tarfile.open(old, "w:gz") as tar:
        tar.add(tmp_path / "config.toml", arcname="config.toml")
        tar.add(tmp_path / "private.pem.key", arcname="certs/private.pem.key")
    result = run_install(root, bin_dir, "--bundle", str(old))
    assert result.returncode == 1 and "unexpected entry 'certs/private.pem.key'" in result.stderr
    assert not (root / "etc/robot-agent").exists()
