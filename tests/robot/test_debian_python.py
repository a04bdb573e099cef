"""The agent on Debian's own Python, the way Raspberry Pi OS Bookworm (Debian 12) runs it.

``install.sh`` installs the agent (with its camera driver) into a throwaway root on top of
Debian's ``/usr/bin/python3``, ``python3-venv`` and ``python3-numpy``; the tests then check
that the venv still uses Debian's numpy, that the agent and its camera driver import, and that
the installed ``robot-agent --simulate`` drives the mock pins from a command on a real broker.

The installed root is cached (``~/.cache/mars-robot/pi-debian-*``) with the wheels it took:
a change of the agent's dependencies, install.sh or the Debian packages installs from scratch
(about a minute, online); a change of the agent's files runs install.sh again over the cached
root from those wheels (seconds, as a Pi upgrades in place); otherwise a run only checks.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing import system
from testing.fake_commands import fake_command
from testing.mqtt_brokers import BrokerProcess
from testing.robot_harness import Observer, command

ROOT_DIR = Path(__file__).resolve().parents[2]
AGENT_DIR = ROOT_DIR / "device" / "robot-pi"
SYSTEM_PYTHON = "/usr/bin/python3"
DEBIAN_PACKAGES = ("python3", "python3-venv", "python3-numpy")
# Distributions Debian provides that pip must never install again in the venv.
DEBIANS_OWN = {"numpy"}
INSTALL_ARGS = ("--camera",)  # the agent with its camera driver: aiortc over Debian's numpy
NAME = "debianbot"


def debian_versions() -> dict[str, str]:
    """Versions of :data:`DEBIAN_PACKAGES` dpkg has installed (missing ones are left out)."""
    if shutil.which("dpkg-query") is None:
        return {}
    found = {}
    for package in DEBIAN_PACKAGES:
        done = subprocess.run(["dpkg-query", "-W", "-f=${Status}|${Version}", package],
                              capture_output=True, text=True)
        status, _, version = done.stdout.partition("|")
        if done.returncode == 0 and status == "install ok installed":
            found[package] = version
    return found


def _missing() -> list[str]:
    found = debian_versions()
    return [p for p in DEBIAN_PACKAGES if p not in found] + (
        [] if Path(SYSTEM_PYTHON).exists() else ["python3"])


pytestmark = pytest.mark.skipif(
    bool(_missing()),
    reason=f"not Debian's Python: {system.reason(_missing())} (.ci/apt-packages lists them)")


def _digest(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:16]


def dependencies_key() -> str:
    """What decides the venv's third-party packages: a change installs from scratch."""
    return _digest(" ".join(INSTALL_ARGS).encode(), (AGENT_DIR / "pyproject.toml").read_bytes(),
                   (AGENT_DIR / "install.sh").read_bytes(),
                   *(lock.read_bytes() for lock in sorted(AGENT_DIR.glob("*.lock"))),
                   json.dumps(debian_versions(), sort_keys=True).encode())


def sources_key() -> str:
    """Every file of the agent: a change runs install.sh again over the cached root."""
    parts = []
    files = [*AGENT_DIR.glob("*"), *(AGENT_DIR / "robot_agent").rglob("*"),  # not build/
             *(AGENT_DIR.parents[1] / "contracts").rglob("*")]  # the package it carries
    for path in sorted(files):
        if path.is_file() and "__pycache__" not in path.parts:
            parts += [str(path.relative_to(AGENT_DIR.parents[1])).encode(), path.read_bytes()]
    return _digest(*parts)


def clean_env() -> dict[str, str]:
    """The environment without the project venv's traces, as on a Pi."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env["PYTHONUNBUFFERED"] = "1"
    return env



def run_install(cache: Path, **pip_env: str) -> None:
    """install.sh into ``cache/root`` with Debian's python3 (fake systemctl and useradd)."""
    root, fakes = cache / "root", cache / "bin"
    fakes.mkdir(parents=True, exist_ok=True)
    root.mkdir(exist_ok=True)
    useradd = (f'#!/bin/sh\nfor last; do :; done\nmkdir -p "{root}/etc"\n'
               f'echo "$last:x:999:999::/var/lib/robot-agent:/usr/sbin/nologin" '
               f'>> "{root}/etc/passwd"\n')
    env = dict(clean_env(), ROOT=str(root), PYTHON=SYSTEM_PYTHON,
               SYSTEMCTL=fake_command(fakes / "systemctl", "#!/bin/sh\n"),
               USERADD=fake_command(fakes / "useradd", useradd), CHOWN="true",
               APT_GET=fake_command(fakes / "apt-get", "#!/bin/sh\nexit 1\n"), **pip_env)
    done = subprocess.run(["bash", str(AGENT_DIR / "install.sh"), *INSTALL_ARGS], env=env,
                          cwd=cache, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"install.sh failed:\n{done.stdout}{done.stderr}"


def prepare(cache: Path) -> None:
    """A fresh install (online) the first time, kept with its wheels; after a change of the
    agent's files, install.sh again over it, from those wheels (as a Pi upgrades in place)."""
    wheels, installed = cache / "wheels", cache / "installed"
    venv = cache / "root" / "opt" / "robot-agent" / "venv"
    if not (wheels / ".complete").exists():
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir(parents=True)
        run_install(cache)
        # the venv's own packages (not Debian's, not the agent) and the agent's build backend
        pip = [str(venv / "bin" / "python"), "-m", "pip"]
        frozen = subprocess.run([*pip, "freeze", "--local", "--exclude", "robot-agent"],
                                env=clean_env(), capture_output=True, text=True, timeout=120)
        (cache / "requirements.txt").write_text(frozen.stdout + "setuptools>=68\n")
        done = subprocess.run([*pip, "wheel", "--quiet", "--no-deps", "-w", str(wheels), "-r",
                               str(cache / "requirements.txt")], env=clean_env(),
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"pip wheel failed:\n{done.stdout}{done.stderr}"
        (wheels / ".complete").touch()
    elif not installed.exists() or installed.read_text() != sources_key():
        run_install(cache, PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheels))
    installed.write_text(sources_key())


@pytest.fixture(scope="module")
def venv() -> Iterator[Path]:
    """The venv install.sh made in a cached throwaway root, kept from change while in use."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mars-robot"
    base.mkdir(parents=True, exist_ok=True)
    cache = base / f"pi-debian-{dependencies_key()}"
    # several worktrees share the cache: the newest few roots stay
    for old in sorted(base.glob("pi-debian-*"), key=lambda p: p.stat().st_mtime)[:-3]:
        if old != cache:
            shutil.rmtree(old, ignore_errors=True)
    with open(base / f".{cache.name}.lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)  # one install at a time ...
        prepare(cache)
        cache.touch()
        fcntl.flock(guard, fcntl.LOCK_SH)  # ... and none while tests use it
        yield cache / "root" / "opt" / "robot-agent" / "venv"


def venv_python(venv: Path, code: str, tmp_path: Path) -> dict:
    done = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True,
                          text=True, env=clean_env(), cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.timeout(900)  # a cold install; a warm run takes seconds
def test_venv_is_on_debians_python_with_its_site_packages(venv, tmp_path):
    cfg = (venv / "pyvenv.cfg").read_text()
    assert "include-system-site-packages = true" in cfg, cfg
    seen = venv_python(venv, "import sys, json; print(json.dumps([sys.base_prefix, "
                             "sys.version]))", tmp_path)
    assert seen[0] == "/usr" and seen[1].startswith("3.11."), seen


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_numpy_is_still_debians(venv, tmp_path):
    numpy = venv_python(venv, "import numpy, json; print(json.dumps([numpy.__version__, "
                              "numpy.__file__]))", tmp_path)
    assert numpy[0].startswith("1.24.") and numpy[1].startswith("/usr/lib/python3/dist-packages"),\
        f"pip replaced Debian's python3-numpy: {numpy}"
    mine = venv_python(venv, (
        "import importlib.metadata as m, json, sys\n"
        "print(json.dumps(sorted({d.metadata['Name'].lower() for d in m.distributions("
        "path=[p for p in sys.path if p.startswith(sys.prefix)])})))"), tmp_path)
    replaced = DEBIANS_OWN & set(mine)
    assert not replaced, f"pip installed its own copy of Debian's {sorted(replaced)} in the venv"
    assert "robot-agent" in mine and "aiortc" in mine


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_agent_and_camera_driver_import(venv, tmp_path):
    where = venv_python(venv, (
        "import json, robot_agent, robot_agent.camera.aiortc_camera as cam, "
        "robot_agent.camera.pattern as pattern\n"
        "frame = pattern.bars_yuv420(64, 48)\n"
        "print(json.dumps([robot_agent.__file__, cam.AiortcCamera.__name__, frame.shape]))"),
        tmp_path)
    assert where[0].startswith(str(venv)), f"not the installed agent: {where[0]}"
    assert where[1:] == ["AiortcCamera", [72, 64]]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_simulated_agent_drives_mock_pins_from_a_broker(venv, tmp_path):
    kind = "mosquitto" if shutil.which("mosquitto") else "amqtt"
    broker = BrokerProcess(kind).start()
    observer = Observer(broker.url)
    config = tmp_path / "config.toml"
    config.write_text(f'name = "{NAME}"\n[mqtt]\nurl = "{broker.url}"\n')
    agent = subprocess.Popen([str(venv / "bin" / "robot-agent"), "--config", str(config),
                              "--simulate"], env=clean_env(), cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        observer.wait_json(f"robot/{NAME}/status", lambda m: m.get("online") is True, 20)
        observer.publish(f"robot/{NAME}/cmd", command("forward", 0.6, 1000))
        moved = observer.wait_json(f"robot/{NAME}/telemetry",
                                   lambda m: m.get("left") == 0.6, 5)
        assert moved["right"] == 0.6 and 0.6 in moved["pins"].values()
        agent.send_signal(signal.SIGTERM)
        output, _ = agent.communicate(timeout=15)
        assert agent.returncode == 0, output
    finally:
        agent.kill()
        agent.communicate()
        observer.close()
        broker.stop()
