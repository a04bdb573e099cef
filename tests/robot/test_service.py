"""The service side: sd_notify over a real socket, the systemd unit, install.sh in a
throwaway root with a fake systemctl."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess

import pytest
from robot_agent.mqtt_link import MemoryLink
from robot_agent.service import Notifier

from testing.fake_commands import FAKE_PIP, FAKE_SYSTEMCTL, FAKE_USERADD, fake_command
from testing.robot_harness import RunningAgent, agent_config
from testing.stack_process import ROOT
from testing.system import needs
from testing.waiting import wait_until

AGENT_DIR = ROOT / "device/robot-pi"


@pytest.fixture
def notify_socket(tmp_path):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(0.05)
    received: list[str] = []

    def drain() -> list[str]:
        while True:
            try:
                received.append(sock.recv(4096).decode())
            except TimeoutError:
                return received

    yield str(path), drain
    sock.close()


def test_notifier_is_silent_without_systemd():
    notifier = Notifier({})
    assert not notifier.enabled and notifier.notify("READY=1") is False
    assert notifier.watchdog_interval_s is None


def test_watchdog_interval_is_half_the_timeout():
    assert Notifier({"WATCHDOG_USEC": "30000000"}).watchdog_interval_s == 15.0
    # Meant for another process: not ours to feed.
    assert Notifier({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}).watchdog_usec == 0


class DyingLink(MemoryLink):
    """Connects only when told to, and its network thread can "die"."""

    thread_alive = True

    @property
    def alive(self) -> bool:
        return self.thread_alive

    def start(self) -> None:
        pass


def test_ready_after_connect_and_watchdog_only_while_healthy(notify_socket):
    path, drain = notify_socket
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"})  # feed every 0.2 s
    link = DyingLink()
    bot = RunningAgent(agent_config("mqtt://127.0.0.1:1"), link=link, notifier=notifier)
    bot.start(wait_connected=False)
    try:
        # Running (its health loop feeds the watchdog), but not connected: not READY.
        wait_until(lambda: any("WATCHDOG=1" in m for m in drain()), 10)
        assert not any("READY=1" in m for m in drain())
        link.connect()
        wait_until(lambda: any("READY=1" in m for m in drain()), 2)
        wait_until(lambda: sum("WATCHDOG=1" in m for m in drain()) >= 2, 2)
        # The link's machinery dies: the watchdog is no longer fed and the agent exits 1.
        link.thread_alive = False
        wait_until(lambda: bot.exit_code is not None, 3)
        assert bot.exit_code == 1
    finally:
        bot.stop()
    assert any("STOPPING=1" in m for m in drain())


def test_abstract_socket_address():
    assert Notifier({"NOTIFY_SOCKET": "@/org/systemd/notify"}).address.startswith("\0")


@needs("systemd")
def test_unit_passes_systemd_analyze_verify(tmp_path):
    unit = (AGENT_DIR / "robot-agent.service").read_text()
    assert "Type=notify" in unit and "WatchdogSec=" in unit and "Restart=always" in unit
    assert "SupplementaryGroups=gpio video" in unit
    assert "DeviceAllow=char-dma_heap rw" in unit  # Pi 5 camera buffers
    # A bad config (exit 2) does not loop; any failure points at doctor in the journal.
    assert "RestartPreventExitStatus=2" in unit and "robot-agent doctor" in unit
    # Not ordered after time sync: where NTP is blocked that would never start.
    assert not [line for line in unit.splitlines()
                if line.startswith(("After=", "Wants=", "Requires=")) and "time" in line]
    # Every driver's writable folder is inside the unit's StateDirectory/RuntimeDirectory.
    from robot_agent.camera.settings import CameraSettings

    assert "StateDirectory=robot-agent" in unit
    assert CameraSettings().work_dir.startswith("/var/lib/robot-agent/")
    # The program is not installed here; point ExecStart at one that exists.
    unit = unit.replace("/opt/robot-agent/venv/bin/robot-agent", shutil.which("true"))
    path = tmp_path / "robot-agent.service"
    path.write_text(unit)
    result = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True,
                            text=True, timeout=60)
    problems = [line for line in (result.stdout + result.stderr).splitlines()
                if "robot-agent.service" in line]
    assert result.returncode == 0 and not problems, result.stdout + result.stderr



def run_install(root, bin_dir, *args):
    systemctl = FAKE_SYSTEMCTL.format(log=bin_dir / "sc.log")
    userdel = f"#!/bin/sh\necho \"$@\" >> {bin_dir}/ud.log\n"
    env = dict(os.environ, ROOT=str(root),
               SYSTEMCTL=fake_command(bin_dir / "systemctl", systemctl),
               USERADD=fake_command(bin_dir / "useradd", FAKE_USERADD.format(root=root)),
               USERDEL=fake_command(bin_dir / "userdel", userdel),
               PIP=fake_command(bin_dir / "pip", FAKE_PIP.format(log=bin_dir / "pip.log")),
               CHOWN="true", VENV_ARGS="--without-pip")
    return subprocess.run(["bash", str(AGENT_DIR / "install.sh"), *args], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_install_sh_is_idempotent_and_uninstalls(tmp_path):
    root, bin_dir = tmp_path / "root", tmp_path / "bin"
    root.mkdir()
    bin_dir.mkdir()
    first = run_install(root, bin_dir)
    assert first.returncode == 0, first.stderr
    etc = root / "etc/robot-agent"
    assert (root / "etc/systemd/system/robot-agent.service").is_file()
    assert (root / "opt/robot-agent/venv/bin/python").exists()
    assert (etc / "config.toml").read_text() == (AGENT_DIR / "config.example.toml").read_text()
    assert stat.S_IMODE((etc / "certs").stat().st_mode) == 0o700
    assert _users(root) == 1
    calls = (bin_dir / "sc.log").read_text().splitlines()
    assert calls == ["daemon-reload", "enable robot-agent.service"]  # skeleton: not started
    # The maker fills in the config and copies the certificates, then runs it again.
    (etc / "config.toml").write_text('name = "sts-pi"\n[mqtt]\nurl = "mqtt://10.0.0.2"\n')
    key = etc / "certs/private.pem.key"
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    key.chmod(0o644)
    second = run_install(root, bin_dir)
    assert second.returncode == 0, second.stderr
    assert "keeping" in second.stdout and "exists" in second.stdout
    assert (etc / "config.toml").read_text().startswith('name = "sts-pi"')  # edits kept
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert _users(root) == 1
    assert (bin_dir / "sc.log").read_text().splitlines()[2:] == [
        "daemon-reload", "enable robot-agent.service", "restart robot-agent.service"]
    pip_calls = (bin_dir / "pip.log").read_text().splitlines()
    # each run: the locked dependencies (hashes required), then the agent alone
    locked, agent = pip_calls[0::2], pip_calls[1::2]
    assert len(pip_calls) == 4 and all(
        "--require-hashes" in c and "--constraint" in c and c.endswith("requirements.lock")
        for c in locked) and all(c.endswith("[pi]") and "--no-deps" in c for c in agent)
    assert str(AGENT_DIR) not in agent[0]  # built from a copy: nothing written here
    assert os.readlink(root / "usr/local/bin/robot-agent") == \
        "/opt/robot-agent/venv/bin/robot-agent"

    removed = run_install(root, bin_dir, "--uninstall")
    assert removed.returncode == 0, removed.stderr
    assert not (root / "etc/systemd/system/robot-agent.service").exists()
    assert not (root / "opt/robot-agent").exists()
    assert not os.path.lexists(root / "usr/local/bin/robot-agent")
    assert key.exists()  # certificates are kept
    assert "disable --now robot-agent.service" in (bin_dir / "sc.log").read_text()
    assert run_install(root, bin_dir, "--uninstall").returncode == 0  # again: nothing to do
    purged = run_install(root, bin_dir, "--purge")
    assert purged.returncode == 0 and not etc.exists()
    assert (bin_dir / "ud.log").read_text().strip() == "robot-agent"
    assert run_install(root, bin_dir, "--bogus").returncode == 1


def _users(root) -> int:
    lines = (root / "etc/passwd").read_text().splitlines()
    return sum(line.startswith("robot-agent:") for line in lines)


def test_a_bad_config_exits_2_and_points_at_doctor(tmp_path, capsys):
    from robot_agent.__main__ import main

    bad = tmp_path / "config.toml"
    bad.write_text('name = "sts pi"\n')
    assert main(["--config", str(bad)]) == 2
    assert "robot-agent doctor" in capsys.readouterr().err
