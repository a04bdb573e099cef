"""A real Pi with the local stack, no AWS, on loopback: ``--robot sts-pi`` writes the Pi's
bundle and stops simulating sts-pi; the bundle's agent (run here with ``--simulate``, as the
Pi would run it with its motors) drives from the page. No LAN address is contacted."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import tarfile
import time

import pytest

from testing.browser import ROBOT, sign_in
from testing.stack_process import ROOT, StackProcess
from testing.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def stack():
    """The stack as `make run ARGS="--lan --robot sts-pi"` starts it, on loopback."""
    with StackProcess(only="broker,api,web,robot", args=["--robot", ROBOT],
                      ready_timeout=60) as running:
        yield running


@pytest.fixture(scope="module")
def pi_agent(stack, tmp_path_factory):
    """The agent of the bundle the stack wrote, as install.sh would run it."""
    bundle = stack.data_dir / "robots" / f"{ROBOT}.tar.gz"
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o600  # it holds the robot's password
    folder = tmp_path_factory.mktemp("pi")
    with tarfile.open(bundle) as tar:
        assert tar.getnames() == ["config.toml"]  # install.sh --bundle takes it: no certificates
        tar.extractall(folder, filter="data")
    process = subprocess.Popen(
        [sys.executable, "-m", "robot_agent", "--config", str(folder / "config.toml"),
         "--simulate"], cwd=ROOT, env=dict(os.environ, PYTHONUNBUFFERED="1"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # Up as the Pi would be when its owner opens the page: its camera the channel's master.
    wait_until(lambda: process.poll() is None and stack.health()["components"]["web"]
               ["channels"][ROBOT]["master"], 30, message="the bundle's agent did not come up")
    yield process
    process.send_signal(signal.SIGTERM)
    output = process.communicate(timeout=20)[0]
    assert process.returncode == 0, output
    assert f"connected to the broker as {ROBOT}" in output


def test_the_stack_writes_the_bundle_and_does_not_simulate_the_pi(stack):
    assert stack.health()["components"]["robot"] | {"restarts": 0, "pid": None} == {
        "up": True, "name": None, "real": [ROBOT], "restarts": 0, "pid": None}
    log = stack.log()
    assert "[robot]" not in log  # no simulated agent's output: none runs
    assert f"The Pi named {ROBOT} (not simulated here)" in log
    assert f"sudo ./install.sh --bundle ~/{ROBOT}.tar.gz && sudo robot-agent doctor" in log
    assert "for a Pi run the stack with --lan" in log  # loopback here: said plainly


def test_the_bundles_agent_drives_from_the_page(page, stack, telemetry, pi_agent):
    sign_in(page, stack)
    page.wait_for_function("() => document.getElementById('status').dataset.online === 'true'",
                           timeout=30000)
    button = page.locator("[data-action=forward]")
    button.hover()
    t0 = time.monotonic()
    page.mouse.down()
    _, moving = telemetry.wait_for(lambda e: e["left"] == e["right"] == 0.5, t0, timeout=10)
    assert moving["pins"] == {"19": 0.0, "20": 0.5, "21": 0.0, "26": 0.5}  # the bundle's board
    released = time.monotonic()
    page.mouse.up()
    telemetry.wait_for(lambda e: e["left"] == e["right"] == 0, released, timeout=3)
    # The video comes through the relay named in the bundle too.
    page.wait_for_function("() => document.getElementById('video').videoWidth > 0",
                           timeout=20000)
