"""The CIRCUITPY installer against a folder standing in for the drive."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest

from tools.circuitpy import install
from tools.circuitpy.__main__ import main
from tools.pyportal_sim.runner import DEVICE_DIR

ARGS = ["--ssid", "home", "--password", "pw word", "--api-url", "https://api.example/prod",
        "--api-key", "s3cret"]


@pytest.fixture
def drive(tmp_path):
    (tmp_path / "boot_out.txt").write_text("Adafruit CircuitPython 9.2.1; Adafruit PyPortal\n")
    return tmp_path


def run(drive, *args):
    return main(["install", "--drive", str(drive), *args])


def settings(drive):
    with open(drive / "settings.toml", "rb") as f:
        return tomllib.load(f)


def test_fresh_install(drive, capsys):
    assert run(drive, *ARGS) == 0
    for name in ("code.py", "boot.py", "app.py", "net.py", "screen.py", "view.py",
                 "settings.toml.example"):
        assert (drive / name).read_bytes() == (DEVICE_DIR / name).read_bytes()
    lib = (drive / "lib" / "adafruit_touchscreen.py").read_text()
    assert "class Touchscreen" in lib and "analogio" in lib  # the real library, not a shim
    assert not (drive / "README.md").exists()
    assert settings(drive) == {"CIRCUITPY_WIFI_SSID": "home", "CIRCUITPY_WIFI_PASSWORD": "pw word",
                               "MARS_API_URL": "https://api.example/prod",
                               "MARS_API_KEY": "s3cret", "REFRESH_MINUTES": 10, "UNITS": "C"}
    out = capsys.readouterr().out
    assert "copy code.py -> code.py" in out and "s3cret" not in out and "pw word" not in out


def test_existing_settings_are_kept(drive, capsys):
    (drive / "settings.toml").write_text(
        '# mine\nCIRCUITPY_WIFI_SSID = "cabin"\nMARS_API_KEY = "old-key"\nREFRESH_MINUTES = 3\n')
    assert run(drive, *ARGS) == 0
    values = settings(drive)
    assert values["CIRCUITPY_WIFI_SSID"] == "cabin" and values["MARS_API_KEY"] == "old-key"
    assert values["REFRESH_MINUTES"] == 3
    assert values["MARS_API_URL"] == "https://api.example/prod"  # missing ones are added
    assert (drive / "settings.toml").read_text().startswith("# mine\n")
    assert "kept MARS_API_KEY" in capsys.readouterr().out
    assert run(drive, "--force", "--api-key", "new-key") == 0
    assert settings(drive)["MARS_API_KEY"] == "new-key"
    assert settings(drive)["CIRCUITPY_WIFI_SSID"] == "cabin"


def test_dry_run_writes_nothing(drive, capsys):
    before = sorted(p.name for p in drive.iterdir())
    assert run(drive, "--dry-run", *ARGS) == 0
    assert sorted(p.name for p in drive.iterdir()) == before
    out = capsys.readouterr().out
    assert "would:" in out and "write settings.toml" in out


def test_second_run_changes_nothing(drive, capsys):
    run(drive, *ARGS)
    capsys.readouterr()
    assert run(drive, *ARGS) == 0
    assert "the drive is up to date" in capsys.readouterr().out


def test_code_py_is_written_last(drive):
    plan = install.make_plan(drive, {})
    assert plan.copies[-1][1].name == "code.py"
    assert "still to fill in settings.toml" in plan.notes[-1]


def test_not_a_circuitpython_drive(tmp_path, capsys):
    assert run(tmp_path, *ARGS) == 2
    assert "no boot_out.txt" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_not_enough_room(drive, monkeypatch):
    monkeypatch.setattr(install.shutil, "disk_usage", lambda p: type("U", (), {"free": 1000}))
    with pytest.raises(install.InstallError, match="not enough room"):
        install.make_plan(drive, {})
    assert not (drive / "code.py").exists()


def test_no_drive_found(monkeypatch, tmp_path):
    monkeypatch.setattr(install.drives, "candidates", lambda: [tmp_path / "CIRCUITPY"])
    with pytest.raises(install.InstallError, match="no CIRCUITPY drive found"):
        install.find_drive()
    (tmp_path / "CIRCUITPY").mkdir()
    (tmp_path / "CIRCUITPY" / "boot_out.txt").write_text("x")
    assert install.find_drive() == tmp_path / "CIRCUITPY"


def test_command_line(drive):
    done = subprocess.run([sys.executable, "-m", "tools.circuitpy", "install", "--drive",
                           str(drive), "--dry-run"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "would:" in done.stdout
