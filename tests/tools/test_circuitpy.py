"""The CIRCUITPY installer against a folder standing in for the drive."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest

from testing.system import needs
from tools.circuitpy import install, mpy
from tools.circuitpy.__main__ import main
from tools.pyportal_sim.runner import DEVICE_DIR

KIT = mpy.core_folder()  # CircuitPython's core kit with its mpy-cross, when it is here

ARGS = ["--ssid", "home", "--api-url", "https://api.example/prod", "--api-key", "s3cret"]
PASSWORD = "pw word"


# boot_out.txt as CircuitPython writes it (first line, Board ID, UID)
BOOT_OUT = {
    "8.2-pyportal": "Adafruit CircuitPython 8.2.10 on 2024-02-14; Adafruit PyPortal with "
                    "samd51j20\nBoard ID:pyportal\n",
    "9.0-pyportal": "Adafruit CircuitPython 9.0.5 on 2024-05-22; Adafruit PyPortal with "
                    "samd51j20\nBoard ID:pyportal\nUID:C4F3B2A15E1D\n",
    "9.2.1-titano": "Adafruit CircuitPython 9.2.1 on 2024-11-20; Adafruit PyPortal Titano with "
                    "samd51j20\nBoard ID:pyportal_titano\nUID:A1B2C3D4E5F6\n",
    "9.2.8-pyportal": "Adafruit CircuitPython 9.2.8 on 2025-05-28; Adafruit PyPortal with "
                      "samd51j20\nBoard ID:pyportal\nUID:0123456789AB\n",
    "10-feather": "Adafruit CircuitPython 10.0.3 on 2025-10-17; Adafruit Feather M4 Express "
                  "with samd51j19\nBoard ID:feather_m4_express\nUID:FEDCBA987654\n",
    "10.2.1-pyportal": "Adafruit CircuitPython 10.2.1 on 2026-05-12; Adafruit PyPortal with "
                       "samd51j20\nBoard ID:pyportal\nUID:0123456789AB\n",
    "11.0-pyportal": "Adafruit CircuitPython 11.0.0 on 2027-01-01; Adafruit PyPortal with "
                     "samd51j20\nBoard ID:pyportal\nUID:0123456789AB\n",
}


@pytest.fixture(autouse=True)
def no_kit(monkeypatch, tmp_path_factory):
    """No mpy-cross unless a test asks for the kit: what a user without it gets."""
    monkeypatch.setenv(mpy.CORE_ENV, str(tmp_path_factory.mktemp("no-kit")))


@pytest.fixture
def kit(monkeypatch):
    monkeypatch.setenv(mpy.CORE_ENV, str(KIT))


@pytest.fixture
def drive(tmp_path):
    (tmp_path / "boot_out.txt").write_text(BOOT_OUT["9.2.8-pyportal"])
    return tmp_path


def run(drive, *args, password=PASSWORD):
    """The installer on ``drive``; the Wi-Fi password, when asked for, is ``password``."""
    asked = []

    def ask(prompt):
        asked.append(prompt)
        return password

    code = main(["install", "--drive", str(drive), *args], ask=ask)
    run.asked = asked
    return code


def settings(drive):
    with open(drive / "settings.toml", "rb") as f:
        return tomllib.load(f)


def test_fresh_install(drive, capsys):
    """Without CircuitPython's mpy-cross the app goes as .py files, and the installer says so."""
    assert run(drive, *ARGS) == 0
    for name in ("code.py", "boot.py", "app.py", "net.py", "screen.py", "view.py",
                 "settings.toml.example"):
        assert (drive / name).read_bytes() == (DEVICE_DIR / name).read_bytes()
    lib = (drive / "lib" / "adafruit_touchscreen.py").read_text()
    assert "class Touchscreen" in lib and "analogio" in lib  # the real library, not a shim
    assert not (drive / "README.md").exists()
    assert settings(drive) == {"CIRCUITPY_WIFI_SSID": "home", "CIRCUITPY_WIFI_PASSWORD": PASSWORD,
                               "MARS_API_URL": "https://api.example/prod",
                               "MARS_API_KEY": "s3cret", "REFRESH_MINUTES": 10, "UNITS": "C"}
    out = capsys.readouterr().out
    assert "copy code.py -> code.py" in out and "s3cret" not in out and PASSWORD not in out
    assert "no mpy-cross for CircuitPython 9.x here (set CIRCUITPYTHON_CORE" in out
    assert not list(drive.glob("*.mpy"))


@needs("circuitpython-core")
@pytest.mark.parametrize(("boot", "compiler"), [("10.2.1-pyportal", "10.2.1"),
                                                ("9.2.8-pyportal", "9.2.9")])
def test_the_app_is_compiled_for_the_boards_circuitpython(kit, drive, capsys, boot, compiler):
    """.mpy files made by the mpy-cross of the board's release (else the newest of its major
    release); code.py and boot.py stay .py, as the firmware runs them by name."""
    (drive / "boot_out.txt").write_text(BOOT_OUT[boot])
    assert run(drive, *ARGS) == 0
    out = capsys.readouterr().out
    assert f"compiled with CircuitPython {compiler}'s mpy-cross (.mpy files)" in out
    assert (drive / "code.py").read_bytes() == (DEVICE_DIR / "code.py").read_bytes()
    assert (drive / "boot.py").read_bytes() == (DEVICE_DIR / "boot.py").read_bytes()
    modules = {p.stem for p in DEVICE_DIR.glob("*.py")} - {"code", "boot"}
    assert {p.stem for p in drive.glob("*.mpy")} == modules
    assert not [p for p in drive.glob("*.py") if p.stem in modules]
    for path in [*drive.glob("*.mpy"), drive / "lib" / "adafruit_touchscreen.mpy"]:
        assert path.read_bytes()[:2] == b"C\x06", path  # CircuitPython's .mpy, version 6
    assert run(drive, *ARGS) == 0
    assert "the drive is up to date" in capsys.readouterr().out  # the compiler is repeatable


@needs("circuitpython-core")
def test_a_module_has_one_form_on_the_drive(kit, drive, capsys, monkeypatch, tmp_path):
    """A .py beside its .mpy would be imported instead: whichever form is installed, the
    other goes (the board was set up by hand, or the kit came or went)."""
    (drive / "boot_out.txt").write_text(BOOT_OUT["10.2.1-pyportal"])
    (drive / "app.py").write_text("print('an older app')\n")
    assert run(drive, *ARGS) == 0
    assert "remove app.py (replaced by its .mpy)" in capsys.readouterr().out
    assert (drive / "app.mpy").exists() and not (drive / "app.py").exists()
    monkeypatch.setenv(mpy.CORE_ENV, str(tmp_path / "gone"))
    assert run(drive, *ARGS) == 0
    assert "remove app.mpy (replaced by its .py)" in capsys.readouterr().out
    assert (drive / "app.py").exists() and not (drive / "app.mpy").exists()


@needs("circuitpython-core")
def test_a_major_release_without_a_compiler_gets_py(kit, drive, capsys):
    (drive / "boot_out.txt").write_text(BOOT_OUT["11.0-pyportal"])
    assert run(drive, *ARGS) == 0
    assert "no mpy-cross for CircuitPython 11.x here" in capsys.readouterr().out
    assert (drive / "app.py").exists() and not list(drive.glob("*.mpy"))


def test_values_given_are_written_and_reported(drive, capsys):
    """A re-run with a new Wi-Fi and URL writes them (the old file kept as .bak) and says
    what changed; values not given stay, and so do the user's comments."""
    (drive / "settings.toml").write_text(
        '# mine\nCIRCUITPY_WIFI_SSID = "cabin"\nCIRCUITPY_WIFI_PASSWORD = "old pw"\n'
        'MARS_API_KEY = "old-key"\nREFRESH_MINUTES = 3\n')
    assert run(drive, *ARGS) == 0
    values = settings(drive)
    assert (values["CIRCUITPY_WIFI_SSID"], values["CIRCUITPY_WIFI_PASSWORD"],
            values["MARS_API_KEY"]) == ("home", PASSWORD, "s3cret")
    assert values["REFRESH_MINUTES"] == 3  # not given: kept
    assert values["MARS_API_URL"] == "https://api.example/prod"  # missing ones are added
    assert (drive / "settings.toml").read_text().startswith("# mine\n")
    assert (drive / "settings.toml.bak").read_text().startswith("# mine\n")
    out = capsys.readouterr().out
    assert "changed CIRCUITPY_WIFI_SSID: cabin -> home" in out
    assert "changed CIRCUITPY_WIFI_PASSWORD (not shown)" in out
    assert "changed MARS_API_KEY (not shown)" in out
    assert "set MARS_API_URL = https://api.example/prod" in out
    assert "old pw" not in out and "s3cret" not in out and PASSWORD not in out
    assert "up to date" not in out
    assert run(drive, "--api-url", "https://other.example/prod/mars") == 0
    out = capsys.readouterr().out
    assert "changed MARS_API_URL: https://api.example/prod -> https://other.example/prod" in out
    assert settings(drive)["MARS_API_URL"] == "https://other.example/prod"
    assert (drive / "settings.toml.bak2").exists()
    assert run(drive, "--api-url", "https://other.example/prod/") == 0  # the board's reading
    out = capsys.readouterr().out
    assert "same MARS_API_URL" in out and "the drive is up to date" in out


def test_view_units_refresh_and_depth(drive, capsys):
    assert run(drive, "--view", "Gallery", "--units", "f", "--refresh", "15",
               "--depth", "4") == 0
    values = settings(drive)
    assert (values["VIEW"], values["UNITS"], values["REFRESH_MINUTES"], values["DEPTH"]) == (
        "gallery", "F", 15, 4)  # as the board reads them; numbers as numbers
    assert "set DEPTH = 4" in capsys.readouterr().out
    assert run(drive, "--depth", "8") == 0
    assert settings(drive)["DEPTH"] == 8
    assert "changed DEPTH: 4 -> 8" in capsys.readouterr().out


@pytest.mark.parametrize(("args", "message"), [
    (["--depth", "16"], "--depth 16: must be 4 or 8"),
    (["--units", "K"], '--units K: must be "C" or "F"'),
    (["--view", "map"], "--view map: must be classic, photo, weather or gallery"),
    (["--refresh", "0"], "--refresh 0: must be between 1 and 1440"),
    (["--refresh", "ten"], "--refresh ten: must be a whole number of minutes"),
    (["--ssid", " "], "--ssid  : is empty"),
])
def test_values_the_board_would_refuse_are_refused(drive, capsys, args, message):
    """The board's own checks (device/pyportal/settings.py), run before anything is written."""
    assert run(drive, *args) == 2
    assert capsys.readouterr().err == f"circuitpy: {message}\n"
    assert sorted(p.name for p in drive.iterdir()) == ["boot_out.txt"]


def test_force_is_two_options_now(drive, capsys):
    with pytest.raises(SystemExit) as done:
        run(drive, "--force", *ARGS)
    assert done.value.code == 2
    assert "--force is now two options: --replace-settings" in capsys.readouterr().err


def test_replace_settings_starts_afresh(drive, capsys):
    (drive / "settings.toml").write_text('# mine\nUNITS = "F"\nVIEW = "weather"\n')
    assert run(drive, "--replace-settings", "--api-key", "k2") == 0
    values = settings(drive)
    assert values["MARS_API_KEY"] == "k2" and values["UNITS"] == "C" and "VIEW" not in values
    assert (drive / "settings.toml.bak").read_text() == '# mine\nUNITS = "F"\nVIEW = "weather"\n'
    out = capsys.readouterr().out
    assert "replaced settings.toml with a fresh one" in out
    assert "still to fill in settings.toml: CIRCUITPY_WIFI_SSID, MARS_API_URL" in out


def test_broken_settings_can_be_replaced(drive, capsys):
    (drive / "settings.toml").write_text("UNITS = \n")
    assert run(drive, *ARGS) == 2
    assert "run again with --replace-settings" in capsys.readouterr().err
    assert run(drive, "--replace-settings", *ARGS) == 0
    assert settings(drive)["CIRCUITPY_WIFI_SSID"] == "home"
    assert (drive / "settings.toml.bak").read_text() == "UNITS = \n"


def test_the_wifi_password_is_asked_for_never_taken_as_an_argument(drive, capsys,
                                                                  monkeypatch):
    assert run(drive, "--ssid", "home") == 0
    assert run.asked == ["Password of Wi-Fi 'home' (empty for an open network; not shown): "]
    assert settings(drive)["CIRCUITPY_WIFI_PASSWORD"] == PASSWORD
    assert run(drive, "--password", password="new pw") == 0  # the password alone
    assert settings(drive)["CIRCUITPY_WIFI_PASSWORD"] == "new pw"
    assert run(drive, "--api-key", "k") == 0 and run.asked == []  # not asked when not needed
    capsys.readouterr()
    with pytest.raises(SystemExit):
        run(drive, "--password", "hunter2")
    err = capsys.readouterr().err
    assert "--password takes no value" in err and "CIRCUITPY_WIFI_PASSWORD" in err
    monkeypatch.setenv("CIRCUITPY_WIFI_PASSWORD", "from env")
    assert run(drive, "--ssid", "cabin") == 0 and run.asked == []
    assert settings(drive)["CIRCUITPY_WIFI_PASSWORD"] == "from env"


def test_no_one_to_ask_for_the_password(drive, capsys):
    assert main(["install", "--drive", str(drive), "--ssid", "home"], ask=None) == 2
    assert "set CIRCUITPY_WIFI_PASSWORD in the environment" in capsys.readouterr().err
    assert not (drive / "settings.toml").exists()
    done = subprocess.run([sys.executable, "-m", "tools.circuitpy", "install", "--drive",
                           str(drive), "--ssid", "home"], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 2 and "run this in a terminal to be asked" in done.stderr


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


def test_circuitpython_8_is_refused(drive, capsys):
    (drive / "boot_out.txt").write_text(BOOT_OUT["8.2-pyportal"])
    assert run(drive, *ARGS) == 2
    err = capsys.readouterr().err
    assert "CircuitPython 8.2.10 found; the app needs 9.0 or later" in err
    assert not (drive / "code.py").exists()


@pytest.mark.parametrize(("boot", "words"), [
    ("9.0-pyportal", "found Adafruit PyPortal with CircuitPython 9.0.5"),
    ("9.2.1-titano", "found Adafruit PyPortal Titano with CircuitPython 9.2.1"),
    ("9.2.8-pyportal", "found Adafruit PyPortal with CircuitPython 9.2.8"),
])
def test_supported_boards(drive, capsys, boot, words):
    (drive / "boot_out.txt").write_text(BOOT_OUT[boot])
    assert run(drive, *ARGS) == 0
    out = capsys.readouterr().out
    assert words in out
    assert ("warning: CircuitPython 9." in out) == boot.startswith(("9.0", "9.2.1"))
    assert (drive / "sd").is_dir()  # CircuitPython mounts the card only on an existing folder


def test_other_boards_need_skip_board_check(drive, capsys):
    (drive / "boot_out.txt").write_text(BOOT_OUT["10-feather"])
    assert run(drive, *ARGS) == 2
    assert "Adafruit Feather M4 Express (feather_m4_express) is not a PyPortal" in (
        capsys.readouterr().err)
    assert not (drive / "code.py").exists()
    assert run(drive, "--skip-board-check", *ARGS) == 0
    out = capsys.readouterr().out
    assert "warning: Adafruit Feather M4 Express is not a PyPortal" in out
    assert settings(drive)["CIRCUITPY_WIFI_SSID"] == "home"


def test_any_folder_with_skip_board_check(tmp_path, capsys):
    assert run(tmp_path, *ARGS) == 2
    assert "(--skip-board-check installs into any folder)" in capsys.readouterr().err
    assert run(tmp_path, "--skip-board-check", *ARGS) == 0
    assert (tmp_path / "code.py").exists()


LAN = "use the computer's LAN address: `make run ARGS=--lan` prints"


@pytest.mark.parametrize(("url", "words"), [
    ("api.example/prod", "--api-url api.example/prod: must start with https:// or http://"),
    ("ftp://api.example", "--api-url ftp://api.example: must start with https:// or http://"),
    ("https://", "--api-url https://: has no host name"),
    ("http://api.example:http/", "--api-url http://api.example:http/: has a port that is not "
                                 "a number"),
    ("http://0.0.0.0:8080", "--api-url http://0.0.0.0:8080: 0.0.0.0 is no address to connect "
                            "to; a server listening on all addresses is reached at its "
                            "computer's LAN address"),
    ("http://[::1]:8080", "--api-url http://[::1]:8080: is IPv6; the board has IPv4 only"),
    ("http://127.0.0.1:8080", "127.0.0.1 is this computer as seen from itself; the board "
                              "cannot reach it. Use the computer's LAN address"),
    ("http://127.1:8080", "127.1 is this computer as seen from itself"),
    ("http://localhost:8080/", "localhost is this computer as seen from itself"),
    ("http://169.254.10.1:8080", "169.254.10.1 is a link-local address, which the board "
                                 "cannot reach"),
])
def test_api_urls_the_board_cannot_use_are_refused(drive, capsys, url, words):
    """Each with its own message: the board's checks of MARS_API_URL (scheme, host, port,
    IPv6, 0.0.0.0: device/pyportal/settings.py) and the hosts only this computer reaches."""
    assert run(drive, "--api-url", url) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1
    assert not (drive / "settings.toml").exists()


def test_a_lan_address_is_taken(drive):
    assert run(drive, "--api-url", "http://192.168.1.20:8080") == 0
    assert settings(drive)["MARS_API_URL"] == "http://192.168.1.20:8080"


def test_replaced_files_are_backed_up(drive):
    (drive / "code.py").write_text("print('my own app')\n")
    (drive / "settings.toml").write_text('# my notes\nCIRCUITPY_WIFI_SSID = "cabin"\n')
    assert run(drive, *ARGS) == 0
    assert (drive / "code.py.bak").read_text() == "print('my own app')\n"
    assert (drive / "settings.toml.bak").read_text().startswith("# my notes")
    (drive / "code.py").write_text("print('edited again')\n")
    assert run(drive, *ARGS) == 0
    assert (drive / "code.py.bak").read_text() == "print('my own app')\n"  # never overwritten
    assert (drive / "code.py.bak2").read_text() == "print('edited again')\n"


def test_settings_comments_are_kept(drive):
    (drive / "settings.toml").write_text(
        '# my notes\nCIRCUITPY_WIFI_SSID = "cabin"  # the shed\n\n# key below\n'
        'MARS_API_KEY = "your-api-key"\n')
    assert run(drive, *ARGS) == 0
    text = (drive / "settings.toml").read_text()
    # the value given replaces the one there; the comment beside it stays
    assert '# my notes\nCIRCUITPY_WIFI_SSID = "home"  # the shed\n\n# key below\n' in text
    assert settings(drive)["MARS_API_KEY"] == "s3cret"
